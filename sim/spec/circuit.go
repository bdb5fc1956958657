package spec

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// Circuit is a population circuit model, the second family of models
// ratesim runs (the first is nn4n's CTRNN, Spec): named populations of
// rate units with their own time constants and activations, connected by
// [pre, post] block tables, driven by a drifting grating in several
// directions, optionally learning by a local rule, and analysed for
// orientation and direction selectivity. A file is a circuit when its top
// level has the key `circuit:` (IsCircuit); its keys are documented in
// README.md ("Circuit models") and each field below.
//
// Time is in the model's own unit, the one dt and τ are given in (the
// layer-5 model's dt = 0.01 and τ = 0.1 are dimensionless; a grating's
// temporal frequency is per that unit, or per step with l5_compat).
// Tables are indexed [pre][post], rows and columns in the order of
// Populations.
type Circuit struct {
	// Circuit names the model family; "l5" (the V1 layer-5 model) is the
	// one ratesim has today.
	Circuit     string              `yaml:"circuit" json:"circuit"`
	Name        string              `yaml:"name,omitempty" json:"name"`
	Populations []CircuitPopulation `yaml:"populations" json:"populations"`
	Dynamics    CircuitDynamics     `yaml:"dynamics" json:"dynamics"`
	// Connectivity is the block tables the network is drawn from.
	Connectivity CircuitConnectivity `yaml:"connectivity" json:"connectivity"`
	Stimulus     CircuitStimulus     `yaml:"stimulus" json:"stimulus"`
	// Plasticity nil (or rule none) keeps the weights fixed.
	Plasticity *CircuitPlasticity `yaml:"plasticity,omitempty" json:"plasticity,omitempty"`
	Analysis   CircuitAnalysis    `yaml:"analysis" json:"analysis"`
	// Steps is the run length per direction; Networks the number of
	// networks drawn (L5's sim_number), each run in every direction.
	Steps    int `yaml:"steps" json:"steps"`
	Networks int `yaml:"networks" json:"networks"`
	// Network, when set, is the one network to run instead of drawing
	// Networks of them: W0, r₀ and the positions from a file (another
	// model's, e.g. the original layer-5 code's, to reproduce its runs).
	Network   *CircuitNetwork `yaml:"network,omitempty" json:"network,omitempty"`
	Seed      uint64          `yaml:"seed" json:"seed"`
	Precision string          `yaml:"precision" json:"precision"`
	Backend   string          `yaml:"backend" json:"backend"`

	dir, file string
}

// CircuitPopulation is one population: its size and sign (E or I, the
// sign of every weight it sends).
type CircuitPopulation struct {
	Name string `yaml:"name" json:"name"`
	Size int    `yaml:"size" json:"size"`
	Sign string `yaml:"sign" json:"sign"`
}

// CircuitDynamics is the rate ODE τ dr/dt = −r + f(W r + I(t)), its
// integrator and the activation f.
type CircuitDynamics struct {
	// Integrator is euler (forward Euler) or rk4 (classical Runge–Kutta,
	// input and weights held over the stages).
	Integrator string  `yaml:"integrator" json:"integrator"`
	Dt         float64 `yaml:"dt" json:"dt"`
	// Tau is one τ for every population, or one per population.
	Tau []float64 `yaml:"tau,flow" json:"tau"`
	// Clip sets r' = max(r', 0) after each step (L5's RK4 always clips).
	Clip       bool              `yaml:"clip" json:"clip"`
	Activation CircuitActivation `yaml:"activation" json:"activation"`
}

// CircuitActivation is f: supralinear = clip(x, floor, ceiling) (L5's
// "supralinear", floor 0.01 and ceiling 500), or power_law = gain·[x]₊^power
// (stabilized supralinear networks; an integer power is exact repeated
// multiplication).
type CircuitActivation struct {
	Kind    string  `yaml:"kind" json:"kind"`
	Floor   float64 `yaml:"floor" json:"floor"`
	Ceiling float64 `yaml:"ceiling" json:"ceiling"`
	Gain    float64 `yaml:"gain" json:"gain"`
	Power   float64 `yaml:"power" json:"power"`
}

