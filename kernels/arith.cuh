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

} // namespace rs

#endif
