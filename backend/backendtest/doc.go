// Package backendtest is the conformance suite every backend runs with one
// line, as gonum's testblas is for BLAS implementations:
//
//	func TestConformance(t *testing.T) { backendtest.Test(t, mybackend.New()) }
//
// It builds random programs at sizes around block edges, every activation,
// noise on and off, given and zero initial states, both precisions and
// hundreds of steps, runs them on the backend and on backend.Reference, and
// compares every recorded value and the final state bit for bit, naming the
// first difference as (instance, trial, step, unit, got, want). It also checks
// partition invariance: the same bits whether a program runs as one call or
// many, and whether its instances or trials are split into shards.
package backendtest
