//go:build cudaemu

// The emulator: device memory with guards, a coroutine scheduler for the
// threads of a block, and the kernels of package kernels compiled as C++.

#include "emu.h"
#include "stamp.h"

#include <sys/mman.h>
#include <ucontext.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "hostemu.h"

dim3 threadIdx, blockIdx, blockDim, gridDim;
void *emu_dynamic_shared;

#include "gather.cu"
#include "lowrank.cu"
#include "mathcheck.cu"
#include "persistent.cu"
#include "plastic.cu"
#include "plasticl5.cu"
#include "randcheck.cu"
#include "readout.cu"
#include "step.cu"

namespace {

// ---- memory ----------------------------------------------------------------

// Each allocation: [header 64][guard 256][data, rounded up to 256][guard 256].
// Fresh data and guards are 0xFF bytes: NaN in float32 and float64, so a read
// of memory nobody wrote shows up as a NaN, and a stray write as a changed
// guard.
constexpr size_t headerSize = 64, guardSize = 256, align = 256;
constexpr unsigned char guardByte = 0xFF;

struct Header {
	size_t bytes;
	size_t rounded;
	uint64_t magic;
};
constexpr uint64_t magic = 0x6775617264656d75ULL;

Header *headerOf(uintptr_t p) { return (Header *)(p - guardSize - headerSize); }

bool guardsIntact(uintptr_t p) {
	Header *h = headerOf(p);
	if (h->magic != magic) {
		return false;
	}
	const unsigned char *lo = (const unsigned char *)(p - guardSize);
	const unsigned char *hi = (const unsigned char *)(p + h->bytes);
	const size_t tail = h->rounded - h->bytes + guardSize;
	for (size_t i = 0; i < guardSize; i++) {
		if (lo[i] != guardByte) {
			return false;
		}
	}
	for (size_t i = 0; i < tail; i++) {
		if (hi[i] != guardByte) {
			return false;
		}
	}
	return true;
}

// ---- scheduler -------------------------------------------------------------

// Each thread of a block is a coroutine with its own stack. On x86-64 a
// coroutine switch is the few instructions of emu_switch (callee-saved
// registers and the stack pointer; the SysV ABI has no callee-saved vector
// registers, and the kernels never change the FP control words);
// elsewhere it is ucontext's swapcontext, which also works but makes a
// system call per switch.

constexpr size_t stackSize = 256 << 10;

struct Thread {
	void *stack = nullptr;
	bool done = false;
	int barrier = 0; // 0 none, 1 __syncthreads, 2 __syncthreads_or
#if defined(__x86_64__)
	void *sp = nullptr;
#else
	ucontext_t ctx;
#endif
};

std::vector<Thread> threads;
int current;
int orAcc, orResult;
void (*body)(const uint64_t *);
const uint64_t *bodyArgs;

#if defined(__x86_64__)

extern "C" void ratesim_emu_switch(void **save, void *load);
asm(R"(
	.text
	.globl ratesim_emu_switch
	.hidden ratesim_emu_switch
	.type ratesim_emu_switch,@function
ratesim_emu_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size ratesim_emu_switch,.-ratesim_emu_switch
)");

void *schedSp;

[[noreturn]] void threadEntry() {
	body(bodyArgs);
	threads[current].done = true;
	ratesim_emu_switch(&threads[current].sp, schedSp);
	__builtin_unreachable();
}

void startThread(Thread &t) {
	// Six zeroed callee-saved registers, then threadEntry as the return
	// address; the initial stack pointer is 16-byte aligned, so threadEntry
	// starts with rsp ≡ 8 (mod 16) as after a call.
	uintptr_t top = ((uintptr_t)t.stack + stackSize) & ~(uintptr_t)15;
	void **sp = (void **)(top - 64);
	for (int i = 0; i < 6; i++) {
		sp[i] = nullptr;
	}
	sp[6] = (void *)threadEntry;
	sp[7] = nullptr;
	t.sp = sp;
	t.done = false;
}

void resume(Thread &t) { ratesim_emu_switch(&schedSp, t.sp); }
void yieldToScheduler(Thread &t) { ratesim_emu_switch(&t.sp, schedSp); }

#else

ucontext_t sched;

void threadMain() {
	body(bodyArgs);
	threads[current].done = true;
	// Returning switches to uc_link, the scheduler.
}

void startThread(Thread &t) {
	getcontext(&t.ctx);
	t.ctx.uc_stack.ss_sp = t.stack;
	t.ctx.uc_stack.ss_size = stackSize;
	t.ctx.uc_link = &sched;
	makecontext(&t.ctx, threadMain, 0);
	t.done = false;
}

void resume(Thread &t) { swapcontext(&sched, &t.ctx); }
void yieldToScheduler(Thread &t) { swapcontext(&t.ctx, &sched); }

#endif

void yieldAt(int kind) {
	threads[current].barrier = kind;
	yieldToScheduler(threads[current]);
}

void setThreadIdx(int i) {
	threadIdx.x = i % blockDim.x;
	threadIdx.y = (i / blockDim.x) % blockDim.y;
	threadIdx.z = i / (blockDim.x * blockDim.y);
}

// runBlock runs the current block's threads to completion, one barrier
// phase at a time. It fails when the threads of one phase disagree: some
// at a barrier and some finished, or at different kinds of barrier.
bool runBlock(int n, char *err, size_t errlen) {
	for (int i = 0; i < n; i++) {
		startThread(threads[i]);
	}
	int live = n;
	for (int phase = 0; live > 0; phase++) {
		orAcc = 0;
		int finished = 0, kind = -1;
		for (int i = 0; i < n; i++) {
			Thread &t = threads[i];
			if (t.done) {
				continue;
			}
			current = i;
			setThreadIdx(i);
			t.barrier = 0;
			resume(t);
			if (t.done) {
				finished++;
				live--;
			} else if (kind == -1) {
				kind = t.barrier;
			} else if (kind != t.barrier) {
				snprintf(err, errlen, "block (%u,%u,%u): threads at different kinds of barrier in phase %d",
				         blockIdx.x, blockIdx.y, blockIdx.z, phase);
				return false;
			}
		}
		if (finished > 0 && live > 0) {
			snprintf(err, errlen,
			         "block (%u,%u,%u): barrier divergence in phase %d: %d threads finished, %d wait at a barrier",
			         blockIdx.x, blockIdx.y, blockIdx.z, phase, finished, live);
			return false;
		}
		orResult = orAcc != 0;
	}
	return true;
}

// ---- kernels ---------------------------------------------------------------

template <typename T>
T fromArg(uint64_t a) {
	if constexpr (std::is_pointer_v<T>) {
		return reinterpret_cast<T>((uintptr_t)a);
	} else {
		return (T)a;
	}
}

// argKind is how the compiler sees a parameter, in the letters of
// emu_kernel_signature: p pointer, i signed and u unsigned 64-bit integer.
// Every parameter is 8 bytes: gorgonia.org/cu copies 8 bytes per argument
// (ARCHITECTURE.md, "The CUDA backend's constraints").
template <typename T>
constexpr char argKind() {
	static_assert(sizeof(T) == 8, "kernel parameters must be 8 bytes: pointers or 64-bit integers");
	if constexpr (std::is_pointer_v<T>) {
		return 'p';
	} else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
		return 'i';
	} else if constexpr (std::is_integral_v<T>) {
		return 'u';
	} else {
		return '?';
	}
}

