// plastic.cu: the plasticity of one step (backend.Plasticity's doc comment
// states the operation order this follows), fused into one kernel that runs
// in one of three phases, each a launch after the step's dynamics:
//
//   phase 0 (every step): one thread per (instance, trial, averaged unit)
//     pushes this step's value into its running average (BCM: post²;
//     covariance: pre and post) and, on update steps, writes the mean.
//   phase 1 (update steps): one thread per synapse of every plastic
//     connection of every weight matrix applies the connection's rules in
//     list order (trial sums ascending from +0, soft bound, priors, sign,
//     scale, SGD or Adam with per-synapse state, projection: Dale's sign,
//     bounds), then growth from Philox, then the non-finite check. A
//     synapse's update reads only its own weight and the step's vectors and
//     means, so synapses are independent and the order of threads is free.
//   phase 2 (snapshot steps): one thread per snapshot value (a weight, or a
//     block mean summed pre-major from +0).
//
// An instance whose dynamics were non-finite at this step (or any instance
// after an earlier failing step) is left alone, as the reference does. A
// non-finite weight is recorded in werr as (matrix, connection, pre, post,
// class) and, so that later steps stop, the run's error key gets the
// step's sentinel base + perStep − 1, which no value of the dynamics uses.
//
// Descriptor tables (u64 words; T constants as float64 bits, exact for
// float32 values) are written by package gpu (plastic.go), which holds the
// same layout.
#include "model.cuh"
#include "skip.cuh"

namespace rs {

// Connection descriptor.
enum { cLayer, cPre, cPost, cScale, cSign, cGrowth, cGrowW, cBounded, cMin, cMax, cFreeze, cNRules, cRule0, cSynOff, cWords = 16 };
// Rule descriptor.
enum {
	rKind,
	rRate,
	rPrePops,
	rPostPops,
	rPreInput,
	rPreW,
	rPostW,
	rDivTheta,
	rSoftBound,
	rL1,
	rL2,
	rNegate,
	rFlip,
	rOpt,
	rBeta1,
	rBeta2,
	rEps,
	rOneMinusB1,
	rOneMinusB2,
	rC1,
	rC2,
	rM,
	rV,
	rPreMean,
	rPostMean,
	rWords = 32
};
// Average descriptor.
enum { aWhat, aLayer, aPreInput, aDim, aWindow, aCoef, aState, aMean, aOff, aWords = 10 };
// Snapshot descriptor.
enum { sMode, sLayer, sA, sB, sWords = 4 };

enum { lRecurrent = 0, lInput = 1, lReadout = 2 };
enum { kHebbian = 0, kBCM = 1, kOja = 2, kCovariance = 3 };

template <typename T>
struct plasticCtx {
	T *drive, *readout;
	const T *rates, *in, *y;
	const unsigned char *pops;
	i64 K, B, M, N, I, O, s, ns, inShared;

