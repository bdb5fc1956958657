package cpu

import "github.com/ratesim/ratesim/backend"

// The CPU backend's plasticity: after each step's dynamics a task (all trials
// of an instance with shared weights; a block of trials, each with its own
// matrix, with per-trial weights) runs one fused update per matrix and rule:
// the trial sum Σ_b a_bj·c_bi as one untransposed Gemm (ascending b from +0,
// the contract's order; one trial's product formed inside the synapse pass;
// Oja's term, which is not an outer product, by its own kernel), then a
// single pass over the synapses with gates, soft bound, prior, sign, scale,
// optimizer and projection (updateSynapses, synapses.go: the operations of
// backend.Step.UpdateSynapses on avo kernels, or in short Go loops, with
// the same bits), then growth (Connection.Grow). Every factor and term is
// the reference's own code (backend/plasticupdate.go), and the tail its
// operations in its order; only the loops differ.

// plastic is the run-wide state: the weights every task updates in place.
type plastic[T backend.Float] struct {
	pl *backend.Plasticity[T]
	*backend.PlasticWeights[T]
	l5win []*backend.L5Window[T] // L5: K × B windows (plasticl5.go)
	// identityIn says per instance that the drive's input block is the
	// identity (identityInputs).
	identityIn []bool
}

func newPlastic[T backend.Float](p *backend.Program[T]) *plastic[T] {
	return &plastic[T]{pl: p.Plasticity, PlasticWeights: backend.NewPlasticWeights(p), l5win: newL5Windows(p),
		identityIn: identityInputs(p)}
}

// taskPlastic is one task's plasticity state.
type taskPlastic[T backend.Float] struct {
	conns      [3]*taskConn[T]
	a, c       []T // trial factors: pre × trials, trials × post
	h          []T // summed terms, pre × post
	sq         []T
	pbar, stat []T // a rule's averages of one trial (backend.Rule.Means)
	recW       int
	syn        *synScratch[T]
	l5s        *backend.L5Scratch[T] // L5 programs only
	// next holds the recurrent sums of step nextStep's product (trials ×
	// N) that the L5 update of the step before left (nextProduct); 0:
	// none.
	next     []T
	nextStep int
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
	tp.sq, tp.pbar, tp.stat = make([]T, maxC), make([]T, maxA), make([]T, maxC)
	tp.syn = newSynScratch[T](maxA, maxC, nb)
	if p.Plasticity.L5 != nil {
		tp.l5s = backend.NewL5Scratch[T](p.Units)
		useL5Kernels(tp.l5s)
		tp.next = make([]T, nb*p.Units)
	}
	return tp
}

// vectors returns trial j's (task-local) presynaptic and postsynaptic
// vectors of rule r on connection c at this step.
func (r *run[T]) vectors(t *task[T], c *taskConn[T], rule *backend.Rule[T], j int) (pre, post []T) {
	p := r.p
	N, I, O, rows := p.Units, p.Inputs, p.Outputs, p.DriveRows()
	z := t.z[j*rows : (j+1)*rows]
	return rule.Vectors(c.l, z[:N], z[N:N+I], t.y[j*O:(j+1)*O])
}

// plasticStep runs the plasticity of step t for task t after its dynamics
// (which were finite): averages, the update when t is an update step, and
// the weight snapshot. It returns the first non-finite weight.
func (r *run[T]) plasticStep(t *task[T], step int, out *backend.Chunk[T], mw, width int) *backend.NonFiniteError {
	p, pp, tp := r.p, r.pl, t.pl
	if pp.pl.L5 != nil {
		return r.plasticStepL5(t, step)
	}
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
				rule.Trace(c.preAvg[ri], c.postAvg[ri], j, step, pre, post, tp.sq)
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
			drive, readout := pp.Matrix(p, t.k, mb)
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
					bad = !c.c.Grow(p, c.l, r.key, t.k, mb, step, W, ld) || bad
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
			drive, readout := pp.Matrix(p, t.k, mb)
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
	var outerA, outerC []T
	if rule.Kind == backend.Oja {
		// The trials' vectors side by side, then each h element adds its
		// terms in ascending trial order from +0.
		P, Q := tp.syn.pre[:nt*a], tp.syn.pst[:nt*b]
		for x := 0; x < nt; x++ {
			pre, post := r.vectors(t, c, rule, j0+x)
			copy(P[x*a:(x+1)*a], pre)
			copy(Q[x*b:(x+1)*b], post)
		}
		ojaTerms(a, b, nt, P, Q, h, W, ld, r.spare)
	} else {
		// h = A·C with A (a × nt) and C (nt × b): the trial factors.
		A, C := tp.a[:a*nt], tp.c[:nt*b]
		pbar, stat := tp.pbar[:a], tp.stat[:b]
		finite := true
		for x := 0; x < nt; x++ {
			pre, post := r.vectors(t, c, rule, j0+x)
			rule.Means(c.preAvg[ri], c.postAvg[ri], j0+x, step, pbar, stat)
			for j := 0; j < a; j++ {
				A[j*nt+x] = rule.PreFactor(pre[j], pbar[j])
			}
			cx := C[x*b : (x+1)*b]
			for i := 0; i < b; i++ {
				cx[i] = rule.PostFactor(post[i], stat[i])
			}
			for _, v := range cx {
				finite = finite && backend.IsFinite(v)
			}
		}
		if nt == 1 && plasticPath.Load() != int32(plasticGo) {
			// One trial: its outer product is formed by the kernels as
			// they go (updateSynapses), +0 + T(A[j]·C[i]), which is what
			// both sums below give for one trial.
			outerA, outerC = A, C
		} else if finite {
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
	// The tail over the synapses.
	var m, v []T
	if c.m[ri] != nil {
		m, v = c.m[ri][lm*a*b:(lm+1)*a*b], c.v[ri][lm*a*b:(lm+1)*a*b]
	}
	return !updateSynapses(sp, c.c, t.k, c.preOK, c.postOK, h, W, ld, m, v, outerA, outerC, tp.syn, r.spare)
}
