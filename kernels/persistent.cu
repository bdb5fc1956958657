// persistent.cu: a persistent kernel for many small networks. One block owns one
// instance and a block of tb ≤ TBMAX of its trials and runs all ns steps of
// a segment itself, with __syncthreads between the phases of a step, so a
// step costs no launch and no global round trip: Drive sits in shared
// memory when it fits (wShared), z = [r; u; 1] and v always do.
//
// Per step: inputs into z → barrier → each thread takes units i = tid,
// tid+nt, … and sums Σ_j z_j·W[j][i] for all the block's trials at once
// (one W load feeds tb sums), then leak, noise, activation, check, record,
// writing r into the other z buffer → barrier → readout from the new r →
// barrier (__syncthreads_or: stop when this block or any earlier step
// failed). The arithmetic is the step and readout kernels' own, operation
// for operation (model.cuh), so either path gives the same bits.
//
// Shared memory (dynamic, T elements): [W: rows·N if wShared] [z_a: rows·tb]
// [z_b: rows·tb] [v: tb·N]; z is stored [j][trial] so that one j's trials
// are adjacent and every thread reads the same address (a broadcast).
#include "model.cuh"

namespace rs {

template <typename T, int TBMAX>
__device__ __forceinline__ void persistentBlock(
    const T *__restrict__ drive, const T *__restrict__ R, const T *__restrict__ decay,
    const T *__restrict__ alpha, const T *__restrict__ pre, const T *__restrict__ post, T *__restrict__ v,
    const T *rin, T *rout, const T *__restrict__ in, T *__restrict__ recR, T *__restrict__ recV,
    T *__restrict__ recY, u64 *err, i64 K, i64 B, i64 N, i64 I, i64 O, i64 U, i64 act, u64 seed, i64 firstK,
    i64 firstB, i64 t0, i64 ns, i64 inShared, i64 stride, i64 recOff, i64 m, u64 perStep, i64 tb, i64 wShared) {
	DYNAMIC_SHARED(double, smemRaw); // double: 8-byte alignment for either T
	T *sm = (T *)smemRaw;

	const i64 rows = N + I + 1;
	const i64 tiles = (B + tb - 1) / tb;
	const i64 k = blockIdx.x / tiles;
	const i64 b0 = (blockIdx.x % tiles) * tb;
	if (k >= K) {
		return;
	}
	const i64 nb = imin(tb, B - b0);
	const int tid = threadIdx.x, nt = blockDim.x;
	const i64 kin = inShared ? 0 : k;

	T *p = sm;
	const T *W = drive + k * rows * N;
	if (wShared) {
		for (i64 e = tid; e < rows * N; e += nt) {
			p[e] = W[e];
		}
		W = p;
		p += rows * N;
	}
	T *zc = p;
	p += rows * tb;
	T *zn = p;
	p += rows * tb;
	T *vs = p;

	for (i64 e = tid; e < nb * N; e += nt) {
		const i64 bb = e / N, i = e % N;
		vs[bb * N + i] = v[(k * B + b0 + bb) * N + i];
		zc[i * tb + bb] = rin[(k * B + b0 + bb) * N + i];
	}
	for (i64 bb = tid; bb < nb; bb += nt) {
		zc[(N + I) * tb + bb] = T(1);
		zn[(N + I) * tb + bb] = T(1);
	}
	__syncthreads();

	const T *RR = R ? R + k * (N + 1) * O : nullptr;
	for (i64 s = 0; s < ns; s++) {
		const i64 t = t0 + s;
		const u64 base = (u64)s * perStep;
		const i64 rec = recordIndex(t, stride, recOff);
		for (i64 e = tid; e < nb * I; e += nt) {
			const i64 bb = e / I, j = e % I;
			zc[(N + j) * tb + bb] = in ? in[((kin * B + b0 + bb) * ns + s) * I + j] : T(0);
		}
		__syncthreads();

		bool bad = false;
		for (i64 i = tid; i < N; i += nt) {
			T acc[TBMAX];
#pragma unroll
			for (int bb = 0; bb < TBMAX; bb++) {
				acc[bb] = T(0);
			}
			for (i64 j = 0; j < rows; j++) {
				const T w = W[j * N + i];
				const T *z = zc + j * tb;
#pragma unroll
				for (int bb = 0; bb < TBMAX; bb++) {
					if (bb < nb) {
						acc[bb] = add(acc[bb], mul(z[bb], w));
					}
				}
			}
			const i64 u = k * N + i;
			const T dec = decay[u], alp = alpha[u], pr = pre[u], po = post[u];
#pragma unroll
			for (int bb = 0; bb < TBMAX; bb++) {
				if (bb >= nb) {
					continue;
				}
				const i64 b = b0 + bb;
				T vi = vs[bb * N + i], ri;
				unitStep(acc[bb], vi, ri, dec, alp, pr, po, act, seed, firstK + k, firstB + b, t, i);
				vs[bb * N + i] = vi;
				zn[i * tb + bb] = ri;
				if (keepUnit(recR, recV, err, base, B, U, N, m, rec, k, b, i, vi, ri)) {
					bad = true;
				}
			}
		}
		__syncthreads();

		for (i64 e = tid; e < nb * O; e += nt) {
			const i64 bb = e / O, o = e % O, b = b0 + bb;
			T acc = T(0);
			for (i64 j = 0; j < N; j++) {
				acc = add(acc, mul(zn[j * tb + bb], RR[j * O + o]));
			}
			const T y = add(acc, RR[N * O + o]);
			if (rec >= 0 && recY) {
				recY[((k * B + b) * m + rec) * O + o] = y;
			}
			if (!is_finite(y)) {
				reportNonFinite(err, base, B, U, k, b, qOutput, o, y);
				bad = true;
			}
		}
		// Stop after this step when it failed here, or when any block has
		// failed at this step or earlier: later steps cannot matter then.
		const bool stop = __syncthreads_or(bad || (tid == 0 && failedBefore(err, base + perStep)));
		T *tmp = zc;
		zc = zn;
		zn = tmp;
		if (stop) {
			break;
		}
	}

	for (i64 e = tid; e < nb * N; e += nt) {
		const i64 bb = e / N, i = e % N;
		v[(k * B + b0 + bb) * N + i] = vs[bb * N + i];
		rout[(k * B + b0 + bb) * N + i] = zc[i * tb + bb];
	}
}

} // namespace rs

