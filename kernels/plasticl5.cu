// plasticl5.cu: the layer-5 model's plasticity (backend.L5Plasticity; its
// doc comment and backend/plasticl5.go's Update state the operations this
// repeats one for one) for every trial of a run, in phases, each a launch
// on the run's stream after the step's dynamics (package gpu,
// plasticl5.go, orders them):
//
//   phase 0 (sliding BCM, learning steps): one thread per (instance k,
//     window row q) writes the threshold's weight e_q =
//     exp((q−m+1)·Dt·ThetaRate_k) (dmath's exp, as backend's l5Exp) into
//     ew[k·slots + q].
//   phase 1 (every step): one thread per (instance·trial, unit i) pushes
//     r_t[i] into the trial's ring of the last rate vectors and, on
//     learning steps, computes unit i's per-unit factors from its own
//     column of the window: BCM and sliding BCM θ_i and a_i = r_i·(r_i −
//     θ_i), covariance δ_i = r_i − mean_i, "Oja" v_i of the first RK4
//     stage (the weights as they are).
//   phase 2 ("Oja" under RK4, stages 2…4): one thread per (instance·trial,
//     unit j) computes v_j of the stage from the stage's weights, made on
//     the fly from W and the previous stage's v (every k of the rule is a
//     function of per-unit vectors, so no N × N stage array is stored).
//   phase 3 (learning steps): one thread per synapse of every trial's
//     matrix computes k1 (… k4) from the per-unit vectors, writes the
//     Euler or RK4 step (structural skip, clip, sign) and checks the new
//     weight.
//   phase 4: copies count values from src to dst (the whole-history ring's
//     growth).
//
// Weights are the run's Drive (matrix kb = k·B + b, rows = N+I+1 rows of N;
// Drive[j][i] is synapse pre j → post i, backend's W[j*ld+i] with ld = N).
// The ring holds slots slot-major vectors, ring[(slot·KB + kb)·N + i]; the
// rate vector of step s (r_0 included) lives in slot s mod window_k (slot s
// for the whole history), so a window's state is a function of t alone.
// Window, Eta and ThetaRate are per instance (backend's
// L5Plasticity.ForInstance): wins, etas and thetas hold them.
//
// An instance that failed this step (its or an earlier instance's
// dynamics) or a step before is left alone, as kernels/plastic.cu does; a
// non-finite weight is recorded in werr as plastic.cu's key (matrix kb,
// layer 0, pre j, post i with P = Q = N, class) and the run's error key
// gets the step's sentinel base + perStep − 1.
//
// T constants arrive as float64 bits (exact for float32 values).
// Parameters are pointers and 64-bit integers only (gen.sh refuses others).
// It includes dmath.cuh (and arith.cuh) and skip.cuh only: nothing of the
// step model.
#include "dmath.cuh"
#include "skip.cuh"

namespace rs {
namespace l5 {

// backend.L5Rule values.
enum { ruleNone = 0, ruleBCM = 1, ruleSliding = 2, ruleOja = 3, ruleCovariance = 4 };
// Bits of cols[j].
enum { colPre = 1, colFlip = 2 };
// The per-unit vectors of one trial, fac[(kb·facWords + x)·N + i].
enum { facTheta = 0, facA = 1, facV1 = 2, facWords = 6 };

__device__ __forceinline__ double f64bits(u64 w) { return __longlong_as_double((long long)w); }

// expT is backend's l5Exp: dmath's exp in T.
__device__ __forceinline__ float expT(float x) { return dm::exp32(x); }
__device__ __forceinline__ double expT(double x) { return dm::exp(x); }

template <typename T>
struct ctx {
	T *drive;
	const T *rates, *in, *ring, *ew, *etas, *thetas;
	const i64 *wins;
	T *fac;
	const unsigned char *cols;
	const signed char *sign;
	const unsigned char *live, *support;
	i64 K, B, N, I, t, s, ns, inShared, slots, rule, rk4, clip;
	T dt, s6, s3;

