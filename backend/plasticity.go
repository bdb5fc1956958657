package backend

import "fmt"

// Plasticity describes how a program's weights change while it runs
// (Program.Plasticity; nil means static weights). It has three orthogonal
// parts: which connections learn and by which rules (Recurrent, Input,
// Readout: rules, per-synapse scale, constraints, growth), when (Schedule,
// with Populations for phases and population blocks), and what is kept
// (PerTrial, Record).
//
// # The update, as the reference loop states it
//
// Step t runs as in Program for every trial of instance k. Then, still in
// step t and before instance k+1 (and only if none of instance k's states,
// rates or outputs at step t is non-finite):
//
//  1. Averages. Every rule that keeps running averages (BCM: post²;
//     covariance: pre and post) pushes this step's values, every step from
//     step 1 on (warm-up included, phases ignored), per (trial, unit); see
//     Average.
//  2. If t is an update step (Schedule.Updates), every rule's Adam counters
//     advance (once per step, for all instances), and for each weight
//     matrix of the instance (one, or one per trial), each plastic
//     connection in the order recurrent, input, readout applies its rules
//     in list order and then grows synapses. A rule visits the synapses
//     (j pre, i post) pre-major, skips those its gates close
//     (Plasticity.Gates), those with Scale 0 and, with FreezeZero, those at
//     exactly ±0, and sets W[j][i] = Project(Apply(h, …)) (Step.Apply,
//     Connection.Project) with h its summed term, below.
//  3. Growth visits the connection's synapses pre-major: one with
//     Growth[j][i] > 0 and W exactly ±0 draws u (Grows) and, when
//     u < Growth[j][i], becomes Project(GrowWeight[j][i]).
//  4. The first non-finite weight of the instance's plastic connections
//     (by matrix, connection, pre, post) stops the run with a
//     *NonFiniteError.
//  5. A weight snapshot (Record) is taken of the instance's matrices when
//     t % Record.Stride == 0.
//
// The summed term and the tail, every operation rounded to T, no fused
// multiply-add, in this order (pre and post are the trial's presynaptic and
// postsynaptic vectors at step t, see Connection; θ, p̄, q̄ its averages):
//
//	h = +0; for b over the matrix's trials, ascending: h = h + term_b
//	  Hebbian:    term = (PreWeight·pre_j)·(PostWeight·post_i)
//	  BCM:        φ = post_i·(post_i − θ_i); if DivideByTheta: φ = φ/θ_i (φ = 0 if θ_i ≤ 0)
//	              term = pre_j·φ
//	  Oja:        term = post_i·(pre_j − post_i·W[j][i])
//	  Covariance: term = (pre_j − p̄_j)·(post_i − q̄_i)
//	d = h
//	if SoftBound ≠ 0: d = d·(SoftBound − |W|)
//	if L1 ≠ 0:        d = d − L1·sign(W)          (sign(±0) = 0)
//	if L2 ≠ 0:        d = d − L2·W
//	if Negate ≠ (FlipInhibitory and Sign[j] < 0): d = −d
//	g = Scale[j][i]·d                              (1 when Scale is nil)
//	SGD:  W = W + Rate[k]·g
//	Adam: m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·(g·g)
//	      W = W + Rate[k]·((m/c1) / (sqrt(v/c2) + ε))
//	Project: if Sign[j] > 0 and W < 0, or Sign[j] < 0 and W > 0: W = +0
//	         if Bounded: if W < Min: W = Min; if W > Max: W = Max
//
// (1−β1) and (1−β2) are rounded once; c1 = 1 − p1 and c2 = 1 − p2, where p1
// and p2 start at 1 and are multiplied (rounded) by β1 and β2 at every update
// step. Shared weights (PerTrial false) sum the terms of all B trials;
// per-trial weights sum one (from +0, so a −0 term gives +0). Synapses not
// written keep their bits; written ones are always projected.
//
// Sparsity: a synapse with Scale 0 is never changed by a rule, so a
// masked-out synapse (0 in Drive/Readout and Scale 0) stays exactly 0 unless
// Growth lets it appear. FreezeZero makes every synapse at exactly ±0 immune
// to rules (ngc-learn's patched synapses); only growth revives it.
type Plasticity[T Float] struct {
	// Recurrent (Drive rows 0…N−1, N × N), Input (Drive rows N…N+I−1,
	// I × N) and Readout (Readout rows 0…N−1, N × O) say how each connection
	// learns; nil means it is static. Bias rows never learn.
	Recurrent, Input, Readout *Connection[T]
	// PerTrial keeps one weight matrix per trial (the sweep regime) instead
	// of one per instance shared by all its trials.
	PerTrial bool
	// Populations gives each unit its population, 0…63 (length N; nil: all
	// units in population 0). Rules select population blocks and phases
	// select learning populations by it.
	Populations []uint8
	Schedule    Schedule
	Record      WeightRecord
	// L5 is the V1 layer-5 model's plasticity of the recurrent weights
	// (nil: none), a regime of its own with its own update (see
	// L5Plasticity).
	L5 *L5Plasticity[T]
}