// CircuitConnectivity says how W is drawn: each post unit of population q
// takes round(Prob[p][q]·size(p)) presynaptic units of population p
// (round half to even, no autapses within a population), each with weight
// sign(p)·|N(w, weight_std)| where w is Weights[p][q], optionally
// randomized per block (block_noise: relative std of the block means, for
// the populations listed in randomize), then W is divided by its largest
// real eigenvalue part (normalize: max_real), its spectral radius
// (spectral_radius) or nothing (none).
type CircuitConnectivity struct {
	Weights       [][]float64 `yaml:"weights" json:"weights"`
	Probabilities [][]float64 `yaml:"probabilities" json:"probabilities"`
	WeightStd     float64     `yaml:"weight_std" json:"weight_std"`
	BlockNoise    float64     `yaml:"block_noise" json:"block_noise"`
	// Randomize lists the populations whose blocks are randomized; nil
	// means the populations the plasticity's neurons setting trains (L5).
	Randomize []string `yaml:"randomize,flow" json:"randomize"`
	Normalize string   `yaml:"normalize" json:"normalize"`
}

// CircuitStimulus is the drifting grating: per-population amplitude and
// steady flag, shared spatial frequency, temporal frequency and spatial
// phase, the directions in degrees (one condition each), positions
// uniform in the unit disc. Form is drifting (a travelling wave) or
// counterphase (L5's S·cos ω). L5Compat reproduces the original's time
// axis: cos(ω·k) at the integer step index k (an aliasing bug, see
// sim/stimulus.Grating).
type CircuitStimulus struct {
	Directions        []float64 `yaml:"directions,flow" json:"directions"`
	Amplitude         []float64 `yaml:"amplitude,flow" json:"amplitude"`
	Steady            []bool    `yaml:"steady,flow" json:"steady"`
	SpatialFrequency  float64   `yaml:"spatial_frequency" json:"spatial_frequency"`
	TemporalFrequency float64   `yaml:"temporal_frequency" json:"temporal_frequency"`
	SpatialPhase      float64   `yaml:"spatial_phase" json:"spatial_phase"`
	Form              string    `yaml:"form" json:"form"`
	L5Compat          bool      `yaml:"l5_compat" json:"l5_compat"`
}

// CircuitPlasticity is the learning rule and when and where it applies
// (l5.md §5): rule none, bcm (θ the window mean of r²), slide_bcm (θ the
// exponentially weighted Simpson integral), l5_oja (L5's variant, not
// Oja's rule) or covariance; η = 1/tau_learn; the window
// ⌊−(tau_threshold/dt)·ln 0.1⌋ samples; no update in the first warmup
// steps; phases cycle per step (all, CS, CC, PV, SST, rest); neurons
// all, excit_only or inhibit_only. Update structural changes only W0's
// synapses and keep_signs keeps each presynaptic population's sign; L5
// itself updates densely without either (update: dense, keep_signs:
// false). Update low_rank is L5's dense update in another order of
// operations (backend.L5LowRank): W0 plus per-direction factors of the
// grating's spatial pattern and the threshold as a recurrence, for
// slide_bcm with Euler and a counterphase grating; its numbers are within
// ~1e-13 of dense's (and of the original's), at the cost of a static run.
type CircuitPlasticity struct {
	Rule         string   `yaml:"rule" json:"rule"`
	TauLearn     float64  `yaml:"tau_learn" json:"tau_learn"`
	TauThreshold float64  `yaml:"tau_threshold" json:"tau_threshold"`
	Warmup       int      `yaml:"warmup" json:"warmup"`
	Neurons      string   `yaml:"neurons" json:"neurons"`
	Phases       []string `yaml:"phases,flow" json:"phases"`
	Update       string   `yaml:"update" json:"update"`
	KeepSigns    *bool    `yaml:"keep_signs,omitempty" json:"keep_signs,omitempty"`
}

// CircuitNetwork names a network file: an .npz with w0 (units × units,
// post × pre, as the layer-5 model's weight matrix), r0 (units: the
// initial rates, shared by every direction) and x, y (units: the positions
// the grating is evaluated at). A relative path is from the circuit
// file's directory.
type CircuitNetwork struct {
	File string `yaml:"file" json:"file"`
}

// NetworkPath is the network file's path (relative to the circuit's
// directory when not absolute); "" without one.
func (c *Circuit) NetworkPath() string {
	if c.Network == nil || c.Network.File == "" {
		return ""
	}
	if filepath.IsAbs(c.Network.File) {
		return c.Network.File
	}
	return filepath.Join(c.dir, c.Network.File)
}