	__device__ __forceinline__ i64 KB() const { return K * B; }
	// m is the number of vectors in instance k's window at step t.
	__device__ __forceinline__ i64 m(i64 k) const {
		const i64 w = wins[k];
		return w > 0 && w < t + 1 ? w : t + 1;
	}
	// slotOf is the ring slot of step's rate vector for instance k.
	__device__ __forceinline__ i64 slotOf(i64 k, i64 step) const {
		const i64 w = wins[k];
		return w > 0 ? step % w : step;
	}
	// row returns unit i of trial kb's window row q (oldest first).
	__device__ __forceinline__ T row(i64 kb, i64 q, i64 i) const {
		const i64 k = kb / B;
		return ring[(slotOf(k, t + 1 - m(k) + q) * KB() + kb) * N + i];
	}
	__device__ __forceinline__ T rateOf(i64 kb, i64 i) const { return rates[kb * N + i]; }
	__device__ __forceinline__ T input(i64 kb, i64 j) const {
		if (!in) {
			return T(0);
		}
		const i64 k = kb / B, b = kb % B, kin = inShared ? 0 : k;
		return in[((kin * B + b) * ns + s) * I + j];
	}
	__device__ __forceinline__ T *W(i64 kb) const { return drive + kb * (N + I + 1) * N; }
	__device__ __forceinline__ T *vec(i64 kb, int x) const { return fac + (kb * facWords + x) * N; }
	__device__ __forceinline__ bool learnable(i64 kb, i64 j, i64 i) const {
		return !support || support[((kb / B) * N + j) * N + i] != 0;
	}

	// F is Eta·G at synapse (pre j, post i) of trial kb, from the per-unit
	// vectors; for "Oja", v is the stage's v.
	__device__ __forceinline__ T F(i64 kb, i64 j, i64 i, const T *v) const {
		T g = T(0);
		switch (rule) {
		case ruleBCM:
		case ruleSliding:
			g = div(mul(vec(kb, facA)[i], input(kb, j)), vec(kb, facTheta)[i]);
			break;
		case ruleOja:
			g = mul(rateOf(kb, i), v[j]);
			break;
		case ruleCovariance: {
			const T *d = vec(kb, facA);
			g = mul(d[i], d[j]);
			break;
		}
		}
		const unsigned cj = cols[j];
		if (cj & colFlip) {
			g = -g;
		}
		if (!(cj & colPre) || !live[i] || !learnable(kb, j, i)) {
			g = T(0);
		}
		return mul(etas[kb / B], g);
	}

