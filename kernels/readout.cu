// readout.cu: y_o = Σ_j r_j·Readout[k][j][o] + Readout[k][N][o] for every
// (instance, trial, output) after a step, j ascending from +0, then the
// outputs' non-finite check and recording. One thread per output: O is
// small, and the sum's order leaves nothing to split.
//
// The rates are staged in shared memory, a slab of TJ presynaptic units of
// every trial the block touches at a time, read j fastest (consecutive
// threads, consecutive addresses) instead of one trial's row per thread:
// with few outputs a warp spans many trials, whose direct loads would each
// touch another cache line. Each thread's sum is still the one serial
// chain over j.
#include "model.cuh"

namespace rs {

// readoutThreadsMax is the block size the staging is sized for (package
// gpu launches readoutThreads = 128); its trials: a run of 128 consecutive
// (trial, output) pairs spans at most 128 trials plus one.
constexpr int readoutThreadsMax = 128;
constexpr int readoutTrialsMax = readoutThreadsMax + 1;

template <typename T>
__device__ __forceinline__ void readoutAll(const T *__restrict__ r, const T *__restrict__ R, T *__restrict__ recY,
                                           T *__restrict__ yOut, i64 wPerTrial, u64 *err, i64 K, i64 B, i64 N64,
                                           i64 O, i64 U, i64 t, i64 stride, i64 recOff, i64 m, u64 base) {
	// About 16 KB of staging in either precision.
	constexpr int TJ = 128 / (int)sizeof(T);
	__shared__ T rs[readoutTrialsMax][TJ + 1]; // +1: trials in different banks

	// One read of the error key decides for the whole block, so that its
	// threads meet the same barriers.
	const int tid = threadIdx.x, nt = blockDim.x;
	if (__syncthreads_or(tid == 0 && failedBefore(err, base))) {
		return;
	}
	const int N = (int)N64;
	const i64 total = K * B * O;
	const i64 g0 = (i64)blockIdx.x * nt, g = g0 + tid;
	const bool active = g < total;
	const i64 o = g % O, kb = g / O, k = kb / B, b = kb % B;
	const i64 kb0 = g0 / O;
	const int nkb = (int)((imin(g0 + nt, total) - 1) / O - kb0 + 1);
	const int lk = (int)(kb - kb0);
	const T *__restrict__ RR = R + (wPerTrial ? kb : k) * (N64 + 1) * O + o;
	const bool staged = nt <= readoutThreadsMax; // block-uniform
	T acc = T(0);
	if (staged) {
		for (int j0 = 0; j0 < N; j0 += TJ) {
			const int jn = (int)imin(TJ, N - j0);
			// STAGE loads in flight per thread before the first store, so
			// the rates' latency is paid once per STAGE elements, not once
			// per element.
			constexpr int STAGE = 4;
			for (int e0 = tid; e0 < nkb * TJ; e0 += STAGE * nt) {
				T got[STAGE];
#pragma unroll
				for (int q = 0; q < STAGE; q++) {
					const int e = e0 + q * nt, l = e / TJ, jj = e % TJ;
					got[q] = e < nkb * TJ && jj < jn ? r[(kb0 + l) * N64 + j0 + jj] : T(0);
				}
#pragma unroll
				for (int q = 0; q < STAGE; q++) {
					const int e = e0 + q * nt, l = e / TJ, jj = e % TJ;
					if (e < nkb * TJ && jj < jn) {
						rs[l][jj] = got[q];
					}
				}
			}
			__syncthreads();
			if (active) {
				for (int jj = 0; jj < jn; jj++) {
					acc = add(acc, mul(rs[lk][jj], RR[(i64)(j0 + jj) * O]));
				}
			}
			__syncthreads();
		}
	} else if (active) {
		const T *__restrict__ rr = r + kb * N64;
		for (int j = 0; j < N; j++) {
			acc = add(acc, mul(rr[j], RR[(i64)j * O]));
		}
	}
	if (!active) {
		return;
	}
	const T y = add(acc, RR[N64 * O]);
	const i64 rec = recordIndex(t, stride, recOff);
	if (yOut) {
		yOut[kb * O + o] = y;
	}
	if (rec >= 0 && recY) {
		recY[(kb * m + rec) * O + o] = y;
	}
	if (!is_finite(y)) {
		reportNonFinite(err, base, B, U, k, b, qOutput, o, y);
	}
}

} // namespace rs

#define READOUT_KERNEL(name, T)                                                                             \
	extern "C" __global__ void __launch_bounds__(rs::readoutThreadsMax)                                     \
	    name(const T *rates, const T *readout, T *recY, T *yOut, rs::i64 wPerTrial, rs::u64 *err, rs::i64 K, \
	         rs::i64 B, rs::i64 N, rs::i64 O, rs::i64 U, rs::i64 t, rs::i64 stride, rs::i64 recOff,         \
	         rs::i64 m, rs::u64 base) {                                                                     \
		rs::readoutAll<T>(rates, readout, recY, yOut, wPerTrial, err, K, B, N, O, U, t, stride, recOff, m,  \
		                  base);                                                                            \
	}

READOUT_KERNEL(readout_f32, float)
READOUT_KERNEL(readout_f64, double)