// Layer names a connection.
type Layer uint8

const (
	LayerRecurrent Layer = iota
	LayerInput
	LayerReadout
	numLayers
)

var layerNames = [...]string{"recurrent", "input", "readout"}

func (l Layer) String() string {
	if l < numLayers {
		return layerNames[l]
	}
	return fmt.Sprintf("Layer(%d)", uint8(l))
}

// Connection is how one connection learns and what constrains it. Every
// per-synapse array is K × pre × post (instance-major, pre-major), every
// per-presynaptic array K × pre.
//
// Pre and post vectors at step t: recurrent — pre r_t, post r_t; input —
// pre u_t, post r_t; readout — pre r_t, post y_t. A rule with PreInput uses
// u_t as its presynaptic vector instead (recurrent and readout connections,
// which then need I = N: input j is the stimulus of unit j, as in the L5
// model).
type Connection[T Float] struct {
	Rules []Rule[T]
	// Scale is the per-synapse learning-rate scale (nil: 1 everywhere);
	// 0 marks a synapse no rule changes (a masked-out or fixed synapse).
	Scale []T
	// Sign is Dale's law per presynaptic unit: > 0 excitatory (W ≥ 0),
	// < 0 inhibitory (W ≤ 0), 0 free; nil: all free.
	Sign []int8
	// Bounded clamps every written weight to [Min, Max]; Min may be 0 and
	// Max +Inf for non-negative weights.
	Bounded  bool
	Min, Max T
	// FreezeZero: rules leave synapses at exactly ±0 alone.
	FreezeZero bool
	// Growth is the probability per update step that a synapse at exactly
	// ±0 appears, with weight GrowWeight (both per synapse; nil: no growth).
	Growth, GrowWeight []T
}

// RuleKind selects the term of a rule.
type RuleKind uint8

const (
	Hebbian    RuleKind = iota // ngc-learn's two-factor Hebbian
	BCM                        // Bienenstock–Cooper–Munro with a sliding threshold
	Oja                        // Oja's normalized Hebbian rule
	Covariance                 // δ_post·δ_pre with δ = x − running mean
	numRuleKinds
)

var ruleNames = [...]string{"hebbian", "bcm", "oja", "covariance"}

func (r RuleKind) String() string {
	if r < numRuleKinds {
		return ruleNames[r]
	}
	return fmt.Sprintf("RuleKind(%d)", uint8(r))
}

