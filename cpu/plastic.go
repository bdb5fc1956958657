package cpu

import "github.com/ratesim/ratesim/backend"

// The CPU backend's plasticity: after each step's dynamics a task (all trials
// of an instance with shared weights; a block of trials, each with its own
// matrix, with per-trial weights) runs one fused update per matrix and rule:
// the trial sum Σ_b a_bj·c_bi as one untransposed Gemm (ascending b from +0,
// the contract's order; Oja's term, which is not an outer product, in a
// plain loop), then a single pass over the synapses with gates, soft bound,
// prior, sign, scale, optimizer and projection (backend.Step.Apply and
// Connection.Project, the reference's own code), then growth.

// plastic is the run-wide state: the weights every task updates in place.
type plastic[T backend.Float] struct {
	pl      *backend.Plasticity[T]
	M       int
	drive   []T // K × M × rows × N
	readout []T // K × M × (N+1) × O
}

func newPlastic[T backend.Float](p *backend.Program[T]) *plastic[T] {
	K, N, O := p.Instances, p.Units, p.Outputs
	M, rows := p.Matrices(), p.DriveRows()
	pp := &plastic[T]{pl: p.Plasticity, M: M, drive: make([]T, K*M*rows*N), readout: make([]T, K*M*(N+1)*O)}
	for k := 0; k < K; k++ {
		for mb := 0; mb < M; mb++ {
			copy(pp.drive[(k*M+mb)*rows*N:], p.Drive[k*rows*N:(k+1)*rows*N])
			if O > 0 {
				copy(pp.readout[(k*M+mb)*(N+1)*O:], p.Readout[k*(N+1)*O:(k+1)*(N+1)*O])
			}
		}
	}
	return pp
}

func (pp *plastic[T]) matrix(p *backend.Program[T], k, mb int) (drive, readout []T) {
	rows, N, O := p.DriveRows(), p.Units, p.Outputs
	at := k*pp.M + mb
	return pp.drive[at*rows*N : (at+1)*rows*N], pp.readout[at*(N+1)*O : (at+1)*(N+1)*O]
}

// taskPlastic is one task's plasticity state.
type taskPlastic[T backend.Float] struct {
	conns [3]*taskConn[T]
	a, c  []T // trial factors: pre × trials, trials × post
	h     []T // summed terms, pre × post
	sq    []T
	mean  []T
	recW  int
}

type taskConn[T backend.Float] struct {
	c             *backend.Connection[T]
	l             backend.Layer
	pre, post     int
	steps         []backend.Step[T]
	m, v          [][]T // per rule: Adam state, matrices × pre × post (nil for SGD)
	preAvg        []*backend.AverageState[T]
	postAvg       []*backend.AverageState[T]
	preOK, postOK []bool
}

func newTaskPlastic[T backend.Float](p *backend.Program[T], nb, matrices int) *taskPlastic[T] {
	tp := &taskPlastic[T]{}
	maxA, maxC := 0, 0
	for l, c := range p.Plasticity.Connections() {
		if c == nil {
			continue
		}
		L := backend.Layer(l)
		a, b := p.Shape.LayerDims(L)
		tc := &taskConn[T]{c: c, l: L, pre: a, post: b, steps: backend.NewSteps(c),
			preOK: make([]bool, a), postOK: make([]bool, b)}
		for ri := range c.Rules {
			r := &c.Rules[ri]
			var m, v []T
			if r.Optimizer == backend.Adam {
				m, v = make([]T, matrices*a*b), make([]T, matrices*a*b)
			}
			tc.m, tc.v = append(tc.m, m), append(tc.v, v)
			var pa, qa *backend.AverageState[T]
			switch r.Kind {
			case backend.BCM:
				qa = backend.NewAverageState(r.Average, nb, b)
			case backend.Covariance:
				pa = backend.NewAverageState(r.Average, nb, a)
				qa = backend.NewAverageState(r.Average, nb, b)
			}
			tc.preAvg, tc.postAvg = append(tc.preAvg, pa), append(tc.postAvg, qa)
		}
		maxA, maxC = max(maxA, a), max(maxC, b)
		tp.conns[L] = tc
	}
	tp.a, tp.c, tp.h = make([]T, maxA*nb), make([]T, nb*maxC), make([]T, maxA*maxC)
	tp.sq, tp.mean = make([]T, maxC), make([]T, max(maxA, maxC))
	return tp
}

