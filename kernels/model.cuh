// model.cuh: the parts of the step that every kernel shares, written once so
// that the fused step kernel, the gathered-drive kernel, the readout kernel
// and the persistent kernel (persistent.cu) cannot drift apart: the
// activations (backend.Activate, and the per-unit ones of
// backend.ActivateIn), the v-form's unit update of the Program doc comment,
// the rate form's (backend/rateform.go: Velocity, Stage, EulerFinish,
// RK4Finish, Finish), and the non-finite error record.
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

// The parameter activations (backend.Supralinear, backend.PowerLaw), which
// only a per-unit activation table names.
enum { actSupralinear = 6, actPowerLaw = 7 };

// maxIntegerPower is backend's: the largest power Validate lets through.
constexpr int maxIntegerPower = 64;

// signBit reports whether x's sign bit is set (−0 included); float
// converts to double exactly.
template <typename T>
__device__ __forceinline__ bool signBit(T x) { return __double_as_longlong((double)x) < 0; }

// maxZero and minZero are backend's: Go's math.Max and math.Min for
// non-NaN operands (+0 is the larger of ±0, −0 the smaller).
template <typename T>
__device__ __forceinline__ T maxZero(T x, T y) {
	if (x > y) {
		return x;
	}
	if (y > x) {
		return y;
	}
	return x == T(0) && signBit(x) ? y : x;
}

template <typename T>
__device__ __forceinline__ T minZero(T x, T y) {
	if (x < y) {
		return x;
	}
	if (y < x) {
		return y;
	}
	return x == T(0) && signBit(y) ? y : x;
}

// supra is backend.Supra: min(max(x, floor), ceiling), NaN passing.
template <typename T>
__device__ __forceinline__ T supra(T x, T floor, T ceiling) {
	if (x != x) {
		return x;
	}
	return minZero(maxZero(x, floor), ceiling);
}

__device__ __forceinline__ float powT(float x, float y) { return dm::pow32(x, y); }
__device__ __forceinline__ double powT(double x, double y) { return dm::pow(x, y); }

// powerLaw is backend.PowerLawOf: gain·[x]₊^power, [x]₊ = x for x > 0, NaN
// for NaN, +0 otherwise; an integer power n (Validate keeps it in
// 0 … 64) is n−1 rounded products left to right (n = 0 gives 1), any
// other power dmath's pow.
template <typename T>
__device__ __forceinline__ T powerLaw(T x, T gain, T power) {
	T y = T(0);
	if (x > T(0)) {
		y = x;
	} else if (x != x) {
		return x;
	}
	const i64 n = (i64)power;
	if ((T)n == power) {
		T acc = T(1);
		if (n > 0) {
			acc = y;
			// Unrolled whole (the trip count is at most 63): straight-line
			// products with a forward exit, not a loop, so the per-unit
			// epilogue adds no loop to the kernels' hot-loop report.
#pragma unroll
			for (int e = 1; e < maxIntegerPower; e++) {
				if (e >= n) {
					break;
				}
				acc = mul(acc, y);
			}
		}
		return mul(gain, acc);
	}
	return mul(gain, powT(y, power));
}

// The per-unit activation table (Program.UnitActivations as package gpu
// uploads it): actWords values of T per unit i of an instance, the code of
// its range's activation (backend.Activation, exact in T) and the range's
// Floor, Ceiling, Gain and Power. A table per unit instead of the ranges
// themselves: a thread finds its unit's entry without a search.
enum { actCode = 0, actFloor = 1, actCeiling = 2, actGain = 3, actPower = 4, actWords = 5 };

// activateIn is backend.ActivateIn for unit i's table entry. Not inlined:
// every kernel that ends a step calls it once per unit, and the step
// kernels' unrolled epilogues would otherwise hold one copy per register
// tile element.
template <typename T>
__device__ __noinline__ T activateIn(const T *acts, i64 i, T v) {
	const T *a = acts + i * actWords;
	switch ((i64)a[actCode]) {
	case actSupralinear:
		return supra(v, a[actFloor], a[actCeiling]);
	case actPowerLaw:
		return powerLaw(v, a[actGain], a[actPower]);
	}
	return activate((i64)a[actCode], v);
}

// activateUnit is f_i(v): unit i's entry of the table acts, or act for
// every unit when acts is null.
template <typename T>
__device__ __forceinline__ T activateUnit(i64 act, const T *acts, i64 i, T v) {
	return acts ? activateIn(acts, i, v) : activate(act, v);
}

// unitStep applies one step to unit i of trial gb of instance gk (global
// indices) given its drive x = Σ z_j·Drive[j][i]:
//
//	v = Decay·v + Alpha·x
//	v = v + PreNoise·ξ_pre     if PreNoise ≠ 0
//	r = f_i(v)                 (activateUnit: act, or unit i's entry of acts)
//	r = r + PostNoise·ξ_post   if PostNoise ≠ 0
template <typename T>
__device__ __forceinline__ void unitStep(T x, T &v, T &r, T decay, T alpha, T pre, T post, i64 act,
                                         const T *acts, u64 seed, i64 gk, i64 gb, i64 t, i64 i) {
	T vi = add(mul(decay, v), mul(alpha, x));
	if (pre != T(0)) {
		vi = add(vi, mul(pre, normal<T>(seed, gk, gb, t, i, purposePreNoise)));
	}
	T ri = activateUnit(act, acts, i, vi);
	if (post != T(0)) {
		ri = add(ri, mul(post, normal<T>(seed, gk, gb, t, i, purposePostNoise)));
	}
	v = vi;
	r = ri;
}