	__device__ __forceinline__ T rate(i64 kb, i64 j) const { return rates[kb * N + j]; }
	__device__ __forceinline__ T input(i64 k, i64 b, i64 j) const {
		if (!in) {
			return T(0);
		}
		const i64 kin = inShared ? 0 : k;
		return in[((kin * B + b) * ns + s) * I + j];
	}
	// pre and post are backend's Connection vectors (PreInput: u_t).
	__device__ __forceinline__ T pre(i64 layer, bool preInput, i64 k, i64 b, i64 j) const {
		if (preInput || layer == lInput) {
			return input(k, b, j);
		}
		return rate(k * B + b, j);
	}
	__device__ __forceinline__ T post(i64 layer, i64 k, i64 b, i64 i) const {
		if (layer == lReadout) {
			return y[(k * B + b) * O + i];
		}
		return rate(k * B + b, i);
	}
	// weight returns synapse (j, i) of connection layer in matrix km.
	__device__ __forceinline__ T *weight(i64 layer, i64 km, i64 j, i64 i) const {
		const i64 rows = N + I + 1;
		switch (layer) {
		case lRecurrent:
			return drive + km * rows * N + j * N + i;
		case lInput:
			return drive + km * rows * N + (N + j) * N + i;
		}
		return readout + km * (N + 1) * O + j * O + i;
	}
	__device__ __forceinline__ i64 growthIndex(i64 layer, i64 j, i64 i) const {
		switch (layer) {
		case lRecurrent:
			return j * N + i;
		case lInput:
			return (N + j) * N + i;
		}
		return (N + I + 1) * N + j * O + i;
	}
};

__device__ __forceinline__ bool inPops(u64 mask, unsigned p) { return mask == 0 || (mask >> p & 1u) != 0; }

template <typename T>
__device__ __forceinline__ bool growsAt(u64 seed, i64 gk, i64 trial, i64 t, i64 idx, T prob);

template <>
__device__ __forceinline__ bool growsAt<float>(u64 seed, i64 gk, i64 trial, i64 t, i64 idx, float prob) {
	u32 c[4];
	counter(c, gk, trial, t, idx, purposeGrowth);
	philox4x32(c, (u32)seed, (u32)(seed >> 32));
	return uniform32(c[0]) < prob;
}

template <>
__device__ __forceinline__ bool growsAt<double>(u64 seed, i64 gk, i64 trial, i64 t, i64 idx, double prob) {
	u32 c[4];
	counter(c, gk, trial, t, idx, purposeGrowth);
	philox4x32(c, (u32)seed, (u32)(seed >> 32));
	return uniform64(c[0], c[1]) < prob;
}

// project is backend.Connection.Project.
template <typename T>
__device__ __forceinline__ T project(const u64 *cd, T w, int sign) {
	if ((sign > 0 && w < T(0)) || (sign < 0 && w > T(0))) {
		w = T(0);
	}
	if (cd[cBounded]) {
		const T lo = (T)f64of(cd[cMin]), hi = (T)f64of(cd[cMax]);
		if (w < lo) {
			w = lo;
		}
		if (w > hi) {
			w = hi;
		}
	}
	return w;
}

// averages is phase 0 for one (instance·trial, averaged unit).
template <typename T>
__device__ void averages(const plasticCtx<T> &c, const u64 *avgs, i64 nAvgs, i64 D, i64 t, i64 upd, const u64 *err,
                         u64 base, u64 perStep) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (g >= c.K * c.B * D) {
		return;
	}
	const i64 kb = g / D, d = g % D, k = kb / c.B, b = kb % c.B;
	if (skipInstance(err, base, perStep, c.K, k)) {
		return;
	}
	const u64 *a = avgs;
	for (i64 x = 0; x < nAvgs; x++, a += aWords) {
		if (d >= (i64)a[aOff] && d < (i64)(a[aOff] + a[aDim])) {
			break;
		}
	}
	const i64 u = d - (i64)a[aOff], dim = (i64)a[aDim], layer = (i64)a[aLayer];
	T x;
	switch (a[aWhat]) {
	case 0: {
		const T q = c.post(layer, k, b, u);
		x = mul(q, q);
		break;
	}
	case 1:
		x = c.pre(layer, a[aPreInput] != 0, k, b, u);
		break;
	default:
		x = c.post(layer, k, b, u);
	}
	T *state = (T *)a[aState];
	T *mean = (T *)a[aMean];
	const i64 W = (i64)a[aWindow];
	if (W > 0) {
		T *ring = state + (kb * dim + u) * W;
		ring[(t - 1) % W] = x;
		if (upd) {
			const i64 n = t < W ? t : W;
			T acc = T(0);
			for (i64 v = t - n + 1; v <= t; v++) {
				acc = add(acc, ring[(v - 1) % W]);
			}
			mean[kb * dim + u] = div(acc, (T)n);
		}
		return;
	}
	const T coef = (T)f64of(a[aCoef]);
	T *av = state + kb * dim + u;
	const T an = add(*av, mul(coef, sub(x, *av)));
	*av = an;
	if (upd) {
		mean[kb * dim + u] = an;
	}
}

