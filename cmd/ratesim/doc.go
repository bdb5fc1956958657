// Command ratesim runs rate-network simulations from the command line.
//
//	ratesim run [SPEC.yaml]      run a spec (a built-in example without one)
//	ratesim validate SPEC.yaml   check a spec without running it
//	ratesim devices              list the backends compiled in and their devices
//	ratesim bench                measure steps/s and GFLOP/s (and peers)
//	ratesim examples             list or print the built-in example specs
//	ratesim version
//
// It is thin: flags become a spec.Spec and sim.Options; the work is in sim.
// Backends are linked in by importing them for their side effect.
package main
