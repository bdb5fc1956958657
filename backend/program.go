package backend

import (
	"fmt"
)

// Float is the set of element types a program can run in.
type Float interface{ float32 | float64 }

// Precision names a program's floating-point type.
type Precision uint8

const (
	F32 Precision = iota // float32, the default
	F64                  // float64
)

func (p Precision) String() string {
	switch p {
	case F32:
		return "f32"
	case F64:
		return "f64"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// ParsePrecision accepts "f32"/"float32" and "f64"/"float64".
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "f32", "float32":
		return F32, nil
	case "f64", "float64":
		return F64, nil
	}
	return 0, fmt.Errorf("unknown precision %q (want f32 or f64)", s)
}

// PrecisionOf reports the precision of T.
func PrecisionOf[T Float]() Precision {
	var z T
	if _, ok := any(z).(float64); ok {
		return F64
	}
	return F32
}

// Activation is the unit nonlinearity f in r = f(v).
type Activation uint8

const (
	ReLU     Activation = iota // max(v, 0); relu(-0) = +0
	Tanh                       // dmath tanh
	Sigmoid                    // 1/(1+e^-v)
	ReTanh                     // max(tanh v, 0)
	Softplus                   // log(1+e^v)
	Identity                   // v
	// The activations below take parameters from an ActivationRange, so
	// only Program.UnitActivations can use them.
	Supralinear // min(max(v, Floor), Ceiling), NaN passes
	PowerLaw    // Gain·[v]₊^Power
	numActivations
	// numPlainActivations counts the activations that need no parameters.
	numPlainActivations = Supralinear
)

var activationNames = [...]string{"relu", "tanh", "sigmoid", "retanh", "softplus", "identity", "supralinear", "power_law"}

