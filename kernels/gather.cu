// gather.cu: one step of every (instance, trial, unit) whose drive runs as
// gathered sparse rows, with or without synaptic delays (backend.Delays,
// backend.SparseDrive): x_i = Σ over row i's entries, presynaptic index
// ascending from +0, of z_j·w, a rounding after each multiply and each add
// (the contract's sum without its zero-weight terms, ARCHITECTURE.md rules
// 3, 8 and 9), then the unit update, non-finite check and recording the
// step kernel does (model.cuh). The readout follows in readout.cu.
//
// One thread per (instance, trial, unit), its row summed serially: the
// rows of a sparse drive are short, and the order leaves nothing to split.
//
// z_j is r_{t−1−d}[j] for a recurrent entry (j < N), d its delay (dsel;
// null means none, and r_{t−1} comes from rprev), u_t[j−N] for an input and
// 1 for the bias. With delays, hist holds `slots` = D+2 rate vectors per
// trial, r_s in slot s mod slots (r_0 in every slot at the start): one more
// than the D+1 a step reads, so the slot this step writes r_t into holds
// r_{t−2−D}, which no thread of the step reads.
//
// The rate form (form ≠ formV) ends with model.cuh's rateUnit as the step
// kernel does (step.cu): Euler in one launch, RK4 (no delays: Validate
// refuses them) in four stages, rprev the stage's rates, r0 r_{t−1}, ks
// the stage velocities; only the launch that ends the step writes the
// history, checks and records.
//
// With the L5 rule's low-rank form (lrF factors, else 0) the row sum is
// followed by T(P_fi·σ_f) for f ascending: lrP the factors, lrSigma the
// stage rates' σ (lowrank.cu).
//
// rowStart (K × (N+1)) holds absolute offsets into col, val and dsel.
// Parameters are pointers and 64-bit integers only (gen.sh).
#include "model.cuh"

namespace rs {

// historySlot is backend.HistorySlot: the slot of r_s among slots.
__device__ __forceinline__ i64 historySlot(i64 s, i64 slots) { return ((s % slots) + slots) % slots; }

template <typename T>
__device__ __forceinline__ void gatherStep(const int *__restrict__ rowStart, const int *__restrict__ col,
                                           const T *__restrict__ val, const unsigned short *__restrict__ dsel,
                                           const T *__restrict__ decay, const T *__restrict__ alpha,
                                           const T *__restrict__ pre, const T *__restrict__ post, T *__restrict__ v,
                                           const T *__restrict__ rprev, T *__restrict__ rnext, T *__restrict__ hist,
                                           const T *__restrict__ in, T *__restrict__ recR, T *__restrict__ recV,
                                           u64 *err, i64 K, i64 B, i64 N, i64 I, i64 U, i64 act, u64 seed, i64 firstK,
                                           i64 firstB, i64 t, i64 s, i64 ns, i64 inShared, i64 stride, i64 recOff,
                                           i64 m, u64 base, i64 slots, const T *__restrict__ invTau,
                                           const T *__restrict__ acts, const T *__restrict__ r0,
                                           T *__restrict__ ks, i64 form, i64 stage, i64 clip, u64 dtBits,
                                           const T *__restrict__ lrP, const T *__restrict__ lrSigma, i64 lrF) {
	if (failedBefore(err, base)) {
		return;
	}
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (g >= K * B * N) {
		return;
	}
	const i64 i = g % N, kb = g / N, b = kb % B, k = kb / B;
	const i64 kin = inShared ? 0 : k;
	const i64 lo = rowStart[k * (N + 1) + i], hi = rowStart[k * (N + 1) + i + 1];
	const T *__restrict__ hk = hist ? hist + kb * slots * N : nullptr;
	T acc = T(0);
	for (i64 e = lo; e < hi; e++) {
		const i64 j = col[e];
		T z;
		if (j < N) {
			z = dsel ? hk[historySlot(t - 1 - (i64)dsel[e], slots) * N + j] : rprev[kb * N + j];
		} else if (j < N + I) {
			z = in ? in[((kin * B + b) * ns + s) * I + (j - N)] : T(0);
		} else {
			z = T(1);
		}
		acc = add(acc, mul(z, val[e]));
	}
	// The L5 rule's low-rank part (backend.L5LowRank; lowrank.cu's σ).
	for (i64 f = 0; f < lrF; f++) {
		acc = add(acc, mul(lrP[(kb * lrF + f) * N + i], lrSigma[kb * lrF + f]));
	}
	const i64 rec = recordIndex(t, stride, recOff);
	const i64 u = k * N + i, at = kb * N + i;
	if (form != formV) {
		const rateForm<T> rf{form, clip != 0, (T)f64of(dtBits), invTau, act, acts};
		const T ri = rateUnit(rf, stage, acc, rprev[at], r0, ks, at, K * B * N, u, i, post[u], seed, firstK + k,
		                      firstB + b, t);
		rnext[at] = ri;
		if (form == formRK4 && stage != 4) {
			return;
		}
		if (hist) {
			hist[(kb * slots + historySlot(t, slots)) * N + i] = ri;
		}
		keepRate(recR, err, base, B, U, N, m, rec, k, b, i, ri);
		return;
	}
	T vi = v[at], ri;
	unitStep(acc, vi, ri, decay[u], alpha[u], pre[u], post[u], act, acts, seed, firstK + k, firstB + b, t, i);
	v[at] = vi;
	rnext[at] = ri;
	if (hist) {
		hist[(kb * slots + historySlot(t, slots)) * N + i] = ri;
	}
	keepUnit(recR, recV, err, base, B, U, N, m, rec, k, b, i, vi, ri);
}

} // namespace rs

// gatherThreads is the block size package gpu launches (launch.go).
#define GATHER_KERNEL(name, T)                                                                                   \
	extern "C" __global__ void __launch_bounds__(128)                                                            \
	    name(const int *rowStart, const int *col, const T *val, const unsigned short *dsel, const T *decay,       \
	         const T *alpha, const T *pre, const T *post, T *v, const T *rprev, T *rnext, T *hist, const T *in,  \
	         T *recR, T *recV, rs::u64 *err, rs::i64 K, rs::i64 B, rs::i64 N, rs::i64 I, rs::i64 U, rs::i64 act, \
	         rs::u64 seed, rs::i64 firstK, rs::i64 firstB, rs::i64 t, rs::i64 s, rs::i64 ns, rs::i64 inShared,    \
	         rs::i64 stride, rs::i64 recOff, rs::i64 m, rs::u64 base, rs::i64 slots, const T *invTau,            \
	         const T *acts, const T *r0, T *ks, rs::i64 form, rs::i64 stage, rs::i64 clip, rs::u64 dtBits,        \
	         const T *lrP, const T *lrSigma, rs::i64 lrF) {                                                      \
		rs::gatherStep<T>(rowStart, col, val, dsel, decay, alpha, pre, post, v, rprev, rnext, hist, in, recR,  \
		                  recV, err, K, B, N, I, U, act, seed, firstK, firstB, t, s, ns, inShared, stride, recOff, \
		                  m, base, slots, invTau, acts, r0, ks, form, stage, clip, dtBits, lrP, lrSigma, lrF);   \
	}

GATHER_KERNEL(gather_f32, float)
GATHER_KERNEL(gather_f64, double)
