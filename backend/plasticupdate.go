package backend

import "math"

// Everything of a plastic update that is arithmetic — a rule's vectors,
// averages, factors and terms, the per-synapse tail (gates, scale, soft
// bound, priors, sign, optimizer, projection), growth — and the weight
// copies, snapshots and checks are shared by the reference and every Go
// backend, as UnitStep is: one spelling of the contract (the Plasticity doc
// comment). Only the loops around them differ (the CPU backend sums the
// trials' terms with one Gemm; the reference spells every sum out).

// PlasticWeights is a plastic run's own copy of the weights: M matrices per
// instance (Program.Matrices: one per trial with per-trial weights, else
// one), each a Drive and a Readout matrix, all starting as the Program's.
type PlasticWeights[T Float] struct {
	M              int
	Drive, Readout []T // K × M × rows × N, K × M × (N+1) × O
}

// NewPlasticWeights copies p's weights into M = p.Matrices() matrices per
// instance.
func NewPlasticWeights[T Float](p *Program[T]) *PlasticWeights[T] {
	K, N, O := p.Instances, p.Units, p.Outputs
	M, rows := p.Matrices(), p.DriveRows()
	w := &PlasticWeights[T]{M: M, Drive: make([]T, K*M*rows*N), Readout: make([]T, K*M*(N+1)*O)}
	for k := 0; k < K; k++ {
		for mb := 0; mb < M; mb++ {
			copy(w.Drive[(k*M+mb)*rows*N:], p.Drive[k*rows*N:(k+1)*rows*N])
			if O > 0 {
				copy(w.Readout[(k*M+mb)*(N+1)*O:], p.Readout[k*(N+1)*O:(k+1)*(N+1)*O])
			}
		}
	}
	return w
}

// Matrix returns matrix mb of instance k (program-local).
func (w *PlasticWeights[T]) Matrix(p *Program[T], k, mb int) (drive, readout []T) {
	rows, N, O := p.DriveRows(), p.Units, p.Outputs
	at := k*w.M + mb
	return w.Drive[at*rows*N : (at+1)*rows*N], w.Readout[at*(N+1)*O : (at+1)*(N+1)*O]
}

// CopyWeights copies a run's current weights into drive and readout, laid
// out as WeightRun.Weights says: w's, or p's own for a static run (w nil).
func CopyWeights[T Float](p *Program[T], w *PlasticWeights[T], drive, readout []T) {
	if w == nil {
		copy(drive, p.Drive)
		copy(readout, p.Readout)
		return
	}
	copy(drive, w.Drive)
	copy(readout, w.Readout)
}

// Vectors returns the presynaptic and postsynaptic vectors of rule r on
// connection l (see Connection) from one trial's rates, inputs and outputs
// at this step.
func (r *Rule[T]) Vectors(l Layer, rates, inputs, outputs []T) (pre, post []T) {
	switch l {
	case LayerRecurrent:
		pre, post = rates, rates
	case LayerInput:
		pre, post = inputs, rates
	default:
		pre, post = rates, outputs
	}
	if r.PreInput {
		pre = inputs
	}
	return pre, post
}

// Trace pushes step t's values into rule r's running averages of vector kb
// (step 1 of the Plasticity doc): BCM post², each T(x·x), into postAvg;
// covariance pre into preAvg and post into postAvg; other rules keep none.
// scratch holds at least len(post) values.
func (r *Rule[T]) Trace(preAvg, postAvg *AverageState[T], kb, t int, pre, post, scratch []T) {
	switch r.Kind {
	case BCM:
		sq := scratch[:len(post)]
		for i, x := range post {
			sq[i] = T(x * x)
		}
		postAvg.Push(kb, t, sq)
	case Covariance:
		preAvg.Push(kb, t, pre)
		postAvg.Push(kb, t, post)
	}
}

// Means writes the averages rule r's term needs for vector kb at step t:
// covariance p̄ into pbar and q̄ into qbar, BCM θ into qbar. It leaves the
// slices alone for rules without averages.
func (r *Rule[T]) Means(preAvg, postAvg *AverageState[T], kb, t int, pbar, qbar []T) {
	switch r.Kind {
	case BCM:
		postAvg.Mean(kb, t, qbar)
	case Covariance:
		preAvg.Mean(kb, t, pbar)
		postAvg.Mean(kb, t, qbar)
	}
}

