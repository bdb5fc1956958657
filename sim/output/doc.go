// Package output carries out a spec's recording plan and writes a run's
// results: it keeps the recorded steps and units of each backend chunk
// (Recording), in memory or streamed to unlinked spill files when they
// exceed the memory limit, records a plastic run's weight snapshots and
// final weights (Weights), and writes result.npz, meta.json and the
// pictures (Write). Every file is written in full under a hidden staged
// name and renamed into place only when all are complete, result.npz last,
// so a failed or interrupted run never leaves a result that looks whole.
// It also writes a network's masks as .npy files (WriteMasks) and draws the
// progress line (Progress). The pictures themselves are sub-package plot.
package output
