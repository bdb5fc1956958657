package cpu

import (
	"fmt"

	"github.com/ratesim/ratesim/backend"
)

// The layer-5 model's sliding BCM rule in low-rank form
// (backend.L5LowRank): the drive stays the program's W0, so the run takes
// the static paths (the packed or the gathered product), and each trial's
// factors add their part to the product and learn after the step, with
// the reference's own code (backend.L5LowRankState). A step costs the
// static product plus O(F·N) a trial.

// SupportsL5LowRank reports that the CPU backend runs the low-rank form
// (backend.L5LowRankCapable).
func (b *Backend) SupportsL5LowRank() bool { return true }

// newLowRank returns the states of every instance and trial, each window
// holding r_0.
func newLowRank[T backend.Float](p *backend.Program[T]) []*backend.L5LowRankState[T] {
	st := make([]*backend.L5LowRankState[T], p.Instances*p.Trials)
	for kb := range st {
		st[kb] = backend.NewL5LowRankState(p, kb)
	}
	return st
}

// lowRankProduct adds each trial's low-rank part to the drive t.x of the
// rates in z's first N columns.
func (r *run[T]) lowRankProduct(t *task[T]) {
	N, rows, B := r.p.Units, r.p.DriveRows(), r.p.Trials
	for j := 0; j < t.b1-t.b0; j++ {
		r.lr[t.k*B+t.b0+j].AddProduct(t.z[j*rows:j*rows+N], t.x[j*N:(j+1)*N])
	}
}

// lowRankStep pushes the task's new rates into their trials' windows and,
// when step learns, updates their factors; it returns the first
// non-finite factor.
func (r *run[T]) lowRankStep(t *task[T], step int) *backend.NonFiniteError {
	p := r.p
	pl := p.Plasticity
	l5 := pl.L5.ForInstance(t.k)
	N, rows, B := p.Units, p.DriveRows(), p.Trials
	learns := l5.Learns(&pl.Schedule, step)
	var first *backend.NonFiniteError
	for j := 0; j < t.b1-t.b0; j++ {
		b := t.b0 + j
		st := r.lr[t.k*B+b]
		st.Push(t.z[j*rows : j*rows+N])
		if !learns {
			continue
		}
		if i, v := st.Update(&l5, step); i >= 0 && first == nil {
			trial := -1
			if pl.PerTrial {
				trial = p.FirstTrial + b
			}
			first = backend.L5LowRankNonFinite(p.FirstInstance+t.k, trial, step, i, float64(v))
		}
	}
	return first
}

// L5LowRankFactors copies a low-rank run's factors
// (backend.L5LowRankRun).
func (r *run[T]) L5LowRankFactors(P []T) error {
	if r.closed {
		return backend.ErrClosed
	}
	if r.lr == nil {
		return fmt.Errorf("cpu: L5LowRankFactors: the program has no L5 low-rank form")
	}
	backend.L5LowRankFactors(r.lr, P)
	return nil
}
