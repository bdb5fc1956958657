// Package stimulus produces a run's inputs, chunk by chunk, in the
// (trials, steps, inputs) layout backends take: the built-in generators of
// a spec's input section (constant, sine, pulses, noise, patterns), computed
// with deterministic math and the host random streams so they are the same
// on every machine, and input arrays read from .npy files (nn4n's
// batch-first (B, T, I)), and the drifting gratings of the layer-5
// circuit model (grating.go: per-unit positions, per-population amplitude,
// spatial and temporal frequency, phase, directions; the original's
// step-index aliasing as an explicit compatibility option).
package stimulus
