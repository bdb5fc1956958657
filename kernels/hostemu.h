// hostemu.h lets the kernel sources compile as plain C++ on the host, so
// that package gpu/internal/emu can run them without a GPU and the
// conformance suite can check their arithmetic, indexing, recording layout
// and error reporting on any machine (go test -tags 'cuda cudaemu' ./gpu).
//
// It is included only when __CUDACC__ is not defined; nvcc never sees it.
// Everything here models CUDA's semantics as far as the kernels use them:
//
//   - the __f*_rn/__d*_rn intrinsics are the plain IEEE operations, which on
//     x86-64 (SSE2, no excess precision) and arm64 round to nearest even in
//     the operand's precision, provided the compiler does not contract a*b+c
//     into an FMA: the pragmas below forbid it (cgo refuses
//     -ffp-contract=off as a flag), ISO mode (-std=c++17) makes it GCC's
//     default, and package emu's tests probe for it;
//   - the threads of a block are coroutines run one after another up to each
//     barrier (emu.cc), so __shared__ variables are plain statics: only one
//     block runs at a time;
//   - atomics are plain read-modify-writes for the same reason.
#ifndef RATESIM_HOSTEMU_H
#define RATESIM_HOSTEMU_H

#include <cmath>
#include <cstring>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define __device__
#define __global__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static
#define __constant__ static const

struct dim3 {
	unsigned x, y, z;
};

// Set by the emulator's scheduler before it resumes a thread.
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
// The block's dynamic shared memory (see DYNAMIC_SHARED in arith.cuh).
extern void *emu_dynamic_shared;

// Barriers: yield to the scheduler until every thread of the block arrived.
void __syncthreads();
int __syncthreads_or(int predicate);

static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline double __dsqrt_rn(double a) { return std::sqrt(a); }
static inline float __double2float_rn(double a) { return (float)a; }
static inline double __ull2double_rn(unsigned long long a) { return (double)a; }
static inline double __ll2double_rn(long long a) { return (double)a; }
static inline float __uint2float_rn(unsigned a) { return (float)a; }

static inline long long __double_as_longlong(double a) {
	long long r;
	std::memcpy(&r, &a, sizeof r);
	return r;
}
static inline double __longlong_as_double(long long a) {
	double r;
	std::memcpy(&r, &a, sizeof r);
	return r;
}
static inline int __float_as_int(float a) {
	int r;
	std::memcpy(&r, &a, sizeof r);
	return r;
}
static inline unsigned __umulhi(unsigned a, unsigned b) {
	return (unsigned)(((unsigned long long)a * b) >> 32);
}
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
	return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
static inline int __clzll(long long x) {
	return x == 0 ? 64 : __builtin_clzll((unsigned long long)x);
}
static inline unsigned long long atomicMin(unsigned long long *p, unsigned long long v) {
	unsigned long long old = *p;
	if (v < old)
		*p = v;
	return old;
}

#endif
