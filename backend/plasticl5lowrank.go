package backend

import "fmt"

// L5LowRank is the low-rank form of the sliding BCM rule
// (L5Plasticity.LowRank): the same model as L5's dense update, in another
// order of operations, for an input that is a sum of F products of a
// spatial and a temporal factor,
//
//	I_j(t) = Σ_f c_f(t)·S_fj,
//
// as a counterphase grating is (L5's I = S ⊗ cos(ω·k), F = 1; steady
// populations add a second factor). Then G_ij = (a_i·I_j)/θ_i is a sum of
// F outer products, and the weights are never materialized:
//
//	W_t = W0 + Σ_f P_f ⊗ S'_f
//
// with P_f a vector per trial (from +0) and S'_f the program's S_f with
// the rule's column flip and Pre mask applied (S'_fj = −S_fj where
// Inhibitory[j], +0 where !Pre[j]). A step costs O(F·N) beside the static
// product, against O(N²) (and a division per synapse) for the dense update,
// and the threshold is a recurrence (below) instead of a reweighting of the
// whole window: O(N) a step against O(L·N). The numbers differ from the
// dense update's by rounding only: ~1e-13 relative over L5's 2 500 steps
// (sim/circuit's TestL5LowRankMatchesOriginal checks the original's
// fixtures to 1e-12).
//
// Every operation is rounded to T, no fused multiply-add; sums run from +0
// in the order written.
//
// Product. The step's drive product (the gemm contract's, over W0) is
// followed, for f ascending, by x_i = x_i + T(P_fi·σ_f), σ_f = Σ_j↑
// T(S'_fj·q_j) from +0, q the rates the product multiplies (RK4's stage
// rates included).
//
// Threshold. E(d) = exp(T(T(d·Dt)·ThetaRate)) for an integer d (dmath.Exp,
// dmath.Exp32 in float32). Sample s is r_s (r_0 the initial rates). Each
// trial keeps two sums A_0, A_1 (by the parity of s, from +0) and an
// origin o (0). When sample s is pushed (every step, s = t):
//  1. if s − o ≥ L5LowRankRebase: A_b = T(A_b·E(−(s−o))) for b = 0, 1,
//     then o = s;
//  2. if the window was full (Window > 0 holding Window samples), its
//     oldest sample x, number d = s − Window, leaves it:
//     A_{d mod 2} = A_{d mod 2} − T(E(d−o)·T(x·x));
//  3. A_{s mod 2} = A_{s mod 2} + T(E(s−o)·T(r_s·r_s)).
//
// (r_0 enters as step 3 with s = o = 0.) With the window's m samples, the
// newest s, let y_a = T(E(−a)·T(x_a·x_a)) for the sample x_a of age a
// (s − a), sc = E(−(s−o)), Se = T(A_{s mod 2}·sc) (the even ages), So =
// T(A_{1 − s mod 2}·sc) (the odd ones). The two Simpson sums are
//
//	m odd:  acc0 = T(T(T(4·So) + T(2·Se)) − y_0) − y_{m−1}
//	m even: acc0 = T(T(T(4·T(Se − y_0)) + T(2·So)) − y_1) − y_{m−1}
//	        acc1 = T(T(T(4·T(So − y_{m−1})) + T(2·Se)) − y_0) − y_{m−2}
//
// and θ_i is the dense rule's from them (slidingTheta: scipy ≤ 1.10's
// even='avg' combination, times ThetaRate).
//
// Update (a learning step t, after the push): a_i = T(r_i·T(r_i − θ_i));
// for f ascending, g = T(T(a_i·c_f(t))/θ_i), +0 where !Post[i] or
// !phase.Post[i], and P_fi = P_fi + T(Dt·T(Eta·g)).
//
// Weights reads W_ij = W0_ij, then W_ij + T(P_fi·S'_fj) for f ascending
// (L5LowRankWeights). A non-finite P_fi is a NonFiniteError of the
// quantity "low-rank weight factor" (Unit i, Pre −1).
//
// The form needs the sliding BCM rule, Euler, dense updates (Structural
// false), free signs (Sign nil), no ClipAtZero and a window of 0 or ≥ 2
// samples, without synaptic delays.
type L5LowRank[T Float] struct {
	// Factors is F ≥ 1.
	Factors int
	// Spatial holds S_f for every instance and trial:
	// Spatial[((k·B + b)·F + f)·N + j].
	Spatial []T
	// Temporal holds c_f(t) for the steps t = 1 … len/F a run may reach:
	// Temporal[(t−1)·F + f].
	Temporal []T
}

// L5LowRankRebase is how many samples the low-rank threshold's origin
// lags before it moves (L5LowRank, step 1): E(s − o) stays in [1, 1.3] at
// L5's rates, and a sum is rescaled once per 64 samples, not once per
// sample (a rounding per rescale: after 642 samples, ten instead of 642).
const L5LowRankRebase = 64