	// ojaV is v_j = (r_j + I_j) − Σ_q↑ x_qj·r_q from +0, with the stage's
	// weights x: W itself for stage 1, else W + (0.5·k)·Dt (stages 2, 3)
	// or W + k·Dt (stage 4) with k the previous stage's, from vp.
	__device__ __forceinline__ T ojaV(i64 kb, i64 j, int stage, const T *vp) const {
		const T *w = W(kb);
		const T *r = rates + kb * N;
		T u = T(0);
		for (i64 q = 0; q < N; q++) {
			T x = w[q * N + j];
			if (stage > 1) {
				const T k = F(kb, q, j, vp);
				x = stage < 4 ? add(x, mul(mul(T(0.5), k), dt)) : add(x, mul(k, dt));
			}
			u = add(u, mul(x, r[q]));
		}
		return sub(add(r[j], input(kb, j)), u);
	}
};

// expWeights is phase 0 for row q of instance k's window.
template <typename T>
__device__ void expWeights(const ctx<T> &c, T *ew) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (g >= c.K * c.slots) {
		return;
	}
	const i64 k = g / c.slots, q = g % c.slots, m = c.m(k);
	if (q >= m) {
		return;
	}
	const T x = mul(mul((T)(q - m + 1), c.dt), c.thetas[k]);
	ew[k * c.slots + q] = expT(x);
}

// pushAndStats is phase 1 for unit i of trial kb.
template <typename T>
__device__ void pushAndStats(const ctx<T> &c, T *ring, i64 learn, const u64 *err, u64 base, u64 perStep) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	const i64 N = c.N;
	if (g >= c.KB() * N) {
		return;
	}
	const i64 kb = g / N, i = g % N;
	if (skipInstance(err, base, perStep, c.K, kb / c.B)) {
		return;
	}
	const T r = c.rateOf(kb, i);
	const i64 k = kb / c.B;
	ring[(c.slotOf(k, c.t) * c.KB() + kb) * N + i] = r;
	if (!learn) {
		return;
	}
	const i64 m = c.m(k);
	const T rate = c.thetas[k];
	const T *ew = c.ew + k * c.slots;
	switch (c.rule) {
	case ruleBCM: {
		T mean = T(0);
		for (i64 q = 0; q < m; q++) {
			mean = add(mean, c.row(kb, q, i));
		}
		mean = div(mean, (T)m);
		T v = T(0);
		for (i64 q = 0; q < m; q++) {
			const T d = sub(c.row(kb, q, i), mean);
			v = add(v, mul(d, d));
		}
		const T theta = add(div(v, (T)m), mul(mean, mean));
		c.vec(kb, facTheta)[i] = theta;
		c.vec(kb, facA)[i] = mul(r, sub(r, theta));
		break;
	}
	case ruleSliding: {
		// backend's l5Sliding: Simpson's rule with scipy ≤ 1.10's
		// even='avg', every sum from +0 in ascending q.
		auto y = [&](i64 q) {
			const T a = c.row(kb, q, i);
			return mul(ew[q], mul(a, a));
		};
		const T third = div(c.dt, T(3));
		auto basic = [&](i64 start, i64 stop) {
			T out = T(0);
			for (i64 q = start; q < stop; q += 2) {
				out = add(out, add(add(y(q), mul(T(4), y(q + 1))), y(q + 2)));
			}
			return mul(out, third);
		};
		T theta;
		if (m % 2 == 1) {
			theta = mul(rate, basic(0, m - 2));
		} else {
			const T b0 = basic(0, m - 3), b1 = basic(1, m - 2);
			const T half = mul(T(0.5), c.dt);
			T val = mul(half, add(y(m - 1), y(m - 2)));
			val = add(val, mul(half, add(y(1), y(0))));
			const T res = div(add(b0, b1), T(2));
			theta = mul(rate, add(res, div(val, T(2))));
		}
		c.vec(kb, facTheta)[i] = theta;
		c.vec(kb, facA)[i] = mul(r, sub(r, theta));
		break;
	}
	case ruleCovariance: {
		T mean = T(0);
		for (i64 q = 0; q < m; q++) {
			mean = add(mean, c.row(kb, q, i));
		}
		mean = div(mean, (T)m);
		c.vec(kb, facA)[i] = sub(r, mean);
		break;
	}
	case ruleOja:
		c.vec(kb, facV1)[i] = c.ojaV(kb, i, 1, nullptr);
		break;
	}
}

// ojaStage is phase 2 for unit j of trial kb: v of stage 2, 3 or 4.
template <typename T>
__device__ void ojaStage(const ctx<T> &c, i64 stage, const u64 *err, u64 base, u64 perStep) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	const i64 N = c.N;
	if (g >= c.KB() * N || stage < 2 || stage > 4) {
		return;
	}
	const i64 kb = g / N, j = g % N;
	if (skipInstance(err, base, perStep, c.K, kb / c.B)) {
		return;
	}
	c.vec(kb, facV1 + (int)stage - 1)[j] = c.ojaV(kb, j, (int)stage, c.vec(kb, facV1 + (int)stage - 2));
}

