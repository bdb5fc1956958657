package backend

// refPlastic is the reference's plasticity state: its own copy of the
// weights (K × M matrices), the rules' Adam state and running averages.
type refPlastic[T Float] struct {
	pl *Plasticity[T]
	*PlasticWeights[T]
	conns [numLayers]*refConn[T]
	// per instance and trial, this step's vectors
	u, y []T // K × B × I, K × B × O
	// L5 (Plasticity.L5): each trial's window of rate vectors, K × B
	l5win []*L5Window[T]
	l5s   *L5Scratch[T]
	// L5 in low-rank form (L5Plasticity.LowRank): each trial's state, K × B
	// (l5win nil; the matrices stay W0)
	lr []*L5LowRankState[T]
}

type refConn[T Float] struct {
	c     *Connection[T]
	l     Layer
	pre   int // presynaptic and postsynaptic sizes
	post  int
	steps []Step[T]
	rules []refRule[T]
}

type refRule[T Float] struct {
	m, v    []T              // Adam, K × M × pre × post
	preAvg  *AverageState[T] // covariance: averages of pre (K × B × pre)
	postAvg *AverageState[T] // BCM: of post² (θ); covariance: of post
}

func newRefPlastic[T Float](p *Program[T]) *refPlastic[T] {
	pl := p.Plasticity
	K, B, I, O := p.Instances, p.Trials, p.Inputs, p.Outputs
	M := p.Matrices()
	st := &refPlastic[T]{pl: pl, PlasticWeights: NewPlasticWeights(p), u: make([]T, K*B*I), y: make([]T, K*B*O)}
	for l, c := range pl.Connections() {
		if c == nil {
			continue
		}
		L := Layer(l)
		a, b := p.layerDims(L)
		rc := &refConn[T]{c: c, l: L, pre: a, post: b, steps: NewSteps(c)}
		for ri := range c.Rules {
			r := &c.Rules[ri]
			var rr refRule[T]
			if r.Optimizer == Adam {
				rr.m, rr.v = make([]T, K*M*a*b), make([]T, K*M*a*b)
			}
			switch r.Kind {
			case BCM:
				rr.postAvg = NewAverageState(r.Average, K*B, b)
			case Covariance:
				rr.preAvg = NewAverageState(r.Average, K*B, a)
				rr.postAvg = NewAverageState(r.Average, K*B, b)
			}
			rc.rules = append(rc.rules, rr)
		}
		st.conns[L] = rc
	}
	if l5 := pl.L5; l5 != nil && l5.LowRank != nil {
		for kb := 0; kb < K*B; kb++ {
			st.lr = append(st.lr, NewL5LowRankState(p, kb))
		}
	} else if l5 != nil {
		st.l5s = NewL5Scratch[T](p.Units)
		for kb := 0; kb < K*B; kb++ {
			st.l5win = append(st.l5win, NewL5Window(l5.ForInstance(kb/B).Window, L5InitialRates(p, kb)))
		}
	}
	return st
}

// vectors returns the presynaptic and postsynaptic vectors of rule r of
// connection c for instance k, trial b, from r (the rates of step t).
func (st *refPlastic[T]) vectors(p *Program[T], c *refConn[T], r *Rule[T], rates []T, k, b int) (pre, post []T) {
	B, N, I, O := p.Trials, p.Units, p.Inputs, p.Outputs
	kb := k*B + b
	return r.Vectors(c.l, rates[kb*N:(kb+1)*N], st.u[kb*I:(kb+1)*I], st.y[kb*O:(kb+1)*O])
}

// traces pushes step t's values into every running average of instance k.
func (st *refPlastic[T]) traces(p *Program[T], rates []T, k, t int) {
	N := p.Units
	for b := 0; b < p.Trials && st.l5win != nil; b++ {
		kb := k*p.Trials + b
		st.l5win[kb].Push(rates[kb*N : (kb+1)*N])
	}
	for b := 0; b < p.Trials && st.lr != nil; b++ {
		kb := k*p.Trials + b
		st.lr[kb].Push(rates[kb*N : (kb+1)*N])
	}
	for _, c := range st.conns {
		if c == nil {
			continue
		}
		for ri := range c.c.Rules {
			r, rr := &c.c.Rules[ri], &c.rules[ri]
			for b := 0; b < p.Trials; b++ {
				pre, post := st.vectors(p, c, r, rates, k, b)
				r.Trace(rr.preAvg, rr.postAvg, k*p.Trials+b, t, pre, post, make([]T, len(post)))
			}
		}
	}
}

