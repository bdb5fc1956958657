package backend

import "math"

// The per-synapse tail of an update, the projection, the gates and the
// snapshots are shared by the reference and every Go backend, as Activate
// is: one spelling of the contract's arithmetic.

// Step is a rule's constants for one update step, in T: (1−β1), (1−β2) and
// the bias corrections c1 = 1 − β1^n, c2 = 1 − β2^n after n scheduled
// updates, the powers taken by repeated rounded multiplication.
type Step[T Float] struct {
	Rule                   *Rule[T]
	OneMinusB1, OneMinusB2 T
	P1, P2                 T // β1^n, β2^n
	C1, C2                 T
}

// NewSteps returns the Adam counters of c's rules before the first update.
func NewSteps[T Float](c *Connection[T]) []Step[T] {
	s := make([]Step[T], len(c.Rules))
	for i := range c.Rules {
		r := &c.Rules[i]
		s[i] = Step[T]{Rule: r, OneMinusB1: 1 - r.Beta1, OneMinusB2: 1 - r.Beta2, P1: 1, P2: 1}
	}
	return s
}

// Advance moves the counters to the next update step.
func (s *Step[T]) Advance() {
	s.P1 = T(s.P1 * s.Rule.Beta1)
	s.P2 = T(s.P2 * s.Rule.Beta2)
	s.C1, s.C2 = 1-s.P1, 1-s.P2
}

// Sqrt is the correctly rounded square root in T (a float32 square root
// computed in float64 and rounded once is correctly rounded).
func Sqrt[T Float](x T) T { return T(math.Sqrt(float64(x))) }

// Apply is the tail of the update of one synapse: h is the summed term, w
// the weight, scale the synapse's learning-rate scale, lr the instance's
// Rate, negate the combined sign factor, m and v the synapse's Adam state
// (unused by SGD). It returns the new weight before projection.
func (s *Step[T]) Apply(h, w, scale, lr T, negate bool, m, v *T) T {
	r := s.Rule
	d := h
	if r.SoftBound != 0 {
		aw := w
		if aw < 0 {
			aw = -aw
		}
		d = T(d * T(r.SoftBound-aw))
	}
	if r.L1 != 0 {
		var sg T
		if w > 0 {
			sg = 1
		} else if w < 0 {
			sg = -1
		}
		d = d - T(r.L1*sg)
	}
	if r.L2 != 0 {
		d = d - T(r.L2*w)
	}
	if negate {
		d = -d
	}
	g := T(scale * d)
	if r.Optimizer == SGD {
		return w + T(lr*g)
	}
	mm := T(r.Beta1**m) + T(s.OneMinusB1*g)
	vv := T(r.Beta2**v) + T(s.OneMinusB2*T(g*g))
	*m, *v = mm, vv
	step := (mm / s.C1) / (Sqrt(vv/s.C2) + r.Epsilon)
	return w + T(lr*step)
}

// Negate is the sign factor of rule r on a synapse with presynaptic sign.
func (r *Rule[T]) NegateFor(sign int8) bool { return r.Negate != (r.FlipInhibitory && sign < 0) }

// Project applies Dale's law (sign of the presynaptic unit) and the bounds of
// c to a weight that was just written.
func (c *Connection[T]) Project(w T, sign int8) T {
	if sign > 0 && w < 0 || sign < 0 && w > 0 {
		w = 0
	}
	if c.Bounded {
		if w < c.Min {
			w = c.Min
		}
		if w > c.Max {
			w = c.Max
		}
	}
	return w
}

// SignOf returns the presynaptic sign of unit j of instance k.
func (c *Connection[T]) SignOf(k, pre, j int) int8 {
	if c.Sign == nil {
		return 0
	}
	return c.Sign[k*pre+j]
}

// Gates fills pre and post with whether rule r may change synapses of
// presynaptic unit j and postsynaptic unit i of connection l at step t:
// the rule's population block and the schedule's learning populations.
func (pl *Plasticity[T]) Gates(l Layer, r *Rule[T], t int, pre, post []bool) {
	learn := pl.Schedule.Learning(t)
	in := func(mask uint64, pop int) bool { return mask == 0 || mask&(1<<uint(pop)) != 0 }
	for j := range pre {
		ok := true
		if l != LayerInput {
			ok = in(r.PrePops, pl.Population(j))
			if l == LayerReadout {
				ok = ok && learn&(1<<uint(pl.Population(j))) != 0
			}
		}
		pre[j] = ok
	}
	for i := range post {
		ok := true
		if l != LayerReadout {
			ok = in(r.PostPops, pl.Population(i)) && learn&(1<<uint(pl.Population(i))) != 0
		}
		post[i] = ok
	}
}

// Grows reports whether the absent synapse at growth index idx of (global)
// instance k and trial' trial grows at step t with probability prob.
func Grows[T Float](key [2]uint32, k, trial, t, idx int, prob T) bool {
	w := Philox4x32(Counter(k, trial, t, idx, PurposeGrowth), key)
	var z T
	if _, ok := any(z).(float32); ok {
		return T(Uniform32(w[0])) < prob
	}
	return T(Uniform64(w[0], w[1])) < prob
}

