package cpu

import "github.com/ratesim/ratesim/backend"

// rateBuffers are one task's buffers of the rate form's step, nb × N each:
// r_{t−1} (RK4 only) and the stage velocities k1 … k4 (k2 … k4 for RK4).
type rateBuffers[T backend.Float] struct {
	r0, k1, k2, k3, k4 []T
	// kernels says whether the Euler step's units run on the rate kernels
	// (kernelRanges of the task's instance): 0 not yet known, 1 yes, −1 no.
	kernels int8
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
	gk := u.Instance
	if u.Integrator == backend.Euler {
		product()
		for j := 0; j < nb; j++ {
			gb := p.FirstTrial + t.b0 + j
			t.rowErr[j] = nil
			if !eulerUnits(u, rb, gb, step, row(t.x, j), rates(j), row(rb.k1, j)) {
				t.rowErr[j] = backend.FirstNonFinite(nil, rates(j), nil, gk, gb, step)
			}
		}
		return
	}
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
	for j := 0; j < nb; j++ {
		gb := p.FirstTrial + t.b0 + j
		t.rowErr[j] = nil
		if !u.Finish(gb, step, rates(j)) {
			t.rowErr[j] = backend.FirstNonFinite(nil, rates(j), nil, gk, gb, step)
		}
	}
}

// rateEulerKernel is one of unitstep_amd64.s's rate kernels
// (cpu/internal/asmgen): the Euler step of the supralinear units j < n, a
// multiple of its lanes, without post-activation noise; it returns n, or
// the first unit of the vector with a non-finite rate, which it left
// unwritten.
type rateEulerKernel[T backend.Float] func(n int, x, r, invTau *T, floor, ceiling, dt T, clip int) (at int)

// eulerUnits is the unit part of one trial's forward-Euler step: r = the
// new rates from the drive x of the old ones (backend.RateUnits' Velocity,
// EulerFinish, then Finish), k scratch. It reports whether every new rate
// is finite. A supralinear range with nonzero floor and ceiling and no
// post-activation noise runs on the rate kernels (unitPath) up to its last
// whole vector or its first vector with a non-finite rate; everything else
// runs the reference's own pieces, on the rest of such a range (whose
// noise is off, so its unit numbers do not enter) or on the whole row.
func eulerUnits[T backend.Float](u *backend.RateUnits[T], rb *rateBuffers[T], trial, step int, x, r, k []T) (finite bool) {
	if rb.kernels == 0 {
		rb.kernels = -1
		if u.Ranges != nil && kernelRanges(u) {
			rb.kernels = 1
		}
	}
	kern, lanes := rateEulerKernelOf[T](plasticImpl(unitPath.Load()))
	if kern == nil || rb.kernels < 0 {
		u.Velocity(x, r, k)
		u.EulerFinish(r, k)
		return u.Finish(trial, step, r)
	}
	clip := 0
	if u.Clip {
		clip = 1
	}
	finite = true
	for ri := range u.Ranges {
		rg := u.Ranges[ri]
		lo, hi := rg.Start, rg.End
		if n := (hi - lo) / lanes * lanes; n > 0 {
			lo += kern(n, &x[lo], &r[lo], &u.InvTau[lo], rg.Floor, rg.Ceiling, u.Dt, clip)
		}
		if lo == hi {
			continue
		}
		rest := *u
		rg.Start, rg.End = 0, hi-lo
		rest.Ranges = []backend.ActivationRange[T]{rg}
		rest.InvTau, rest.PostNoise = u.InvTau[lo:hi], u.PostNoise[lo:hi]
		rest.Velocity(x[lo:hi], r[lo:hi], k[lo:hi])
		rest.EulerFinish(r[lo:hi], k[lo:hi])
		finite = rest.Finish(trial, step, r[lo:hi]) && finite
	}
	return finite
}

// kernelRanges reports whether every range of u runs on the rate kernels:
// supralinear with floor and ceiling nonzero numbers (backend.Supra is then
// VMAXP and VMINP) and no post-activation noise.
func kernelRanges[T backend.Float](u *backend.RateUnits[T]) bool {
	for _, rg := range u.Ranges {
		if rg.Activation != backend.Supralinear || rg.Floor == 0 || rg.Ceiling == 0 || rg.Floor != rg.Floor || rg.Ceiling != rg.Ceiling {
			return false
		}
		for _, s := range u.PostNoise[rg.Start:rg.End] {
			if s != 0 {
				return false
			}
		}
	}
	return true
}

// rateEulerKernelOf returns impl's rate kernel for T and its lanes (nil
// for Go).
func rateEulerKernelOf[T backend.Float](impl plasticImpl) (rateEulerKernel[T], int) {
	var z T
	lanes := 0
	switch impl {
	case plasticAVX2:
		lanes = 32 / int(sizeOf(z))
	case plasticAVX512:
		lanes = 64 / int(sizeOf(z))
	default:
		return nil, 0
	}
	var k any
	if _, ok := any(z).(float32); ok {
		k = rateEuler32[impl]
	} else {
		k = rateEuler64[impl]
	}
	kern, _ := k.(rateEulerKernel[T])
	if kern == nil {
		return nil, 0
	}
	return kern, lanes
}
