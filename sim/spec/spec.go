package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
)

// Spec is a model and run description, as written in YAML. Field names and
// defaults follow nn4n's CTRNN (dims [1, 100, 1], relu, dt 10, tau 100,
// uniform weights, no biases). Every key is documented in README.md (the
// spec table) and the differences from nn4n in sim/NN4N.md.
//
// A spec is four parts that vary independently: the Model (the network and
// its plasticity), the stimulus (Input), the Recording (Record) and the
// RunSettings (trials, steps, seed, precision, backend). In YAML the model's
// and the run's keys sit at the top level, input: and record: are sections.
//
// Arrays are given as ArrayRef ({file: PATH[, key: NAME]}), with PATH
// relative to the spec file's directory; Validate loads and checks them
// (shape, finiteness) and Resolve returns them.
type Spec struct {
	Name        string `yaml:"name,omitempty" json:"name"`
	Model       `yaml:",inline"`
	Input       Stimulus  `yaml:"input" json:"input"`
	Record      Recording `yaml:"record" json:"record"`
	RunSettings `yaml:",inline"`

	// dir is the spec file's directory, against which relative array
	// paths are resolved ("" = the working directory); file is the name
	// Parse was given, for messages.
	dir, file string
}

// Dir is the directory relative array paths are resolved against.
func (s *Spec) Dir() string { return s.dir }

// File is the spec's file name as Parse was given it ("" for a spec not
// parsed from a file).
func (s *Spec) File() string { return s.file }

// Model is the network: its shape, dynamics, weights, masks, structure,
// initial state and plasticity.
type Model struct {
	// Dims is [inputs, hidden units, outputs].
	Dims       []int  `yaml:"dims" json:"dims"`
	Activation string `yaml:"activation" json:"activation"`
	// Dt and Tau are in ms; α = dt/τ per unit. Tau is one number, one per
	// unit, or an array; Alpha may be given instead of Tau (not both).
	Dt    float64 `yaml:"dt" json:"dt"`
	Tau   PerUnit `yaml:"tau,omitempty" json:"tau,omitzero"`
	Alpha PerUnit `yaml:"alpha,omitempty" json:"alpha,omitzero"`
	// PreactNoise is σ_pre (v += α·σ_pre·ξ); PostactNoise is σ_post (r += σ_post·ξ).
	PreactNoise  float64 `yaml:"preact_noise" json:"preact_noise"`
	PostactNoise float64 `yaml:"postact_noise" json:"postact_noise"`
	// Weights initializes each layer: uniform U(±1/√fan_in), normal
	// N(0, 1/fan_in), zero, or an array shaped (out, in) as nn4n stores it.
	Weights LayerInits `yaml:"weights" json:"weights"`
	// Biases initializes each layer's bias: none, zero, uniform
	// U(±1/√fan_in), normal N(0, 1/fan_in), or an array (N,) / (O,).
	Biases LayerInits `yaml:"biases" json:"biases"`
	// SparsityMasks, EIMasks and PlasticityMasks are per-layer arrays in
	// nn4n's (pre, post) orientation. Sparsity: 0 = no synapse. E/I: > 0
	// excitatory presynaptic entry (weight clamped ≥ 0), otherwise
	// inhibitory (clamped ≤ 0). Plasticity: learning-rate scales ≥ 0.
	SparsityMasks   LayerMasks `yaml:"sparsity_masks,omitempty" json:"sparsity_masks,omitzero"`
	EIMasks         LayerMasks `yaml:"ei_masks,omitempty" json:"ei_masks,omitzero"`
	PlasticityMasks LayerMasks `yaml:"plasticity_masks,omitempty" json:"plasticity_masks,omitzero"`
	// Structure builds masks with a builder of package sim/connect.
	Structure *Structure `yaml:"structure,omitempty" json:"structure,omitempty"`
	// SelfConnections false removes the recurrent diagonal (W_ii = 0) by
	// folding it into the hidden sparsity mask. Nil means true.
	SelfConnections *bool `yaml:"self_connections,omitempty" json:"self_connections,omitempty"`
	// EIBalance says which layers with an E/I mask are balanced after
	// masking (nn4n v1.2.0's init balance): sampled (default: layers whose
	// weights were drawn, as nn4n at construction), all (array weights
	// too), or none.
	EIBalance string `yaml:"ei_balance" json:"ei_balance"`
	// InitState is v₀ (r₀ = f(v₀)): zero, a list of N values, an array
	// (N,) or (trials, N), or {from: DIR}, the final_state of DIR/result.npz.
	InitState InitState `yaml:"init_state" json:"init_state"`
	// Plasticity says how weights change while the network runs (see
	// plasticity.go and README.md); nil keeps them fixed.
	Plasticity *PlasticitySpec `yaml:"plasticity,omitempty" json:"plasticity,omitempty"`
	// Groups name the hidden units group by group (groups.go); with groups
	// the hidden size is their sum and every layer is the elementwise sum,
	// in list order, of the Connections into it (weights: does not apply).
	Groups     []Group `yaml:"groups,omitempty" json:"groups,omitempty"`
	InputShape []int   `yaml:"input_shape,omitempty" json:"input_shape,omitempty"`
	// InputGroups name the inputs group by group (in list order, summing
	// to dims[0]), so connections can come from one of them; without them
	// `from: input` is every input, shaped by InputShape.
	InputGroups []Group      `yaml:"input_groups,omitempty" json:"input_groups,omitempty"`
	Connections []Connection `yaml:"connections,omitempty" json:"connections,omitempty"`
}