func (lr *L5LowRank[T]) validate(l *L5Plasticity[T], p *Program[T]) error {
	N, F := p.Units, lr.Factors
	switch {
	case l.Rule != L5SlidingBCM || l.Integrator != L5Euler:
		return fmt.Errorf("plasticity L5 low rank: needs the sliding BCM rule with Euler (have %v, integrator %d)", l.Rule, l.Integrator)
	case l.Structural || l.Sign != nil || l.ClipAtZero:
		return fmt.Errorf("plasticity L5 low rank: needs dense updates with free signs and no clipping (Structural, Sign and ClipAtZero unset)")
	case p.Delays != nil:
		return fmt.Errorf("plasticity L5 low rank: runs without synaptic delays")
	case F < 1:
		return fmt.Errorf("plasticity L5 low rank: %d factors, want ≥ 1", F)
	case len(lr.Spatial) != p.Instances*p.Trials*F*N:
		return fmt.Errorf("plasticity L5 low rank: %d spatial values, want %d (instances × trials × factors × units)", len(lr.Spatial), p.Instances*p.Trials*F*N)
	case len(lr.Temporal) == 0 || len(lr.Temporal)%F != 0:
		return fmt.Errorf("plasticity L5 low rank: %d temporal values, want a positive multiple of %d factors", len(lr.Temporal), F)
	}
	windows := []int{l.Window}
	for _, r := range l.PerInstance {
		windows = append(windows, r.Window)
	}
	for _, w := range windows {
		if w == 1 {
			return fmt.Errorf("plasticity L5 low rank: a window of 1 sample has no Simpson sum (want 0 or ≥ 2)")
		}
	}
	for e, x := range lr.Spatial {
		if !IsFinite(x) {
			return fmt.Errorf("plasticity L5 low rank: spatial factor %d (trial %d, unit %d) is %v", e/N%F, e/(N*F), e%N, x)
		}
	}
	for e, x := range lr.Temporal {
		if !IsFinite(x) {
			return fmt.Errorf("plasticity L5 low rank: temporal factor %d of step %d is %v", e%F, e/F+1, x)
		}
	}
	return nil
}

// Steps is the number of steps the temporal factors cover.
func (lr *L5LowRank[T]) Steps() int { return len(lr.Temporal) / lr.Factors }

// CheckL5LowRankSteps returns an error when an Advance from done by n
// steps would reach past p's low-rank temporal factors (nil without them).
func CheckL5LowRankSteps[T Float](p *Program[T], done, n int) error {
	if p.Plasticity == nil || p.Plasticity.L5 == nil || p.Plasticity.L5.LowRank == nil {
		return nil
	}
	if s := p.Plasticity.L5.LowRank.Steps(); done+n > s {
		return fmt.Errorf("plasticity L5 low rank: the temporal factors cover %d steps, Advance(%d) from step %d asks for %d", s, n, done, done+n)
	}
	return nil
}

// IsL5LowRank reports whether p runs the L5 rule in low-rank form.
func IsL5LowRank[T Float](p *Program[T]) bool {
	return p.Plasticity != nil && p.Plasticity.L5 != nil && p.Plasticity.L5.LowRank != nil
}

// L5LowRankState is one trial's low-rank state (L5LowRank): its window,
// the threshold's sums, the factors P and the flipped, masked S'.
type L5LowRankState[T Float] struct {
	win     *L5Window[T]
	f, n    int
	s       []T    // S', F × N
	P       []T    // F × N
	acc     [2][]T // A_0, A_1
	origin  int
	next    int // the number of the next sample pushed
	dt, tr  T   // Dt and ThetaRate (the instance's)
	theta   []T
	a       []T
	ages    []T // E(−a) by age a
	expMemo map[int]T
}

// NewL5LowRankState returns trial kb's state (instance kb / Trials) of a
// low-rank program, its window holding r_0.
func NewL5LowRankState[T Float](p *Program[T], kb int) *L5LowRankState[T] {
	l := p.Plasticity.L5.ForInstance(kb / p.Trials)
	lr := l.LowRank
	N, F := p.Units, lr.Factors
	st := &L5LowRankState[T]{f: F, n: N, s: make([]T, F*N), P: make([]T, F*N), dt: l.Dt, tr: l.ThetaRate,
		theta: make([]T, N), a: make([]T, N), expMemo: map[int]T{}}
	st.acc[0], st.acc[1] = make([]T, N), make([]T, N)
	st.s = L5LowRankPresynaptic(p, kb)
	r0 := L5InitialRates(p, kb)
	st.win = &L5Window[T]{L: l.Window, N: N}
	st.Push(r0)
	return st
}

