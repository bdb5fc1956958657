package backend

import (
	"fmt"
	"slices"

	"github.com/ratesim/ratesim/backend/dmath"
)

// L5Rule selects the learning rule of the V1 layer-5 model
// (Jieran-S/L5Neuron_RateModel, integration_methods.py), as
// sim/circuit/doc.go ("Plasticity") specifies it.
type L5Rule uint8

const (
	// L5None: G = 0; the weights are still integrated (RK4's ClipAtZero
	// applies).
	L5None L5Rule = iota
	// L5BCM: θ_i = var_i + mean_i·mean_i over the window; G_ij =
	// ((r_i·(r_i − θ_i))·I_j)/θ_i, no column flip.
	L5BCM
	// L5SlidingBCM: θ_i = (1/τ_θ)·simps(e_t·A_ti², dx = dt) (scipy ≤ 1.10
	// even='avg'), G as L5BCM, then the inhibitory columns negated.
	L5SlidingBCM
	// L5Oja is L5's "Oja" (not Oja's rule): v_j = (r_j + I_j) − (W·r)_j
	// with the weights being integrated, G_ij = r_i·v_j, inhibitory columns
	// negated.
	L5Oja
	// L5Covariance: δ_i = r_i − mean_i, G_ij = δ_i·δ_j, inhibitory columns
	// negated.
	L5Covariance
	numL5Rules
)

var l5RuleNames = [...]string{"none", "l5_bcm", "l5_sliding_bcm", "l5_oja", "l5_covariance"}

func (r L5Rule) String() string {
	if r < numL5Rules {
		return l5RuleNames[r]
	}
	return fmt.Sprintf("L5Rule(%d)", uint8(r))
}

// flips reports whether the rule negates the inhibitory columns of G (L5
// does so for every rule but its plain BCM).
func (r L5Rule) flips() bool { return r == L5SlidingBCM || r == L5Oja || r == L5Covariance }

// L5Integrator integrates the weights.
type L5Integrator uint8

const (
	L5Euler L5Integrator = iota // W' = W + dt·(η·G)
	L5RK4                       // classical RK4 on W with F(W) = η·G(W)
	numL5Integrators
)

// L5Plasticity is the layer-5 model's plasticity of the recurrent weights
// (Drive rows 0…N−1), a learning regime of its own: a program with it has
// no other plastic connection (Plasticity.Recurrent, Input and Readout
// nil), I = N (input j is the stimulus of unit j), per-trial weights or a
// single trial, no Schedule.Phases and Every ≤ 1 (L5 learns every step from
// Schedule.Warmup on), and records no weight snapshots (read the weights
// with Weights).
//
// Orientation: G_ij is (post i, pre j) and lives at Drive[j][i].
//
// At step t (1-based; L5's k = t−1), for each trial after its dynamics, the
// window A of the trial's last m = min(Window, t+1) rate vectors r_{t+1−m}
// … r_t (r_0 included; Window 0: the whole history) has r_t pushed, every
// step. Then, when t > Schedule.Warmup and the phase Phases[(t−1) mod
// len(Phases)] is not Rest, with r = r_t and I = u_t, every operation
// rounded to T, no fused multiply-add:
//
//	mean_i = (Σ_s↑ A_si)/m from +0;  var_i = (Σ_s↑ (A_si − mean_i)·(A_si − mean_i))/m from +0
//	BCM θ_i = var_i + mean_i·mean_i
//	sliding θ_i = ThetaRate·S_i (sim/circuit/doc.go: e_s = exp((s−m+1)·Dt·ThetaRate),
//	          y_s = e_s·(A_si·A_si), Simpson with even='avg', sums from +0)
//	G (see L5Rule), then columns j with Inhibitory[j] negated (rules that flip),
//	then G_ij = +0 where !Pre[j], !Post[i], !phase.Post[i], or (Structural) W0_ij = ±0
//	F(W)_ij = Eta·G_ij
//	Euler: W'_ij = W_ij + Dt·F_ij
//	RK4:   k1 = F(W), k2 = F(W + (0.5·k1)·Dt), k3 = F(W + (0.5·k2)·Dt), k4 = F(W + k3·Dt)
//	       W' = W + Dt·((((s6·k1 + s3·k2) + s3·k3) + s6·k4)),  s6 = fl(1/6), s3 = fl(1/3)
//	ClipAtZero: W' = max(W', 0) (NaN passes)
//	Sign: W' = +0 where Sign[j] > 0 and W' < 0, or Sign[j] < 0 and W' > 0
//
// Only L5Oja's G depends on W (v_j = T(T(r_j + I_j) − Σ_l↑ T(W_jl·r_l))
// from +0, W the stage's weights); for the other rules k1 = … = k4.
// Structural synapses (W0_ij exactly ±0, W0 the program's Drive) are never
// written. L5 itself is dense (Structural false), signs free (Sign nil),
// and clips after RK4 only.
type L5Plasticity[T Float] struct {
	Rule       L5Rule
	Integrator L5Integrator
	// Window is L, the number of rate vectors in the window (0: all).
	Window int
	// Dt is the weight integration step, Eta = fl(1/τ_l) the learning
	// rate (separate so that Dt·(Eta·G) rounds as L5), ThetaRate =
	// fl(1/τ_θ) (sliding BCM).
	Dt, Eta, ThetaRate T
	ClipAtZero         bool
	// Inhibitory marks the presynaptic columns that flipping rules negate
	// (length N; nil: none). L5: j ≥ n_E.
	Inhibitory []bool
	// Pre and Post are the neuron masks: G_ij is zeroed unless Pre[j] and
	// Post[i] (length N each; nil: all true).
	Pre, Post []bool
	// Phases cycle by step: step t uses Phases[(t−1) mod len] (L5's
	// absolute index k mod len). Empty: every step learns every row.
	Phases []L5Phase
	// Structural leaves W0's absent synapses (exactly ±0) unchanged.
	Structural bool
	// Sign keeps presynaptic signs (length N; > 0 excitatory, < 0
	// inhibitory, 0 free; nil: all free).
	Sign []int8
	// PerInstance, when set (one per instance), gives each instance its
	// own Window, Eta and ThetaRate in place of the fields above: the
	// points of a fit or sweep over τ_learn and τ_θ run as the instances
	// of one program. Everything else is shared.
	PerInstance []L5Rates[T]
	// LowRank, when set, runs the sliding BCM rule in low-rank form (see
	// L5LowRank): W0 plus per-trial factors instead of a dense W, and the
	// threshold as a recurrence. Backends that run it say so
	// (L5LowRankCapable).
	LowRank *L5LowRank[T]
}

