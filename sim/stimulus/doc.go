// Package stimulus produces a run's inputs, chunk by chunk, in the
// (trials, steps, inputs) layout backends take: the built-in generators of
// a spec's input section (constant, sine, pulses, noise, patterns), computed
// with deterministic math and the host random streams so they are the same
// on every machine, and input arrays read from .npy files (nn4n's
// batch-first (B, T, I)). Stimuli to come, such as drifting gratings for
// the layer-5 circuit model, belong here.
package stimulus
