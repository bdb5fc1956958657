// persistent.cu: a persistent kernel for many small networks. One block owns one
// instance and a block of nb ≤ tb ≤ TBMAX of its trials and runs all ns steps
// of a segment itself, with __syncthreads between the phases of a step, so a
// step costs no launch and no global round trip: Drive sits in shared
// memory when it fits (wShared), z = [r; u] and v always do.
//
// Per step: inputs into z → barrier → each thread takes units i = tid,
// tid+nt, … and sums Σ_j z_j·W[j][i] for all the block's trials at once
// (one W load feeds nb sums; dotUnits) and leaves the sums where the unit's
// new rates go, then leak, noise, activation, check, record, writing r into
// the other z buffer → barrier → readout from the new r → barrier
// (__syncthreads_or: stop when this block or any earlier step failed). The
// arithmetic is the step and readout kernels' own, operation for operation
// (model.cuh), so either path gives the same bits.
//
// Two kernels per precision: persistent_T runs the v-form with the
// program's one activation (form and acts are ignored), persistent_rate_T
// also the rate form (model.cuh's rateUnit, no state) and per-unit
// activations (acts, either form). They are one template (GENERAL): the
// v-form kernel keeps the code, registers and dot loops it had before the
// rate form. Euler is the v-form's step with rateUnit for unitStep. RK4
// runs four products a step, each followed by the units' stage update and
// a barrier: stage 1 sums z_a (r_{t−1}) into z_q and leaves the stage
// rates there, stage 2 z_q into z_b, stage 3 z_b into z_q, stage 4 z_q
// into z_b (r_t, as Euler and the v-form leave it); k1…k3 wait in ks.
// Every stage buffer holds the step's inputs too, so each product is the
// same dotUnits over [q; u_t].
//
// Shared memory (dynamic, T elements, the size package gpu computes:
// 2·rows·tb + tb·N [+ rows·tb + 4 + 3·tb·N for RK4] [+ rows·N]): [z_a:
// (N+I)·nb] [z_b: (N+I)·nb, aligned for vector loads] [v: nb·N] [RK4 only:
// z_q: (N+I)·nb, aligned; ks: 3·nb·N] [W: rows·N if wShared]. z is stored [j][trial]
// with stride nb, so that one j's trials are adjacent, every thread reads
// the same address (a broadcast), and a run of rows is one contiguous,
// aligned block that vector loads read. The bias row of ones is not
// stored: its term is 1·W[N+I][i], the same operation on the same operands.
#include "model.cuh"

