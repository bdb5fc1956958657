// lowrank.cu: the layer-5 rule's low-rank form (backend.L5LowRank) on the
// device, operation for operation backend's L5LowRankState, for every trial
// at once (package gpu, lowrank.go, launches it):
//
//   - phase 0 (before each product launch): σ[kb·F + f] = Σ_j↑ S'_fj·q_j
//     from +0, one thread per trial and factor, serially (the contract's
//     order); gather.cu then adds T(P_fi·σ_f) to unit i's row sum;
//   - phase 1 (after the step's dynamics): one thread per trial and unit
//     pushes r_t into the window ring and the two parity sums (rebase,
//     drop, add) and, when the step learns, computes θ_i from the sums and
//     the samples of ages 0, 1, m−2 and m−1 and updates P_fi.
//
// The scalars that depend only on the step and the instance (the weights
// E(d), the window count m, whether the step rebases, drops or learns, the
// live mask's row) are the host's (backend.L5LowRankWeight's bits), per step
// and instance in tab (T, tabWords) and itab (i64, itabWords).
//
// Layouts: S and P are [(kb·F + f)·N + i]; acc holds A_0 then A_1,
// [(par·KB + kb)·N + i]; ring [(kb·cap + slot)·N + i] with slot s mod C_k
// (C_k the instance's capacity: its window, or the run's steps + 1 for the
// whole history); temporal [(t−1)·F + f]; live [row·N + i] (1: the unit
// learns at this step's phase).
//
// An instance that failed this step (its or an earlier instance's dynamics)
// or a step before is left alone (plasticl5.cu's rule); a non-finite factor
// is recorded in werr as ((kb·N + i)·4 + class) and the run's error key gets
// the step's sentinel base + perStep − 1.
//
// Parameters are pointers and 64-bit integers only (gen.sh refuses others).
#include "dmath.cuh"
#include "skip.cuh"