func (a Activation) String() string {
	if a < numActivations {
		return activationNames[a]
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// ParseActivation accepts the names printed by Activation.String.
func ParseActivation(s string) (Activation, error) {
	for i, n := range activationNames {
		if n == s {
			return Activation(i), nil
		}
	}
	return 0, fmt.Errorf("unknown activation %q (want one of %v)", s, activationNames)
}

// Activations lists every activation that needs no parameters (all but
// Supralinear and PowerLaw, which only per-unit activations can use), for
// tests and help texts.
func Activations() []Activation { return upTo(numPlainActivations) }

// ParameterActivations lists the activations that take parameters from an
// ActivationRange (Program.UnitActivations).
func ParameterActivations() []Activation { return []Activation{Supralinear, PowerLaw} }

// Shape is the size of a program: K instances of a network with N units,
// I inputs and O outputs, each run for B trials.
type Shape struct {
	Instances int // K
	Trials    int // B
	Units     int // N
	Inputs    int // I
	Outputs   int // O
}

// DriveRows is the number of presynaptic rows of one instance's drive matrix:
// the N recurrent units, the I inputs and one constant 1 for the bias.
func (s Shape) DriveRows() int { return s.Units + s.Inputs + 1 }

// Record says what a run hands back and how often.
type Record struct {
	Rates   bool // r_t, after post-activation noise
	States  bool // v_t, after pre-activation noise (v-form only)
	Outputs bool // y_t = W_out r_t + b_out
	// Stride records step t (1-based, counted from the start of the run)
	// when t % Stride == 0. Zero means 1.
	Stride int
}

// Every returns the effective stride.
func (r Record) Every() int {
	if r.Stride <= 0 {
		return 1
	}
	return r.Stride
}

// Recorded returns how many of the steps done+1 … done+n are recorded.
func (r Record) Recorded(done, n int) int {
	s := r.Every()
	return (done+n)/s - done/s
}

// Program is everything a backend needs to run K instances for B trials.
// All per-instance arrays are instance-major and row-major.
//
// The step, for instance k, trial b, unit i and step t = 1, 2, … is, with
// z = [r_{t-1}; u_t; 1] the concatenated presynaptic vector:
//
//	x_i = Σ_j z_j · Drive[k][j][i]           (j ascending, from +0)
//	v_i = Decay[k][i]·v_i + Alpha[k][i]·x_i
//	v_i = v_i + PreNoise[k][i]·ξ(k,b,t,i,PurposePreNoise)    if PreNoise[k][i] ≠ 0
//	r_i = f(v_i)
//	r_i = r_i + PostNoise[k][i]·ξ(k,b,t,i,PurposePostNoise)  if PostNoise[k][i] ≠ 0
//	y_o = Σ_j r_j · Readout[k][j][o] + Readout[k][N][o]      (j ascending, from +0)
//
// each operation rounded to T. v_0 is Init (zero when nil) and r_0 = f(v_0).
// This is nn4n's CTRNN step with the two biases summed on the host.
//
// With Delays, the recurrent term of synapse (j, i), j < N, reads the rate
// d steps older: z_j = r_{t-1-d}[j] with d = Delays.Steps[k][j][i], and
// r_s = r_0 for s < 0 (the history before step 1 is the initial rates,
// repeated); d = 0 is r_{t-1}, exactly the undelayed step. The sum keeps
// its order (j ascending from +0), so a program whose delays are all 0
// gives the bits of the same program without Delays. Inputs, the bias and
// the readout are never delayed (see Delays).
//
// With Sparse, a backend may compute x from the CSR form of the same
// weights instead of the dense product: the sum over a row's entries in
// ascending column order from +0 has the dense product's bits, because the
// terms it leaves out are products with a zero weight (contract rule 3).
// Validate proves that Sparse holds exactly Drive's nonzero weights, so the
// dense Drive stays the program's definition and Sparse only how to run it
// (see SparseDrive).
//
// With UnitActivations, unit i's f is the activation of the range holding
// i (f_i below); without, Activation on every unit. Either form.
//
// The rate form (Form == RateForm, constants in Rate) integrates
// τ dr/dt = −r + f(W r + I) instead, for instance k, trial b, unit i, step t:
//
//	u_i(q)  = Σ_j z_j · Drive[k][j][i],  z = [q; u_t; 1]   (j ascending, from +0; delays and Sparse as above)
//	F_i(q)  = InvTau[k][i]·((−q_i) + f_i(u_i(q)))
//	Euler:  r_i = r_i + Dt·F_i(r)
//	RK4:    k1 = F(r), k2 = F(r + (0.5·k1)·Dt), k3 = F(r + (0.5·k2)·Dt), k4 = F(r + k3·Dt)
//	        r_i = r_i + Dt·((((s6·k1_i + s3·k2_i) + s3·k3_i) + s6·k4_i))   s6 = fl(1/6), s3 = fl(1/3)
//	r_i = +0                                                 if ClipAtZero and r_i < 0
//	r_i = r_i + PostNoise[k][i]·ξ(k,b,t,i,PurposePostNoise)  if PostNoise[k][i] ≠ 0
//	y_o as above
//
// each operation rounded to T, left to right as written. RK4 holds the
// input and the weights fixed over its stages and recomputes the drive
// product with each stage's rates. Init is r_0 itself (zero when nil);
// there is no state v (PreNoise must be zero, Record.States is refused,
// and State reports v as zeros). RK4 cannot be combined with Delays. The
// plastic update, when set, follows the step unchanged. This is the L5
// circuit model's SimpleNetwork.run (sim/circuit's package doc).
type Program[T Float] struct {
	Shape
	Activation Activation
	Seed       uint64
	// FirstInstance and FirstTrial place this program inside a larger sweep:
	// random numbers are drawn at instance FirstInstance+k and trial
	// FirstTrial+b, so a sweep split into shards (across calls, devices or
	// machines) gives the same bits as the whole. Errors report these global
	// indices too.
	FirstInstance, FirstTrial int

	// Drive holds K matrices of (N+I+1) × N: rows are presynaptic (the
	// recurrent units, then the inputs, then the bias), columns postsynaptic.
	// Masks are already folded in.
	Drive []T
	// Readout holds K matrices of (N+1) × O: rows are the units, then the bias.
	Readout []T
	// Per-unit parameters, K × N each, derived on the host: Decay = 1−α,
	// Alpha = α = dt/τ, PreNoise = α·σ_pre, PostNoise = σ_post.
	Decay, Alpha, PreNoise, PostNoise []T
	// Init is the initial state v_0 (in the rate form the initial rates
	// r_0), K × B × N; nil means zero.
	Init []T
	// SharedInput says that every instance sees the same input, so an input
	// chunk is B × n × I instead of K × B × n × I.
	SharedInput bool

	Record Record

	// Plasticity, when set, lets weights change during the run (see
	// Plasticity for the update and its order); nil keeps them fixed.
	// It cannot be combined with Delays or Sparse (Validate refuses), but
	// for the L5 rule's low-rank form (L5LowRank), whose drive stays W0.
	Plasticity *Plasticity[T]

	// Form selects the dynamics: the v-form (zero value) or the rate form.
	Form Form
	// Rate holds the rate form's integrator and constants; it is required
	// when Form == RateForm and must be nil otherwise.
	Rate *RateDynamics[T]
	// UnitActivations, when set, overrides Activation per unit: the
	// ranges tile 0 … N ascending, the same for every instance. nil runs
	// Activation on every unit. Allowed in both forms.
	UnitActivations []ActivationRange[T]

	// Delays, when set, delays the recurrent synapses by whole steps (see
	// the step above and Delays); nil delays nothing.
	Delays *Delays
	// Sparse, when set, is Drive in compressed sparse rows, for backends
	// that run a sparse drive faster than the dense product (see
	// SparseDrive); nil runs the dense product. It never changes a bit.
	Sparse *SparseDrive[T]
}

// Validate checks sizes and finiteness. A program that fails it is a
// programmer's error in the front-end or data the user must fix; the error
// names the field.
func (p *Program[T]) Validate() error {
	s := p.Shape
	if s.Instances < 1 || s.Trials < 1 || s.Units < 1 || s.Inputs < 0 || s.Outputs < 0 {
		return fmt.Errorf("program shape %+v: instances, trials and units must be ≥ 1, inputs and outputs ≥ 0", s)
	}
	if p.FirstInstance < 0 || p.FirstTrial < 0 || p.FirstInstance+s.Instances > MaxInstances || p.FirstTrial+s.Trials > 1<<32 {
		return fmt.Errorf("program instances %d+%d and trials %d+%d exceed the random counter's range (%d instances, 2^32 trials)",
			p.FirstInstance, s.Instances, p.FirstTrial, s.Trials, MaxInstances)
	}
	if p.Activation >= numActivations {
		return fmt.Errorf("program activation %v is not defined", p.Activation)
	}
	K, N := s.Instances, s.Units
	check := func(name string, a []T, want int, allowNil bool) error {
		if a == nil && allowNil {
			return nil
		}
		if len(a) != want {
			return fmt.Errorf("program %s has %d values, want %d", name, len(a), want)
		}
		for i, v := range a {
			if v-v != 0 { // NaN or ±Inf (one subtraction: Drive alone is rows × N values)
				return fmt.Errorf("program %s[%d] = %v: values must be finite", name, i, float64(v))
			}
		}
		return nil
	}
	for _, c := range []struct {
		name     string
		a        []T
		n        int
		allowNil bool
	}{
		{"Drive", p.Drive, K * s.DriveRows() * N, false},
		{"Readout", p.Readout, K * (N + 1) * s.Outputs, s.Outputs == 0},
		{"Decay", p.Decay, K * N, false},
		{"Alpha", p.Alpha, K * N, false},
		{"PreNoise", p.PreNoise, K * N, false},
		{"PostNoise", p.PostNoise, K * N, false},
		{"Init", p.Init, K * s.Trials * N, true},
	} {
		if err := check(c.name, c.a, c.n, c.allowNil); err != nil {
			return err
		}
	}
	if p.Record.Stride < 0 {
		return fmt.Errorf("program Record.Stride = %d: must be ≥ 0", p.Record.Stride)
	}
	if err := p.validateRate(); err != nil {
		return err
	}
	if err := p.Delays.validate(s); err != nil {
		return err
	}
	if err := p.Sparse.validate(p); err != nil {
		return err
	}
	if p.Plasticity != nil {
		if p.Delays != nil || p.Sparse != nil && !IsL5LowRank(p) {
			return errPlasticDelaysSparse
		}
		return p.Plasticity.validate(p)
	}
	return nil
}

// InputLen is the length of an input chunk for n steps (0 when there are no inputs).
func (p *Program[T]) InputLen(n int) int {
	l := p.Trials * n * p.Inputs
	if !p.SharedInput {
		l *= p.Instances
	}
	return l
}

// Chunk receives the values recorded during one Advance call. Each non-nil
// slice is laid out [K][B][m][·] where m = Record.Recorded(done, n); the last
// dimension is N for Rates and States and O for Outputs.
//
// Weights receives a plastic program's weight snapshots, laid out
// [K][M][w][WeightWidth()] with M = Matrices() and w =
// WeightsRecorded(done, n); NewChunkFor allocates it.
type Chunk[T Float] struct {
	Rates, States, Outputs []T
	Weights                []T
}

// NewChunkFor allocates a chunk for the steps done+1 … done+n of p,
// weight snapshots included.
func NewChunkFor[T Float](p *Program[T], done, n int) *Chunk[T] {
	c := NewChunk(p, p.Record.Recorded(done, n))
	if w := p.WeightsRecorded(done, n); w > 0 {
		c.Weights = make([]T, p.Instances*p.Matrices()*w*p.WeightWidth())
	}
	return c
}

// NewChunk allocates a chunk for m recorded steps of p.
func NewChunk[T Float](p *Program[T], m int) *Chunk[T] {
	c := &Chunk[T]{}
	kb := p.Instances * p.Trials * m
	if p.Record.Rates {
		c.Rates = make([]T, kb*p.Units)
	}
	if p.Record.States {
		c.States = make([]T, kb*p.Units)
	}
	if p.Record.Outputs {
		c.Outputs = make([]T, kb*p.Outputs)
	}
	return c
}

// CheckChunk verifies that c has room for m recorded steps of p.
func CheckChunk[T Float](p *Program[T], c *Chunk[T], m int) error {
	kb := p.Instances * p.Trials * m
	for _, x := range []struct {
		name string
		on   bool
		a    []T
		n    int
	}{
		{"Rates", p.Record.Rates, c.Rates, kb * p.Units},
		{"States", p.Record.States, c.States, kb * p.Units},
		{"Outputs", p.Record.Outputs, c.Outputs, kb * p.Outputs},
	} {
		if x.on && len(x.a) < x.n {
			return fmt.Errorf("chunk %s has %d values, want %d for %d recorded steps", x.name, len(x.a), x.n, m)
		}
	}
	return nil
}

// CheckWeightChunk verifies that c has room for the weight snapshots of
// steps done+1 … done+n.
func CheckWeightChunk[T Float](p *Program[T], c *Chunk[T], done, n int) error {
	w := p.WeightsRecorded(done, n)
	if want := p.Instances * p.Matrices() * w * p.WeightWidth(); len(c.Weights) < want {
		return fmt.Errorf("chunk Weights has %d values, want %d for %d weight snapshots", len(c.Weights), want, w)
	}
	return nil
}

// CheckAdvance checks the arguments of Run.Advance(n, in, out) for a run of
// p that has done steps: n ≥ 0, the input chunk's length (nil is zero input)
// and out's room for the recorded steps and weight snapshots. It returns
// the number of recorded steps, Record.Recorded(done, n).
func CheckAdvance[T Float](p *Program[T], done, n int, in []T, out *Chunk[T]) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("Advance(%d): negative step count", n)
	}
	if in != nil && len(in) != p.InputLen(n) {
		return 0, fmt.Errorf("input chunk has %d values, want %d for %d steps", len(in), p.InputLen(n), n)
	}
	m := p.Record.Recorded(done, n)
	if err := CheckChunk(p, out, m); err != nil {
		return 0, err
	}
	if err := CheckWeightChunk(p, out, done, n); err != nil {
		return 0, err
	}
	if err := CheckL5LowRankSteps(p, done, n); err != nil {
		return 0, err
	}
	return m, nil
}