// vectors returns trial j's (task-local) presynaptic and postsynaptic
// vectors of rule r on connection c at this step.
func (r *run[T]) vectors(t *task[T], c *taskConn[T], rule *backend.Rule[T], j int) (pre, post []T) {
	p := r.p
	N, I, O, rows := p.Units, p.Inputs, p.Outputs, p.DriveRows()
	rt := t.z[j*rows : j*rows+N]
	ut := t.z[j*rows+N : j*rows+N+I]
	switch c.l {
	case backend.LayerRecurrent:
		pre, post = rt, rt
	case backend.LayerInput:
		pre, post = ut, rt
	default:
		pre, post = rt, t.y[j*O:(j+1)*O]
	}
	if rule.PreInput {
		pre = ut
	}
	return pre, post
}

// plasticStep runs the plasticity of step t for task t after its dynamics
// (which were finite): averages, the update when t is an update step, and
// the weight snapshot. It returns the first non-finite weight.
func (r *run[T]) plasticStep(t *task[T], step int, out *backend.Chunk[T], mw, width int) *backend.NonFiniteError {
	p, pp, tp := r.p, r.pl, t.pl
	nb := t.b1 - t.b0
	// 1. Averages.
	for _, c := range tp.conns {
		if c == nil {
			continue
		}
		for ri := range c.c.Rules {
			rule := &c.c.Rules[ri]
			if rule.Kind != backend.BCM && rule.Kind != backend.Covariance {
				continue
			}
			for j := 0; j < nb; j++ {
				pre, post := r.vectors(t, c, rule, j)
				if rule.Kind == backend.BCM {
					sq := tp.sq[:len(post)]
					for i, x := range post {
						sq[i] = T(x * x)
					}
					c.postAvg[ri].Push(j, step, sq)
				} else {
					c.preAvg[ri].Push(j, step, pre)
					c.postAvg[ri].Push(j, step, post)
				}
			}
		}
	}
	var first *backend.NonFiniteError
	gk := p.FirstInstance + t.k
	if pp.pl.Schedule.Updates(step) {
		for _, c := range tp.conns {
			if c != nil {
				for i := range c.steps {
					c.steps[i].Advance()
				}
			}
		}
		// Matrices of this task: shared — the instance's one, summing all
		// nb (= B) trials; per-trial — one per trial.
		nm, per := 1, nb
		if pp.M > 1 {
			nm, per = nb, 1
		}
		for lm := 0; lm < nm; lm++ {
			mb := 0
			if pp.M > 1 {
				mb = t.b0 + lm
			}
			drive, readout := pp.matrix(p, t.k, mb)
			bad := false
			for _, c := range tp.conns {
				if c == nil {
					continue
				}
				W, ld := backend.LayerView(p.Shape, c.l, drive, readout)
				for ri := range c.c.Rules {
					bad = r.applyRule(t, c, ri, step, W, ld, lm, lm*per, per) || bad
				}
				if c.c.Growth != nil {
					bad = r.grow(c, gk, mb, step, W, ld, t.k) || bad
				}
			}
			if bad {
				trial := -1
				if pp.pl.PerTrial {
					trial = p.FirstTrial + mb
				}
				if e := backend.FirstNonFiniteWeight(p, drive, readout, gk, trial, step); e != nil && e.Before(first) {
					first = e
				}
			}
		}
	}
	// Snapshot.
	if s := pp.pl.Record.Stride; s > 0 && step%s == 0 {
		m0, m1 := 0, 1
		if pp.M > 1 {
			m0, m1 = t.b0, t.b1
		}
		for mb := m0; mb < m1; mb++ {
			at := ((t.k*pp.M+mb)*mw + tp.recW) * width
			drive, readout := pp.matrix(p, t.k, mb)
			backend.Snapshot(p, drive, readout, out.Weights[at:at+width])
		}
		tp.recW++
	}
	return first
}