// L5Rates are the per-instance values of L5Plasticity.PerInstance.
type L5Rates[T Float] struct {
	Window         int
	Eta, ThetaRate T
}

// ForInstance returns the plasticity of instance k: l's values without
// PerInstance, else with instance k's Window, Eta and ThetaRate. Backends
// update instance k's weights with it.
func (l *L5Plasticity[T]) ForInstance(k int) L5Plasticity[T] {
	c := *l
	if l.PerInstance != nil {
		c.PerInstance = nil
		c.Window, c.Eta, c.ThetaRate = l.PerInstance[k].Window, l.PerInstance[k].Eta, l.PerInstance[k].ThetaRate
	}
	return c
}

// L5Phase is one entry of L5Plasticity.Phases.
type L5Phase struct {
	// Rest skips the update (the weights keep their bits).
	Rest bool
	// Post lists the rows that learn (length N; nil: all): L5's CS phase
	// keeps only CS rows, CC only CC rows.
	Post []bool
}

func (l *L5Plasticity[T]) validate(p *Program[T]) error {
	pl := p.Plasticity
	N := p.Units
	switch {
	case l.Rule >= numL5Rules || l.Integrator >= numL5Integrators:
		return fmt.Errorf("plasticity L5: unknown rule %v or integrator %d", l.Rule, l.Integrator)
	case pl.Recurrent != nil || pl.Input != nil || pl.Readout != nil:
		return fmt.Errorf("plasticity L5: the L5 rules are the program's only plasticity (Recurrent, Input and Readout must be nil)")
	case p.Inputs != N:
		return fmt.Errorf("plasticity L5: needs as many inputs as units (%d inputs, %d units)", p.Inputs, N)
	case !pl.PerTrial && p.Trials != 1:
		return fmt.Errorf("plasticity L5: needs per-trial weights or one trial (%d trials share their weights)", p.Trials)
	case len(pl.Schedule.Phases) != 0 || pl.Schedule.Every > 1:
		return fmt.Errorf("plasticity L5: learns every step after the warm-up: use L5Plasticity.Phases, not Schedule.Phases or Every")
	case pl.Record.Stride != 0:
		return fmt.Errorf("plasticity L5: weight snapshots are not recorded (Record.Stride must be 0; read the weights with Weights)")
	case l.Window < 0:
		return fmt.Errorf("plasticity L5: window %d must be ≥ 0", l.Window)
	case !IsFinite(l.Dt) || !IsFinite(l.Eta) || !IsFinite(l.ThetaRate):
		return fmt.Errorf("plasticity L5: Dt, Eta and ThetaRate must be finite")
	case l.PerInstance != nil && len(l.PerInstance) != p.Instances:
		return fmt.Errorf("plasticity L5: PerInstance has %d values, want one per instance (%d)", len(l.PerInstance), p.Instances)
	}
	for k, r := range l.PerInstance {
		if r.Window < 0 || !IsFinite(r.Eta) || !IsFinite(r.ThetaRate) {
			return fmt.Errorf("plasticity L5: PerInstance[%d]: window %d must be ≥ 0, Eta %v and ThetaRate %v finite", k, r.Window, r.Eta, r.ThetaRate)
		}
	}
	for _, m := range []struct {
		name string
		n    int
	}{{"Inhibitory", len(l.Inhibitory)}, {"Pre", len(l.Pre)}, {"Post", len(l.Post)}, {"Sign", len(l.Sign)}} {
		if m.n != 0 && m.n != N {
			return fmt.Errorf("plasticity L5: %s has %d values, want %d", m.name, m.n, N)
		}
	}
	for i, ph := range l.Phases {
		if ph.Post != nil && len(ph.Post) != N {
			return fmt.Errorf("plasticity L5: phase %d has %d rows, want %d", i, len(ph.Post), N)
		}
	}
	if l.LowRank != nil {
		return l.LowRank.validate(l, p)
	}
	return nil
}