// L5LowRankPresynaptic returns S' of trial kb (instance kb / Trials) of a
// low-rank program, F × N: S_f with the rule's column flip and Pre mask.
func L5LowRankPresynaptic[T Float](p *Program[T], kb int) []T {
	l := p.Plasticity.L5
	N, F := p.Units, l.LowRank.Factors
	s := append([]T(nil), l.LowRank.Spatial[kb*F*N:(kb+1)*F*N]...)
	for f := range F {
		for j := range N {
			e := f*N + j
			if l.Rule.flips() && l.Inhibitory != nil && l.Inhibitory[j] {
				s[e] = -s[e]
			}
			if l.Pre != nil && !l.Pre[j] {
				s[e] = 0
			}
		}
	}
	return s
}

// L5LowRankRun is implemented by the runs of backends that run the
// low-rank form, for a reader that needs the weights often (a circuit's
// block means after every chunk): the factors are O(F·N) a trial, the
// weights O(N²).
type L5LowRankRun[T Float] interface {
	// L5LowRankFactors copies every trial's current P into P, laid out
	// [((k·B + b)·F + f)·N + i] (K·B·F·N values); the weights are
	// W0 + Σ_f P_f ⊗ S'_f with S'_f from L5LowRankPresynaptic.
	L5LowRankFactors(P []T) error
}

// L5LowRankFactors copies the states' P into P (L5LowRankRun's layout).
func L5LowRankFactors[T Float](states []*L5LowRankState[T], P []T) {
	for kb, st := range states {
		copy(P[kb*len(st.P):(kb+1)*len(st.P)], st.P)
	}
}

// e is E(d) (L5LowRank), memoized: the origin's lag takes few values.
func (st *L5LowRankState[T]) e(d int) T {
	if v, ok := st.expMemo[d]; ok {
		return v
	}
	v := L5LowRankWeight(d, st.dt, st.tr)
	st.expMemo[d] = v
	return v
}

// L5LowRankWeight is E(d) = exp(T(T(d·Dt)·ThetaRate)) (L5LowRank), the
// bits a backend that computes the form's scalars elsewhere must use.
func L5LowRankWeight[T Float](d int, dt, rate T) T { return l5Exp(T(T(T(d)*dt) * rate)) }

// Push adds sample r (the next, r_0 first) to the window and the
// threshold's sums (L5LowRank, steps 1–3).
func (st *L5LowRankState[T]) Push(r []T) {
	s, w := st.next, st.win
	if s-st.origin >= L5LowRankRebase {
		g := st.e(-(s - st.origin))
		for b := range st.acc {
			for i, x := range st.acc[b] {
				st.acc[b][i] = T(x * g)
			}
		}
		st.origin = s
	}
	if w.L > 0 && w.n == w.L {
		d := s - w.L
		ed, acc := st.e(d-st.origin), st.acc[d%2]
		for i, x := range w.At(0) {
			acc[i] = acc[i] - T(ed*T(x*x))
		}
	}
	es, acc := st.e(s-st.origin), st.acc[s%2]
	for i, x := range r {
		acc[i] = acc[i] + T(es*T(x*x))
	}
	w.Push(r)
	st.next++
}

// threshold writes θ of the window's samples into st.theta.
func (st *L5LowRankState[T]) threshold() {
	w := st.win
	m, s := w.Len(), st.next-1
	for d := len(st.ages); d < m; d++ {
		st.ages = append(st.ages, L5LowRankWeight(-d, st.dt, st.tr))
	}
	sc := st.e(-(s - st.origin))
	even, odd := st.acc[s%2], st.acc[1-s%2]
	// The samples of ages 0, 1, m−2 and m−1.
	x0, xo := w.At(m-1), w.At(0)
	var x1, xo2 []T
	if m%2 == 0 {
		x1, xo2 = w.At(m-2), w.At(1)
	}
	e0, e1, eo2, eo := st.ages[0], st.ages[1%m], st.ages[max(m-2, 0)], st.ages[m-1]
	for i := range st.n {
		se, so := T(even[i]*sc), T(odd[i]*sc)
		y0, yo := T(e0*T(x0[i]*x0[i])), T(eo*T(xo[i]*xo[i]))
		if m%2 == 1 {
			acc0 := T(T(T(4*so)+T(2*se))-y0) - yo
			st.theta[i] = slidingTheta(m, st.dt, st.tr, acc0, 0, 0, 0, 0, 0)
			continue
		}
		y1, yo2 := T(e1*T(x1[i]*x1[i])), T(eo2*T(xo2[i]*xo2[i]))
		acc0 := T(T(T(4*T(se-y0))+T(2*so))-y1) - yo
		acc1 := T(T(T(4*T(so-yo))+T(2*se))-y0) - yo2
		st.theta[i] = slidingTheta(m, st.dt, st.tr, acc0, acc1, yo, yo2, y1, y0)
	}
}