namespace rs {

// dotShape is dotUnits' unrolling for NB trials of T: U ≤ 16 rows per
// iteration, about 256 bytes of z (more rows amortize the loop's own
// instructions; ptxas keeps it within the register budget), a whole number
// of VB-byte vector loads. One float trial is loaded 8 bytes at a time:
// its second z buffer is only 8-byte aligned when tb = 1 (see zOffsetB).
template <typename T, int NB>
struct dotShape {
	static constexpr int raw = 256 / (NB * (int)sizeof(T));
	static constexpr int U0 = raw < 1 ? 1 : (raw > 16 ? 16 : raw);
	static constexpr int U = (NB * (int)sizeof(T) * U0) % 8 == 0 ? U0 : U0 - 1;
	static constexpr int VB = (U * NB * (int)sizeof(T)) % 16 == 0 && !(sizeof(T) == 4 && NB == 1) ? 16 : 8;
	static_assert(U >= 1 && (U * NB * (int)sizeof(T)) % VB == 0, "dotShape: rows per iteration");
	// An iteration's U·NB values of z are loaded CH at a time (at most 64
	// bytes, whole vectors): fewer live registers for wide double blocks.
	static constexpr int E = U * NB;
	static constexpr int chunk(int c) {
		return c * (int)sizeof(T) <= 64 && E % c == 0 && (c * (int)sizeof(T)) % VB == 0 ? c : chunk(c - 1);
	}
	static constexpr int CH = chunk(E);
};

// zOffsetB is the offset of the second z buffer (elements): past the first
// one, rounded up to a multiple of 16 bytes (8 bytes for a float trial
// block of one). It fits the shared memory package gpu gives: the two
// buffers take 2·(N+I)·nb + pad ≤ 2·rows·tb elements, the pad (≤ 3, or ≤ 1)
// coming out of the bias rows that are not stored.
template <typename T>
__device__ __forceinline__ int zOffsetB(int zlen, int nb) {
	const int a = sizeof(T) == 4 && nb > 1 ? 4 : 2;
	return (zlen + a - 1) / a * a;
}

// dotUnits stores in x[i·NB + bb], for each unit i = tid, tid+nt, … < N and
// trial bb < NB, the drive Σ_{j<J} z[j·NB+bb]·W[j·N+i] + 1·W[J·N+i]: j
// ascending from +0, a rounding after every multiply and add (the
// contract's order; J = N+I, row J the bias). W is in shared memory when WS
// (one template per place, so its loads are ld.shared or ld.global, never
// generic), the j loop runs U rows per iteration with the next rows' W
// already loaded, and NB is exact, so no trial is guarded.
template <typename T, int NB, bool WS>
__device__ __forceinline__ void dotUnits(const T *__restrict__ W, const T *__restrict__ z, T *__restrict__ x, int N,
                                         int J, int tid, int nt) {
	constexpr int U = dotShape<T, NB>::U, VB = dotShape<T, NB>::VB, CH = dotShape<T, NB>::CH;
	const int full = J - J % U; // rows in whole iterations
	for (int i = tid; i < N; i += nt) {
		const T *__restrict__ wi = W + i;
		T acc[NB];
#pragma unroll
		for (int bb = 0; bb < NB; bb++) {
			acc[bb] = T(0);
		}
		// wp[u] walks row j+u of W: one add a row per iteration, no
		// multiply, in the address width of W's memory.
		const T *__restrict__ wp[U];
		T w[U];
#pragma unroll
		for (int u = 0; u < U; u++) {
			wp[u] = wi + u * N;
			w[u] = full > 0 ? *wp[u] : T(0);
		}
		const int step = U * N;
		for (int j = 0; j < full; j += U) {
			// Prefetch the next iteration's W.
			T wn[U];
			const bool more = j + U < full;
#pragma unroll
			for (int u = 0; u < U; u++) {
				wp[u] += step;
				wn[u] = more ? *wp[u] : T(0);
			}
			// Element c of the block is row j + c/NB, trial c%NB: for each
			// trial the rows come in ascending order.
#pragma unroll
			for (int c0 = 0; c0 < U * NB; c0 += CH) {
				T zz[CH];
				loadVec<T, VB>(z + j * NB + c0, zz);
#pragma unroll
				for (int e = 0; e < CH; e++) {
					acc[(c0 + e) % NB] = add(acc[(c0 + e) % NB], mul(zz[e], w[(c0 + e) / NB]));
				}
			}
#pragma unroll
			for (int u = 0; u < U; u++) {
				w[u] = wn[u];
			}
		}
		// The last J % U rows (fewer than U: not unrolled further).
#pragma unroll 1
		for (int j = full; j < J; j++) {
			const T wj = wi[j * N];
#pragma unroll
			for (int bb = 0; bb < NB; bb++) {
				acc[bb] = add(acc[bb], mul(z[j * NB + bb], wj));
			}
		}
		const T wb = wi[J * N];
#pragma unroll
		for (int bb = 0; bb < NB; bb++) {
			x[i * NB + bb] = add(acc[bb], mul(T(1), wb));
		}
	}
}

// dotDispatch calls the dotUnits of nb trials and W's place (block-uniform
// arguments: every thread of a block takes the same branch).
template <typename T, bool WS>
__device__ __forceinline__ void dotDispatchW(const T *W, const T *z, T *x, int N, int J, int tid, int nt, int nb) {
	switch (nb) {
#define RS_DOT_CASE(n)                                                                                             \
	case n:                                                                                                        \
		dotUnits<T, n, WS>(W, z, x, N, J, tid, nt);                                                                \
		break;
		RS_DOT_CASE(1)
		RS_DOT_CASE(2)
		RS_DOT_CASE(3)
		RS_DOT_CASE(4)
		RS_DOT_CASE(5)
		RS_DOT_CASE(6)
		RS_DOT_CASE(7)
		RS_DOT_CASE(8)
		RS_DOT_CASE(9)
		RS_DOT_CASE(10)
		RS_DOT_CASE(11)
		RS_DOT_CASE(12)
		RS_DOT_CASE(13)
		RS_DOT_CASE(14)
		RS_DOT_CASE(15)
		RS_DOT_CASE(16)
#undef RS_DOT_CASE
	}
}

// dotDispatch takes W from shared memory (ws) when wShared, else from
// global memory (wg): two pointers, so that each instantiation's loads
// name their memory.
template <typename T>
__device__ __forceinline__ void dotDispatch(bool wShared, const T *ws, const T *wg, const T *z, T *x, int N, int J,
                                            int tid, int nt, int nb) {
	if (wShared) {
		dotDispatchW<T, true>(ws, z, x, N, J, tid, nt, nb);
	} else {
		dotDispatchW<T, false>(wg, z, x, N, J, tid, nt, nb);
	}
}

// rateStageUnit is the rate form's update of one unit of one trial at
// one stage (model.cuh's rateUnit; stage 0 Euler, 1…4 RK4): x, the drive
// of the stage rates q, is replaced by what the stage leaves (at is the
// unit's slot in r0s, r_{t−1}, and in each of ks' KBN-value rows of
// k1…k3). The stages that end the step (Euler, 4) check and record r_t
// (keepRate) and report whether it is non-finite. Not inlined: the
// v-form's per-unit loop stays the code it was, and the rate form's loops
// around this call are a few loads and a call.
template <typename T>
__device__ __noinline__ bool rateStageUnit(const rateForm<T> rf, i64 stage, T *x, T q, const T *r0s, T *ks, i64 at,
                                           i64 KBN, i64 u, i64 i, T post, u64 seed, i64 gk, i64 gb, i64 t, T *recR,
                                           u64 *err, u64 base, i64 B, i64 U, i64 N, i64 m, i64 rec, i64 k, i64 b) {
	const T ri = rateUnit(rf, stage, *x, q, r0s, ks, at, KBN, u, i, post, seed, gk, gb, t);
	*x = ri;
	if (stage != 0 && stage != 4) {
		return false;
	}
	return keepRate(recR, err, base, B, U, N, m, rec, k, b, i, ri);
}

template <typename T, int TBMAX, bool GENERAL>
__device__ __forceinline__ void persistentBlock(
    const T *__restrict__ drive, const T *__restrict__ R, const T *__restrict__ decay,
    const T *__restrict__ alpha, const T *__restrict__ pre, const T *__restrict__ post, T *__restrict__ v,
    const T *rin, T *rout, const T *__restrict__ in, T *__restrict__ recR, T *__restrict__ recV,
    T *__restrict__ recY, u64 *err, i64 K, i64 B, i64 N64, i64 I64, i64 O64, i64 U, i64 act, u64 seed, i64 firstK,
    i64 firstB, i64 t0, i64 ns, i64 inShared, i64 stride, i64 recOff, i64 m, u64 perStep, i64 tb, i64 wShared,
    const T *__restrict__ invTau, const T *__restrict__ acts, i64 form, i64 clip, u64 dtBits) {
	static_assert(TBMAX <= 16, "dotDispatchW has cases up to 16 trials");
	DYNAMIC_SHARED(double, smemRaw); // double: 8-byte alignment for either T
	T *sm = (T *)smemRaw;

	// Sizes fit int: N ≤ 65536 units, and z, v (and W when shared) fit in
	// a block's shared memory. Offsets into global arrays stay 64-bit.
	const int N = (int)N64, I = (int)I64, O = (int)O64, J = N + I;
	const i64 tiles = (B + tb - 1) / tb;
	const i64 k = blockIdx.x / tiles;
	const i64 b0 = (blockIdx.x % tiles) * tb;
	if (k >= K) {
		return;
	}
	const int nb = (int)imin(tb, B - b0);
	const int tid = threadIdx.x, nt = blockDim.x;
	const i64 kin = inShared ? 0 : k;

	const int zlen = J * nb;
	T *zc = sm;
	T *zn = sm + zOffsetB<T>(zlen, nb);
	T *vs = zn + zlen;
	const T *__restrict__ wg = drive + k * (i64)(J + 1) * N;
	T *ws = vs + nb * N;
	// RK4's third z buffer and k1…k3, between v and W.
	const bool rk4 = GENERAL && form == formRK4;
	T *zq = nullptr, *ks = nullptr;
	if (rk4) {
		zq = sm + zOffsetB<T>((int)(vs + nb * N - sm), nb);
		ks = zq + zlen;
		ws = ks + 3 * nb * N;
	}
	if (wShared) {
		for (int e = tid; e < (J + 1) * N; e += nt) {
			ws[e] = wg[e];
		}
	}

	const i64 g0 = (k * B + b0) * N; // this block's first (trial, unit) in v, rin, rout
	for (int e = tid; e < nb * N; e += nt) {
		const int bb = e / N, i = e % N;
		vs[bb * N + i] = v[g0 + e];
		zc[i * nb + bb] = rin[g0 + e];
	}

	const T *RR = R ? R + k * (N64 + 1) * O : nullptr;
	for (i64 s = 0; s < ns; s++) {
		const i64 t = t0 + s;
		const u64 base = (u64)s * perStep;
		const i64 rec = recordIndex(t, stride, recOff);
		for (int e = tid; e < nb * I; e += nt) {
			const int bb = e / I, j = e % I;
			const T x = in ? in[((kin * B + b0 + bb) * ns + s) * I + j] : T(0);
			zc[(N + j) * nb + bb] = x;
			if (rk4) {
				zn[(N + j) * nb + bb] = x;
				zq[(N + j) * nb + bb] = x;
			}
		}
		__syncthreads();

		bool bad = false;
		const T *zsrc = zc; // the rates the last product reads
		if (rk4) {
			// Stages 1–3; each product writes the drives into its
			// destination's own slots, which no thread reads until the
			// barrier after the stage.
			const rateForm<T> rf{form, clip != 0, (T)f64of(dtBits), invTau, act, acts};
			T *src = zc, *dst = zq;
			for (int st = 1; st <= 3; st++) {
				dotDispatch<T>(wShared != 0, ws, wg, src, dst, N, J, tid, nt, nb);
				for (int i = tid; i < N; i += nt) {
					const i64 u = k * N64 + i;
					const T po = post[u];
					for (int bb = 0; bb < nb; bb++) {
						const int at = i * nb + bb;
						rateStageUnit(rf, st, &dst[at], src[at], zc, ks, at, nb * N, u, i, po, seed, firstK + k,
						              firstB + b0 + bb, t, recR, err, base, B, U, N64, m, rec, k, b0 + bb);
					}
				}
				__syncthreads();
				T *done = dst;
				dst = src == zc ? zn : zq;
				src = done;
			}
			zsrc = src; // z_q: stage 3's rates
		}

		// The drives go where the new rates will: each thread's own slots
		// of zn, dead until now (the last readout, and RK4's stage 3, read
		// other buffers).
		dotDispatch<T>(wShared != 0, ws, wg, zsrc, zn, N, J, tid, nt, nb);
		if (GENERAL && form != formV) {
			const rateForm<T> rf{form, clip != 0, (T)f64of(dtBits), invTau, act, acts};
			const i64 stage = rk4 ? 4 : 0;
			for (int i = tid; i < N; i += nt) {
				const i64 u = k * N64 + i;
				const T po = post[u];
				for (int bb = 0; bb < nb; bb++) {
					const int at = i * nb + bb;
					if (rateStageUnit(rf, stage, &zn[at], zsrc[at], zc, ks, at, nb * N, u, i, po, seed, firstK + k,
					                  firstB + b0 + bb, t, recR, err, base, B, U, N64, m, rec, k, b0 + bb)) {
						bad = true;
					}
				}
			}
		} else {
			for (int i = tid; i < N; i += nt) {
				const i64 u = k * N64 + i;
				const T dec = decay[u], alp = alpha[u], pr = pre[u], po = post[u];
				for (int bb = 0; bb < nb; bb++) {
					const i64 b = b0 + bb;
					T vi = vs[bb * N + i], ri;
					unitStep(zn[i * nb + bb], vi, ri, dec, alp, pr, po, act, GENERAL ? acts : nullptr, seed, firstK + k, firstB + b, t,
					         i);
					vs[bb * N + i] = vi;
					zn[i * nb + bb] = ri;
					if (keepUnit(recR, recV, err, base, B, U, N64, m, rec, k, b, i, vi, ri)) {
						bad = true;
					}
				}
			}
		}
		__syncthreads();

		for (int e = tid; e < nb * O; e += nt) {
			const int bb = e / O, o = e % O;
			const i64 b = b0 + bb;
			const T *__restrict__ zb = zn + bb;
			const T *__restrict__ Ro = RR + o;
			T acc = T(0);
			for (int j = 0; j < N; j++) {
				acc = add(acc, mul(zb[j * nb], Ro[j * O]));
			}
			const T y = add(acc, Ro[N * O]);
			if (rec >= 0 && recY) {
				recY[((k * B + b) * m + rec) * O + o] = y;
			}
			if (!is_finite(y)) {
				reportNonFinite(err, base, B, U, k, b, qOutput, o, y);
				bad = true;
			}
		}
		// Stop after this step when it failed here, or when any block has
		// failed at this step or earlier: later steps cannot matter then.
		const bool stop = __syncthreads_or(bad || (tid == 0 && failedBefore(err, base + perStep)));
		T *tmp = zc;
		zc = zn;
		zn = tmp;
		if (stop) {
			break;
		}
	}

	for (int e = tid; e < nb * N; e += nt) {
		const int bb = e / N, i = e % N;
		v[g0 + e] = vs[bb * N + i];
		rout[g0 + e] = zc[i * nb + bb];
	}
}

} // namespace rs