namespace rs {
namespace lr {

// tab's words per step and instance.
enum { tG = 0, tEd, tEs, tSc, tE0, tE1, tEo2, tEo, tThird, tHalf, tRate, tEta, tDt, tabWords };
// itab's words per step and instance; the flag bits.
enum { iFlags = 0, iM, iCap, iLive, itabWords };
enum { fRebase = 1, fDrop = 2, fLearn = 4 };

// sigma is phase 0.
template <typename T>
__device__ void sigma(const T *S, const T *q, T *sig, i64 KB, i64 N, i64 F) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (g >= KB * F) {
		return;
	}
	const i64 kb = g / F;
	const T *s = S + g * N, *x = q + kb * N;
	T acc = T(0);
	for (i64 j = 0; j < N; j++) {
		acc = add(acc, mul(s[j], x[j]));
	}
	sig[g] = acc;
}

// slidingTheta is backend's: one unit's θ from its Simpson sums.
template <typename T>
__device__ __forceinline__ T slidingTheta(i64 m, const T *tb, T acc0, T acc1, T y0, T y1, T yPrev, T yLast) {
	const T rate = tb[tRate];
	if (m % 2 == 1) {
		return mul(rate, mul(acc0, tb[tThird]));
	}
	const T half = tb[tHalf];
	const T b0 = mul(acc0, tb[tThird]), b1 = mul(acc1, tb[tThird]);
	T val = mul(half, add(yLast, yPrev));
	val = add(val, mul(half, add(y1, y0)));
	const T res = div(add(b0, b1), T(2));
	return mul(rate, add(res, div(val, T(2))));
}

// learn is phase 1 for unit i of trial kb at step t (sample s = t).
template <typename T>
__device__ void learn(const T *S, T *P, T *acc, T *ring, const T *rates, const T *tab, const i64 *itab,
                      const T *temporal, const unsigned char *live, u64 *err, u64 *werr, i64 K, i64 B, i64 N, i64 F,
                      i64 cap, i64 t, u64 base, u64 perStep) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	const i64 KB = K * B;
	if (g >= KB * N) {
		return;
	}
	const i64 kb = g / N, i = g % N, k = kb / B, s = t;
	if (skipInstance(err, base, perStep, K, k)) {
		return;
	}
	const T *tb = tab + ((t - 1) * K + k) * tabWords;
	const i64 *it = itab + ((t - 1) * K + k) * itabWords;
	const i64 flags = it[iFlags], m = it[iM], C = it[iCap];
	T *a0 = acc + kb * N + i, *a1 = acc + (KB + kb) * N + i;
	T *ringK = ring + kb * cap * N;
	if (flags & fRebase) {
		*a0 = mul(*a0, tb[tG]);
		*a1 = mul(*a1, tb[tG]);
	}
	const T r = rates[kb * N + i];
	T *slotNew = ringK + (s % C) * N + i;
	if (flags & fDrop) {
		const T x = *slotNew; // the oldest sample, number s − C, in the slot r_s takes
		T *ad = (s - C) % 2 == 0 ? a0 : a1;
		*ad = sub(*ad, mul(tb[tEd], mul(x, x)));
	}
	T *as = s % 2 == 0 ? a0 : a1;
	*as = add(*as, mul(tb[tEs], mul(r, r)));
	*slotNew = r;
	if (!(flags & fLearn)) {
		return;
	}
	// The samples of ages 0, 1, m−2 and m−1 (age a: sample s − a).
	auto at = [&](i64 a) { return ringK[((s - a) % C) * N + i]; };
	const T sc = tb[tSc];
	const T se = mul(s % 2 == 0 ? *a0 : *a1, sc), so = mul(s % 2 == 0 ? *a1 : *a0, sc);
	const T x0 = r, xo = at(m - 1);
	const T y0 = mul(tb[tE0], mul(x0, x0)), yo = mul(tb[tEo], mul(xo, xo));
	T th;
	if (m % 2 == 1) {
		const T c0 = sub(sub(add(mul(T(4), so), mul(T(2), se)), y0), yo);
		th = slidingTheta(m, tb, c0, T(0), T(0), T(0), T(0), T(0));
	} else {
		const T x1 = at(1), xo2 = at(m - 2);
		const T y1 = mul(tb[tE1], mul(x1, x1)), yo2 = mul(tb[tEo2], mul(xo2, xo2));
		const T c0 = sub(sub(add(mul(T(4), sub(se, y0)), mul(T(2), so)), y1), yo);
		const T c1 = sub(sub(add(mul(T(4), sub(so, yo)), mul(T(2), se)), y0), yo2);
		th = slidingTheta(m, tb, c0, c1, yo, yo2, y1, y0);
	}
	const T a = mul(r, sub(r, th));
	const bool ok = !live || live[it[iLive] * N + i] != 0;
	const T *c = temporal + (t - 1) * F;
	bool bad = false;
	T badV = T(0);
	for (i64 f = 0; f < F; f++) {
		T gv = div(mul(a, c[f]), th);
		if (!ok) {
			gv = T(0);
		}
		T *pf = P + (kb * F + f) * N + i;
		const T v = add(*pf, mul(tb[tDt], mul(tb[tEta], gv)));
		*pf = v;
		if (!is_finite(v) && !bad) {
			bad = true;
			badV = v;
		}
	}
	if (bad && werr) {
		const u64 cls = badV != badV ? 0 : (badV > T(0) ? 1 : 2);
		atomicMin(werr, ((u64)kb * (u64)N + (u64)i) * 4 + cls);
		if (err) {
			atomicMin(err, base + perStep - 1);
		}
	}
	(void)S;
}

} // namespace lr
} // namespace rs

#define LOWRANK_KERNEL(name, T)                                                                                   \
	extern "C" __global__ void name(rs::i64 phase, const T *S, T *P, T *sig, const T *q, T *acc, T *ring,          \
	                                const T *rates, const T *tab, const rs::i64 *itab, const T *temporal,         \
	                                const unsigned char *live, rs::u64 *err, rs::u64 *werr, rs::i64 K, rs::i64 B, \
	                                rs::i64 N, rs::i64 F, rs::i64 cap, rs::i64 t, rs::u64 base, rs::u64 perStep) { \
		if (phase == 0) {                                                                                         \
			rs::lr::sigma<T>(S, q, sig, K * B, N, F);                                                             \
		} else {                                                                                                  \
			rs::lr::learn<T>(S, P, acc, ring, rates, tab, itab, temporal, live, err, werr, K, B, N, F, cap, t,    \
			                 base, perStep);                                                                      \
		}                                                                                                         \
	}

LOWRANK_KERNEL(lowrank_f32, float)
LOWRANK_KERNEL(lowrank_f64, double)