// PreFactor and PostFactor split the term of a Hebbian, BCM or covariance
// rule into one trial's presynaptic and postsynaptic factors, term =
// T(PreFactor·PostFactor): Hebbian T(PreWeight·pre) and T(PostWeight·post);
// BCM pre and φ; covariance pre − p̄ and post − q̄. pbar is p̄ (covariance;
// ignored otherwise), stat θ (BCM) or q̄ (covariance; ignored otherwise).
// Oja's term is no such product (OjaTerm).
func (r *Rule[T]) PreFactor(pre, pbar T) T {
	switch r.Kind {
	case Hebbian:
		return T(r.PreWeight * pre)
	case Covariance:
		return pre - pbar
	}
	return pre
}

// PostFactor: see PreFactor. BCM's φ = T(post·(post − θ)), divided by θ
// with DivideByTheta (0 when θ ≤ 0).
func (r *Rule[T]) PostFactor(post, stat T) T {
	if r.Kind == Hebbian {
		return T(r.PostWeight * post)
	}
	if r.Kind == Covariance {
		return post - stat
	}
	phi := T(post * (post - stat)) // BCM
	if !r.DivideByTheta {
		return phi
	}
	if stat > 0 {
		return phi / stat
	}
	return 0
}

// OjaTerm is Oja's term T(post·(pre − T(post·w))) of a synapse with weight w.
func OjaTerm[T Float](pre, post, w T) T { return T(post * (pre - T(post*w))) }

// Term is one trial's term of rule r on a synapse with weight w, pre and
// post the synapse's presynaptic and postsynaptic values, pbar and stat as
// for PreFactor and PostFactor.
func (r *Rule[T]) Term(pre, post, w, pbar, stat T) T {
	if r.Kind == Oja {
		return OjaTerm(pre, post, w)
	}
	return T(r.PreFactor(pre, pbar) * r.PostFactor(post, stat))
}

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

// UpdateSynapses applies rule s.Rule to one weight matrix of instance k
// (program-local) of connection c, given every synapse's summed term: it
// visits the synapses (j pre, i post) pre-major, skips those the gates close
// (preOK[j], postOK[i], from Plasticity.Gates), those with Scale 0 and, with
// FreezeZero, those at exactly ±0, and sets each other
// W[j·ld+i] = c.Project(s.Apply(h[j·b+i], W[j·ld+i], Scale, Rate[k], …)).
// h and the rule's Adam state m and v (nil for SGD) are a × b, pre-major,
// with a = len(preOK) and b = len(postOK). It reports whether every weight
// it wrote is finite.
func (s *Step[T]) UpdateSynapses(c *Connection[T], k int, preOK, postOK []bool, h, W []T, ld int, m, v []T) (finite bool) {
	r := s.Rule
	lr := r.Rate[k]
	a, b := len(preOK), len(postOK)
	bad := false
	for j := 0; j < a; j++ {
		if !preOK[j] {
			continue
		}
		sign := c.SignOf(k, a, j)
		negate := r.NegateFor(sign)
		row := W[j*ld : j*ld+b]
		for i, w := range row {
			if !postOK[i] {
				continue
			}
			sc := T(1)
			if c.Scale != nil {
				sc = c.Scale[(k*a+j)*b+i]
			}
			if sc == 0 || c.FreezeZero && w == 0 {
				continue
			}
			var mp, vp *T
			if m != nil {
				mp, vp = &m[j*b+i], &v[j*b+i]
			}
			w = c.Project(s.Apply(h[j*b+i], w, sc, lr, negate, mp, vp), sign)
			row[i] = w
			bad = bad || !IsFinite(w)
		}
	}
	return !bad
}

// Grow runs connection c's growth (step 3 of the Plasticity doc) on matrix
// mb of instance k (program-local) of p, whose connection l is W with
// leading dimension ld, at update step t; key is SeedKey(p.Seed). It reports
// whether every weight it wrote is finite.
func (c *Connection[T]) Grow(p *Program[T], l Layer, key [2]uint32, k, mb, t int, W []T, ld int) (finite bool) {
	trial := 0
	if p.Plasticity.PerTrial {
		trial = p.FirstTrial + mb
	}
	gk := p.FirstInstance + k
	a, b := p.layerDims(l)
	bad := false
	for j := 0; j < a; j++ {
		sign := c.SignOf(k, a, j)
		for i := 0; i < b; i++ {
			at := (k*a+j)*b + i
			prob := c.Growth[at]
			if prob > 0 && W[j*ld+i] == 0 && Grows(key, gk, trial, t, p.GrowthIndex(l, j, i), prob) {
				w := c.Project(c.GrowWeight[at], sign)
				W[j*ld+i] = w
				bad = bad || !IsFinite(w)
			}
		}
	}
	return !bad
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
