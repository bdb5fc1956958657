// readout.cu: y_o = Σ_j r_j·Readout[k][j][o] + Readout[k][N][o] for every
// (instance, trial, output) after a step, j ascending from +0, then the
// outputs' non-finite check and recording. One thread per output: O is
// small, and the sum's order leaves nothing to split.
#include "model.cuh"

namespace rs {

template <typename T>
__device__ __forceinline__ void readoutAll(const T *__restrict__ r, const T *__restrict__ R, T *__restrict__ recY,
                                           T *__restrict__ yOut, i64 wPerTrial,
                                           u64 *err, i64 K, i64 B, i64 N, i64 O, i64 U, i64 t, i64 stride,
                                           i64 recOff, i64 m, u64 base) {
	if (failedBefore(err, base)) {
		return;
	}
	const i64 g = (i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (g >= K * B * O) {
		return;
	}
	const i64 o = g % O, kb = g / O, k = kb / B, b = kb % B;
	const T *rr = r + kb * N;
	const T *RR = R + (wPerTrial ? kb : k) * (N + 1) * O;
	T acc = T(0);
	for (i64 j = 0; j < N; j++) {
		acc = add(acc, mul(rr[j], RR[j * O + o]));
	}
	const T y = add(acc, RR[N * O + o]);
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
	extern "C" __global__ void name(const T *rates, const T *readout, T *recY, T *yOut, rs::i64 wPerTrial,  \
	                                rs::u64 *err, rs::i64 K, rs::i64 B, rs::i64 N, rs::i64 O, rs::i64 U,    \
	                                rs::i64 t, rs::i64 stride, rs::i64 recOff, rs::i64 m, rs::u64 base) {   \
		rs::readoutAll<T>(rates, readout, recY, yOut, wPerTrial, err, K, B, N, O, U, t, stride, recOff, m,  \
		                  base);                                                                            \
	}

READOUT_KERNEL(readout_f32, float)
READOUT_KERNEL(readout_f64, double)
