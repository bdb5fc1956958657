// Package cpu is the ratesim backend for the CPU, on gonum. It is always
// compiled in and registers itself as "cpu".
//
// Each step's drive x = z·W (z = [r; u; 1] for every trial of an instance) is
// one gonum Gemm with both operands untransposed: that path sums over the
// presynaptic index in ascending order with separate multiply and add, which
// is exactly the order of backend.Reference (on amd64, the avo kernels of
// gemm_amd64.s keep it: register tiles over the columns of z that are not
// zero in every row of a block, read in place). The leak, noise, activation, readout bias,
// non-finite check and recording are fused in one loop per trial (for
// float32 relu, the kernels of unitstep_amd64.s over the drawn normals).
// A sparse or delayed drive runs as gathered CSR rows instead, over a
// history that keeps each presynaptic value's trials adjacent (sparse.go,
// delay.go), on kernels for 2, 4, 8 and 16 trials — rows that end in
// their own input with weight 1 (a circuit's stimulus) read that input
// from the input chunk instead of the history, and on AVX-512 cores the
// rows of four trials run from their entries packed in records of two
// (weights, then offsets) for the multiply's embedded broadcast, the same
// sums in the same order; the rate form's Euler
// step on supralinear units has kernels of its own (rateform.go).
// A static program's drive and readout are copied once per run into the
// kernels' column panels (packedB), since they are the same matrices every
// step. Plastic programs update their weights after each step (plastic.go,
// synapses.go). Work is split into (instance, trial block) tasks run in
// parallel on a pool of goroutines — tasks of at least 8 trials for a static
// drive of 8 MB or more, which each task reads whole every step, and one
// per instance for one read from memory (32 MB or more) — and a task's large
// product or unit step claims idle cores; each task runs all of a call's
// steps on its own, so results do not depend on the number of goroutines or
// the split.
package cpu
