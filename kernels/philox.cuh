// philox.cuh is backend/philox.go and the transforms of backend/random.go
// on the device: Philox4x32-10 on the counter layout of backend.Counter,
// the exact uniform maps and Box–Muller with dmath's log and cospi. cuRAND
// is not used: its transforms are its own and would break parity.
#ifndef RATESIM_PHILOX_CUH
#define RATESIM_PHILOX_CUH

#include "dmath.cuh"

namespace rs {

constexpr u32 philoxM0 = 0xD2511F53u;
constexpr u32 philoxM1 = 0xCD9E8D57u;
constexpr u32 philoxW0 = 0x9E3779B9u;
constexpr u32 philoxW1 = 0xBB67AE85u;

// Purposes (backend.Purpose): part of the contract.
constexpr u32 purposePreNoise = 0;
constexpr u32 purposePostNoise = 1;
constexpr u32 purposeGrowth = 2;

// philox4x32 is backend.Philox4x32: ten rounds on c with key (k0, k1).
__device__ __forceinline__ void philox4x32(u32 c[4], u32 k0, u32 k1) {
	u32 c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
#pragma unroll
	for (int round = 0; round < 10; round++) {
		u32 hi0 = __umulhi(philoxM0, c0), lo0 = philoxM0 * c0;
		u32 hi1 = __umulhi(philoxM1, c2), lo1 = philoxM1 * c2;
		c0 = hi1 ^ c1 ^ k0;
		c1 = lo1;
		c2 = hi0 ^ c3 ^ k1;
		c3 = lo0;
		k0 += philoxW0;
		k1 += philoxW1;
	}
	c[0] = c0;
	c[1] = c1;
	c[2] = c2;
	c[3] = c3;
}

// counter is backend.Counter: unit, step, trial, instance<<4 | purpose, each
// truncated to 32 bits as Go's uint32 conversions do.
__device__ __forceinline__ void counter(u32 c[4], i64 instance, i64 trial, i64 step, i64 unit, u32 purpose) {
	c[0] = (u32)unit;
	c[1] = (u32)step;
	c[2] = (u32)trial;
	c[3] = (u32)instance << 4 | (purpose & 15u);
}

// uniform32 is backend.Uniform32: (k + ½)·2⁻²³ from the top 23 bits, exact.
__device__ __forceinline__ float uniform32(u32 w) {
	return __fmul_rn(__fadd_rn(__uint2float_rn(w >> 9), 0.5f), 0x1p-23f);
}

// uniform64 is backend.Uniform64: (k + ½)·2⁻⁵² from 52 bits, exact.
__device__ __forceinline__ double uniform64(u32 w0, u32 w1) {
	u64 k = (u64)w0 << 20 | (u64)(w1 >> 12);
	return __dmul_rn(__dadd_rn(__ull2double_rn(k), 0.5), 0x1p-52);
}

// cosarg32 is backend.CosArg32: 2u₂ = (2k+1)·2⁻²³ for k = w>>9, or for
// the sine of 2πu₂ the cosine's argument a quarter turn back, exact.
__device__ __forceinline__ float cosarg32(u32 w, bool sine) {
	u32 k = w >> 9;
	if (sine) {
		k = (k + (3u << 21)) & ((1u << 23) - 1);
	}
	return __fmul_rn(__uint2float_rn(2 * k + 1), 0x1p-23f);
}

// normal32 is backend.Normal32: sqrt(−2·log u₁)·cos(2π u₂), or its sine
// half, in float32.
__device__ __forceinline__ float normal32(const u32 w[4], bool sine) {
	float u1 = uniform32(w[0]);
	float l = __fmul_rn(dm::log32(u1), -2.0f);
	float s = __fsqrt_rn(l);
	return __fmul_rn(s, dm::cospi32(cosarg32(w[1], sine)));
}

// normal64 is backend.Normal64.
__device__ __forceinline__ double normal64(const u32 w[4]) {
	double u1 = uniform64(w[0], w[1]), u2 = uniform64(w[2], w[3]);
	double l = __dmul_rn(dm::log(u1), -2.0);
	return __dmul_rn(__dsqrt_rn(l), dm::cospi(__dmul_rn(2.0, u2)));
}

// blockOf is the unit's Philox block (backend.Normal): float32 noise takes
// units u and u+8 of each aligned 16 from one block, 8·(u/16) + u mod 8,
// the cosine and the sine of its pair (backend.NormalPair32).
__device__ __forceinline__ i64 blockOf(i64 unit, float) { return unit >> 4 << 3 | (unit & 7); }
__device__ __forceinline__ i64 blockOf(i64 unit, double) { return unit; }
__device__ __forceinline__ float normalFrom(const u32 w[4], i64 unit, float) { return normal32(w, (unit & 8) != 0); }
__device__ __forceinline__ double normalFrom(const u32 w[4], i64, double) { return normal64(w); }

// normal is backend.Normal[T] at the given global coordinates. Not inlined:
// the unit update calls it from every unrolled element of a register tile.
template <typename T>
__device__ __noinline__ T normal(u64 seed, i64 instance, i64 trial, i64 step, i64 unit, u32 purpose) {
	u32 c[4];
	counter(c, instance, trial, step, blockOf(unit, T()), purpose);
	philox4x32(c, (u32)seed, (u32)(seed >> 32));
	return normalFrom(c, unit, T());
}

} // namespace rs

#endif