template <auto F>
struct Thunk;
template <typename... A, void (*F)(A...)>
struct Thunk<F> {
	static constexpr int nargs = sizeof...(A);
	static constexpr char sig[] = {argKind<A>()..., '\0'};
	template <size_t... I>
	static void call(const uint64_t *a, std::index_sequence<I...>) {
		F(fromArg<A>(a[I])...);
	}
	static void call(const uint64_t *a) { call(a, std::index_sequence_for<A...>{}); }
};

struct Entry {
	const char *name;
	int nargs;
	const char *sig;
	void (*call)(const uint64_t *);
};
#define ENTRY(f) {#f, Thunk<f>::nargs, Thunk<f>::sig, Thunk<f>::call}

// Every kernel of kernels/*.cu (emu's tests compare the list with package
// kernels').
const Entry entries[] = {
    ENTRY(gather_f32),          ENTRY(gather_f64),          ENTRY(lowrank_f32),    ENTRY(lowrank_f64),
    ENTRY(mathcheck_f32),       ENTRY(mathcheck_f64),
    ENTRY(persistent_f32),      ENTRY(persistent_f64),      ENTRY(persistent_rate_f32),
    ENTRY(persistent_rate_f64), ENTRY(plastic_f32),         ENTRY(plastic_f64),    ENTRY(plasticl5_f32),
    ENTRY(plasticl5_f64),       ENTRY(randcheck),
    ENTRY(readout_f32),         ENTRY(readout_f64),         ENTRY(step_f32_l),     ENTRY(step_f32_m),
    ENTRY(step_f32_s),          ENTRY(step_f64_l),          ENTRY(step_f64_m),     ENTRY(step_f64_s),
};
constexpr int nentries = sizeof entries / sizeof entries[0];

