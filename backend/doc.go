// Package backend defines what every ratesim backend implements and the numeric
// contract they all honour.
//
// A backend receives a whole Program — K network instances of one shape, each
// with its own weights and parameters, each run for B trials — and advances it
// by many steps per call, handing recorded values back in chunks. Backends
// register themselves by name (like database/sql drivers); the front-end picks
// one at runtime with Lookup("auto"|"cpu"|...).
//
// The package also holds the contract itself as plain reference loops
// (Reference), the counter-based generator (Philox4x32-10) whose numbers are a
// pure function of (seed, instance, trial, step, unit, purpose), and the
// arithmetic that the reference and every Go backend share, so that a Go
// backend differs from the reference only in its loops: the elementwise step
// UnitStep (leak, noise, activation; the Go twin of rs::unitStep in
// kernels/model.cuh) with FirstNonFinite, and the plastic update's pieces
// (Rule.Vectors, Rule.Trace, Rule.Term and its factors, Step.UpdateSynapses,
// Connection.Grow, PlasticWeights). Deterministic transcendentals live in the
// subpackage dmath; the conformance suite that compares a backend with the
// reference bit for bit lives in backendtest, one entry point per feature,
// and a backend declares the optional features it supports by implementing
// FeatureSupporter.
//
// The partitioner (Program.Sub, Span, Part, Partition, Split, StartSharded)
// cuts a program into instance × trial shards that draw the same random
// numbers as the whole, slices their input and scatters their recordings
// back; the CUDA backend, the conformance suite and the sweep driver all
// shard with it.
//
// The contract, in full in ARCHITECTURE.md ("The numeric contract"): every
// operation rounds to nearest in the program's precision; no fused
// multiply-add (products are wrapped in explicit conversions so the Go
// compiler cannot fuse them); every dot product runs over the presynaptic
// index in ascending order from +0; transcendentals come from dmath; derived
// constants (1−α, α·σ) are computed once on the host; random numbers are a
// pure function of their counter.
package backend
