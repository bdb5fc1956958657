package cpu

//go:generate sh -c "cd internal/asmgen && go run . -set l5 -out ../../l5_amd64.s -stubs ../../l5_amd64.go -pkg cpu"

import "github.com/ratesim/ratesim/backend"

// The layer-5 model's plasticity (backend.L5Plasticity) on the CPU: each
// task pushes its trials' rates into their windows (run-wide, one per
// instance and trial, each touched by the one task that owns the trial) and
// updates each trial's matrix with backend.L5Plasticity.Update, the
// reference's own arithmetic; the sliding threshold reweights the whole
// window every step (O(L·N)).

// SupportsL5Plasticity reports that the CPU backend runs the L5 rules
// (backend.L5PlasticityCapable).
func (b *Backend) SupportsL5Plasticity() bool { return true }

// l5Path is the implementation of the sliding threshold's element loops
// (l5_amd64.s): the best this CPU has, unless the environment variable
// RATESIM_CPU_L5 names another it has ("go", "avx2", "avx512"). Tests set
// it to check every path.
var l5Path = implPath("RATESIM_CPU_L5")

// useL5Kernels sets s's kernels (the sliding threshold's loops, the
// one-pass Euler step) to l5Path's (none for go), once when a task's
// scratch is made: each has the Go code's bits on every path (a NaN is
// left to the Go code).
func useL5Kernels[T backend.Float](s *backend.L5Scratch[T]) {
	impl := plasticImpl(l5Path.Load())
	switch s := any(s).(type) {
	case *backend.L5Scratch[float32]:
		s.Square, s.Panel, s.Strips, s.EulerRow = l5Square32[impl], l5Panel32[impl], l5Strips32[impl], l5Euler32[impl]
	case *backend.L5Scratch[float64]:
		s.Square, s.Panel, s.Strips, s.EulerRow = l5Square64[impl], l5Panel64[impl], l5Strips64[impl], l5Euler64[impl]
	}
}

// newL5Windows returns one window per instance and trial, each holding r_0.
func newL5Windows[T backend.Float](p *backend.Program[T]) []*backend.L5Window[T] {
	l5 := p.Plasticity.L5
	if l5 == nil {
		return nil
	}
	w := make([]*backend.L5Window[T], p.Instances*p.Trials)
	for kb := range w {
		w[kb] = backend.NewL5Window(l5.ForInstance(kb/p.Trials).Window, backend.L5InitialRates(p, kb))
	}
	return w
}

// plasticStepL5 is plasticStep for an L5 program: windows, then the update
// of every trial of the task when step learns. It returns the first
// non-finite weight.
func (r *run[T]) plasticStepL5(t *task[T], step int) *backend.NonFiniteError {
	p, pp := r.p, r.pl
	l5 := pp.pl.L5.ForInstance(t.k) // a copy: instance k's window and rates
	N, I, B, rows := p.Units, p.Inputs, p.Trials, p.DriveRows()
	nb := t.b1 - t.b0
	for j := 0; j < nb; j++ {
		pp.l5win[t.k*B+t.b0+j].Push(t.z[j*rows : j*rows+N])
	}
	if !l5.Learns(&pp.pl.Schedule, step) {
		return nil
	}
	W0 := p.Drive[t.k*rows*N : (t.k+1)*rows*N]
	var first *backend.NonFiniteError
	s := t.pl.l5s
	fuse := pp.identityIn[t.k] && t.hist == nil
	summed := fuse
	for j := 0; j < nb; j++ {
		b := t.b0 + j
		drive, _ := pp.Matrix(p, t.k, b) // M = B or B = 1
		z := t.z[j*rows : (j+1)*rows]
		s.NextSums, s.NextRates = nil, nil
		if fuse {
			s.NextSums, s.NextRates = t.pl.next[j*N:(j+1)*N], z[:N]
		}
		l5.Update(s, drive, N, W0, pp.l5win[t.k*B+b].Rows(), z[N:N+I], step)
		summed = summed && s.SummedNext
		if !s.WroteNonFinite() {
			continue // the matrix was finite, and only the weights written changed
		}
		trial := -1
		if pp.pl.PerTrial {
			trial = p.FirstTrial + b
		}
		if e := backend.L5FirstNonFinite(drive, N, N, p.FirstInstance+t.k, trial, step); e != nil && e.Before(first) {
			first = e
		}
	}
	if summed {
		t.pl.nextStep = step + 1
	}
	return first
}

// identityInputs reports, per instance, whether the drive's input block is
// the identity (I = N, u_i drives unit i alone with weight 1, the other
// weights ±0), as a layer-5 circuit's is. There an L5 Euler update sums
// the next step's recurrent product as it writes W (L5Scratch.NextSums),
// and nextProduct completes it: a dense sliding-BCM run's step read each
// trial's matrix twice, and half of the product it no longer runs was the
// identity block.
func identityInputs[T backend.Float](p *backend.Program[T]) []bool {
	id := make([]bool, p.Instances)
	N, I, rows := p.Units, p.Inputs, p.DriveRows()
	if p.Plasticity == nil || p.Plasticity.L5 == nil || I != N {
		return id
	}
	for k := range id {
		in := p.Drive[k*rows*N+N*N : k*rows*N+(N+I)*N]
		id[k] = true
		for e, w := range in {
			if e/N == e%N && w != 1 || e/N != e%N && w != 0 {
				id[k] = false
				break
			}
		}
	}
	return id
}

// nextProduct sets the task's drive x for step from the recurrent sums the
// update of step − 1 left (plasticStepL5), if it left them for this step
// and every trial's u_t is finite, and reports whether it did. With the
// identity input block the rest of the gemm contract's sum is exact to
// shortcut: the sums start at +0 and so are never −0, the input rows
// l ≠ N+i add T(u_l·±0) = ±0, which leaves them unchanged, row N+i adds
// T(u_i·1) = u_i (and u_i = ±0, which the gemm skips, leaves them
// unchanged too), and the bias row adds T(z_b·b_i) unless z_b = ±0.
func (r *run[T]) nextProduct(t *task[T], step int) bool {
	if t.pl == nil || t.pl.nextStep != step {
		return false
	}
	t.pl.nextStep = 0 // for the step's first product only (RK4 runs four)
	p := r.p
	N, I, rows := p.Units, p.Inputs, p.DriveRows()
	nb := t.b1 - t.b0
	for j := 0; j < nb; j++ {
		for _, u := range t.z[j*rows+N : j*rows+N+I] {
			if u-u != 0 { // T(u·0) is NaN: the gemm's
				return false
			}
		}
	}
	for j := 0; j < nb; j++ {
		z := t.z[j*rows : (j+1)*rows]
		drive, _ := r.pl.Matrix(p, t.k, t.b0+j)
		bias, zb := drive[(N+I)*N:(N+I+1)*N], z[N+I]
		x, sums := t.x[j*N:(j+1)*N], t.pl.next[j*N:(j+1)*N]
		for i := range x {
			v := sums[i] + z[N+i]
			if zb != 0 {
				v = v + T(zb*bias[i])
			}
			x[i] = v
		}
	}
	return true
}