// Update applies learning step t to P (L5LowRank, Update) with l the
// instance's plasticity; it returns the first unit whose factor became
// non-finite (the lowest unit, then factor) and that factor, or −1.
func (st *L5LowRankState[T]) Update(l *L5Plasticity[T], t int) (unit int, value T) {
	st.threshold()
	r := st.win.At(st.win.Len() - 1)
	var phase []bool
	if len(l.Phases) > 0 {
		phase = l.Phases[(t-1)%len(l.Phases)].Post
	}
	c := l.LowRank.Temporal[(t-1)*st.f : t*st.f]
	unit = -1
	for i := range st.n {
		th := st.theta[i]
		a := T(r[i] * T(r[i]-th))
		live := (l.Post == nil || l.Post[i]) && (phase == nil || phase[i])
		for f, cf := range c {
			g := T(T(a*cf) / th)
			if !live {
				g = 0
			}
			v := st.P[f*st.n+i] + T(l.Dt*T(l.Eta*g))
			st.P[f*st.n+i] = v
			if !IsFinite(v) && unit < 0 {
				unit, value = i, v
			}
		}
	}
	return unit, value
}

// AddProduct adds the low-rank part of the product to x, the drive of the
// rates q (L5LowRank, Product).
func (st *L5LowRankState[T]) AddProduct(q, x []T) {
	for f := range st.f {
		var sigma T // +0
		for j, s := range st.s[f*st.n : (f+1)*st.n] {
			sigma = sigma + T(s*q[j])
		}
		for i, p := range st.P[f*st.n : (f+1)*st.n] {
			x[i] = x[i] + T(p*sigma)
		}
	}
}

// addLowRank adds Σ_f P_f ⊗ S_f to one matrix's recurrent block (W_ij at
// W[j·ld + i], holding W0), f ascending (L5LowRank, Weights).
func addLowRank[T Float](W []T, ld int, P, S []T, F, N int) {
	for f := range F {
		Pf := P[f*N : (f+1)*N]
		for j, s := range S[f*N : (f+1)*N] {
			row := W[j*ld : j*ld+N]
			for i, p := range Pf {
				row[i] = row[i] + T(p*s)
			}
		}
	}
}

// L5LowRankWeights writes the weights of a low-rank run (states per
// instance and trial) as WeightRun.Weights lays them out: per instance and
// trial, W0 plus the low-rank part, the input and bias rows the program's.
func L5LowRankWeights[T Float](p *Program[T], states []*L5LowRankState[T], drive, readout []T) {
	for kb, st := range states {
		writeLowRank(p, kb, st.P, st.s, drive, readout)
	}
}

// L5LowRankWeightsOf is L5LowRankWeights from the factors alone (P laid
// out as L5LowRankRun's), for a backend that keeps them elsewhere.
func L5LowRankWeightsOf[T Float](p *Program[T], P, drive, readout []T) {
	per := p.Plasticity.L5.LowRank.Factors * p.Units
	for kb := range p.Instances * p.Trials {
		writeLowRank(p, kb, P[kb*per:(kb+1)*per], L5LowRankPresynaptic(p, kb), drive, readout)
	}
}

func writeLowRank[T Float](p *Program[T], kb int, P, S, drive, readout []T) {
	rows, N, O := p.DriveRows(), p.Units, p.Outputs
	k := kb / p.Trials
	W := drive[kb*rows*N : (kb+1)*rows*N]
	copy(W, p.Drive[k*rows*N:(k+1)*rows*N])
	addLowRank(W, N, P, S, p.Plasticity.L5.LowRank.Factors, N)
	if O > 0 {
		copy(readout[kb*(N+1)*O:(kb+1)*(N+1)*O], p.Readout[k*(N+1)*O:(k+1)*(N+1)*O])
	}
}

// L5LowRankNonFinite is the error of a non-finite factor P_fi of trial b
// of instance k at step t.
func L5LowRankNonFinite(k, trial, t, unit int, v float64) *NonFiniteError {
	return &NonFiniteError{Instance: k, Trial: trial, Step: t, Unit: unit, Pre: -1, Quantity: "low-rank weight factor", Value: v}
}

// L5LowRankCapable is implemented by backends that run the L5 rule in
// low-rank form (L5Plasticity.LowRank); Start refuses such a program on
// any other backend with ErrNoL5LowRank.
type L5LowRankCapable interface{ SupportsL5LowRank() bool }

// SupportsL5LowRank reports whether b declares that it runs the low-rank
// form.
func SupportsL5LowRank(b Backend) bool {
	c, ok := b.(L5LowRankCapable)
	return ok && c.SupportsL5LowRank()
}

// ErrNoL5LowRank is the error of a backend that does not run the low-rank
// form.
func ErrNoL5LowRank(backend string) error {
	return fmt.Errorf("the low-rank form of the L5 rules is not supported by backend %s", backend)
}
