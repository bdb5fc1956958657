// randcheck.cu evaluates the device's Philox4x32-10 and normal transforms at
// given coordinates, so that package gpu's tests can compare them with
// backend.Philox4x32, Normal32 and Normal64 (and Random123's known answers).
// Not used by runs.
#include "philox.cuh"

// For each i: words[4i…4i+3] = Philox4x32(counter(i), seed), then the
// float32 and float64 normals of those words (the float32 one the sine half
// of its pair where unit & 8, as backend.NormalPair32 takes it). coords
// holds (instance, trial, step, unit, purpose) per i.
extern "C" __global__ void randcheck(const rs::i64 *coords, rs::u64 seed, rs::u32 *words, float *n32, double *n64,
                                     rs::i64 n) {
	const rs::i64 i = (rs::i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= n) {
		return;
	}
	const rs::i64 *c = coords + 5 * i;
	rs::u32 w[4];
	rs::counter(w, c[0], c[1], c[2], c[3], (rs::u32)c[4]);
	rs::philox4x32(w, (rs::u32)seed, (rs::u32)(seed >> 32));
	for (int q = 0; q < 4; q++) {
		words[4 * i + q] = w[q];
	}
	n32[i] = rs::normal32(w, (c[3] & 8) != 0);
	n64[i] = rs::normal64(w);
}