// L5Window is one trial's window of the last Window rate vectors (all of
// them for Window 0), oldest first.
type L5Window[T Float] struct {
	L    int // capacity, 0: unbounded
	N    int
	buf  []T // the vectors held, oldest at head once the ring is full
	n    int // vectors held
	head int // ring slot of the oldest vector
	rows [][]T
}

// NewL5Window returns a window holding r0. Its buffer grows with the
// vectors pushed up to L of them (a window longer than the run, L5's
// τ_θ ≥ 1 gives L ≥ 230 000, never holds more than the run's steps + 1).
func NewL5Window[T Float](L int, r0 []T) *L5Window[T] {
	w := &L5Window[T]{L: L, N: len(r0)}
	w.Push(r0)
	return w
}

// Push appends r, dropping the oldest vector of a full window.
func (w *L5Window[T]) Push(r []T) {
	if w.L == 0 || w.n < w.L {
		w.buf = append(w.buf, r...)
		w.n++
		return
	}
	copy(w.buf[w.head*w.N:(w.head+1)*w.N], r)
	w.head = (w.head + 1) % w.L
}

// Len is the number of vectors held.
func (w *L5Window[T]) Len() int { return w.n }

// At returns the s-th vector held, oldest first (s < Len; valid until the
// next Push).
func (w *L5Window[T]) At(s int) []T {
	slot := s
	if w.L > 0 {
		slot = (w.head + s) % w.L
	}
	return w.buf[slot*w.N : (slot+1)*w.N]
}

// Rows returns the held vectors, oldest first (valid until the next Push).
func (w *L5Window[T]) Rows() [][]T {
	w.rows = w.rows[:0]
	for s := 0; s < w.n; s++ {
		slot := s
		if w.L > 0 {
			slot = (w.head + s) % w.L
		}
		w.rows = append(w.rows, w.buf[slot*w.N:(slot+1)*w.N])
	}
	return w.rows
}

// L5InitialRates returns r_0 of trial kb of p, the window's first vector,
// as the program's step defines it: Init itself in the rate form, f(Init)
// in the v-form (per unit with UnitActivations); zero Init when nil.
func L5InitialRates[T Float](p *Program[T], kb int) []T {
	N := p.Units
	v := make([]T, N)
	if p.Init != nil {
		copy(v, p.Init[kb*N:(kb+1)*N])
	}
	if p.Form == RateForm {
		return v
	}
	f := FuncsFor[T]()
	r := make([]T, N)
	if p.UnitActivations != nil {
		ActivateRanges(p.UnitActivations, v, r, f)
		return r
	}
	for i, x := range v {
		r[i] = Activate(p.Activation, x, f)
	}
	return r
}