// applyRule applies rule ri of c to one matrix W (lm: the task-local matrix
// index for the Adam state) summing the terms of task-local trials
// [j0, j0+nt). It reports whether it wrote a non-finite weight.
func (r *run[T]) applyRule(t *task[T], c *taskConn[T], ri, step int, W []T, ld, lm, j0, nt int) bool {
	tp := t.pl
	rule, sp := &c.c.Rules[ri], &c.steps[ri]
	a, b := c.pre, c.post
	r.pl.pl.Gates(c.l, rule, step, c.preOK, c.postOK)
	h := tp.h[:a*b]
	if rule.Kind == backend.Oja {
		// Trials outermost: each h element still adds its terms in
		// ascending trial order from +0.
		clear(h)
		for x := j0; x < j0+nt; x++ {
			pre, post := r.vectors(t, c, rule, x)
			for j := 0; j < a; j++ {
				hj, wj, pj := h[j*b:(j+1)*b], W[j*ld:j*ld+b], pre[j]
				for i, q := range post {
					hj[i] = hj[i] + T(q*(pj-T(q*wj[i])))
				}
			}
		}
	} else {
		// h = A·C with A (a × nt) and C (nt × b): the trial factors.
		A, C := tp.a[:a*nt], tp.c[:nt*b]
		finite := true
		mean := tp.mean
		for x := 0; x < nt; x++ {
			pre, post := r.vectors(t, c, rule, j0+x)
			cx := C[x*b : (x+1)*b]
			switch rule.Kind {
			case backend.Hebbian:
				for j := 0; j < a; j++ {
					A[j*nt+x] = T(rule.PreWeight * pre[j])
				}
				for i := 0; i < b; i++ {
					cx[i] = T(rule.PostWeight * post[i])
				}
			case backend.BCM:
				for j := 0; j < a; j++ {
					A[j*nt+x] = pre[j]
				}
				c.postAvg[ri].Mean(j0+x, step, mean[:b])
				for i := 0; i < b; i++ {
					th := mean[i]
					phi := T(post[i] * (post[i] - th))
					if rule.DivideByTheta {
						if th > 0 {
							phi = phi / th
						} else {
							phi = 0
						}
					}
					cx[i] = phi
				}
			case backend.Covariance:
				c.preAvg[ri].Mean(j0+x, step, mean[:a])
				for j := 0; j < a; j++ {
					A[j*nt+x] = pre[j] - mean[j]
				}
				c.postAvg[ri].Mean(j0+x, step, mean[:b])
				for i := 0; i < b; i++ {
					cx[i] = post[i] - mean[i]
				}
			}
			for _, v := range cx {
				finite = finite && backend.IsFinite(v)
			}
		}
		if finite {
			gemm(a, b, nt, A, nt, C, b, h, b)
		} else {
			// Gemm skips zero left-hand factors, which would hide 0·Inf:
			// spell the sum out.
			for j := 0; j < a; j++ {
				for i := 0; i < b; i++ {
					var acc T
					for x := 0; x < nt; x++ {
						acc = acc + T(A[j*nt+x]*C[x*b+i])
					}
					h[j*b+i] = acc
				}
			}
		}
	}
	// The fused tail over the synapses.
	k := t.k
	lr := rule.Rate[k]
	scale := c.c.Scale
	var m, v []T
	if c.m[ri] != nil {
		m, v = c.m[ri][lm*a*b:(lm+1)*a*b], c.v[ri][lm*a*b:(lm+1)*a*b]
	}
	bad := false
	for j := 0; j < a; j++ {
		if !c.preOK[j] {
			continue
		}
		sign := c.c.SignOf(k, a, j)
		negate := rule.NegateFor(sign)
		row := W[j*ld : j*ld+b]
		for i, w := range row {
			if !c.postOK[i] {
				continue
			}
			s := T(1)
			if scale != nil {
				s = scale[(k*a+j)*b+i]
			}
			if s == 0 || c.c.FreezeZero && w == 0 {
				continue
			}
			var mp, vp *T
			if m != nil {
				mp, vp = &m[j*b+i], &v[j*b+i]
			}
			w = c.c.Project(sp.Apply(h[j*b+i], w, s, lr, negate, mp, vp), sign)
			row[i] = w
			bad = bad || !backend.IsFinite(w)
		}
	}
	return bad
}

// grow runs growth on one matrix (mb: the instance's matrix index).
func (r *run[T]) grow(c *taskConn[T], gk, mb, step int, W []T, ld, k int) bool {
	p := r.p
	trial := 0
	if r.pl.pl.PerTrial {
		trial = p.FirstTrial + mb
	}
	a, b := c.pre, c.post
	bad := false
	for j := 0; j < a; j++ {
		sign := c.c.SignOf(k, a, j)
		for i := 0; i < b; i++ {
			at := (k*a+j)*b + i
			prob := c.c.Growth[at]
			if prob > 0 && W[j*ld+i] == 0 && backend.Grows(r.key, gk, trial, step, p.GrowthIndex(c.l, j, i), prob) {
				w := c.c.Project(c.c.GrowWeight[at], sign)
				W[j*ld+i] = w
				bad = bad || !backend.IsFinite(w)
			}
		}
	}
	return bad
}