// beginUpdate advances every rule's Adam counters at update step t.
func (st *refPlastic[T]) beginUpdate() {
	for _, c := range st.conns {
		if c == nil {
			continue
		}
		for i := range c.steps {
			c.steps[i].Advance()
		}
	}
}

// update applies the update of step t to instance k, in the order of the
// Plasticity doc, and returns the first non-finite weight it wrote.
func (st *refPlastic[T]) update(p *Program[T], key [2]uint32, rates []T, k, t int) *NonFiniteError {
	B := p.Trials
	gk := p.FirstInstance + k
	if st.pl.L5 != nil {
		return st.updateL5(p, k, t)
	}
	var first *NonFiniteError
	for mb := 0; mb < st.M; mb++ {
		// The trials whose terms this matrix sums.
		b0, b1 := 0, B
		if st.M > 1 {
			b0, b1 = mb, mb+1
		}
		drive, readout := st.Matrix(p, k, mb)
		for _, c := range st.conns {
			if c == nil {
				continue
			}
			W, ld := LayerView(p.Shape, c.l, drive, readout)
			a, bb := c.pre, c.post
			preOK, postOK := make([]bool, a), make([]bool, bb)
			for ri := range c.c.Rules {
				r, rr := &c.c.Rules[ri], &c.rules[ri]
				st.pl.Gates(c.l, r, t, preOK, postOK)
				// Per-trial averages: θ (BCM), p̄ and q̄ (covariance).
				pbar, stat := make([][]T, B), make([][]T, B)
				for b := b0; b < b1; b++ {
					pbar[b], stat[b] = make([]T, a), make([]T, bb)
					r.Means(rr.preAvg, rr.postAvg, k*B+b, t, pbar[b], stat[b])
				}
				// Every synapse's summed term, from +0 over the trials.
				h := make([]T, a*bb)
				for j := 0; j < a; j++ {
					for i := 0; i < bb; i++ {
						var acc T // +0
						for b := b0; b < b1; b++ {
							pre, post := st.vectors(p, c, r, rates, k, b)
							acc = acc + r.Term(pre[j], post[i], W[j*ld+i], pbar[b][j], stat[b][i])
						}
						h[j*bb+i] = acc
					}
				}
				var m, v []T
				if rr.m != nil {
					at := (k*st.M + mb) * a * bb
					m, v = rr.m[at:at+a*bb], rr.v[at:at+a*bb]
				}
				c.steps[ri].UpdateSynapses(c.c, k, preOK, postOK, h, W, ld, m, v)
			}
			if c.c.Growth != nil {
				c.c.Grow(p, c.l, key, k, mb, t, W, ld)
			}
		}
		trial := -1
		if st.pl.PerTrial {
			trial = p.FirstTrial + mb
		}
		if e := FirstNonFiniteWeight(p, drive, readout, gk, trial, t); e != nil && e.Before(first) {
			first = e
		}
	}
	return first
}

// updateL5 applies the L5 update of step t to every matrix of instance k
// (one per trial), trial by trial, and returns the first non-finite weight.
func (st *refPlastic[T]) updateL5(p *Program[T], k, t int) *NonFiniteError {
	l5 := st.pl.L5.ForInstance(k)
	if !l5.Learns(&st.pl.Schedule, t) {
		return nil
	}
	B, N, I := p.Trials, p.Units, p.Inputs
	var first *NonFiniteError
	if st.lr != nil {
		for b := 0; b < B; b++ {
			if i, v := st.lr[k*B+b].Update(&l5, t); i >= 0 && first == nil {
				trial := -1
				if st.pl.PerTrial {
					trial = p.FirstTrial + b
				}
				first = L5LowRankNonFinite(p.FirstInstance+k, trial, t, i, float64(v))
			}
		}
		return first
	}
	rows := p.DriveRows()
	W0 := p.Drive[k*rows*N : (k+1)*rows*N]
	for b := 0; b < B; b++ {
		kb := k*B + b
		drive, _ := st.Matrix(p, k, b)
		l5.Update(st.l5s, drive, N, W0, st.l5win[kb].Rows(), st.u[kb*I:(kb+1)*I], t)
		trial := -1
		if st.pl.PerTrial {
			trial = p.FirstTrial + b
		}
		if e := L5FirstNonFinite(drive, N, N, p.FirstInstance+k, trial, t); e != nil && e.Before(first) {
			first = e
		}
	}
	return first
}
