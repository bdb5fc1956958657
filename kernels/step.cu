// step.cu: one step of every (instance, trial, unit), fused: the drive
// x = Σ_j z_j·Drive[k][j][i] over z = [r_{t−1}; u_t; 1], then leak, noise,
// activation, non-finite check and recording. The readout follows in
// readout.cu (it needs the whole r_t of a trial).
//
// The rate form (form ≠ formV, model.cuh's rateUnit) runs the same product
// on rprev and ends with the rate form's update instead: Euler in one
// launch per step; RK4 in four (stage 1 … 4), each a product of the
// stage's rates rprev (r_{t−1}, then the stage rates of the launch before)
// with the weights and input held fixed. Stages 1–3 write the next stage's
// rates to rnext and their velocity to ks; stage 4 writes r_t, checks and
// records it. r0 is r_{t−1} for stages 2–4. Package gpu alternates the
// stage buffers, so no launch reads the buffer it writes.
//
// A block computes a tile of TY·RB trials × TX·RN units of one instance;
// each thread keeps an RB × RN register micro-tile of sums. Slabs of TJ
// presynaptic rows of z and Drive are staged in shared memory, and every
// sum runs over j ascending from +0 with a rounding after each multiply and
// each add: the SGEMM structure without split-K, so the order is the
// contract's (ARCHITECTURE.md, "The numeric contract", rule 3). r is double-buffered (rprev → rnext) so that
// no block reads a rate another block has already replaced.
//
// Parameters are pointers and 64-bit integers only: gorgonia.org/cu copies
// 8 bytes per argument (gen.sh refuses any other type).
#include "model.cuh"

namespace rs {

template <typename T, int TX, int TY, int RN, int RB, int TJ>
__device__ __forceinline__ void stepTile(
    const T *__restrict__ drive, const T *__restrict__ decay, const T *__restrict__ alpha,
    const T *__restrict__ pre, const T *__restrict__ post, T *__restrict__ v, const T *__restrict__ rprev,
    T *__restrict__ rnext, const T *__restrict__ in, T *__restrict__ recR, T *__restrict__ recV, u64 *err, i64 K,
    i64 B, i64 N, i64 I, i64 U, i64 act, u64 seed, i64 firstK, i64 firstB, i64 t, i64 s, i64 ns, i64 inShared,
    i64 stride, i64 recOff, i64 m, u64 base, i64 wPerTrial, const T *__restrict__ invTau,
    const T *__restrict__ acts, const T *__restrict__ r0, T *__restrict__ ks, i64 form, i64 stage, i64 clip,
    u64 dtBits) {
	constexpr int TN = TX * RN; // units per tile
	constexpr int TB = TY * RB; // trials per tile
	// Slabs are stored j fastest ([unit][j], [trial][j]) so that a thread
	// reads V consecutive j of one unit (or trial) with one 16-byte load;
	// the rows are padded by one vector so that the eight threads of a
	// load phase hit different banks.
	constexpr int V = 16 / (int)sizeof(T);
	constexpr int TJP = TJ + V;
	static_assert(TJ % V == 0, "stepTile: TJ must be a multiple of the vector width");
	alignas(16) __shared__ T zs[TB][TJP];
	alignas(16) __shared__ T ws[TN][TJP];

	if (failedBefore(err, base)) {
		return;
	}
	const i64 tilesN = (N + TN - 1) / TN, tilesB = (B + TB - 1) / TB;
	i64 bid = blockIdx.x;
	const i64 it = bid % tilesN;
	bid /= tilesN;
	const i64 bt = bid % tilesB;
	const i64 k = bid / tilesB;
	if (k >= K) {
		return;
	}
	const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * TX + tx;
	const i64 i0 = it * TN, b0 = bt * TB;
	const i64 rows = N + I + 1;
	// Per-trial weights (a plastic program's): one matrix per trial, with
	// one trial per tile (package gpu launches the s tile then).
	const T *W = drive + (wPerTrial && TB == 1 ? k * B + b0 : k) * rows * N;
	const i64 kin = inShared ? 0 : k;

	T acc[RB][RN];
#pragma unroll
	for (int r = 0; r < RB; r++) {
#pragma unroll
		for (int c = 0; c < RN; c++) {
			acc[r][c] = T(0);
		}
	}

	for (i64 j0 = 0; j0 < rows; j0 += TJ) {
		// z tile, j fastest so that a warp reads consecutive addresses.
		for (int e = tid; e < TJ * TB; e += TX * TY) {
			const int jj = e % TJ, bb = e / TJ;
			const i64 j = j0 + jj, b = b0 + bb;
			T z = T(0);
			if (j < rows && b < B) {
				if (j < N) {
					z = rprev[(k * B + b) * N + j];
				} else if (j < N + I) {
					z = in ? in[((kin * B + b) * ns + s) * I + (j - N)] : T(0);
				} else {
					z = T(1);
				}
			}
			zs[bb][jj] = z;
		}
		for (int e = tid; e < TJ * TN; e += TX * TY) {
			const int jj = e / TN, ii = e % TN;
			const i64 j = j0 + jj, i = i0 + ii;
			ws[ii][jj] = (j < rows && i < N) ? W[j * N + i] : T(0);
		}
		__syncthreads();
		// Rows past the end are zeros in both slabs: their terms, +0·+0 =
		// +0, leave every sum as it is (a sum that starts at +0 is never
		// −0), so the loop runs whole vectors.
		const int jn = (int)imin(TJ, rows - j0);
		for (int jj = 0; jj < jn; jj += V) {
			T zr[RB][V], wr[RN][V];
#pragma unroll
			for (int r = 0; r < RB; r++) {
				loadVec<T, 16>(&zs[ty + r * TY][jj], zr[r]);
			}
#pragma unroll
			for (int c = 0; c < RN; c++) {
				loadVec<T, 16>(&ws[tx + c * TX][jj], wr[c]);
			}
#pragma unroll
			for (int q = 0; q < V; q++) {
#pragma unroll
				for (int r = 0; r < RB; r++) {
#pragma unroll
					for (int c = 0; c < RN; c++) {
						acc[r][c] = add(acc[r][c], mul(zr[r][q], wr[c][q]));
					}
				}
			}
		}
		__syncthreads();
	}

	const i64 rec = recordIndex(t, stride, recOff);
	const rateForm<T> rf{form, clip != 0, (T)f64of(dtBits), invTau, act, acts};
	const bool ends = form != formRK4 || stage == 4; // this launch ends the step
#pragma unroll
	for (int r = 0; r < RB; r++) {
		const i64 b = b0 + ty + r * TY;
		if (b >= B) {
			continue;
		}
#pragma unroll
		for (int c = 0; c < RN; c++) {
			const i64 i = i0 + tx + c * TX;
			if (i >= N) {
				continue;
			}
			const i64 u = k * N + i, at = (k * B + b) * N + i;
			if (form != formV) {
				const T ri = rateUnit(rf, stage, acc[r][c], rprev[at], r0, ks, at, K * B * N, u, i, post[u], seed,
				                      firstK + k, firstB + b, t);
				rnext[at] = ri;
				if (ends) {
					keepRate(recR, err, base, B, U, N, m, rec, k, b, i, ri);
				}
				continue;
			}
			T vi = v[at], ri;
			unitStep(acc[r][c], vi, ri, decay[u], alpha[u], pre[u], post[u], act, acts, seed, firstK + k,
			         firstB + b, t, i);
			v[at] = vi;
			rnext[at] = ri;
			keepUnit(recR, recV, err, base, B, U, N, m, rec, k, b, i, vi, ri);
		}
	}
}

} // namespace rs

