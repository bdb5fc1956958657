// Package bench measures ratesim's speed and compares it with the peers a
// user would otherwise run (a PyTorch loop doing nn4n's step; on a GPU also
// JAX lax.scan). It is all of `ratesim bench` but the flags: Run measures
// what an Options says and prints the report (the grids chosen for the
// backend, ratesim's sizes, the peers run on each part with their
// timeouts, the tables pairing them, the goals, the JSON lines; with
// Options.Plastic, plastic steps paired with static ones), and Replay
// prints the report again from recorded JSON lines. cmd/ratesim only turns
// flags into Options and picks the backend. `go test -bench` in the backend
// packages measures the same step in isolation.
//
// Shapes are one network (N units, B trials) or a sweep (K instances of N
// units, each with its own weights, B trials each, one shared input). The
// CPU grid, the GPU grid and the sweep grid of the issues are DefaultSizes,
// GPUSizes and DefaultSweeps.
//
// Numbers reported: the median wall time per step over several repetitions,
// steps/s, and effective GFLOP/s counting 2·K·B·(N² + N·I + N·O) flops a
// step (the multiply-adds of the recurrent, input and readout products),
// optionally as a fraction of the device's exact-mode ceiling. Peer scripts
// live in peers/ and are embedded in the binary, so `ratesim bench --peers
// torch,jax` works from any directory; their records are paired with
// ratesim's by (N, B, K). bench/gpu-run.sh is the one command a session
// lent a GPU runs (see RESULTS.md).
package bench
