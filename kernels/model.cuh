// model.cuh: the parts of the step that every kernel shares, written once so
// that the fused step kernel, the readout kernel and the persistent kernel
// (persistent.cu) cannot drift apart: the activation (backend.Activate), the
// unit update of the Program doc comment, and the non-finite error record.
#ifndef RATESIM_MODEL_CUH
#define RATESIM_MODEL_CUH

#include "philox.cuh"

namespace rs {

// backend.Activation values.
enum { actReLU = 0, actTanh = 1, actSigmoid = 2, actReTanh = 3, actSoftplus = 4, actIdentity = 5 };

__device__ __forceinline__ float tanhT(float x) { return dm::tanh32(x); }
__device__ __forceinline__ double tanhT(double x) { return dm::tanh(x); }
__device__ __forceinline__ float sigmoidT(float x) { return dm::sigmoid32(x); }
__device__ __forceinline__ double sigmoidT(double x) { return dm::sigmoid(x); }
__device__ __forceinline__ float softplusT(float x) { return dm::softplus32(x); }
__device__ __forceinline__ double softplusT(double x) { return dm::softplus(x); }

// activate is backend.Activate: relu and retanh give +0 for non-positive
// input and for NaN.
template <typename T>
__device__ __forceinline__ T activate(i64 act, T v) {
	switch (act) {
	case actReLU:
		return v > T(0) ? v : T(0);
	case actTanh:
		return tanhT(v);
	case actSigmoid:
		return sigmoidT(v);
	case actReTanh: {
		T t = tanhT(v);
		return t > T(0) ? t : T(0);
	}
	case actSoftplus:
		return softplusT(v);
	}
	return v;
}

// unitStep applies one step to unit i of trial gb of instance gk (global
// indices) given its drive x = Σ z_j·Drive[j][i]:
//
//	v = Decay·v + Alpha·x
//	v = v + PreNoise·ξ_pre     if PreNoise ≠ 0
//	r = f(v)
//	r = r + PostNoise·ξ_post   if PostNoise ≠ 0
template <typename T>
__device__ __forceinline__ void unitStep(T x, T &v, T &r, T decay, T alpha, T pre, T post, i64 act, u64 seed,
                                         i64 gk, i64 gb, i64 t, i64 i) {
	T vi = add(mul(decay, v), mul(alpha, x));
	if (pre != T(0)) {
		vi = add(vi, mul(pre, normal<T>(seed, gk, gb, t, i, purposePreNoise)));
	}
	T ri = activate(act, vi);
	if (post != T(0)) {
		ri = add(ri, mul(post, normal<T>(seed, gk, gb, t, i, purposePostNoise)));
	}
	v = vi;
	r = ri;
}

// Quantities in the contract's order (backend.NonFiniteError.Before).
enum { qState = 0, qRate = 1, qOutput = 2 };

// reportNonFinite records a non-finite value x in the run's error key. The
// key is the value's position in the contract's order, (step, instance,
// trial, quantity, unit), as one mixed-radix number, times 4 plus the
// value's class (0 NaN, 1 +Inf, 2 −Inf); the smallest key is the first
// error, so atomicMin finds it whatever order the threads run in. It only
// chooses which error to report: no value depends on it. base is the step's
// offset (step index in the launch segment × K·B·3·U·4); U = max(N, O).
template <typename T>
__device__ __forceinline__ void reportNonFinite(u64 *err, u64 base, i64 B, i64 U, i64 k, i64 b, int q, i64 unit,
                                                T x) {
	u64 cls = x != x ? 0 : (x > T(0) ? 1 : 2);
	u64 key = base + ((((u64)k * (u64)B + (u64)b) * 3 + (u64)q) * (u64)U + (u64)unit) * 4 + cls;
	atomicMin(err, key);
}

// keepUnit stores unit i's new state vi and rate ri of instance k, trial b
// in the recording buffers at slot rec (none when rec < 0; recR/recV null
// when not recorded) and reports a non-finite state or rate in the error
// key; it returns whether either was non-finite. Both the step and the
// persistent kernel end a unit's update with it.
template <typename T>
__device__ __forceinline__ bool keepUnit(T *recR, T *recV, u64 *err, u64 base, i64 B, i64 U, i64 N, i64 m, i64 rec,
                                         i64 k, i64 b, i64 i, T vi, T ri) {
	if (rec >= 0) {
		const i64 o = ((k * B + b) * m + rec) * N + i;
		if (recR) {
			recR[o] = ri;
		}
		if (recV) {
			recV[o] = vi;
		}
	}
	bool bad = false;
	if (!is_finite(vi)) {
		reportNonFinite(err, base, B, U, k, b, qState, i, vi);
		bad = true;
	}
	if (!is_finite(ri)) {
		reportNonFinite(err, base, B, U, k, b, qRate, i, ri);
		bad = true;
	}
	return bad;
}

// failedBefore reports whether an error was recorded at an earlier step of
// the segment than the one starting at base: then the run has stopped and
// this step must not run.
__device__ __forceinline__ bool failedBefore(const u64 *err, u64 base) {
	return *(const volatile u64 *)err < base;
}

// recordIndex returns the slot of step t in the segment's recording buffer,
// or −1 when t is not recorded: t is recorded when t % stride == 0, and
// recOff = (t0−1)/stride for the segment's first step t0.
__device__ __forceinline__ i64 recordIndex(i64 t, i64 stride, i64 recOff) {
	return t % stride == 0 ? t / stride - recOff - 1 : -1;
}

} // namespace rs

#endif