std::mutex mu; // one launch at a time: the scheduler state is global

} // namespace

void __syncthreads() { yieldAt(1); }

int __syncthreads_or(int predicate) {
	if (predicate) {
		orAcc = 1;
	}
	yieldAt(2);
	return orResult;
}

extern "C" {

uintptr_t emu_alloc(size_t bytes) {
	size_t rounded = (bytes + align - 1) / align * align;
	if (rounded == 0) {
		rounded = align;
	}
	// The header sits in the first align bytes, before the leading guard,
	// so the data is align-aligned like cudaMalloc's.
	static_assert(headerSize <= align, "header must fit before the guard");
	void *raw = nullptr;
	if (posix_memalign(&raw, align, align + guardSize + rounded + guardSize) != 0) {
		return 0;
	}
	uintptr_t p = (uintptr_t)raw + align + guardSize;
	std::memset((void *)(p - guardSize), guardByte, guardSize + rounded + guardSize);
	Header *h = headerOf(p);
	h->bytes = bytes;
	h->rounded = rounded;
	h->magic = magic;
	return p;
}

int emu_check(uintptr_t p) { return guardsIntact(p) ? 0 : -1; }

void emu_htod(uintptr_t dst, const void *src, size_t bytes) { std::memcpy((void *)dst, src, bytes); }
void emu_dtoh(void *dst, uintptr_t src, size_t bytes) { std::memcpy(dst, (const void *)src, bytes); }

int emu_free(uintptr_t p) {
	int ok = emu_check(p);
	headerOf(p)->magic = 0;
	std::free((void *)(p - guardSize - align));
	return ok;
}

int emu_launch(const char *name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
               size_t shmem, const uint64_t *args, int nargs, char *err, size_t errlen) {
	std::lock_guard<std::mutex> lock(mu);
	const Entry *e = nullptr;
	for (int i = 0; i < nentries; i++) {
		if (std::strcmp(entries[i].name, name) == 0) {
			e = &entries[i];
		}
	}
	if (!e) {
		snprintf(err, errlen, "no kernel %s", name);
		return -1;
	}
	if (nargs != e->nargs) {
		snprintf(err, errlen, "kernel %s takes %d arguments, got %d", name, e->nargs, nargs);
		return -1;
	}
	const unsigned long nt = (unsigned long)bx * by * bz;
	if (nt == 0 || nt > 1024 || gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535) {
		snprintf(err, errlen, "kernel %s: invalid launch grid (%u,%u,%u) block (%u,%u,%u)", name, gx, gy, gz, bx, by,
		         bz);
		return -1;
	}
	while (threads.size() < nt) {
		// A stack with an inaccessible page below it: an overflow faults
		// instead of corrupting the neighbouring stack.
		const size_t page = 4096;
		void *m = mmap(nullptr, stackSize + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			snprintf(err, errlen, "cannot map a thread stack");
			return -1;
		}
		mprotect(m, page, PROT_NONE);
		threads.emplace_back();
		threads.back().stack = (char *)m + page;
	}
	std::vector<unsigned char> dyn(shmem > 0 ? shmem : 1, guardByte);
	emu_dynamic_shared = dyn.data();
	body = e->call;
	bodyArgs = args;
	gridDim = {gx, gy, gz};
	blockDim = {bx, by, bz};
	for (unsigned z = 0; z < gz; z++) {
		for (unsigned y = 0; y < gy; y++) {
			for (unsigned x = 0; x < gx; x++) {
				blockIdx = {x, y, z};
				std::fill(dyn.begin(), dyn.end(), guardByte);
				if (!runBlock((int)nt, err, errlen)) {
					return -1;
				}
			}
		}
	}
	return 0;
}

int emu_kernel_count(void) { return nentries; }
const char *emu_kernel_name(int i) { return entries[i].name; }
const char *emu_kernel_signature(int i) { return entries[i].sig; }
const char *emu_sources_hash(void) { return EMU_SOURCES_HASH; }
double emu_contract_probe(double a, double b, double c) { return rs::add(rs::mul(a, b), c); }
float emu_contract_probe32(float a, float b, float c) { return rs::add(rs::mul(a, b), c); }

} // extern "C"
