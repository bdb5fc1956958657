// Package sim is ratesim's front-end driver, and only that: Run takes a
// validated spec (package sim/spec), builds its network (sim/network),
// generates its input (sim/stimulus), picks the backend it names at
// runtime, advances the program chunk by chunk, and hands the recordings to
// sim/output, which writes result.npz, meta.json and the pictures.
// Simulate does the same and returns the recordings in memory.
//
// The rest of the front-end lives in rooms beside it, one job each (see
// ARCHITECTURE.md at the repository root):
//
//	sim/spec      the YAML schema, validation and resolution into plans
//	sim/network   spec → backend.Program (nn4n's construction order, plasticity)
//	sim/connect   connection builders (nn4n's masks today)
//	sim/stimulus  inputs: built-in generators and input arrays
//	sim/output    recording, spill files, result.npz, meta.json, masks; plot/ pictures
//	sim/analysis  statistics of built networks (and, to come, of runs)
//	sim/npz       NumPy .npy/.npz files
//	sim/nn4n      import of nn4n models
//	sim/sweep, sim/fit, sim/circuit   rooms for the features to come
//
// sim never imports a backend package: backends register themselves with
// package backend, and the program that wants them (cmd/ratesim) imports
// them for their side effect.
package sim
