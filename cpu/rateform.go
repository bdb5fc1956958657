package cpu

import "github.com/ratesim/ratesim/backend"

// rateBuffers are one task's buffers of the rate form's step, nb × N each:
// r_{t−1} (RK4 only) and the stage velocities k1 … k4 (k2 … k4 for RK4).
type rateBuffers[T backend.Float] struct {
	r0, k1, k2, k3, k4 []T
}

// initRates sets the rates of task t (trials [b0, b1) of instance k) to
// the rate form's r_0, Init itself (zero when nil), and allocates its
// stage buffers.
func initRates[T backend.Float](p *backend.Program[T], t *task[T], k, b0, b1 int) {
	N, B, rows := p.Units, p.Trials, p.DriveRows()
	n := (b1 - b0) * N
	if p.Init != nil {
		for j := 0; j < b1-b0; j++ {
			copy(t.z[j*rows:j*rows+N], p.Init[(k*B+b0+j)*N:(k*B+b0+j+1)*N])
		}
	}
	t.rate = &rateBuffers[T]{k1: make([]T, n)}
	if p.Rate.Integrator == backend.RK4 {
		rb := t.rate
		rb.r0, rb.k2, rb.k3, rb.k4 = make([]T, n), make([]T, n), make([]T, n), make([]T, n)
	}
}

// initActivate sets r = f(v) for the initial state of one trial of a
// v-form program, per unit when it has UnitActivations.
func initActivate[T backend.Float](p *backend.Program[T], f *backend.Funcs[T], v, r []T) {
	if p.UnitActivations != nil {
		backend.ActivateRanges(p.UnitActivations, v, r, f)
		return
	}
	for i, x := range v {
		r[i] = backend.Activate(p.Activation, x, f)
	}
}

// rateStep is the rate form's step for the trials of task t: the pieces of
// backend.RateStep (the reference's own code) batched over the task's
// trials, so each RK4 stage is one drive product for all of them. The
// rates live in z's first N columns; product sets t.x to the drive of
// those rates (the Gemm, the per-trial Gemm, or the gathered product).
// Each trial's first non-finite rate goes to t.rowErr.
func (r *run[T]) rateStep(t *task[T], u *backend.RateUnits[T], step int, product func()) {
	p := r.p
	N, rows := p.Units, p.DriveRows()
	nb := t.b1 - t.b0
	rb := t.rate
	rates := func(j int) []T { return t.z[j*rows : j*rows+N] }
	row := func(a []T, j int) []T { return a[j*N : (j+1)*N] }
	if u.Integrator == backend.Euler {
		product()
		for j := 0; j < nb; j++ {
			u.Velocity(row(t.x, j), rates(j), row(rb.k1, j))
			u.EulerFinish(rates(j), row(rb.k1, j))
		}
	} else {
		// The stage rates go into z (and the gathered product's history,
		// one slot: RK4 has no delays); r0 keeps r_{t−1}.
		restage := func() {
			if t.hist != nil {
				t.hist.store(backend.HistorySlot(step-1, 1), t.z, rows)
			}
		}
		for j := 0; j < nb; j++ {
			copy(row(rb.r0, j), rates(j))
		}
		for s, k := range [...][]T{rb.k1, rb.k2, rb.k3, rb.k4} {
			if s > 0 {
				restage()
			}
			product()
			for j := 0; j < nb; j++ {
				q := rates(j)
				if s == 0 {
					q = row(rb.r0, j)
				}
				u.Velocity(row(t.x, j), q, row(k, j))
				if s < 3 {
					u.Stage(row(rb.r0, j), row(k, j), rates(j), s < 2)
				}
			}
		}
		for j := 0; j < nb; j++ {
			copy(rates(j), row(rb.r0, j))
			u.RK4Finish(rates(j), row(rb.k1, j), row(rb.k2, j), row(rb.k3, j), row(rb.k4, j))
		}
	}
	gk := u.Instance
	for j := 0; j < nb; j++ {
		gb := p.FirstTrial + t.b0 + j
		t.rowErr[j] = nil
		if !u.Finish(gb, step, rates(j)) {
			t.rowErr[j] = backend.FirstNonFinite(nil, rates(j), nil, gk, gb, step)
		}
	}
}
