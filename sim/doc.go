// Package sim is ratesim's front-end: it reads a model spec (YAML), builds
// the backend.Program it describes (weights, masks, time constants, noise,
// initial state), generates inputs, picks a backend by name at runtime,
// drives the run in chunks, and writes the results (result.npz, meta.json).
//
// A spec covers every option of nn4n's CTRNN: per-layer initializers or
// arrays ({file: PATH[, key: NAME]} in .npy/.npz files), sparsity, E/I and
// plasticity masks, or a structure builder from package sim/masks. NewNetwork
// builds the network in nn4n v1.2.0's order (draw, mask, clamp, balance);
// NN4N.md records the mapping and where ratesim departs from nn4n's bugs.
// The plasticity section (PlasticitySpec) lets weights learn while the
// network runs; it maps onto backend.Plasticity, and a plastic run adds its
// weight snapshots and final weights to result.npz and weights.png.
//
// sim never imports a backend package: backends register themselves with
// package backend, and the program that wants them (cmd/ratesim) imports
// them for their side effect.
package sim
