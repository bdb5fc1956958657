// arith.cuh: the basic operations of the numeric contract (ARCHITECTURE.md, "The numeric contract"),
// overloaded for float and double so that templated kernels spell every
// rounding out. Each wraps an explicit round-to-nearest intrinsic, which
// nvcc never contracts into an FMA whatever -fmad says (-fmad=false is the
// second guard).
#ifndef RATESIM_ARITH_CUH
#define RATESIM_ARITH_CUH

#if !defined(__CUDACC__)
#include "hostemu.h"
#define DYNAMIC_SHARED(T, name) T *name = (T *)emu_dynamic_shared
#else
#define DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#endif

namespace rs {

typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;

__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float div(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double div(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float sqrtT(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double sqrtT(double a) { return __dsqrt_rn(a); }

// is_finite is backend.IsFinite: x − x is 0 unless x is NaN or ±Inf.
template <typename T>
__device__ __forceinline__ bool is_finite(T x) { return sub(x, x) == T(0); }

__device__ __forceinline__ i64 imin(i64 a, i64 b) { return a < b ? a : b; }

// vec is W values of T loaded or stored as one access (ld.shared.v2/v4:
// one instruction instead of W); its address must be a multiple of its
// size. Only data movement: no arithmetic is vectorized.
template <typename T, int W>
struct alignas(sizeof(T) * W) vec {
	T e[W];
};

// loadVec copies n values (n a multiple of VB/sizeof(T)) from p, aligned
// to VB bytes, into out, VB bytes per load.
template <typename T, int VB, int n>
__device__ __forceinline__ void loadVec(const T *p, T (&out)[n]) {
	constexpr int W = VB / (int)sizeof(T);
	static_assert(W >= 1 && n % W == 0, "loadVec: n must be a multiple of the vector width");
#pragma unroll
	for (int q = 0; q < n / W; q++) {
		const vec<T, W> x = ((const vec<T, W> *)p)[q];
#pragma unroll
		for (int e = 0; e < W; e++) {
			out[q * W + e] = x.e[e];
		}
	}
}

} // namespace rs

#endif