// L5Scratch holds one update's intermediate arrays (N × N and N).
type L5Scratch[T Float] struct {
	g, k1, k2, k3, k4, stage []T
	theta, mean, v           []T
	acc0, acc1               []T
	// ages are the sliding threshold's weights by age (ageWeights), for
	// ageDt and ageRate.
	ages           []T
	ageDt, ageRate T
	// Square and Panel, when set (package cpu sets vector kernels), run
	// the sliding threshold's two element loops on a prefix of their
	// elements and return its length; the rest runs in Go:
	//	Square: y[l] = e·(a[l]·a[l])
	//	Panel:  acc[l] = acc[l] + ((y0[l] + four·y1[l]) + y2[l])
	// with every operation rounded in that order (no fused multiply-add).
	Square func(e T, a, y []T) int
	Panel  func(four T, acc, y0, y1, y2 []T) int
	// Strips, when set (package cpu sets vector kernels), runs the sliding
	// threshold's whole window on units i < done, a multiple of its lanes:
	// acc0[i] and acc1[i] = the two Simpson sums of l5Sliding (acc1 for
	// even m only) over the window's m = len(rows) ≥ 2 rows, rows[q] =
	// &win[q][0], with e the weights by age — each sum the Go code's, from
	// +0 in the order of the rows, with y_q and the panels held in
	// registers. rows is followed in its array by L5StripsAhead copies of
	// rows[m−1] (rows[:m+L5StripsAhead] is valid), for kernels that read
	// the pointers of rows ahead to prefetch them.
	Strips  func(rows []*T, e, acc0, acc1 []T) (done int)
	rowPtrs []*T
	// EulerRow, when set (package cpu sets vector kernels), runs the
	// one-pass Euler step (eulerOuter) on row j of W for its columns
	// 0 … start−1 and returns start: w and w0 are row j of W and W0, a,
	// theta the per-unit factors, live 1 or 0 per unit, bj the row's
	// factor, flags 1 divide by theta (BCM), 2 negate, 4 clip, 8 sign > 0,
	// 16 sign < 0, 32 structural (write only where w0 ≠ ±0), 64 the
	// column is masked, 128 also acc[i] = acc[i] + T(rj·w[i]) with w[i]
	// as written (see NextSums); start is a multiple of its lanes and
	// stops before the first vector with a non-finite new weight. The Go
	// loop writes the rest.
	EulerRow func(w, a, theta, live, w0, acc []T, bj, eta, dt, rj T, flags int) int
	// NextSums, when not nil (length n), asks the one-pass Euler step to
	// sum, as it writes each row of W, the recurrent part of the next
	// step's product W·r with r = NextRates (the newest rates, which that
	// product multiplies): NextSums[i] = +0, then NextSums[i] +
	// T(NextRates[j]·W_ij) for j ascending, skipping NextRates[j] = ±0 —
	// package cpu's gemm contract, so that the next step need not read W
	// again. SummedNext reports that the last Update did (only the one-pass
	// Euler step does, and not when it wrote a non-finite weight).
	NextSums, NextRates []T
	SummedNext          bool
	liveT               []T
	block               *slidingBlock[T] // l5Sliding's
	// wroteNonFinite says that an Update since the last WroteNonFinite
	// wrote a non-finite weight.
	wroteNonFinite bool
	live           []bool
	// support lists W0's nonzero synapses per row (supportStart, n+1
	// offsets) for the structural update, built once per W0 (supportW0);
	// allCols is 0 … n−1 for the dense one.
	support, supportStart, allCols []int32
	supportW0                      *T
	y                              [][]T
}

// l5GenericEuler makes Update take the general path (G stored, then the
// write) for every rule, so that tests can hold eulerOuter to it.
var l5GenericEuler = false

