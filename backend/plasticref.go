package backend

// refPlastic is the reference's plasticity state: its own copy of the
// weights (K × M matrices), the rules' Adam state and running averages.
type refPlastic[T Float] struct {
	pl            *Plasticity[T]
	M             int // matrices per instance
	drive, readin []T // K × M × rows × N, K × M × (N+1) × O
	conns         [numLayers]*refConn[T]
	// per instance and trial, this step's vectors
	u, y []T // K × B × I, K × B × O
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
	K, B, N, I, O := p.Instances, p.Trials, p.Units, p.Inputs, p.Outputs
	M := p.Matrices()
	rows := p.DriveRows()
	st := &refPlastic[T]{pl: pl, M: M,
		drive: make([]T, K*M*rows*N), readin: make([]T, K*M*(N+1)*O),
		u: make([]T, K*B*I), y: make([]T, K*B*O)}
	for k := 0; k < K; k++ {
		for mb := 0; mb < M; mb++ {
			copy(st.drive[(k*M+mb)*rows*N:], p.Drive[k*rows*N:(k+1)*rows*N])
			if O > 0 {
				copy(st.readin[(k*M+mb)*(N+1)*O:], p.Readout[k*(N+1)*O:(k+1)*(N+1)*O])
			}
		}
	}
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
	return st
}

// matrices returns matrix mb of instance k.
func (st *refPlastic[T]) matrices(p *Program[T], k, mb int) (drive, readout []T) {
	rows, N, O := p.DriveRows(), p.Units, p.Outputs
	at := k*st.M + mb
	return st.drive[at*rows*N : (at+1)*rows*N], st.readin[at*(N+1)*O : (at+1)*(N+1)*O]
}

// vectors returns the presynaptic and postsynaptic vectors of rule r of
// connection c for instance k, trial b, from r (the rates of step t).
func (st *refPlastic[T]) vectors(p *Program[T], c *refConn[T], r *Rule[T], rates []T, k, b int) (pre, post []T) {
	B, N, I, O := p.Trials, p.Units, p.Inputs, p.Outputs
	kb := k*B + b
	rt := rates[kb*N : (kb+1)*N]
	ut := st.u[kb*I : (kb+1)*I]
	switch c.l {
	case LayerRecurrent:
		pre, post = rt, rt
	case LayerInput:
		pre, post = ut, rt
	default:
		pre, post = rt, st.y[kb*O:(kb+1)*O]
	}
	if r.PreInput {
		pre = ut
	}
	return pre, post
}

// traces pushes step t's values into every running average of instance k.
func (st *refPlastic[T]) traces(p *Program[T], rates []T, k, t int) {
	for _, c := range st.conns {
		if c == nil {
			continue
		}
		for ri := range c.c.Rules {
			r, rr := &c.c.Rules[ri], &c.rules[ri]
			for b := 0; b < p.Trials; b++ {
				pre, post := st.vectors(p, c, r, rates, k, b)
				kb := k*p.Trials + b
				switch r.Kind {
				case BCM:
					sq := make([]T, len(post))
					for i, x := range post {
						sq[i] = T(x * x)
					}
					rr.postAvg.Push(kb, t, sq)
				case Covariance:
					rr.preAvg.Push(kb, t, pre)
					rr.postAvg.Push(kb, t, post)
				}
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
	var first *NonFiniteError
	for mb := 0; mb < st.M; mb++ {
		// The trials whose terms this matrix sums.
		b0, b1 := 0, B
		if st.M > 1 {
			b0, b1 = mb, mb+1
		}
		drive, readout := st.matrices(p, k, mb)
		for _, c := range st.conns {
			if c == nil {
				continue
			}
			W, ld := LayerView(p.Shape, c.l, drive, readout)
			a, bb := c.pre, c.post
			preOK, postOK := make([]bool, a), make([]bool, bb)
			for ri := range c.c.Rules {
				r, rr, sp := &c.c.Rules[ri], &c.rules[ri], &c.steps[ri]
				st.pl.Gates(c.l, r, t, preOK, postOK)
				// Per-trial factors: θ (BCM) and the means (covariance).
				theta := make([][]T, B)
				pbar, qbar := make([][]T, B), make([][]T, B)
				for b := b0; b < b1; b++ {
					kb := k*B + b
					switch r.Kind {
					case BCM:
						theta[b] = make([]T, bb)
						rr.postAvg.Mean(kb, t, theta[b])
					case Covariance:
						pbar[b], qbar[b] = make([]T, a), make([]T, bb)
						rr.preAvg.Mean(kb, t, pbar[b])
						rr.postAvg.Mean(kb, t, qbar[b])
					}
				}
				lr := r.Rate[k]
				for j := 0; j < a; j++ {
					if !preOK[j] {
						continue
					}
					sign := c.c.SignOf(k, a, j)
					negate := r.NegateFor(sign)
					for i := 0; i < bb; i++ {
						if !postOK[i] {
							continue
						}
						s := T(1)
						if c.c.Scale != nil {
							s = c.c.Scale[(k*a+j)*bb+i]
						}
						w := W[j*ld+i]
						if s == 0 || c.c.FreezeZero && w == 0 {
							continue
						}
						var h T // +0
						for b := b0; b < b1; b++ {
							pre, post := st.vectors(p, c, r, rates, k, b)
							var term T
							switch r.Kind {
							case Hebbian:
								term = T(T(r.PreWeight*pre[j]) * T(r.PostWeight*post[i]))
							case BCM:
								th := theta[b][i]
								phi := T(post[i] * (post[i] - th))
								if r.DivideByTheta {
									if th > 0 {
										phi = phi / th
									} else {
										phi = 0
									}
								}
								term = T(pre[j] * phi)
							case Oja:
								term = T(post[i] * (pre[j] - T(post[i]*w)))
							case Covariance:
								term = T((pre[j] - pbar[b][j]) * (post[i] - qbar[b][i]))
							}
							h = h + term
						}
						var m, v *T
						if rr.m != nil {
							at := ((k*st.M+mb)*a+j)*bb + i
							m, v = &rr.m[at], &rr.v[at]
						}
						W[j*ld+i] = c.c.Project(sp.Apply(h, w, s, lr, negate, m, v), sign)
					}
				}
			}
			// Growth.
			if c.c.Growth != nil {
				trial := 0
				if st.pl.PerTrial {
					trial = p.FirstTrial + mb
				}
				for j := 0; j < a; j++ {
					sign := c.c.SignOf(k, a, j)
					for i := 0; i < bb; i++ {
						at := (k*a+j)*bb + i
						prob := c.c.Growth[at]
						if prob > 0 && W[j*ld+i] == 0 && Grows(key, gk, trial, t, p.GrowthIndex(c.l, j, i), prob) {
							W[j*ld+i] = c.c.Project(c.c.GrowWeight[at], sign)
						}
					}
				}
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
