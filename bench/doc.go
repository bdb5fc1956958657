// Package bench measures ratesim's speed and compares it with the peers a
// user would otherwise run (a PyTorch loop doing nn4n's step; on a GPU also
// JAX lax.scan). `ratesim bench` is its front door; `go test -bench` in the
// backend packages measures the same step in isolation.
//
// Numbers reported: the median wall time per step over several repetitions,
// steps/s, and effective GFLOP/s counting 2·B·(N² + N·I + N·O) flops a step
// (the multiply-adds of the recurrent, input and readout products).
// Peer scripts live in peers/ and are embedded in the binary, so
// `ratesim bench --peers` works from any directory.
package bench