// eulerOuter is Update's Euler step for the rules whose G is an outer
// product of per-unit factors (BCM, sliding BCM, covariance): the same
// operations on every synapse in the same order as F followed by the
// Euler write — G, the column flip, the masks, Eta·G, W + Dt·(…), the
// write's structural skip, clip and sign — in one pass over W with the
// per-unit factors computed once, instead of G and k1 stored whole.
func (l *L5Plasticity[T]) eulerOuter(s *L5Scratch[T], W []T, ld int, W0 []T, r, in []T, rows []bool) {
	n := len(in)
	a, live := s.v, s.live
	sums := s.NextSums
	if sums != nil {
		sums = sums[:n]
		clear(sums)
	}
	bcm := l.Rule != L5Covariance
	for i := range n {
		if bcm {
			a[i] = T(r[i] * (r[i] - s.theta[i]))
		} else {
			a[i] = r[i] - s.mean[i]
		}
		live[i] = (l.Post == nil || l.Post[i]) && (rows == nil || rows[i])
	}
	if l.Structural {
		s.supportOf(W0, ld, n)
	} else if len(s.allCols) < n {
		s.allCols = make([]int32, n)
		for i := range s.allCols {
			s.allCols[i] = int32(i)
		}
	}
	flips := l.Rule.flips() && l.Inhibitory != nil
	eta, dt, theta := l.Eta, l.Dt, s.theta[:n]
	a, live = a[:n], live[:n]
	var liveT []T
	stepFlags := 0 // EulerRow's flags that hold for every row
	if s.EulerRow != nil {
		for _, f := range []struct {
			on  bool
			bit int
		}{{bcm, 1}, {l.ClipAtZero, 4}, {l.Structural, 32}} {
			if f.on {
				stepFlags |= f.bit
			}
		}
		if len(s.liveT) < n {
			s.liveT = make([]T, n)
		}
		liveT = s.liveT[:n]
		for i, ok := range live {
			liveT[i] = 0
			if ok {
				liveT[i] = 1
			}
		}
	}
	for j := range n {
		flip := flips && l.Inhibitory[j]
		pre := l.Pre == nil || l.Pre[j]
		sign := int8(0)
		if l.Sign != nil {
			sign = l.Sign[j]
		}
		wj := W[j*ld : j*ld+n]
		bj := in[j]
		if !bcm {
			bj = a[j]
		}
		// The synapses written: W0's support in row j when structural
		// (the others are never written, as write skips them), else all.
		var cols []int32
		start := 0 // the kernel's columns
		if l.Structural {
			cols = s.support[s.supportStart[j]:s.supportStart[j+1]]
		} else {
			cols = s.allCols[:n]
		}
		if s.EulerRow != nil {
			// The kernel writes the columns before start; the rest (its
			// tail, or from a non-finite weight on) are written below.
			flags := stepFlags
			if flip {
				flags |= 2
			}
			if sign > 0 {
				flags |= 8
			} else if sign < 0 {
				flags |= 16
			}
			if !pre {
				flags |= 64
			}
			w0 := wj
			if l.Structural {
				w0 = W0[j*ld : j*ld+n]
			}
			var rj T
			if sums != nil {
				if rj = s.NextRates[j]; rj != 0 {
					flags |= 128
				}
			}
			start = s.EulerRow(wj, a, theta, liveT, w0, sums, bj, eta, dt, rj, flags)
			// cols ascend: skip the written ones by a search (a linear skip
			// was a quarter of a dense sliding-BCM run).
			k, _ := slices.BinarySearch(cols, int32(start))
			cols = cols[k:]
		}
		for _, c := range cols {
			i := int(c)
			var g T
			if bcm {
				g = T(a[i]*bj) / theta[i]
			} else {
				g = T(a[i] * bj)
			}
			if flip {
				g = -g
			}
			if !pre || !live[i] {
				g = 0
			}
			v := wj[i] + T(dt*T(eta*g))
			if l.ClipAtZero && !(v >= 0) && v == v {
				v = 0
			}
			if sign > 0 && v < 0 || sign < 0 && v > 0 {
				v = 0
			}
			if v-v != 0 { // ±Inf or NaN
				s.wroteNonFinite = true
			}
			wj[i] = v
		}
		if sums != nil {
			if rj := s.NextRates[j]; rj != 0 {
				for i := start; i < n; i++ {
					sums[i] = sums[i] + T(rj*wj[i])
				}
			}
		}
	}
	s.SummedNext = sums != nil && !s.wroteNonFinite
}

// supportOf makes s.support the nonzero synapses of W0 (n × n, row
// stride ld), row by row in ascending order, once per W0: a run's W0 is
// its program's Drive, which does not change.
func (s *L5Scratch[T]) supportOf(W0 []T, ld, n int) {
	if s.supportW0 == &W0[0] && len(s.supportStart) == n+1 {
		return
	}
	s.supportW0 = &W0[0]
	s.support, s.supportStart = s.support[:0], append(s.supportStart[:0], 0)
	for j := range n {
		for i, w := range W0[j*ld : j*ld+n] {
			if w != 0 {
				s.support = append(s.support, int32(i))
			}
		}
		s.supportStart = append(s.supportStart, int32(len(s.support)))
	}
}

// NewL5Scratch returns scratch for n units.
func NewL5Scratch[T Float](n int) *L5Scratch[T] {
	nn := n * n
	return &L5Scratch[T]{g: make([]T, nn), k1: make([]T, nn), k2: make([]T, nn), k3: make([]T, nn), k4: make([]T, nn),
		stage: make([]T, nn), theta: make([]T, n), mean: make([]T, n), v: make([]T, n), acc0: make([]T, n), acc1: make([]T, n), live: make([]bool, n)}
}

// WroteNonFinite reports whether an Update since the last call wrote a
// non-finite weight, and clears it. Only written weights change, so a
// matrix that was finite before an Update is finite after it when this
// reports false: backends look for the first non-finite weight
// (L5FirstNonFinite) only when it reports true.
func (s *L5Scratch[T]) WroteNonFinite() bool {
	w := s.wroteNonFinite
	s.wroteNonFinite = false
	return w
}