// update is phase 1 for one synapse of one matrix.
template <typename T>
__device__ void update(const plasticCtx<T> &c, const u64 *conns, i64 nConns, const u64 *rules, i64 S, u64 seed,
                       i64 firstK, i64 firstB, i64 t, u64 learn, u64 *err, u64 *werr, u64 base, u64 perStep, i64 P,
                       i64 Q) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (g >= c.K * c.M * S) {
		return;
	}
	const i64 km = g / S, syn = g % S, k = km / c.M, m = km % c.M;
	if (skipInstance(err, base, perStep, c.K, k)) {
		return;
	}
	const u64 *cd = conns;
	for (i64 x = 0; x < nConns; x++, cd += cWords) {
		if (syn >= (i64)cd[cSynOff] && syn < (i64)(cd[cSynOff] + cd[cPre] * cd[cPost])) {
			break;
		}
	}
	const i64 layer = (i64)cd[cLayer], a = (i64)cd[cPre], bb = (i64)cd[cPost];
	const i64 at = syn - (i64)cd[cSynOff], j = at / bb, i = at % bb;
	const i64 b0 = c.M > 1 ? m : 0, b1 = c.M > 1 ? m + 1 : c.B;
	const signed char *signs = (const signed char *)cd[cSign];
	const int sign = signs ? signs[k * a + j] : 0;
	const T *scale = (const T *)cd[cScale];
	const i64 pa = (k * a + j) * bb + i; // per-instance synapse index
	const unsigned popJ = c.pops[layer == lInput ? 0 : j], popI = c.pops[layer == lReadout ? 0 : i];
	T *wp = c.weight(layer, km, j, i);
	T w = *wp;

	const u64 *rd = rules + cd[cRule0] * rWords;
	for (u64 ri = 0; ri < cd[cNRules]; ri++, rd += rWords) {
		// Gates (backend.Plasticity.Gates).
		bool ok = true;
		if (layer != lInput) {
			ok = inPops(rd[rPrePops], popJ);
			if (layer == lReadout) {
				ok = ok && (learn >> popJ & 1u) != 0;
			}
		}
		if (layer != lReadout) {
			ok = ok && inPops(rd[rPostPops], popI) && (learn >> popI & 1u) != 0;
		}
		if (!ok) {
			continue;
		}
		const T s = scale ? scale[pa] : T(1);
		if (s == T(0) || (cd[cFreeze] && w == T(0))) {
			continue;
		}
		const u64 kind = rd[rKind];
		const bool preInput = rd[rPreInput] != 0;
		const T *preMean = (const T *)rd[rPreMean], *postMean = (const T *)rd[rPostMean];
		T h = T(0);
		for (i64 b = b0; b < b1; b++) {
			const T pj = c.pre(layer, preInput, k, b, j), qi = c.post(layer, k, b, i);
			T term;
			switch (kind) {
			case kHebbian:
				term = mul(mul((T)f64of(rd[rPreW]), pj), mul((T)f64of(rd[rPostW]), qi));
				break;
			case kBCM: {
				const T th = postMean[(k * c.B + b) * bb + i];
				T phi = mul(qi, sub(qi, th));
				if (rd[rDivTheta]) {
					phi = th > T(0) ? div(phi, th) : T(0);
				}
				term = mul(pj, phi);
				break;
			}
			case kOja:
				term = mul(qi, sub(pj, mul(qi, w)));
				break;
			default:
				term = mul(sub(pj, preMean[(k * c.B + b) * a + j]), sub(qi, postMean[(k * c.B + b) * bb + i]));
			}
			h = add(h, term);
		}
		// backend.Step.Apply.
		T d = h;
		const T soft = (T)f64of(rd[rSoftBound]);
		if (soft != T(0)) {
			const T aw = w < T(0) ? -w : w;
			d = mul(d, sub(soft, aw));
		}
		const T l1 = (T)f64of(rd[rL1]), l2 = (T)f64of(rd[rL2]);
		if (l1 != T(0)) {
			const T sg = w > T(0) ? T(1) : (w < T(0) ? T(-1) : T(0));
			d = sub(d, mul(l1, sg));
		}
		if (l2 != T(0)) {
			d = sub(d, mul(l2, w));
		}
		if ((rd[rNegate] != 0) != (rd[rFlip] != 0 && sign < 0)) {
			d = -d;
		}
		const T gg = mul(s, d);
		const T lr = ((const T *)rd[rRate])[k];
		T nw;
		if (rd[rOpt] == 0) {
			nw = add(w, mul(lr, gg));
		} else {
			T *mp = (T *)rd[rM] + km * a * bb + at;
			T *vp = (T *)rd[rV] + km * a * bb + at;
			const T mm = add(mul((T)f64of(rd[rBeta1]), *mp), mul((T)f64of(rd[rOneMinusB1]), gg));
			const T vv = add(mul((T)f64of(rd[rBeta2]), *vp), mul((T)f64of(rd[rOneMinusB2]), mul(gg, gg)));
			*mp = mm;
			*vp = vv;
			const T step = div(div(mm, (T)f64of(rd[rC1])), add(sqrtT(div(vv, (T)f64of(rd[rC2]))), (T)f64of(rd[rEps])));
			nw = add(w, mul(lr, step));
		}
		w = project(cd, nw, sign);
	}
	// Growth.
	const T *growth = (const T *)cd[cGrowth];
	if (growth) {
		const T prob = growth[pa];
		// firstB is the program's FirstTrial with per-trial weights (then
		// m is the trial), else 0 (and so is m).
		const i64 trial = firstB + m;
		if (prob > T(0) && w == T(0) && growsAt<T>(seed, firstK + k, trial, t, c.growthIndex(layer, j, i), prob)) {
			w = project(cd, ((const T *)cd[cGrowW])[pa], sign);
		}
	}
	*wp = w;
	if (!is_finite(w)) {
		const u64 cls = w != w ? 0 : (w > T(0) ? 1 : 2);
		const u64 key = (((((u64)km * 3 + (u64)layer) * (u64)P + (u64)j) * (u64)Q + (u64)i) * 4) + cls;
		atomicMin(werr, key);
		atomicMin(err, base + perStep - 1);
	}
}