#define PERSISTENT_KERNEL(name, T, TBMAX)                                                                         \
	extern "C" __global__ void __launch_bounds__(256)                                                             \
	    name(const T *drive, const T *readout, const T *decay, const T *alpha, const T *pre, const T *post, T *v, \
	         const T *rin, T *rout, const T *in, T *recR, T *recV, T *recY, rs::u64 *err, rs::i64 K,              \
	         rs::i64 B, rs::i64 N, rs::i64 I, rs::i64 O, rs::i64 U, rs::i64 act, rs::u64 seed,                    \
	         rs::i64 firstK, rs::i64 firstB, rs::i64 t0, rs::i64 ns, rs::i64 inShared, rs::i64 stride,            \
	         rs::i64 recOff, rs::i64 m, rs::u64 perStep, rs::i64 tb, rs::i64 wShared) {                           \
		rs::persistentBlock<T, TBMAX>(drive, readout, decay, alpha, pre, post, v, rin, rout, in, recR, recV,      \
		                              recY, err, K, B, N, I, O, U, act, seed, firstK, firstB, t0, ns, inShared,   \
		                              stride, recOff, m, perStep, tb, wShared);                                   \
	}

PERSISTENT_KERNEL(persistent_f32, float, 16)
PERSISTENT_KERNEL(persistent_f64, double, 16)