// Learns reports whether step t (1-based) updates the weights.
func (l *L5Plasticity[T]) Learns(s *Schedule, t int) bool {
	if !s.Updates(t) {
		return false
	}
	return len(l.Phases) == 0 || !l.Phases[(t-1)%len(l.Phases)].Rest
}

// Update applies step t's update (see L5Plasticity) to one trial's
// recurrent weights W (W[j*ld+i] is W_ij, pre j, post i), with W0 the
// program's recurrent weights of the instance (same layout), win the
// trial's window (r_t last) and in its input u_t. The caller checks Learns
// first.
func (l *L5Plasticity[T]) Update(s *L5Scratch[T], W []T, ld int, W0 []T, win [][]T, in []T, t int) {
	n := len(in)
	s.SummedNext = false
	r := win[len(win)-1]
	switch l.Rule {
	case L5BCM:
		l5Means(win, s.mean)
		for i := range n {
			var v T // +0
			for _, a := range win {
				d := a[i] - s.mean[i]
				v = v + T(d*d)
			}
			s.theta[i] = T(v/T(len(win))) + T(s.mean[i]*s.mean[i])
		}
	case L5SlidingBCM:
		l5Sliding(win, l.Dt, l.ThetaRate, s)
	case L5Covariance:
		l5Means(win, s.mean)
	}
	var rows []bool
	if len(l.Phases) > 0 {
		rows = l.Phases[(t-1)%len(l.Phases)].Post
	}
	if l.Integrator == L5Euler && (l.Rule == L5BCM || l.Rule == L5SlidingBCM || l.Rule == L5Covariance) && !l5GenericEuler {
		l.eulerOuter(s, W, ld, W0, r, in, rows)
		return
	}
	// F writes Eta·G(x) into out.
	F := func(x, out []T) {
		g := out
		switch l.Rule {
		case L5None:
			clear(g)
		case L5BCM, L5SlidingBCM:
			for i := range n {
				a := T(r[i] * (r[i] - s.theta[i]))
				for j := range n {
					g[j*n+i] = T(a*in[j]) / s.theta[i]
				}
			}
		case L5Oja:
			for j := range n {
				var u T // +0
				for q := range n {
					u = u + T(x[q*ld+j]*r[q])
				}
				s.v[j] = T(r[j]+in[j]) - u
			}
			for j := range n {
				for i := range n {
					g[j*n+i] = T(r[i] * s.v[j])
				}
			}
		case L5Covariance:
			for i := range n {
				s.v[i] = r[i] - s.mean[i]
			}
			for j := range n {
				for i := range n {
					g[j*n+i] = T(s.v[i] * s.v[j])
				}
			}
		}
		for j := range n {
			flip := l.Rule.flips() && l.Inhibitory != nil && l.Inhibitory[j]
			pre := l.Pre == nil || l.Pre[j]
			for i := range n {
				e := j*n + i
				if flip {
					g[e] = -g[e]
				}
				if !pre || l.Post != nil && !l.Post[i] || rows != nil && !rows[i] || l.Structural && W0[j*ld+i] == 0 {
					g[e] = 0
				}
				g[e] = T(l.Eta * g[e])
			}
		}
	}
	dt := l.Dt
	k1 := s.k1
	F(W, k1)
	write := func(j, i int, v T) {
		if l.Structural && W0[j*ld+i] == 0 {
			return
		}
		if l.ClipAtZero && !(v >= 0) && v == v {
			v = 0
		}
		if l.Sign != nil && (l.Sign[j] > 0 && v < 0 || l.Sign[j] < 0 && v > 0) {
			v = 0
		}
		if v-v != 0 { // ±Inf or NaN
			s.wroteNonFinite = true
		}
		W[j*ld+i] = v
	}
	if l.Integrator == L5Euler {
		for j := range n {
			for i := range n {
				write(j, i, W[j*ld+i]+T(dt*k1[j*n+i]))
			}
		}
		return
	}
	k2, k3, k4 := k1, k1, k1
	if l.Rule == L5Oja {
		stage := func(k []T, half bool, out []T) {
			x := s.stage
			for j := range n {
				for i := range n {
					e := j*n + i
					if half {
						x[j*ld+i] = W[j*ld+i] + T(T(0.5*k[e])*dt)
					} else {
						x[j*ld+i] = W[j*ld+i] + T(k[e]*dt)
					}
				}
			}
			F(x, out)
		}
		k2, k3, k4 = s.k2, s.k3, s.k4
		stage(k1, true, k2)
		stage(k2, true, k3)
		stage(k3, false, k4)
	}
	s6, s3 := T(1.0/6.0), T(1.0/3.0)
	for j := range n {
		for i := range n {
			e := j*n + i
			sum := T(T(T(s6*k1[e])+T(s3*k2[e]))+T(s3*k3[e])) + T(s6*k4[e])
			write(j, i, W[j*ld+i]+T(dt*sum))
		}
	}
}