// Program.Form and Rate.Integrator as the kernels' `form` argument.
enum { formV = 0, formEuler = 1, formRK4 = 2 };

// rateForm holds what the rate form's unit update needs besides the
// unit's own values (kernel arguments, the same for every unit): Form as
// formEuler or formRK4, the clip at zero, Dt, 1/τ (K × N) and the
// per-unit activations (act, or the table acts when not null).
template <typename T>
struct rateForm {
	i64 form;
	bool clip;
	T dt;
	const T *invTau;
	i64 act;
	const T *acts;
};

// f64of is the float64 whose bits are w (a T constant passed as a 64-bit
// kernel argument: exact for a float32 value).
__device__ __forceinline__ double f64of(u64 w) { return __longlong_as_double((long long)w); }

// rateVelocity is backend's RateUnits.Velocity for unit i of instance k
// (u = k·N + i): InvTau·((−q) + f_i(x)), x the drive product of the stage
// rates q.
template <typename T>
__device__ __forceinline__ T rateVelocity(const rateForm<T> &rf, i64 u, i64 i, T x, T q) {
	return mul(rf.invTau[u], add(-q, activateUnit(rf.act, rf.acts, i, x)));
}

// rateFinish is backend's RateUnits.Finish for one unit: the clip at zero
// (r < 0 → +0; −0 and NaN pass), then the post-activation noise.
template <typename T>
__device__ __forceinline__ T rateFinish(const rateForm<T> &rf, T r, T post, u64 seed, i64 gk, i64 gb, i64 t,
                                        i64 i) {
	if (rf.clip && r < T(0)) {
		r = T(0);
	}
	if (post != T(0)) {
		r = add(r, mul(post, normal<T>(seed, gk, gb, t, i, purposePostNoise)));
	}
	return r;
}

// rateUnit is the rate form's part of one step for unit i of one trial (at
// its index in the K × B × N rate buffers, u = k·N + i its index in
// InvTau), given the drive x of the stage rates q. It returns what the
// stage stores for the unit: for Euler (stage 0) r_t = Finish(q + Dt·k)
// with q = r_{t−1}; for RK4 stage 1 … 3 (q = r_{t−1}, then the stage rates)
// it keeps k_stage in ks[(stage−1)·KBN + at] and returns the next stage's
// rates r0 + (0.5·k)·Dt, r0 + (0.5·k)·Dt, r0 + k·Dt (r0 = r_{t−1}, read
// from r0s but for stage 1, whose r0 is q); stage 4 returns
// r_t = Finish(r0 + Dt·(((s6·k1 + s3·k2) + s3·k3) + s6·k4)), s6 = fl(1/6),
// s3 = fl(1/3): backend.RateStep's operations in its order. Only Euler
// and stage 4 end the step (their value is the one to check and record).
template <typename T>
__device__ __forceinline__ T rateUnit(const rateForm<T> &rf, i64 stage, T x, T q, const T *r0s, T *ks, i64 at,
                                      i64 KBN, i64 u, i64 i, T post, u64 seed, i64 gk, i64 gb, i64 t) {
	const T k = rateVelocity(rf, u, i, x, q);
	if (rf.form == formEuler) {
		return rateFinish(rf, add(q, mul(rf.dt, k)), post, seed, gk, gb, t, i);
	}
	const T r0 = stage == 1 ? q : r0s[at];
	if (stage < 4) {
		ks[(stage - 1) * KBN + at] = k;
		return stage < 3 ? add(r0, mul(mul(T(0.5), k), rf.dt)) : add(r0, mul(k, rf.dt));
	}
	const T s6 = div(T(1), T(6)), s3 = div(T(1), T(3)); // correctly rounded: Go's T(1.0/6.0), T(1.0/3.0)
	const T sum = add(add(add(mul(s6, ks[at]), mul(s3, ks[KBN + at])), mul(s3, ks[2 * KBN + at])), mul(s6, k));
	return rateFinish(rf, add(r0, mul(rf.dt, sum)), post, seed, gk, gb, t, i);
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

// keepRate is keepUnit for the rate form, which has no state: it records
// unit i's new rate ri and reports it when non-finite.
template <typename T>
__device__ __forceinline__ bool keepRate(T *recR, u64 *err, u64 base, i64 B, i64 U, i64 N, i64 m, i64 rec, i64 k,
                                         i64 b, i64 i, T ri) {
	if (rec >= 0 && recR) {
		recR[((k * B + b) * m + rec) * N + i] = ri;
	}
	if (!is_finite(ri)) {
		reportNonFinite(err, base, B, U, k, b, qRate, i, ri);
		return true;
	}
	return false;
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
