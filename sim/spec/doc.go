// Package spec is ratesim's spec: the YAML schema users write, its
// defaults (nn4n's), its validation, and its resolution into plain values.
//
// A Spec has four parts that vary independently: the Model (dims,
// activation, time constants, noise, weights, biases, masks, structure,
// initial state, plasticity), the Stimulus (input:), the Recording
// (record:) and the RunSettings (trials, steps, seed, precision, backend).
// Parse and Load check every field and name the file, the field and the
// reason of the first bad one (*Error). Arrays are {file: PATH[, key:
// NAME]} references to .npy/.npz files relative to the spec; validation
// loads them and checks their shapes and values.
//
// Validation and resolution are one: a spec is valid when it resolves. So
// besides the schema this package resolves the model's arrays (Resolve),
// the recording (Recording.Plan: which steps and units) and the plasticity
// section against a network's masks (PlasticityPlan). It draws nothing at
// random except what choosing units by area needs; the network's random
// draws are sim/network's, from the host streams listed in streams.go.
// The built-in examples (Examples, LoadExample) live here too.
//
// How each key maps onto nn4n, and where ratesim departs from nn4n's bugs,
// is ../NN4N.md; every key is in README.md.
package spec
