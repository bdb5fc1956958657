// Command ratesim runs rate-network simulations from the command line.
//
//	ratesim run [SPEC.yaml]                 run a spec (a built-in example without one)
//	ratesim validate SPEC.yaml              check a spec without running it
//	ratesim sweep SWEEP.yaml                run a parameter sweep as batched programs (--shard i/n, --slurm [--submit]; sweep validate|points|merge|status|examples)
//	ratesim fit FIT.yaml                    fit spec fields (CMA-ES, random, lhs), one batched program per generation (fit examples, --example ctrnn_tau)
//	ratesim inspect SPEC.yaml [--masks DIR] print a network's structure (areas, E/I, densities, spectral radius)
//	ratesim import nn4n MODEL -o SPEC.yaml  turn an nn4n model (.npz state dict, .pt/.pth checkpoint) into a spec
//	ratesim devices                         list the backends compiled in and their devices
//	ratesim bench                           measure steps/s and GFLOP/s (and peers)
//	ratesim examples [NAME]                 list or print the built-in example specs
//	ratesim version
//
// It is thin: flags become a spec.Spec and sim.Options (bench.Options for
// bench) and results are printed; the work is in sim and its rooms
// (ARCHITECTURE.md). Backends are linked in by importing them for their
// side effect.
package main