// RunSettings are how a spec is run: trials, steps, the seed of every
// random draw, the precision and the backend.
type RunSettings struct {
	Trials    int    `yaml:"trials" json:"trials"`
	Steps     int    `yaml:"steps" json:"steps"`
	Seed      uint64 `yaml:"seed" json:"seed"`
	Precision string `yaml:"precision" json:"precision"`
	Backend   string `yaml:"backend" json:"backend"`
	// NoiseInstance is the instance index under which the run's noise is
	// drawn (backend.Program's FirstInstance; 0 by default). A sweep packs
	// many points as instances of one program and writes each point's own
	// index here, so that the point run alone draws the same numbers as in
	// the batch (see sim/sweep).
	NoiseInstance int `yaml:"noise_instance,omitempty" json:"noise_instance,omitempty"`
}

// Stimulus is the input section: a built-in input generator. Every input channel gets
// the same waveform unless noted.
type Stimulus struct {
	// Type is none, constant, sine, pulses, noise or patterns.
	Type string `yaml:"type" json:"type"`
	// Amplitude scales every type (the value of constant).
	Amplitude float64 `yaml:"amplitude,omitempty" json:"amplitude,omitempty"`
	// Period in ms, for sine (channel c is phase-shifted by 2πc/I) and pulses.
	Period float64 `yaml:"period,omitempty" json:"period,omitempty"`
	// Width in ms of each pulse (pulses start at t = Onset + k·Period).
	Width float64 `yaml:"width,omitempty" json:"width,omitempty"`
	// Onset in ms before which the input is zero.
	Onset float64 `yaml:"onset,omitempty" json:"onset,omitempty"`
	// Patterns (type patterns) are input vectors of I values each, shown
	// one per presentation of Period ms (for the first Width ms of it, the
	// whole period when Width is 0), times Amplitude (1 when 0).
	Patterns [][]float64 `yaml:"patterns,omitempty" json:"patterns,omitempty"`
	// Order is cycle (pattern p mod P at presentation p, the default) or
	// random (drawn uniformly from the seed, per trial and presentation).
	Order string `yaml:"order,omitempty" json:"order,omitempty"`
}

// Defaults returns nn4n's defaults for everything a spec leaves out.
func Defaults() Spec {
	// One variable per pointer: YAML decodes through them, so a shared
	// one would make `outputs: false` switch rates off too.
	rates, states, outputs := true, false, true
	return Spec{
		Name: "ctrnn",
		Model: Model{Dims: []int{1, 100, 1}, Activation: "relu", Dt: 10, Tau: Scalar(100),
			Weights: AllLayers("uniform"), Biases: AllLayers("none"), EIBalance: "sampled",
			InitState: InitState{Zero: true}},
		Input:       Stimulus{Type: "none"},
		Record:      Recording{Rates: &rates, States: &states, Outputs: &outputs, Every: 1},
		RunSettings: RunSettings{Trials: 1, Steps: 100, Seed: 1, Precision: "f32", Backend: "auto"},
	}
}

// Error is a problem with a spec: the file, the field and the reason.
type Error struct {
	File, Field, Reason string
}

func (e *Error) Error() string {
	where := e.File
	if where == "" {
		where = "spec"
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", where, e.Reason)
	}
	return fmt.Sprintf("%s: field %s: %s", where, e.Field, e.Reason)
}

// Load reads and validates a spec file.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read spec: %w", err)
	}
	return Parse(path, data)
}

