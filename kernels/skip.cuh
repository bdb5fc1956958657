// skip.cuh: the plasticity kernels' rule for an instance whose run failed
// (plastic.cu, plasticl5.cu, lowrank.cu).
#ifndef RATESIM_SKIP_CUH
#define RATESIM_SKIP_CUH

#include "arith.cuh"

namespace rs {

// skipInstance: instance k does no plasticity at this step when the run
// failed at an earlier step, or its own or an earlier instance's dynamics
// failed at this one (the sentinel base + perStep − 1 of a weight error is
// no dynamics error). A null err (no error record) skips nothing.
__device__ __forceinline__ bool skipInstance(const u64 *err, u64 base, u64 perStep, i64 K, i64 k) {
	if (!err) {
		return false;
	}
	const u64 e = *(const volatile u64 *)err;
	if (e < base) {
		return true;
	}
	if (e >= base + perStep - 1) {
		return false;
	}
	return (i64)((e - base) / (perStep / (u64)K)) <= k;
}

} // namespace rs

#endif