// write is phase 3 for synapse (pre j, post i) of trial kb.
template <typename T>
__device__ void write(const ctx<T> &c, u64 *err, u64 *werr, u64 base, u64 perStep) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	const i64 N = c.N;
	if (g >= c.KB() * N * N) {
		return;
	}
	const i64 kb = g / (N * N), e = g % (N * N), j = e / N, i = e % N;
	if (skipInstance(err, base, perStep, c.K, kb / c.B)) {
		return;
	}
	T *wp = c.W(kb) + e;
	T w = *wp;
	if (c.learnable(kb, j, i)) {
		const T k1 = c.F(kb, j, i, c.vec(kb, facV1));
		T v;
		if (!c.rk4) {
			v = add(w, mul(c.dt, k1));
		} else {
			T k2 = k1, k3 = k1, k4 = k1;
			if (c.rule == ruleOja) {
				k2 = c.F(kb, j, i, c.vec(kb, facV1 + 1));
				k3 = c.F(kb, j, i, c.vec(kb, facV1 + 2));
				k4 = c.F(kb, j, i, c.vec(kb, facV1 + 3));
			}
			const T sum = add(add(add(mul(c.s6, k1), mul(c.s3, k2)), mul(c.s3, k3)), mul(c.s6, k4));
			v = add(w, mul(c.dt, sum));
		}
		if (c.clip && !(v >= T(0)) && v == v) {
			v = T(0);
		}
		const int sg = c.sign ? c.sign[j] : 0;
		if ((sg > 0 && v < T(0)) || (sg < 0 && v > T(0))) {
			v = T(0);
		}
		*wp = v;
		w = v;
	}
	if (!is_finite(w) && werr) {
		const u64 cls = w != w ? 0 : (w > T(0) ? 1 : 2);
		const u64 key = (((((u64)kb * 3) * (u64)N + (u64)j) * (u64)N + (u64)i) * 4) + cls;
		atomicMin(werr, key);
		if (err) {
			atomicMin(err, base + perStep - 1);
		}
	}
}

// copyValues is phase 4.
template <typename T>
__device__ void copyValues(T *dst, const T *src, i64 count) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (g < count) {
		dst[g] = src[g];
	}
}

} // namespace l5
} // namespace rs

#define PLASTICL5_KERNEL(name, T)                                                                                 \
	extern "C" __global__ void name(                                                                              \
	    rs::i64 phase, T *drive, const T *rates, const T *in, T *ring, T *ew, T *fac, const rs::i64 *wins,       \
	    const T *etas, const T *thetas, const unsigned char *cols, const signed char *sign,                      \
	    const unsigned char *live, const unsigned char *support, rs::u64 *err, rs::u64 *werr, T *dst,            \
	    const T *src, rs::i64 count, rs::i64 K, rs::i64 B, rs::i64 N, rs::i64 I, rs::i64 t, rs::i64 s,            \
	    rs::i64 ns, rs::i64 inShared, rs::i64 slots, rs::i64 rule, rs::i64 rk4, rs::i64 clip, rs::i64 learn,      \
	    rs::i64 stage, rs::u64 dt, rs::u64 s6, rs::u64 s3, rs::u64 base, rs::u64 perStep) {                      \
		const rs::l5::ctx<T> c{drive, rates, in, ring, ew, etas, thetas, wins, fac, cols, sign, live, support, K, B, \
		                       N, I, t, s, ns, inShared, slots, rule, rk4, clip, (T)rs::l5::f64bits(dt),            \
		                       (T)rs::l5::f64bits(s6), (T)rs::l5::f64bits(s3)};                                     \
		switch (phase) {                                                                                          \
		case 0:                                                                                                   \
			rs::l5::expWeights<T>(c, ew);                                                                         \
			break;                                                                                                \
		case 1:                                                                                                   \
			rs::l5::pushAndStats<T>(c, ring, learn, err, base, perStep);                                          \
			break;                                                                                                \
		case 2:                                                                                                   \
			rs::l5::ojaStage<T>(c, stage, err, base, perStep);                                                    \
			break;                                                                                                \
		case 3:                                                                                                   \
			rs::l5::write<T>(c, err, werr, base, perStep);                                                        \
			break;                                                                                                \
		default:                                                                                                  \
			rs::l5::copyValues<T>(dst, src, count);                                                               \
		}                                                                                                         \
	}

PLASTICL5_KERNEL(plasticl5_f32, float)
PLASTICL5_KERNEL(plasticl5_f64, double)