// LayerView locates connection l of one weight matrix: drive is one
// instance's (or trial's) Drive matrix, readout its Readout matrix. It
// returns the slice whose element (j, i) is at j·ld + i.
func LayerView[T Float](s Shape, l Layer, drive, readout []T) (w []T, ld int) {
	N := s.Units
	switch l {
	case LayerRecurrent:
		return drive[:N*N], N
	case LayerInput:
		return drive[N*N : (N+s.Inputs)*N], N
	}
	return readout[:N*s.Outputs], s.Outputs
}

// Snapshot writes one weight snapshot of one matrix (drive and readout as
// in LayerView) into dst, which has WeightWidth() values.
func Snapshot[T Float](p *Program[T], drive, readout, dst []T) {
	pl := p.Plasticity
	switch pl.Record.What {
	case SnapSynapses:
		for n, sy := range pl.Record.Synapses {
			w, ld := LayerView(p.Shape, sy.Layer, drive, readout)
			dst[n] = w[sy.Pre*ld+sy.Post]
		}
		return
	case SnapBlockMeans:
		P := pl.NumPopulations()
		at := 0
		for l, c := range pl.Connections() {
			if c == nil {
				continue
			}
			L := Layer(l)
			w, ld := LayerView(p.Shape, L, drive, readout)
			a, b := p.layerDims(L)
			pp, qp := P, P
			prePop := func(j int) int { return pl.Population(j) }
			postPop := func(i int) int { return pl.Population(i) }
			if L == LayerInput {
				pp, prePop = 1, func(int) int { return 0 }
			}
			if L == LayerReadout {
				qp, postPop = 1, func(int) int { return 0 }
			}
			for x := 0; x < pp; x++ {
				for y := 0; y < qp; y++ {
					var sum T
					n := 0
					for j := 0; j < a; j++ {
						if prePop(j) != x {
							continue
						}
						for i := 0; i < b; i++ {
							if postPop(i) == y {
								sum = sum + w[j*ld+i]
								n++
							}
						}
					}
					if n > 0 {
						sum = sum / T(n)
					}
					dst[at] = sum
					at++
				}
			}
		}
		return
	}
	at := 0
	for l, c := range pl.Connections() {
		if c == nil {
			continue
		}
		w, _ := LayerView(p.Shape, Layer(l), drive, readout)
		at += copy(dst[at:], w)
	}
}

// FirstNonFiniteWeight scans the plastic connections of one matrix in the
// contract's order (connection, pre, post) and returns the first non-finite
// weight as an error at (instance k, trial, step t), or nil.
func FirstNonFiniteWeight[T Float](p *Program[T], drive, readout []T, k, trial, t int) *NonFiniteError {
	for l, c := range p.Plasticity.Connections() {
		if c == nil {
			continue
		}
		L := Layer(l)
		w, ld := LayerView(p.Shape, L, drive, readout)
		a, b := p.layerDims(L)
		for j := 0; j < a; j++ {
			for i := 0; i < b; i++ {
				if x := w[j*ld+i]; !IsFinite(x) {
					return &NonFiniteError{Instance: k, Trial: trial, Step: t, Unit: i, Pre: j,
						Quantity: L.String() + " weight", Value: float64(x)}
				}
			}
		}
	}
	return nil
}

// LayerDims returns the (pre, post) sizes of connection l.
func (s Shape) LayerDims(l Layer) (int, int) { return s.layerDims(l) }

// AverageState keeps a running average (see Average) for K × B × dim
// values.
type AverageState[T Float] struct {
	A    Average[T]
	Dim  int
	Val  []T // exponential: the current averages
	Ring []T // window: the last Window values per (instance, trial, unit)
}

// NewAverageState allocates the state of a for K·B vectors of dim values.
func NewAverageState[T Float](a Average[T], kb, dim int) *AverageState[T] {
	s := &AverageState[T]{A: a, Dim: dim}
	if a.Window > 0 {
		s.Ring = make([]T, kb*dim*a.Window)
	} else {
		s.Val = make([]T, kb*dim)
		for i := range s.Val {
			s.Val[i] = a.Init
		}
	}
	return s
}

// Push adds step t's values x (dim of them) of vector kb (instance·B + trial).
func (s *AverageState[T]) Push(kb, t int, x []T) {
	if W := s.A.Window; W > 0 {
		slot := (t - 1) % W
		base := kb * s.Dim * W
		for i, xi := range x {
			s.Ring[base+i*W+slot] = xi
		}
		return
	}
	c := s.A.Coef
	a := s.Val[kb*s.Dim : (kb+1)*s.Dim]
	for i, xi := range x {
		a[i] = a[i] + T(c*(xi-a[i]))
	}
}

// Mean writes the averages of vector kb at step t into dst.
func (s *AverageState[T]) Mean(kb, t int, dst []T) {
	W := s.A.Window
	if W == 0 {
		copy(dst, s.Val[kb*s.Dim:(kb+1)*s.Dim])
		return
	}
	n := min(t, W)
	base := kb * s.Dim * W
	for i := range dst {
		ring := s.Ring[base+i*W : base+(i+1)*W]
		var acc T
		for u := t - n + 1; u <= t; u++ {
			acc = acc + ring[(u-1)%W]
		}
		dst[i] = acc / T(n)
	}
}