// Parse parses YAML, applies defaults and validates. name is used in
// errors. Unknown keys are errors.
func Parse(name string, data []byte) (*Spec, error) {
	s := Defaults()
	// Whole-number fields first: the decoder would truncate 50.5 to 50.
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil {
		if err := checkWhole(&doc, reflect.TypeOf(&s), ""); err != nil {
			e := err.spec()
			e.File = name
			return nil, e
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Reason: yamlReason(err, keyLines(data))}
	}
	s.dir, s.file = filepath.Dir(name), name
	if len(s.Groups) > 0 && !topKeys(data)["dims"] && len(s.Dims) == 3 {
		s.Dims[1] = s.GroupsSize() // the groups give the hidden size
	}
	if s.Alpha.Set && !topKeys(data)["tau"] {
		s.Tau = PerUnit{} // alpha replaces the default tau
	}
	if err := s.Validate(); err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.File = name
		}
		return nil, err
	}
	return &s, nil
}

var (
	unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)
	atLine       = regexp.MustCompile(`line (\d+): `)
	cannotDecode = regexp.MustCompile("cannot unmarshal !!\\w+ (`[^`]*`) into (\\S+)")
)

// goTypeWords says in the spec's words what a Go type of a decode error
// wants, so that messages name no Go types.
func goTypeWords(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"), strings.HasPrefix(t, "["):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."), strings.HasPrefix(t, "struct"):
		return "a mapping"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "uint"):
		return "a whole number ≥ 0"
	case strings.HasPrefix(t, "int"):
		return "a whole number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	}
	return "a value of another kind"
}

// YAMLReason is a YAML decoding error of any ratesim file (sweep, fit)
// in the spec's words: no "yaml:" prefix, one line, "unknown field x", and
// no Go type names.
func YAMLReason(err error) string { return yamlReason(err, nil) }

// yamlReason rewrites yaml.v3's Go-flavoured messages into the spec's words
// and names the key on the line a message points at.
func yamlReason(err error, keys map[int]string) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	msg = unknownField.ReplaceAllString(msg, "unknown field $1")
	msg = cannotDecode.ReplaceAllStringFunc(msg, func(m string) string {
		sub := cannotDecode.FindStringSubmatch(m)
		return fmt.Sprintf("%s is not %s", sub[1], goTypeWords(sub[2]))
	})
	return atLine.ReplaceAllStringFunc(msg, func(m string) string {
		var line int
		fmt.Sscanf(m, "line %d", &line)
		if k, ok := keys[line]; ok && !strings.Contains(msg, "field ") {
			return fmt.Sprintf("line %d: field %s: ", line, k)
		}
		return m
	})
}

// keyLines maps each line of a YAML document to the dotted key it sets.
func keyLines(data []byte) map[int]string {
	var doc yaml.Node
	keys := map[int]string{}
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return keys
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := prefix + k.Value
			keys[k.Line] = path
			if v.Line != k.Line {
				keys[v.Line] = path
			}
			for _, c := range v.Content {
				if _, taken := keys[c.Line]; !taken && v.Kind == yaml.SequenceNode {
					keys[c.Line] = path
				}
			}
			walk(v, path+".")
		}
	}
	walk(doc.Content[0], "")
	return keys
}

// Validate checks every field and names the first bad one (and the file,
// for a spec Parse read). It allocates nothing large: arrays are read from
// their files, but nothing is built whose size only the run's memory check
// can allow (see sim.Check).
func (s *Spec) Validate() error {
	err := s.validate()
	var se *Error
	if errors.As(err, &se) && se.File == "" {
		se.File = s.file
	}
	return err
}

// The largest network sizes a spec may ask for: the hidden units are
// bounded by the backends' unit indexing, inputs and outputs so that no
// weight matrix's size overflows the index arithmetic.
const (
	maxInputs  = 1 << 20
	maxHidden  = 1 << 16
	maxOutputs = 1 << 20
)

