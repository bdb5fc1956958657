// Package sim is ratesim's front-end: it reads a model spec (YAML), builds
// the backend.Program it describes (weights, masks, time constants, noise,
// initial state), generates inputs, picks a backend by name at runtime,
// drives the run in chunks, and writes the results (result.npz, meta.json).
//
// sim never imports a backend package: backends register themselves with
// package backend, and the program that wants them (cmd/ratesim) imports
// them for their side effect.
package sim