// l5Means writes each unit's window mean, summed oldest first from +0.
func l5Means[T Float](win [][]T, mean []T) {
	clear(mean)
	for _, a := range win {
		for i, x := range a {
			mean[i] = mean[i] + x
		}
	}
	for i := range mean {
		mean[i] = mean[i] / T(len(win))
	}
}

// l5Sliding writes the sliding threshold into s.theta (sim/circuit/doc.go,
// Slide_BCM): y_q = e_q·(A_q·A_q) with e_q = exp((q−m+1)·Dt·ThetaRate),
// then Simpson's rule with scipy ≤ 1.10's even='avg' over q. The weights
// and the grouping depend on m, so the whole window is reweighted every
// step: O(m·n), the sliding rule's cost.
//
// It runs in one pass over the window, a block of units at a time: y_q is
// computed for the block as row q is read and added to the sums of the
// Simpson panels it closes, each unit's panel sums still running over q
// ascending from +0 — the bits of storing every y_q and summing after
// (l5SlidingTwoPass in the tests), at a third of the memory traffic (the
// window is larger than the caches at L5's sizes). The e_q are cached by
// age m−1−q: they depend on nothing else.
func l5Sliding[T Float](win [][]T, dt, rate T, s *L5Scratch[T]) {
	n, m := len(win[0]), len(win)
	e := s.ageWeights(m, dt, rate)
	if s.block == nil {
		s.block = new(slidingBlock[T])
	}
	done := 0
	if s.Strips != nil && m >= 2 {
		ptrs := s.rowPtrs[:0]
		for _, row := range win {
			ptrs = append(ptrs, &row[0])
		}
		for range L5StripsAhead { // readable past the window (see Strips)
			ptrs = append(ptrs, ptrs[m-1])
		}
		s.rowPtrs = ptrs
		done = s.Strips(ptrs[:m], e, s.acc0[:n], s.acc1[:n])
		y := func(q, i int) T { return T(e[m-1-q] * T(win[q][i]*win[q][i])) }
		for i := range done {
			th := slidingTheta(m, dt, rate, s.acc0[i], s.acc1[i], y(0, i), y(1, i), y(m-2, i), y(m-1, i))
			if th != th {
				done = 0 // redone in Go (see below)
				break
			}
			s.theta[i] = th
		}
	}
	for i0 := done; i0 < n; i0 += slideBlock {
		w := min(slideBlock, n-i0)
		if s.Square != nil && s.Panel != nil && s.block.run(win, e, dt, rate, i0, w, s.Square, s.Panel, s.theta) {
			continue
		}
		// In Go: without kernels, or when the kernels' block has a NaN
		// threshold (a NaN's payload may depend on the order of an
		// operation's operands, which only the Go code fixes).
		s.block.run(win, e, dt, rate, i0, w, noKernel[T], noPanel[T], s.theta)
	}
}

// L5StripsAhead is how many row pointers past the window L5Scratch.Strips
// may read (package cpu's kernels prefetch that far ahead).
const L5StripsAhead = 32

// slideBlock is l5Sliding's block of units.
const slideBlock = 256

func noKernel[T Float](T, []T, []T) int          { return 0 }
func noPanel[T Float](T, []T, []T, []T, []T) int { return 0 }

// slidingBlock is one block's state in l5Sliding: the two Simpson sums, y
// of the first two rows, and a ring of y of the last three.
type slidingBlock[T Float] struct {
	acc0, acc1, first0, first1 [slideBlock]T
	ring                       [3][slideBlock]T // row q in ring[q%3]
}