// The kernels' parameter list; gen.sh generates kernels.StepArgs from it
// (args.go), whose fields package gpu fills by name.
#define STEP_PARAMS(T)                                                                                        \
	const T *drive, const T *decay, const T *alpha, const T *pre, const T *post, T *v, const T *rprev,       \
	    T *rnext, const T *in, T *recR, T *recV, rs::u64 *err, rs::i64 K, rs::i64 B, rs::i64 N, rs::i64 I,   \
	    rs::i64 U, rs::i64 act, rs::u64 seed, rs::i64 firstK, rs::i64 firstB, rs::i64 t, rs::i64 s,          \
	    rs::i64 ns, rs::i64 inShared, rs::i64 stride, rs::i64 recOff, rs::i64 m, rs::u64 base,                \
	    rs::i64 wPerTrial, const T *invTau, const T *acts, const T *r0, T *ks, rs::i64 form, rs::i64 stage,     \
	    rs::i64 clip, rs::u64 dtBits
#define STEP_ARGS                                                                                             \
	drive, decay, alpha, pre, post, v, rprev, rnext, in, recR, recV, err, K, B, N, I, U, act, seed, firstK,  \
	    firstB, t, s, ns, inShared, stride, recOff, m, base, wPerTrial, invTau, acts, r0, ks, form, stage, clip, \
	    dtBits

// STEP_KERNEL instantiates one tile shape. The names encode precision and
// tile (package gpu's launch.go holds the same table): s = one trial per
// tile, for B ≤ 2; m = 32 units × 8 trials; l = large register tiles.
#define STEP_KERNEL(name, T, TX, TY, RN, RB, TJ)                                                              \
	extern "C" __global__ void __launch_bounds__(TX *TY) name(STEP_PARAMS(T)) {                             \
		rs::stepTile<T, TX, TY, RN, RB, TJ>(STEP_ARGS);                                                       \
	}

STEP_KERNEL(step_f32_s, float, 32, 1, 1, 1, 64)
STEP_KERNEL(step_f32_m, float, 32, 4, 1, 2, 32)
STEP_KERNEL(step_f32_l, float, 16, 16, 4, 4, 16)
STEP_KERNEL(step_f64_s, double, 32, 1, 1, 1, 64)
STEP_KERNEL(step_f64_m, double, 32, 4, 1, 2, 32)
STEP_KERNEL(step_f64_l, double, 16, 16, 2, 2, 16)
