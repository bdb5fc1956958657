// Package network builds what a spec's model describes: New draws the
// weights and biases (nn4n's initializers, from the seed's host streams),
// builds the structure's masks (sim/connect), and applies them in nn4n
// v1.2.0's order — draw, mask, clamp (Dale's law), balance. Program lays a
// Network out as a backend.Program in the run's precision, and Plasticity
// turns a resolved spec.PlasticityPlan into the backend.Plasticity the run
// learns with. Nothing here runs a network or writes a file.
package network
