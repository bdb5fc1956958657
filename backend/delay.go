package backend

import (
	"errors"
	"fmt"
)

// MaxDelay is the largest delay a synapse can have, in steps: delays are
// stored as uint16.
const MaxDelay = 1<<16 - 1

// Delays are the synaptic delays of a program's recurrent synapses, in
// whole steps.
//
// The front-end converts a delay given in milliseconds to steps (sim/spec
// documents its rounding and what it does with delays that are not
// multiples of dt); a backend sees only these integers. A delay of 0 means
// no delay at all: the synapse reads r_{t-1}, as without Delays (unlike
// SPAIC, whose ring buffer turns 0 into the maximal lag).
//
// Only the recurrent block of the drive (presynaptic rows j < N) is
// delayed. An input connection whose synapses from one input share a delay
// d is the same as that input shifted by d steps (u_{t-d}, zero before step
// 1), which the front-end does to the input it feeds; the bias and the
// readout have no delay.
//
// Steps is dense, laid out like the recurrent block of Drive, K × N × N
// pre-major (Steps[(k·N+j)·N+i] is the delay of synapse j → i): a
// per-connection delay is a block of equal values, a per-synapse one any
// value, and both cost half of Drive's float32 weights, slice with the
// instances like Drive (Program.Sub) and need no index of their own. A
// backend derives what it runs from them (the CPU and CUDA backends a CSR
// of the nonzero weights with each entry's delay). The delays of synapses
// whose weight is zero do not matter.
//
// A run keeps the last Max+1 rate vectors of every trial in a ring buffer
// of its own, carried across Advance calls. It starts as r_0 repeated, so
// a run started from another's final state (Init) does not see that run's
// history: the state of a delayed run is v, r and the ring buffer, and
// State returns only the first two.
type Delays struct {
	// Max is D, the largest delay any synapse may have, 1 ≤ D ≤ MaxDelay:
	// backends keep D+1 rate vectors per trial.
	Max int
	// Steps holds the delays, K × N × N, each in [0, Max].
	Steps []uint16
}

// validate checks d for a program of shape s (nil is no delays).
func (d *Delays) validate(s Shape) error {
	if d == nil {
		return nil
	}
	if d.Max < 1 || d.Max > MaxDelay {
		return fmt.Errorf("program Delays.Max = %d: must be in [1, %d]", d.Max, MaxDelay)
	}
	if want := s.Instances * s.Units * s.Units; len(d.Steps) != want {
		return fmt.Errorf("program Delays.Steps has %d values, want %d (K × N × N)", len(d.Steps), want)
	}
	N := s.Units
	for x, v := range d.Steps {
		if int(v) > d.Max {
			k, j, i := x/(N*N), x/N%N, x%N
			return fmt.Errorf("program Delays.Steps[%d] (instance %d, synapse %d → %d) = %d exceeds Delays.Max = %d", x, k, j, i, v, d.Max)
		}
	}
	return nil
}

// sub returns the delays of instances [k0, k1) of a program with n units.
func (d *Delays) sub(k0, k1, n int) *Delays {
	if d == nil {
		return nil
	}
	return &Delays{Max: d.Max, Steps: d.Steps[k0*n*n : k1*n*n]}
}

// HistorySlot is the slot of the ring buffer of D+1 = slots rate vectors
// that holds r_s: s mod slots, with r_s for s < 0 in the slots a run
// fills with r_0 at its start (every slot; r_1 … overwrite them in turn).
// At step t the synapse with delay d reads HistorySlot(t−1−d, D+1).
func HistorySlot(s, slots int) int {
	return ((s % slots) + slots) % slots
}

var errPlasticDelaysSparse = errors.New("program Plasticity cannot be combined with Delays or Sparse (the learning rules change dense weights that the delayed and sparse forms do not follow)")

// DelayCapable is implemented by backends that run programs with Delays.
// A backend that does not implement it, or says no, must refuse such
// programs at Start with ErrNoDelays (the conformance suite's Delays entry
// point checks that).
type DelayCapable interface{ SupportsDelays() bool }

// SupportsDelays reports whether b declares that it runs programs with
// Delays.
func SupportsDelays(b Backend) bool {
	c, ok := b.(DelayCapable)
	return ok && c.SupportsDelays()
}

// ErrNoDelays is the error of a backend that cannot run a program with
// synaptic delays.
func ErrNoDelays(backend string) error {
	return fmt.Errorf("backend %q does not run programs with synaptic delays", backend)
}

// CheckFeatures returns the error Start gives for p on b when b does not
// declare one of the optional features p uses (ErrNoPlasticity,
// ErrNoDelays), or nil. Sparse needs no declaration: a backend that ignores
// it runs Drive, which has the same bits.
func CheckFeatures[T Float](b Backend, p *Program[T]) error {
	if p.Plasticity != nil && !Supports(b, FeaturePlasticity) {
		return ErrNoPlasticity(b.Name())
	}
	if p.Delays != nil && !SupportsDelays(b) {
		return ErrNoDelays(b.Name())
	}
	if IsL5LowRank(p) && !SupportsL5LowRank(b) {
		return ErrNoL5LowRank(b.Name())
	}
	return nil
}