// CircuitAnalysis is the selectivity analysis: rates averaged in bins of
// bin_width steps; reliability threshold on the mean rate.
type CircuitAnalysis struct {
	BinWidth int `yaml:"bin_width" json:"bin_width"`
	// WCompare is the tuning loss's target block table (optional).
	WCompare [][]float64 `yaml:"w_compare,omitempty" json:"w_compare,omitempty"`
}

// Dir is the directory the circuit file is in.
func (c *Circuit) Dir() string { return c.dir }

// File is the circuit's file name as ParseCircuit was given it.
func (c *Circuit) File() string { return c.file }

//go:embed circuits/*.yaml
var circuitFiles embed.FS

// BuiltInCircuits are the example circuits (circuits/NAME.yaml), runnable
// with `ratesim run --example NAME` like the example specs.
var BuiltInCircuits = ExampleSet{FS: circuitFiles, What: "example circuit", Dir: "circuits"}

// IsCircuit reports whether YAML text is a circuit (a top-level circuit:
// key) rather than a Spec.
func IsCircuit(data []byte) bool { return topKeys(data)["circuit"] }

// CircuitDefaults are the values a circuit file leaves out: Euler, no
// clipping, L5's supralinear clip(x, 0.01, 500), normalization by the
// largest real eigenvalue part, the counterphase grating, bins of 25
// steps, one network, float64 (the circuit's reference precision), the
// automatic backend.
func CircuitDefaults() Circuit {
	return Circuit{
		Dynamics: CircuitDynamics{Integrator: "euler",
			Activation: CircuitActivation{Kind: "supralinear", Floor: 0.01, Ceiling: 500, Gain: 1, Power: 2}},
		Connectivity: CircuitConnectivity{Normalize: "max_real"},
		Stimulus:     CircuitStimulus{Form: "counterphase"},
		Analysis:     CircuitAnalysis{BinWidth: 25},
		Networks:     1, Seed: 1, Precision: "f64", Backend: "auto",
	}
}

// ParseCircuit parses a circuit file, applies CircuitDefaults and
// validates; errors name the file and the field.
func ParseCircuit(name string, data []byte) (*Circuit, error) {
	c := CircuitDefaults()
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil {
		if err := checkWhole(&doc, reflect.TypeOf(&c), ""); err != nil {
			e := err.spec()
			e.File = name
			return nil, e
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Reason: yamlReason(err, keyLines(data))}
	}
	c.dir, c.file = filepath.Dir(name), name
	if c.Plasticity != nil && c.Plasticity.Update == "" {
		c.Plasticity.Update = "structural"
	}
	if c.Plasticity != nil && c.Plasticity.KeepSigns == nil {
		keep := c.Plasticity.Update == "structural"
		c.Plasticity.KeepSigns = &keep
	}
	if err := c.validate(); err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.File = name
		}
		return nil, err
	}
	return &c, nil
}

// LoadCircuitExample parses a built-in circuit.
func LoadCircuitExample(name string) (*Circuit, error) {
	data, err := BuiltInCircuits.Read(name)
	if err != nil {
		return nil, err
	}
	return ParseCircuit(name+".yaml", data)
}

// Signs returns +1 (E) or −1 (I) per population.
func (c *Circuit) Signs() []int {
	s := make([]int, len(c.Populations))
	for i, p := range c.Populations {
		s[i] = 1
		if p.Sign == "I" {
			s[i] = -1
		}
	}
	return s
}

// Units is the total of units.
func (c *Circuit) Units() int {
	n := 0
	for _, p := range c.Populations {
		n += p.Size
	}
	return n
}

// Taus returns τ per population.
func (c *Circuit) Taus() []float64 {
	t := make([]float64, len(c.Populations))
	for i := range t {
		if len(c.Dynamics.Tau) == 1 {
			t[i] = c.Dynamics.Tau[0]
		} else {
			t[i] = c.Dynamics.Tau[i]
		}
	}
	return t
}