// snapshot is phase 2 for one value of one matrix's snapshot.
template <typename T>
__device__ void snapshot(const plasticCtx<T> &c, const u64 *snaps, i64 width, T *recW, i64 ms, i64 rec,
                         const u64 *err, u64 base, u64 perStep) {
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (g >= c.K * c.M * width) {
		return;
	}
	const i64 km = g / width, x = g % width, k = km / c.M;
	if (skipInstance(err, base, perStep, c.K, k)) {
		return;
	}
	const u64 *sd = snaps + x * sWords;
	const i64 layer = (i64)sd[sLayer];
	T val;
	if (sd[sMode] == 0) {
		val = *c.weight(layer, km, (i64)sd[sA], (i64)sd[sB]);
	} else {
		i64 a = c.N, bb = c.N;
		if (layer == lInput) {
			a = c.I;
		} else if (layer == lReadout) {
			bb = c.O;
		}
		const unsigned px = (unsigned)sd[sA], py = (unsigned)sd[sB];
		T sum = T(0);
		i64 n = 0;
		for (i64 j = 0; j < a; j++) {
			if ((layer == lInput ? 0u : (unsigned)c.pops[j]) != px) {
				continue;
			}
			for (i64 i = 0; i < bb; i++) {
				if ((layer == lReadout ? 0u : (unsigned)c.pops[i]) == py) {
					sum = add(sum, *c.weight(layer, km, j, i));
					n++;
				}
			}
		}
		if (n > 0) {
			sum = div(sum, (T)n);
		}
		val = sum;
	}
	recW[(km * ms + rec) * width + x] = val;
}

} // namespace rs

#define PLASTIC_KERNEL(name, T)                                                                               \
	extern "C" __global__ void name(                                                                          \
	    rs::i64 phase, const rs::u64 *conns, const rs::u64 *rules, const rs::u64 *avgs, const rs::u64 *snaps, \
	    T *drive, T *readout, const T *rates, const T *in, const T *y, const unsigned char *pops, T *recW,    \
	    rs::u64 *err, rs::u64 *werr, rs::i64 K, rs::i64 B, rs::i64 M, rs::i64 N, rs::i64 I, rs::i64 O,        \
	    rs::i64 nConns, rs::i64 nAvgs, rs::i64 D, rs::i64 nSyn, rs::i64 width, rs::u64 seed, rs::i64 firstK,  \
	    rs::i64 firstB, rs::i64 t, rs::i64 s, rs::i64 ns, rs::i64 inShared, rs::u64 learn, rs::i64 upd,       \
	    rs::i64 rec, rs::i64 ms, rs::u64 base, rs::u64 perStep, rs::i64 P, rs::i64 Q) {                       \
		rs::plasticCtx<T> c{drive, readout, rates, in, y, pops, K, B, M, N, I, O, s, ns, inShared};           \
		switch (phase) {                                                                                      \
		case 0:                                                                                               \
			rs::averages<T>(c, avgs, nAvgs, D, t, upd, err, base, perStep);                                   \
			break;                                                                                            \
		case 1:                                                                                               \
			rs::update<T>(c, conns, nConns, rules, nSyn, seed, firstK, firstB, t, learn, err, werr, base,     \
			              perStep, P, Q);                                                                     \
			break;                                                                                            \
		default:                                                                                              \
			rs::snapshot<T>(c, snaps, width, recW, ms, rec, err, base, perStep);                              \
		}                                                                                                     \
	}

PLASTIC_KERNEL(plastic_f32, float)
PLASTIC_KERNEL(plastic_f64, double)