// ParseRuleKind accepts the names printed by RuleKind.String.
func ParseRuleKind(s string) (RuleKind, error) {
	for i, n := range ruleNames {
		if n == s {
			return RuleKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown plasticity rule %q (want one of %v)", s, ruleNames)
}

// Optimizer turns a rule's g into a weight change.
type Optimizer uint8

const (
	SGD  Optimizer = iota // W += Rate·g
	Adam                  // per-synapse first and second moments, bias-corrected
	numOptimizers
)

func (o Optimizer) String() string {
	switch o {
	case SGD:
		return "sgd"
	case Adam:
		return "adam"
	}
	return fmt.Sprintf("Optimizer(%d)", uint8(o))
}

// Rule is one learning rule on a block of a connection. The front-end fills
// defaults (ngc-learn's PreWeight = PostWeight = 1, Adam's 0.9, 0.999, 1e−8):
// zero values here mean zero.
type Rule[T Float] struct {
	Kind RuleKind
	// Rate is dt·η per instance (K values), derived on the host.
	Rate []T
	// PrePops and PostPops select the population block (bit p set: units of
	// population p; 0: all). Inputs and outputs have no population: PrePops
	// must be 0 on the input connection, PostPops 0 on the readout.
	PrePops, PostPops uint64
	// PreInput makes u_t the presynaptic vector (the L5 variants of BCM and
	// Oja); recurrent and readout connections only, with I = N.
	PreInput bool
	// PreWeight and PostWeight are ngc-learn's pre_wght and post_wght
	// (Hebbian only).
	PreWeight, PostWeight T
	// DivideByTheta divides BCM's φ by θ (the L5 model's BCM).
	DivideByTheta bool
	// Average is how BCM's θ and the covariance rule's means are kept.
	Average Average[T]
	// SoftBound multiplies the summed term by (SoftBound − |W|) when ≠ 0
	// (ngc-learn's w_bound).
	SoftBound T
	// L1 and L2 are the prior: d −= L1·sign W + L2·W (ngc-learn: l1 → L1 = λ;
	// l2 → L2 = λ; elastic net with ratio ρ → L1 = λρ, L2 = λ(1−ρ)/2).
	L1, L2 T
	// Negate multiplies the change by −1 (ngc-learn's sign_value = +1 under
	// its W −= η·dW convention; its usual −1 is Negate false).
	Negate bool
	// FlipInhibitory multiplies the change by −1 on synapses whose
	// presynaptic Sign is < 0 (the L5 sliding BCM's flipped inhibitory
	// columns).
	FlipInhibitory bool
	Optimizer      Optimizer
	// Beta1, Beta2, Epsilon are Adam's constants.
	Beta1, Beta2, Epsilon T
}

// Average is a running average per (trial, unit), updated every step t with
// that step's value x_t. Window > 0: the mean of the last min(t, Window)
// values, summed oldest first from +0 and divided by the count. Window 0:
// the exponential average a_t = a_{t−1} + Coef·(x_t − a_{t−1}) from a_0 =
// Init, with Coef = dt/τ derived on the host.
type Average[T Float] struct {
	Window     int
	Coef, Init T
}

// Schedule says at which steps weights are updated and which populations
// learn then.
type Schedule struct {
	// Warmup steps come first without updates; after them every Every-th
	// step is an update step (Every 0 means 1): step t updates when
	// t > Warmup and (t − Warmup) % Every == 0.
	Warmup, Every int
	// Phases, in ascending Start order, say which populations learn from
	// step Start on (until the next phase's Start). Before the first phase
	// nothing learns; no phases: every population learns. A synapse learns
	// when the population of its postsynaptic unit (recurrent, input) or of
	// its presynaptic unit (readout) is in Learn.
	Phases []Phase
}

// Phase is one entry of a Schedule.
type Phase struct {
	Start int    // first step of the phase
	Learn uint64 // bit p set: population p learns
}

// Updates reports whether step t (1-based) is an update step.
func (s *Schedule) Updates(t int) bool {
	every := max(s.Every, 1)
	return t > s.Warmup && (t-s.Warmup)%every == 0
}

// Learning returns the populations that learn at step t, a bit per
// population: those of the last phase started by t, or all without phases.
func (s *Schedule) Learning(t int) uint64 {
	if len(s.Phases) == 0 {
		return ^uint64(0)
	}
	var m uint64
	for _, ph := range s.Phases {
		if ph.Start <= t {
			m = ph.Learn
		}
	}
	return m
}

// WeightRecord says which weights a run snapshots into Chunk.Weights.
type WeightRecord struct {
	// Stride snapshots after the update phase of step t when t % Stride ==
	// 0; 0 records nothing.
	Stride int
	What   WeightSnapshot
	// Synapses lists the synapses of SnapSynapses, in order.
	Synapses []Synapse
}

// WeightSnapshot selects what a weight snapshot holds.
type WeightSnapshot uint8

const (
	// SnapWhole: every plastic connection's matrix, pre × post, in the order
	// recurrent, input, readout.
	SnapWhole WeightSnapshot = iota
	// SnapSynapses: the weights of WeightRecord.Synapses.
	SnapSynapses
	// SnapBlockMeans: per plastic connection (same order), the mean weight
	// of each (pre population, post population) block, pre-major, over all
	// of the block's synapses (summed pre-major from +0, divided by the
	// count; an empty block is 0). Inputs and outputs count as one
	// population: recurrent P × P, input 1 × P, readout P × 1 values, P =
	// the number of populations.
	SnapBlockMeans
)

// Synapse names one weight.
type Synapse struct {
	Layer     Layer
	Pre, Post int
}

// dims returns (pre, post) of a connection.
func (s Shape) layerDims(l Layer) (int, int) {
	switch l {
	case LayerRecurrent:
		return s.Units, s.Units
	case LayerInput:
		return s.Inputs, s.Units
	}
	return s.Units, s.Outputs
}

// Connections returns the connections of pl in the contract's order, with
// nil for static ones.
func (pl *Plasticity[T]) Connections() [3]*Connection[T] {
	return [3]*Connection[T]{pl.Recurrent, pl.Input, pl.Readout}
}

// NumPopulations is 1 + the largest population index.
func (pl *Plasticity[T]) NumPopulations() int {
	n := 1
	for _, p := range pl.Populations {
		n = max(n, int(p)+1)
	}
	return n
}

// Population returns unit i's population.
func (pl *Plasticity[T]) Population(i int) int {
	if pl.Populations == nil {
		return 0
	}
	return int(pl.Populations[i])
}

// Matrices is the number of weight matrices per instance: B with per-trial
// weights, else 1.
func (p *Program[T]) Matrices() int {
	if p.Plasticity != nil && p.Plasticity.PerTrial {
		return p.Trials
	}
	return 1
}

// WeightWidth is the number of values in one weight snapshot.
func (p *Program[T]) WeightWidth() int {
	pl := p.Plasticity
	if pl == nil {
		return 0
	}
	switch pl.Record.What {
	case SnapSynapses:
		return len(pl.Record.Synapses)
	case SnapBlockMeans:
		P := pl.NumPopulations()
		n := 0
		for l, c := range pl.Connections() {
			if c == nil {
				continue
			}
			switch Layer(l) {
			case LayerRecurrent:
				n += P * P
			default:
				n += P
			}
		}
		return n
	}
	n := 0
	for l, c := range pl.Connections() {
		if c != nil {
			a, b := p.layerDims(Layer(l))
			n += a * b
		}
	}
	return n
}

// WeightsRecorded is how many weight snapshots steps done+1 … done+n take.
func (p *Program[T]) WeightsRecorded(done, n int) int {
	if p.Plasticity == nil || p.Plasticity.Record.Stride <= 0 {
		return 0
	}
	s := p.Plasticity.Record.Stride
	return (done+n)/s - done/s
}

// GrowthIndex is the synapse coordinate of growth's random draws: Drive's
// flat index (row·N + column, rows as in Program.Drive) for the recurrent and
// input connections and (N+I+1)·N + Readout's flat index for the readout.
func (s Shape) GrowthIndex(l Layer, pre, post int) int {
	N := s.Units
	switch l {
	case LayerRecurrent:
		return pre*N + post
	case LayerInput:
		return (N+pre)*N + post
	}
	return s.DriveRows()*N + pre*s.Outputs + post
}

// validate checks the plasticity description against p.
func (pl *Plasticity[T]) validate(p *Program[T]) error {
	s := p.Shape
	K, N := s.Instances, s.Units
	if pl.Populations != nil {
		if len(pl.Populations) != N {
			return fmt.Errorf("plasticity Populations has %d values, want %d", len(pl.Populations), N)
		}
		for i, q := range pl.Populations {
			if q > 63 {
				return fmt.Errorf("plasticity Populations[%d] = %d: at most 64 populations (0…63)", i, q)
			}
		}
	}
	if pl.Schedule.Warmup < 0 || pl.Schedule.Every < 0 {
		return fmt.Errorf("plasticity schedule warm-up %d and every %d must be ≥ 0", pl.Schedule.Warmup, pl.Schedule.Every)
	}
	for i := 1; i < len(pl.Schedule.Phases); i++ {
		if pl.Schedule.Phases[i].Start <= pl.Schedule.Phases[i-1].Start {
			return fmt.Errorf("plasticity phases must have ascending starts (phase %d starts at %d after %d)", i, pl.Schedule.Phases[i].Start, pl.Schedule.Phases[i-1].Start)
		}
	}
	if uint64(s.DriveRows()*N+(N+1)*s.Outputs) > 1<<32 {
		return fmt.Errorf("plasticity: %d units are too many for growth's random counter", N)
	}
	any := false
	for l, c := range pl.Connections() {
		if c == nil {
			continue
		}
		any = true
		L := Layer(l)
		pre, post := s.layerDims(L)
		name := "plasticity " + L.String()
		if pre == 0 || post == 0 {
			return fmt.Errorf("%s: the connection has no synapses (%d × %d)", name, pre, post)
		}
		for _, a := range []struct {
			what string
			a    []T
			n    int
		}{{"Scale", c.Scale, K * pre * post}, {"Growth", c.Growth, K * pre * post}, {"GrowWeight", c.GrowWeight, K * pre * post}} {
			if err := checkFinite(name+" "+a.what, a.a, a.n, true); err != nil {
				return err
			}
		}
		if (c.Growth == nil) != (c.GrowWeight == nil) {
			return fmt.Errorf("%s: Growth and GrowWeight go together", name)
		}
		for i, g := range c.Growth {
			if g < 0 || g > 1 {
				return fmt.Errorf("%s Growth[%d] = %v: a probability must be in [0, 1]", name, i, g)
			}
		}
		if c.Sign != nil && len(c.Sign) != K*pre {
			return fmt.Errorf("%s Sign has %d values, want %d", name, len(c.Sign), K*pre)
		}
		if c.Bounded && (isNaN(c.Min) || isNaN(c.Max) || c.Min > c.Max) {
			return fmt.Errorf("%s bounds [%v, %v]: want Min ≤ Max", name, c.Min, c.Max)
		}
		for ri := range c.Rules {
			r := &c.Rules[ri]
			rn := fmt.Sprintf("%s rule %d (%v)", name, ri, r.Kind)
			if r.Kind >= numRuleKinds {
				return fmt.Errorf("%s: unknown rule", rn)
			}
			if r.Optimizer >= numOptimizers {
				return fmt.Errorf("%s: unknown optimizer", rn)
			}
			if err := checkFinite(rn+" Rate", r.Rate, K, false); err != nil {
				return err
			}
			for _, x := range []T{r.PreWeight, r.PostWeight, r.SoftBound, r.L1, r.L2, r.Beta1, r.Beta2, r.Epsilon} {
				if !IsFinite(x) {
					return fmt.Errorf("%s: constants must be finite", rn)
				}
			}
			if r.PreInput && (L == LayerInput || s.Inputs != N) {
				return fmt.Errorf("%s: PreInput needs a recurrent or readout connection and as many inputs as units (%d inputs, %d units)", rn, s.Inputs, N)
			}
			if L == LayerInput && r.PrePops != 0 || L == LayerReadout && r.PostPops != 0 {
				return fmt.Errorf("%s: inputs and outputs have no populations (PrePops on input, PostPops on readout must be 0)", rn)
			}
			if r.Optimizer == Adam && (r.Beta1 < 0 || r.Beta1 >= 1 || r.Beta2 < 0 || r.Beta2 >= 1 || r.Epsilon <= 0) {
				return fmt.Errorf("%s: Adam needs 0 ≤ β1, β2 < 1 and ε > 0", rn)
			}
			a := r.Average
			if a.Window < 0 || !IsFinite(a.Coef) || !IsFinite(a.Init) {
				return fmt.Errorf("%s: average window %d must be ≥ 0, coefficient %v and initial value %v finite", rn, a.Window, a.Coef, a.Init)
			}
		}
	}
	if pl.L5 != nil {
		if err := pl.L5.validate(p); err != nil {
			return err
		}
		any = true
	}
	if !any {
		return fmt.Errorf("plasticity: no connection is plastic (set Recurrent, Input, Readout or L5, or leave Plasticity nil)")
	}
	if pl.Record.Stride < 0 || pl.Record.What > SnapBlockMeans {
		return fmt.Errorf("plasticity weight record: stride %d, snapshot %d", pl.Record.Stride, pl.Record.What)
	}
	if pl.Record.What == SnapSynapses {
		cs := pl.Connections()
		for i, sy := range pl.Record.Synapses {
			if sy.Layer >= numLayers || cs[sy.Layer] == nil {
				return fmt.Errorf("plasticity weight record synapse %d: connection %v is not plastic", i, sy.Layer)
			}
			a, b := s.layerDims(sy.Layer)
			if sy.Pre < 0 || sy.Pre >= a || sy.Post < 0 || sy.Post >= b {
				return fmt.Errorf("plasticity weight record synapse %d: (%d, %d) outside the %v connection's %d × %d", i, sy.Pre, sy.Post, sy.Layer, a, b)
			}
		}
	}
	return nil
}

func isNaN[T Float](x T) bool { return x != x }

// checkFinite checks length and finiteness of a.
func checkFinite[T Float](name string, a []T, want int, allowNil bool) error {
	if a == nil && allowNil {
		return nil
	}
	if len(a) != want {
		return fmt.Errorf("program %s has %d values, want %d", name, len(a), want)
	}
	for i, v := range a {
		if !IsFinite(v) {
			return fmt.Errorf("program %s[%d] = %v: values must be finite", name, i, float64(v))
		}
	}
	return nil
}

// PlasticityCapable is implemented by backends that run plastic programs.
// Support is opt-in: Start refuses a program with Plasticity on a backend
// that does not implement it or says no, with ErrNoPlasticity.
type PlasticityCapable interface{ SupportsPlasticity() bool }

// SupportsPlasticity reports whether b runs programs with Plasticity, as
// declared by either FeatureSupporter or PlasticityCapable.
func SupportsPlasticity(b Backend) bool { return Supports(b, FeaturePlasticity) }

// ErrNoPlasticity is the error of a backend that cannot run a plastic program.
func ErrNoPlasticity(backend string) error {
	return fmt.Errorf("plasticity not supported by backend %s", backend)
}

// WeightRun is implemented by the runs of backends that support plasticity.
// Weights copies the current weights: drive K × M × (N+I+1) × N and readout
// K × M × (N+1) × O, M = Program.Matrices(); either may be nil.
type WeightRun[T Float] interface {
	Weights(drive, readout []T) error
}

// Weights copies run's current weights (see WeightRun).
func Weights[T Float](run Run[T], drive, readout []T) error {
	w, ok := run.(WeightRun[T])
	if !ok {
		return fmt.Errorf("this run cannot report its weights")
	}
	return w.Weights(drive, readout)
}