func (c *Circuit) validate() error {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if c.Circuit != "l5" {
		return bad("circuit", "the circuit models are: l5 (got %q)", c.Circuit)
	}
	P := len(c.Populations)
	if P == 0 {
		return bad("populations", "list the populations ({name, size, sign: E or I})")
	}
	if P > 64 {
		return bad("populations", "at most 64 populations, got %d", P)
	}
	names := map[string]bool{}
	for i, p := range c.Populations {
		f := fmt.Sprintf("populations[%d]", i)
		if p.Name == "" || names[p.Name] {
			return bad(f+".name", "each population needs a name of its own, got %q", p.Name)
		}
		names[p.Name] = true
		if p.Size < 1 {
			return bad(f+".size", "must be ≥ 1, got %d", p.Size)
		}
		if p.Sign != "E" && p.Sign != "I" {
			return bad(f+".sign", "must be E or I, got %q", p.Sign)
		}
	}
	if n := c.Units(); n > maxHidden {
		return bad("populations", "%d units, more than ratesim supports (at most %d)", n, maxHidden)
	}
	d := c.Dynamics
	if d.Integrator != "euler" && d.Integrator != "rk4" {
		return bad("dynamics.integrator", "must be euler or rk4, got %q", d.Integrator)
	}
	if !finite(d.Dt) || d.Dt <= 0 {
		return bad("dynamics.dt", "must be a finite number > 0, got %v", d.Dt)
	}
	if len(d.Tau) != 1 && len(d.Tau) != P {
		return bad("dynamics.tau", "give one τ or one per population (%d), got %d values", P, len(d.Tau))
	}
	for i, t := range d.Tau {
		if !finite(t) || t <= 0 {
			return bad(fmt.Sprintf("dynamics.tau[%d]", i), "must be a finite number > 0, got %v", t)
		}
	}
	a := d.Activation
	switch a.Kind {
	case "supralinear":
		if !finite(a.Floor) || !finite(a.Ceiling) || a.Floor > a.Ceiling {
			return bad("dynamics.activation", "supralinear needs finite floor ≤ ceiling, got %v, %v", a.Floor, a.Ceiling)
		}
	case "power_law":
		if !finite(a.Gain) || !finite(a.Power) || a.Power < 0 {
			return bad("dynamics.activation", "power_law needs a finite gain and power ≥ 0, got %v, %v", a.Gain, a.Power)
		}
	default:
		return bad("dynamics.activation.kind", "must be supralinear or power_law, got %q", a.Kind)
	}
	cn := c.Connectivity
	for _, t := range []struct {
		field string
		m     [][]float64
		prob  bool
	}{{"connectivity.weights", cn.Weights, false}, {"connectivity.probabilities", cn.Probabilities, true}} {
		if len(t.m) != P {
			return bad(t.field, "must be a %d × %d table [pre][post], got %d rows", P, P, len(t.m))
		}
		for i, row := range t.m {
			if len(row) != P {
				return bad(fmt.Sprintf("%s[%d]", t.field, i), "must have %d values (one per postsynaptic population), got %d", P, len(row))
			}
			for j, x := range row {
				if !finite(x) || t.prob && (x < 0 || x > 1) {
					return bad(fmt.Sprintf("%s[%d][%d]", t.field, i, j), "must be a finite number%s, got %v", map[bool]string{true: " in [0, 1]", false: ""}[t.prob], x)
				}
			}
		}
	}
	if !finite(cn.WeightStd) || cn.WeightStd < 0 {
		return bad("connectivity.weight_std", "must be a finite number ≥ 0, got %v", cn.WeightStd)
	}
	if !finite(cn.BlockNoise) || cn.BlockNoise < 0 {
		return bad("connectivity.block_noise", "must be a finite number ≥ 0, got %v", cn.BlockNoise)
	}
	for i, n := range cn.Randomize {
		if !names[n] {
			return bad(fmt.Sprintf("connectivity.randomize[%d]", i), "no population %q", n)
		}
	}
	if !oneOf(cn.Normalize, "max_real", "spectral_radius", "none") {
		return bad("connectivity.normalize", "must be max_real, spectral_radius or none, got %q", cn.Normalize)
	}
	st := c.Stimulus
	if len(st.Directions) == 0 {
		return bad("stimulus.directions", "list at least one direction in degrees")
	}
	for i, x := range st.Directions {
		if !finite(x) {
			return bad(fmt.Sprintf("stimulus.directions[%d]", i), "must be finite, got %v", x)
		}
	}
	if len(st.Amplitude) != P {
		return bad("stimulus.amplitude", "give one amplitude per population (%d), got %d", P, len(st.Amplitude))
	}
	for i, x := range st.Amplitude {
		if !finite(x) {
			return bad(fmt.Sprintf("stimulus.amplitude[%d]", i), "must be finite, got %v", x)
		}
	}
	if st.Steady != nil && len(st.Steady) != P {
		return bad("stimulus.steady", "give one flag per population (%d), got %d", P, len(st.Steady))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"spatial_frequency", st.SpatialFrequency}, {"temporal_frequency", st.TemporalFrequency}, {"spatial_phase", st.SpatialPhase}} {
		if !finite(f.v) {
			return bad("stimulus."+f.name, "must be finite, got %v", f.v)
		}
	}
	if !oneOf(st.Form, "drifting", "counterphase") {
		return bad("stimulus.form", "must be drifting or counterphase, got %q", st.Form)
	}
	if pl := c.Plasticity; pl != nil {
		if !oneOf(pl.Rule, "none", "bcm", "slide_bcm", "l5_oja", "covariance") {
			return bad("plasticity.rule", "must be none, bcm, slide_bcm, l5_oja or covariance, got %q", pl.Rule)
		}
		if !finite(pl.TauLearn) || pl.TauLearn <= 0 {
			return bad("plasticity.tau_learn", "must be a finite number > 0, got %v", pl.TauLearn)
		}
		if (pl.Rule == "bcm" || pl.Rule == "slide_bcm" || pl.Rule == "covariance") && (!finite(pl.TauThreshold) || pl.TauThreshold <= 0) {
			return bad("plasticity.tau_threshold", "must be a finite number > 0, got %v", pl.TauThreshold)
		}
		if pl.Warmup < 0 {
			return bad("plasticity.warmup", "must be ≥ 0, got %d", pl.Warmup)
		}
		if !oneOf(pl.Neurons, "all", "excit_only", "inhibit_only") {
			return bad("plasticity.neurons", "must be all, excit_only or inhibit_only, got %q", pl.Neurons)
		}
		for i, ph := range pl.Phases {
			if ph != "all" && ph != "rest" && !names[ph] {
				return bad(fmt.Sprintf("plasticity.phases[%d]", i), "must be all, rest or a population, got %q", ph)
			}
		}
		if !oneOf(pl.Update, "structural", "dense", "low_rank") {
			return bad("plasticity.update", "must be structural (W0's synapses only), dense (every entry, as L5) or low_rank (L5's dense update as W0 plus per-direction factors, ~1e-13 from dense and much faster), got %q", pl.Update)
		}
		if pl.Update == "low_rank" {
			switch {
			case pl.Rule != "slide_bcm":
				return bad("plasticity.update", "low_rank runs the slide_bcm rule only, got rule %q", pl.Rule)
			case c.Dynamics.Integrator != "euler":
				return bad("plasticity.update", "low_rank needs dynamics.integrator euler, got %q", c.Dynamics.Integrator)
			case pl.KeepSigns != nil && *pl.KeepSigns:
				return bad("plasticity.keep_signs", "low_rank updates every entry with free signs (as dense): keep_signs must be false")
			case st.Form != "counterphase":
				return bad("plasticity.update", "low_rank needs stimulus.form counterphase (an input S·cos(ω·t), L5's), got %q", st.Form)
			}
		}
	}
	if c.Analysis.BinWidth < 1 {
		return bad("analysis.bin_width", "must be ≥ 1 step, got %d", c.Analysis.BinWidth)
	}
	if w := c.Analysis.WCompare; w != nil && len(w) != P {
		return bad("analysis.w_compare", "must be a %d × %d table, got %d rows", P, P, len(w))
	}
	if c.Steps < 1 {
		return bad("steps", "must be ≥ 1, got %d", c.Steps)
	}
	if c.Network != nil {
		if c.Network.File == "" {
			return bad("network.file", "name the network's .npz (w0, r0, x, y)")
		}
		if c.Networks > 1 {
			return bad("networks", "a network file gives one network; networks must be 1, got %d", c.Networks)
		}
	}
	if c.Networks < 1 {
		return bad("networks", "must be ≥ 1, got %d", c.Networks)
	}
	if !oneOf(c.Precision, "f32", "float32", "f64", "float64") {
		return bad("precision", "must be f32 or f64, got %q", c.Precision)
	}
	if c.Backend == "" {
		return bad("backend", "must be auto or a backend name")
	}
	return nil
}