// __launch_bounds__(256, MINB): with MINB = 2 (at most 128 registers a
// thread, two blocks of 256 threads a multiprocessor) the 16-trial sums
// spill, so both precisions keep MINB = 1 (the static report, gen.sh
// -report, proves that nothing spills).
#define PERSISTENT_KERNEL(name, T, TBMAX, MINB, GENERAL)                                                                   \
	extern "C" __global__ void __launch_bounds__(256, MINB)                                                       \
	    name(const T *drive, const T *readout, const T *decay, const T *alpha, const T *pre, const T *post, T *v, \
	         const T *rin, T *rout, const T *in, T *recR, T *recV, T *recY, rs::u64 *err, rs::i64 K,              \
	         rs::i64 B, rs::i64 N, rs::i64 I, rs::i64 O, rs::i64 U, rs::i64 act, rs::u64 seed,                    \
	         rs::i64 firstK, rs::i64 firstB, rs::i64 t0, rs::i64 ns, rs::i64 inShared, rs::i64 stride,            \
	         rs::i64 recOff, rs::i64 m, rs::u64 perStep, rs::i64 tb, rs::i64 wShared, const T *invTau,             \
	         const T *acts, rs::i64 form, rs::i64 clip, rs::u64 dtBits) {                                         \
		rs::persistentBlock<T, TBMAX, GENERAL>(drive, readout, decay, alpha, pre, post, v, rin, rout, in, recR, recV,      \
		                              recY, err, K, B, N, I, O, U, act, seed, firstK, firstB, t0, ns, inShared,   \
		                              stride, recOff, m, perStep, tb, wShared, invTau, acts, form, clip, dtBits); \
	}

PERSISTENT_KERNEL(persistent_f32, float, 16, 1, false)
PERSISTENT_KERNEL(persistent_f64, double, 16, 1, false)
PERSISTENT_KERNEL(persistent_rate_f32, float, 16, 1, true)
PERSISTENT_KERNEL(persistent_rate_f64, double, 16, 1, true)
