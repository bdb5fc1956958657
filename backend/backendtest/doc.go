// Package backendtest is the conformance suite every backend runs, as
// gonum's testblas is for BLAS implementations: one entry point per
// feature, each a one-line test in the backend's package,
//
//	func TestDynamics(t *testing.T)   { backendtest.Dynamics(t, mybackend.New()) }
//	func TestNonFinite(t *testing.T)  { backendtest.NonFinite(t, mybackend.New()) }
//	func TestPartition(t *testing.T)  { backendtest.Partition(t, mybackend.New()) }
//	func TestPlasticity(t *testing.T) { backendtest.Plasticity(t, mybackend.New()) }
//	func TestMisuse(t *testing.T)     { backendtest.Misuse(t, mybackend.New()) }
//	func TestDelays(t *testing.T)     { backendtest.Delays(t, mybackend.New()) }
//	func TestSparse(t *testing.T)     { backendtest.Sparse(t, mybackend.New()) }
//	func TestRateForm(t *testing.T)   { backendtest.RateForm(t, mybackend.New()) }
//
// plus Covers, which fails when the suite has an entry point those tests
// lack; or all of them at once:
//
//	func TestConformance(t *testing.T) { backendtest.Test(t, mybackend.New()) }
//
// Every entry point runs programs on the backend and on backend.Reference
// and compares every recorded value, weight snapshot, final state and final
// weight bit for bit, naming the first difference as (instance, trial,
// step, unit, got, want):
//
//   - Dynamics: random programs at sizes around block edges, every
//     activation, noise on and off, given and zero initial states, shared
//     and per-instance input, sparse weights, recording strides, both
//     precisions, hundreds of steps (Cases).
//   - NonFinite: a run that blows up stops with the reference's
//     *backend.NonFiniteError, whole, in chunks and as parts, and stays
//     stopped.
//   - Partition: partition invariance, the same bits whether a program runs
//     as one Advance call or many, and as the parts of partitions of its
//     instances and trials (backend.Partition), each a program of its own.
//   - Plasticity: plastic programs (PlasticCases), non-finite weights, and
//     their partitions; on a backend that does not declare plasticity,
//     that Start refuses them.
//   - Misuse: bad programs, bad Advance arguments and closed runs are
//     errors.
//   - Delays: synaptic delays (DelayCases: per-synapse and per-connection,
//     maximal delays from 1 to longer than the run, with the sparse form),
//     run whole, in chunks shorter and longer than the delays (the ring
//     buffer carried across calls) and as partitions; on a backend that
//     does not declare delays (backend.DelayCapable), that Start refuses
//     them.
//   - Sparse: the CSR form of the drive (SparseCases: densities 0, 0.01,
//     0.1, 0.5 and 1 around block edges, explicit zero entries), whole, in
//     chunks and as partitions; every backend runs it (ignoring it is
//     exact).
//   - RateForm: the rate form τ dr/dt = −r + f(W r + I) (RateCases: Euler
//     and RK4, clip at 0 on and off, per-unit supralinear and power-law
//     activations, noise, sparse drives, Euler with delays, plastic
//     programs, the L5 rules), whole, in chunks and as partitions, both
//     precisions; on a backend that does not declare it, that Start
//     refuses its programs.
//
// Optional features are declared by the backend (backend.Supports, through
// backend.FeatureSupporter or for plasticity backend.PlasticityCapable;
// delays through backend.DelayCapable). An
// optional feature's entry point runs on every backend: in full where the
// feature is declared, and elsewhere it checks that Start refuses the
// feature's programs. A new feature (rate-form dynamics, RK4, delays,
// sparse execution, …) adds a backend.Feature, one entry point here (listed
// in EntryPoints, so that Test runs it) and one line to each backend's
// tests.
//
// The helpers the entry points are built of (NewProgram, NewInput,
// RunChunked, RunPartitioned, Expect, Compare) serve backends' own tests
// of what the suite does not vary.
package backendtest