func (s *Spec) validate() error {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if len(s.Dims) != 3 {
		return bad("dims", "must be [inputs, hidden, outputs], got %d values", len(s.Dims))
	}
	dims := fmt.Sprintf("[%d, %d, %d]", s.Dims[0], s.Dims[1], s.Dims[2])
	if s.Dims[0] < 0 || s.Dims[1] < 1 || s.Dims[2] < 0 {
		return bad("dims", "need inputs ≥ 0, hidden ≥ 1, outputs ≥ 0, got %s", dims)
	}
	for i, most := range [3]int{maxInputs, maxHidden, maxOutputs} {
		if s.Dims[i] > most {
			return bad("dims", "%s asks for %d %s, more than ratesim supports (at most %d)", dims, s.Dims[i], [3]string{"inputs", "hidden units", "outputs"}[i], most)
		}
	}
	if _, err := backend.ParseActivation(s.Activation); err != nil {
		return bad("activation", "%v", err)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !finite(s.Dt) || s.Dt <= 0 {
		return bad("dt", "must be a finite number > 0, got %v", s.Dt)
	}
	if !finite(s.PreactNoise) || s.PreactNoise < 0 {
		return bad("preact_noise", "must be a finite number ≥ 0, got %v", s.PreactNoise)
	}
	if !finite(s.PostactNoise) || s.PostactNoise < 0 {
		return bad("postact_noise", "must be a finite number ≥ 0, got %v", s.PostactNoise)
	}
	if err := s.Input.validate(s.Dims[0]); err != nil {
		return err
	}
	if s.Trials < 1 {
		return bad("trials", "must be ≥ 1, got %d", s.Trials)
	}
	if s.Steps < 1 {
		return bad("steps", "must be ≥ 1, got %d", s.Steps)
	}
	if len(s.Groups) > 0 && s.GroupsSize() != s.Dims[1] {
		return bad("dims", "dims[1] = %d hidden units but the groups hold %d", s.Dims[1], s.GroupsSize())
	}
	if _, err := s.PlaceConnections(); err != nil {
		return err
	}
	if _, err := s.Resolve(); err != nil {
		return err
	}
	if err := s.Record.validate(s); err != nil {
		return err
	}
	if err := s.validatePlasticity(); err != nil {
		return err
	}
	if _, err := backend.ParsePrecision(s.Precision); err != nil {
		return bad("precision", "%v", err)
	}
	if s.Backend == "" {
		return bad("backend", "must be auto or a backend name")
	}
	if s.NoiseInstance < 0 || s.NoiseInstance >= backend.MaxInstances {
		return bad("noise_instance", "must be a whole number in 0 … %d, got %d", backend.MaxInstances-1, s.NoiseInstance)
	}
	return nil
}

func (in *Stimulus) validate(inputs int) error {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: "input." + field, Reason: fmt.Sprintf(format, args...)}
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !oneOf(in.Type, "none", "constant", "sine", "pulses", "noise", "patterns") {
		return bad("type", "must be none, constant, sine, pulses, noise or patterns, got %q", in.Type)
	}
	if in.Type != "none" && inputs == 0 {
		return bad("type", "is %q but the network has no inputs (dims[0] = 0)", in.Type)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"amplitude", in.Amplitude}, {"period", in.Period}, {"width", in.Width}, {"onset", in.Onset}} {
		if !finite(f.v) {
			return bad(f.name, "must be finite, got %v", f.v)
		}
	}
	if (in.Type == "sine" || in.Type == "pulses") && in.Period <= 0 {
		return bad("period", "must be > 0 ms for %s input, got %v", in.Type, in.Period)
	}
	if in.Type == "pulses" && (in.Width <= 0 || in.Width > in.Period) {
		return bad("width", "must be in (0, period] ms, got %v", in.Width)
	}
	if in.Onset < 0 {
		return bad("onset", "must be ≥ 0 ms, got %v", in.Onset)
	}
	return in.validatePatterns(inputs)
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

// validatePatterns checks the fields of type patterns (and that other types
// do not set them).
func (in *Stimulus) validatePatterns(inputs int) error {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: "input." + field, Reason: fmt.Sprintf(format, args...)}
	}
	if in.Type != "patterns" {
		if in.Patterns != nil {
			return bad("patterns", "is for type patterns, not %s", in.Type)
		}
		if in.Order != "" {
			return bad("order", "is for type patterns, not %s", in.Type)
		}
		return nil
	}
	if len(in.Patterns) == 0 {
		return bad("patterns", "type patterns needs a list of input vectors, each of %d values", inputs)
	}
	for k, v := range in.Patterns {
		if len(v) != inputs {
			return bad("patterns", "pattern %d has %d values, want one per input (%d)", k, len(v), inputs)
		}
		for c, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return bad("patterns", "pattern %d, input %d is %v; values must be finite", k, c, x)
			}
		}
	}
	if in.Period <= 0 {
		return bad("period", "must be > 0 ms for patterns (how long each pattern is shown), got %v", in.Period)
	}
	if in.Width < 0 || in.Width > in.Period {
		return bad("width", "must be in [0, period] ms (0: the whole period), got %v", in.Width)
	}
	if !oneOf(in.Order, "", "cycle", "random") {
		return bad("order", "must be cycle or random, got %q", in.Order)
	}
	return nil
}