// run computes the threshold of units i0 … i0+w−1 into theta, the element
// loops' prefixes by square and panel (see L5Scratch.Square) and their
// rests in Go, and reports whether every threshold of the block is a
// number.
func (sb *slidingBlock[T]) run(win [][]T, e []T, dt, rate T, i0, w int, square func(T, []T, []T) int, panel func(T, []T, []T, []T, []T) int, theta []T) bool {
	m := len(win)
	even := m%2 == 0
	// The panels (q, q+1, q+2) of acc0 start at even q < stop0, those of
	// acc1 (even m only) at odd q < m−2.
	stop0 := m - 2
	if even {
		stop0 = m - 3
	}
	acc0, acc1 := sb.acc0[:w], sb.acc1[:w]
	clear(acc0)
	clear(acc1)
	for q := range m {
		eq := e[m-1-q]
		yq, row := sb.ring[q%3][:w], win[q][i0:i0+w]
		for l := square(eq, row, yq); l < w; l++ {
			yq[l] = T(eq * T(row[l]*row[l]))
		}
		switch q {
		case 0:
			copy(sb.first0[:w], yq)
		case 1:
			copy(sb.first1[:w], yq)
		}
		st := q - 2 // the panel row q closes
		var acc []T
		switch {
		case st < 0:
			continue
		case st%2 == 0 && st < stop0:
			acc = acc0
		case st%2 == 1 && even && st < m-2:
			acc = acc1
		default:
			continue
		}
		y0, y1 := sb.ring[st%3][:w], sb.ring[(st+1)%3][:w]
		for l := panel(4, acc, y0, y1, yq); l < w; l++ {
			acc[l] = acc[l] + (T(y0[l]+T(4*y1[l])) + yq[l])
		}
	}
	th := theta[i0 : i0+w]
	if !even {
		for l := range th {
			th[l] = slidingTheta(m, dt, rate, acc0[l], 0, 0, 0, 0, 0)
		}
	} else {
		last, prev := sb.ring[(m-1)%3][:w], sb.ring[(m-2)%3][:w]
		for l := range th {
			th[l] = slidingTheta(m, dt, rate, acc0[l], acc1[l], sb.first0[l], sb.first1[l], prev[l], last[l])
		}
	}
	for _, x := range th {
		if x != x {
			return false
		}
	}
	return true
}

// slidingTheta is one unit's sliding threshold from its Simpson sums acc0
// and acc1 (even m only) and the y of its window's rows 0, 1, m−2 and m−1
// (even m only): scipy ≤ 1.10's simps with even='avg', times the rate.
func slidingTheta[T Float](m int, dt, rate, acc0, acc1, y0, y1, yPrev, yLast T) T {
	third := T(dt / 3)
	if m%2 == 1 {
		return T(rate * T(acc0*third))
	}
	half := T(0.5 * dt)
	b0, b1 := T(acc0*third), T(acc1*third)
	val := T(half * (yLast + yPrev))
	val = val + T(half*(y1+y0))
	res := (b0 + b1) / 2
	return T(rate * (res + val/2))
}

// ageWeights returns e[d] = exp(−d·Dt·ThetaRate) for the ages d < m as
// l5Sliding's e_q (q = m−1−d) rounds it, T(T(T(q−m+1)·dt)·rate), cached
// for the last (dt, rate) and grown as the window grows.
func (s *L5Scratch[T]) ageWeights(m int, dt, rate T) []T {
	if dt != s.ageDt || rate != s.ageRate { // finite (Validate)
		s.ages, s.ageDt, s.ageRate = s.ages[:0], dt, rate
	}
	for d := len(s.ages); d < m; d++ {
		s.ages = append(s.ages, l5Exp(T(T(T(-d)*dt)*rate)))
	}
	return s.ages
}

// l5Exp is dmath.Exp in T (dmath.Exp32 for float32).
func l5Exp[T Float](x T) T {
	if v, ok := any(x).(float32); ok {
		return T(dmath.Exp32(v))
	}
	return T(dmath.Exp(float64(x)))
}

// L5FirstNonFinite returns the first non-finite recurrent weight of one
// L5 matrix (pre-major) as an error at (instance k, trial, step t), or nil.
func L5FirstNonFinite[T Float](W []T, ld, n, k, trial, t int) *NonFiniteError {
	for j := range n {
		for i := range n {
			if x := W[j*ld+i]; !IsFinite(x) {
				return &NonFiniteError{Instance: k, Trial: trial, Step: t, Unit: i, Pre: j,
					Quantity: LayerRecurrent.String() + " weight", Value: float64(x)}
			}
		}
	}
	return nil
}

// L5PlasticityCapable is implemented by backends that run the L5 rules
// (Plasticity.L5). One that does not, or says no, refuses such programs at
// Start with ErrNoL5Plasticity; front ends ask first (SupportsL5Plasticity)
// to choose a backend that can.
type L5PlasticityCapable interface{ SupportsL5Plasticity() bool }

// SupportsL5Plasticity reports whether b declares that it runs the L5
// rules.
func SupportsL5Plasticity(b Backend) bool {
	c, ok := b.(L5PlasticityCapable)
	return ok && c.SupportsL5Plasticity()
}

// ErrNoL5Plasticity is the error of a backend that runs plastic programs
// but not the L5 rules (Plasticity.L5).
func ErrNoL5Plasticity(backend string) error {
	return fmt.Errorf("the L5 plasticity rules are not supported by backend %s", backend)
}
