package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/npz"
)

// PlasticitySpec is the spec's `plasticity:` section: which connections
// learn, by which rules, when, under which constraints, and which weights
// are recorded. It maps onto backend.Plasticity (whose doc states the update
// exactly); README.md's "Plasticity" table lists every key.
//
//	plasticity:
//	  weights: shared                # or per_trial
//	  populations: ei                # none, ei, areas, areas_ei, names per unit, or blocks
//	  schedule: {warmup: 100, every: 1, phases: [{start: 1, learn: [E]}, {start: 5000, learn: [I]}]}
//	  record: {every: 50, what: whole}
//	  recurrent:                     # also input:, readout: (hidden: is recurrent's synonym)
//	    rules: [{rule: bcm, eta: 0.001, threshold: {tau: 200}}]
type PlasticitySpec struct {
	// Weights is shared (one matrix per network, the terms of all trials
	// summed in trial order; the default) or per_trial (one matrix per trial).
	Weights string `yaml:"weights,omitempty" json:"weights,omitempty"`
	// Populations names the unit populations that rules (pre, post) and
	// phases (learn) select.
	Populations Populations     `yaml:"populations,omitempty" json:"populations,omitzero"`
	Schedule    PlasticSchedule `yaml:"schedule,omitempty" json:"schedule,omitzero"`
	Record      WeightRecording `yaml:"record,omitempty" json:"record,omitzero"`
	// Recurrent (hidden → hidden; Hidden is a synonym), Input (input →
	// hidden) and Readout (hidden → output) say how each connection learns;
	// a connection left out is static.
	Recurrent *ConnectionSpec `yaml:"recurrent,omitempty" json:"recurrent,omitempty"`
	Hidden    *ConnectionSpec `yaml:"hidden,omitempty" json:"hidden,omitempty"`
	Input     *ConnectionSpec `yaml:"input,omitempty" json:"input,omitempty"`
	Readout   *ConnectionSpec `yaml:"readout,omitempty" json:"readout,omitempty"`
}

// Populations is how units are grouped for plasticity: From (none, ei,
// areas, areas_ei), one name per unit (Names), or consecutive blocks of
// units (Blocks).
type Populations struct {
	From   string
	Names  []string
	Blocks []PopulationBlock
}

// PopulationBlock is Size consecutive units of population Name.
type PopulationBlock struct {
	Name string `yaml:"name" json:"name"`
	Size int    `yaml:"size" json:"size"`
}

// IsZero reports whether nothing was given (one population, "all").
func (p Populations) IsZero() bool { return p.From == "" && p.Names == nil && p.Blocks == nil }

func (p *Populations) UnmarshalYAML(n *yaml.Node) error {
	*p = Populations{}
	switch n.Kind {
	case yaml.ScalarNode:
		p.From = n.Value
		return nil
	case yaml.SequenceNode:
		if len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
			for _, c := range n.Content {
				if err := checkKeys(c, "plasticity.populations", "name", "size"); err != nil {
					return err
				}
				var b PopulationBlock
				if err := decodeNode(c, &b); err != nil {
					var we *wholeError
					if errors.As(err, &we) {
						return fmt.Errorf("line %d: field plasticity.populations: a block's size %s", we.line, we.reason)
					}
					return fmt.Errorf("line %d: field plasticity.populations: a block is {name: NAME, size: UNITS}", c.Line)
				}
				p.Blocks = append(p.Blocks, b)
			}
			return nil
		}
		p.Names = []string{}
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: field plasticity.populations: a list holds one population name per unit, or blocks {name: NAME, size: UNITS}", c.Line)
			}
			p.Names = append(p.Names, c.Value)
		}
		return nil
	}
	return fmt.Errorf("line %d: field plasticity.populations: must be none, ei, areas, areas_ei, a list of one name per unit, or a list of blocks {name: NAME, size: UNITS}", n.Line)
}

func (p Populations) plain() any {
	switch {
	case p.Blocks != nil:
		return p.Blocks
	case p.Names != nil:
		return p.Names
	}
	return p.From
}

func (p Populations) MarshalYAML() (any, error)     { return p.plain(), nil }
func (p Populations) MarshalJSON() ([]byte, error)  { return json.Marshal(p.plain()) }
func (p *Populations) UnmarshalJSON(b []byte) error { return viaYAML(b, p.UnmarshalYAML) }

// PopSelection selects populations by name: all, none, one name, or a list.
// A rule's pre and post default to all.
type PopSelection []string

func (p *PopSelection) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*p = PopSelection{n.Value}
		return nil
	case yaml.SequenceNode:
		s := PopSelection{}
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a population selection is all, none, a name or a list of names", c.Line)
			}
			s = append(s, c.Value)
		}
		*p = s
		return nil
	}
	return fmt.Errorf("line %d: a population selection is all, none, a name or a list of names", n.Line)
}

// PlasticSchedule says when weights are updated (steps count from 1).
type PlasticSchedule struct {
	// Warmup steps come first without updates.
	Warmup int `yaml:"warmup,omitempty" json:"warmup,omitempty"`
	// Every: after the warm-up every Every-th step updates (default 1).
	Every int `yaml:"every,omitempty" json:"every,omitempty"`
	// Phases say which populations learn from step Start on, until the
	// next phase; before the first phase nothing learns.
	Phases []PhaseSpec `yaml:"phases,omitempty" json:"phases,omitempty"`
}

// PhaseSpec is one phase of the schedule.
type PhaseSpec struct {
	Start int          `yaml:"start" json:"start"`
	Learn PopSelection `yaml:"learn" json:"learn"`
}

// WeightRecording says which weight snapshots go into result.npz.
type WeightRecording struct {
	// Every snapshots at steps Every, 2·Every, … (default: steps/100,
	// rounded up, so about 100 snapshots).
	Every int `yaml:"every,omitempty" json:"every,omitempty"`
	// What is whole (every plastic matrix, the default), synapses (those of
	// Synapses), block_means (the mean weight of each population pair) or
	// none (final weights only).
	What     string       `yaml:"what,omitempty" json:"what,omitempty"`
	Synapses []SynapseRef `yaml:"synapses,omitempty" json:"synapses,omitempty"`
}

// SynapseRef is [connection, pre, post] in YAML: the synapse from
// presynaptic unit (or input) pre to postsynaptic unit (or output) post.
type SynapseRef struct {
	Layer     string
	Pre, Post int
}

func (s *SynapseRef) UnmarshalYAML(n *yaml.Node) error {
	bad := fmt.Errorf("line %d: field plasticity.record.synapses: a synapse is [CONNECTION, PRE, POST], e.g. [recurrent, 3, 7]", n.Line)
	if n.Kind != yaml.SequenceNode || len(n.Content) != 3 {
		return bad
	}
	pre, err1 := strconv.Atoi(n.Content[1].Value)
	post, err2 := strconv.Atoi(n.Content[2].Value)
	if err1 != nil || err2 != nil {
		return bad
	}
	*s = SynapseRef{Layer: n.Content[0].Value, Pre: pre, Post: post}
	return nil
}

func (s SynapseRef) MarshalYAML() (any, error)     { return []any{s.Layer, s.Pre, s.Post}, nil }
func (s SynapseRef) MarshalJSON() ([]byte, error)  { return json.Marshal([]any{s.Layer, s.Pre, s.Post}) }
func (s *SynapseRef) UnmarshalJSON(b []byte) error { return viaYAML(b, s.UnmarshalYAML) }

// ConnectionSpec is how one connection learns and what constrains it.
// Per-synapse arrays are (pre, post), as nn4n's masks.
type ConnectionSpec struct {
	// Scale is the per-synapse learning-rate scale: mask (the default: the
	// layer's plasticity_masks entry, normalized as nn4n, or 1), a number,
	// or an array (pre, post) ≥ 0. It is 0 wherever the sparsity mask has
	// no synapse and growth cannot add one, so absent synapses stay absent.
	Scale *SynapseValues `yaml:"scale,omitempty" json:"scale,omitempty"`
	// Dale is ei_mask (the default: each presynaptic unit keeps the sign
	// of its E/I mask row, from ei_masks or structure, if the layer has
	// one), none, or a list of one sign per presynaptic unit (1: W ≥ 0,
	// -1: W ≤ 0, 0: free).
	Dale DaleSpec `yaml:"dale,omitempty" json:"dale,omitzero"`
	// Bounds is [min, max] (.inf allowed) or nonnegative; none by default.
	Bounds *Bounds `yaml:"bounds,omitempty" json:"bounds,omitempty"`
	// FreezeZero leaves synapses at exactly 0 to growth (ngc-learn's
	// patched synapses).
	FreezeZero bool        `yaml:"freeze_zero,omitempty" json:"freeze_zero,omitempty"`
	Growth     *GrowthSpec `yaml:"growth,omitempty" json:"growth,omitempty"`
	// Rules apply in order at every update step.
	Rules []RuleSpec `yaml:"rules" json:"rules"`
}

// DaleSpec is ei_mask, none, or one sign per presynaptic unit.
type DaleSpec struct {
	Mode  string
	Signs []int
}

// IsZero reports whether dale was left out.
func (d DaleSpec) IsZero() bool { return d.Mode == "" && d.Signs == nil }

func (d *DaleSpec) UnmarshalYAML(n *yaml.Node) error {
	*d = DaleSpec{}
	if n.Kind == yaml.ScalarNode {
		d.Mode = n.Value
		return nil
	}
	if n.Kind != yaml.SequenceNode || decodeNode(n, &d.Signs) != nil {
		return fmt.Errorf("line %d: dale is ei_mask, none, or a list of signs (1, -1, 0) per presynaptic unit", n.Line)
	}
	if d.Signs == nil {
		d.Signs = []int{}
	}
	return nil
}

func (d DaleSpec) plain() any {
	if d.Signs != nil {
		return d.Signs
	}
	return d.Mode
}

func (d DaleSpec) MarshalYAML() (any, error)     { return d.plain(), nil }
func (d DaleSpec) MarshalJSON() ([]byte, error)  { return json.Marshal(d.plain()) }
func (d *DaleSpec) UnmarshalJSON(b []byte) error { return viaYAML(b, d.UnmarshalYAML) }

// SynapseValues is a per-synapse value: mask (scale only), a number for
// every synapse, or an array (pre, post).
type SynapseValues struct {
	Mask  bool
	Value float64
	Array *ArrayRef
}

func (v *SynapseValues) UnmarshalYAML(n *yaml.Node) error {
	*v = SynapseValues{}
	if n.Kind == yaml.ScalarNode {
		if n.Value == "mask" {
			v.Mask = true
			return nil
		}
		if err := n.Decode(&v.Value); err != nil {
			return fmt.Errorf("line %d: must be a number or {file: PATH[, key: NAME]} shaped (pre, post), got %q", n.Line, n.Value)
		}
		return nil
	}
	r, err := decodeArrayRef(n)
	if err != nil {
		return err
	}
	v.Array = r
	return nil
}

func (v SynapseValues) plain() any {
	switch {
	case v.Mask:
		return "mask"
	case v.Array != nil:
		return v.Array
	}
	return v.Value
}

func (v SynapseValues) MarshalYAML() (any, error)     { return v.plain(), nil }
func (v SynapseValues) MarshalJSON() ([]byte, error)  { return json.Marshal(v.plain()) }
func (v *SynapseValues) UnmarshalJSON(b []byte) error { return viaYAML(b, v.UnmarshalYAML) }

// Bounds clamps every written weight: [Min, Max], or nonnegative [0, ∞).
type Bounds struct {
	Min, Max    float64
	Nonnegative bool
}

func (b *Bounds) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "nonnegative" {
		*b = Bounds{Nonnegative: true, Max: math.Inf(1)}
		return nil
	}
	var mm []float64
	if n.Kind != yaml.SequenceNode || n.Decode(&mm) != nil || len(mm) != 2 {
		return fmt.Errorf("line %d: bounds are [min, max] (.inf allowed) or nonnegative", n.Line)
	}
	*b = Bounds{Min: mm[0], Max: mm[1]}
	return nil
}

func (b Bounds) plain() any {
	if b.Nonnegative {
		return "nonnegative"
	}
	return []any{yamlFloat(b.Min), yamlFloat(b.Max)}
}

// yamlFloat keeps infinities readable by YAML and JSON alike.
func yamlFloat(x float64) any {
	switch {
	case math.IsInf(x, 1):
		return ".inf"
	case math.IsInf(x, -1):
		return "-.inf"
	}
	return x
}

func (b Bounds) MarshalYAML() (any, error) {
	if b.Nonnegative {
		return "nonnegative", nil
	}
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, x := range []float64{b.Min, b.Max} {
		v := strconv.FormatFloat(x, 'g', -1, 64)
		switch {
		case math.IsInf(x, 1):
			v = ".inf"
		case math.IsInf(x, -1):
			v = "-.inf"
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: v})
	}
	return n, nil
}
func (b Bounds) MarshalJSON() ([]byte, error) { return json.Marshal(b.plain()) }
func (b *Bounds) UnmarshalJSON(data []byte) error {
	var raw []any
	if json.Unmarshal(data, &raw) == nil && len(raw) == 2 {
		var mm [2]float64
		for i, r := range raw {
			switch x := r.(type) {
			case float64:
				mm[i] = x
			case string:
				f, err := strconv.ParseFloat(strings.TrimPrefix(strings.Replace(x, ".inf", "inf", 1), "+"), 64)
				if err != nil {
					return fmt.Errorf("bad bound %q", x)
				}
				mm[i] = f
			default:
				return fmt.Errorf("bad bounds %s", data)
			}
		}
		*b = Bounds{Min: mm[0], Max: mm[1]}
		return nil
	}
	return viaYAML(data, b.UnmarshalYAML)
}

// GrowthSpec lets absent synapses appear: at every update step a synapse
// at exactly 0 appears with probability Probability·Mask, with weight
// Weight (drawn from Philox, the same on every backend).
type GrowthSpec struct {
	// Mask is in [0, 1]: a number or an array (pre, post); default 1.
	Mask        *SynapseValues `yaml:"mask,omitempty" json:"mask,omitempty"`
	Probability *float64       `yaml:"probability" json:"probability"`
	// Weight is the new synapse's weight: a number or an array (pre, post).
	Weight *SynapseValues `yaml:"weight" json:"weight"`
}

// RuleSpec is one learning rule. W ← W + dt·η·(the rule's change), see
// backend.Plasticity for the exact order of operations.
type RuleSpec struct {
	// Rule is hebbian, bcm, oja or covariance.
	Rule string   `yaml:"rule" json:"rule"`
	Eta  *float64 `yaml:"eta" json:"eta"`
	// Pre and Post select the population block (default all).
	Pre  PopSelection `yaml:"pre,omitempty" json:"pre,omitempty"`
	Post PopSelection `yaml:"post,omitempty" json:"post,omitempty"`
	// Presynaptic is rate (default) or input: the L5 variants whose
	// presynaptic factor is the stimulus of the postsynaptic unit (input j
	// for unit j; recurrent and readout connections, as many inputs as
	// units).
	Presynaptic string `yaml:"presynaptic,omitempty" json:"presynaptic,omitempty"`
	// PreWeight and PostWeight are ngc-learn's pre_wght and post_wght
	// (hebbian; default 1).
	PreWeight  *float64 `yaml:"pre_weight,omitempty" json:"pre_weight,omitempty"`
	PostWeight *float64 `yaml:"post_weight,omitempty" json:"post_weight,omitempty"`
	// DivideByTheta divides BCM's φ by θ (the L5 model's BCM).
	DivideByTheta *bool `yaml:"divide_by_theta,omitempty" json:"divide_by_theta,omitempty"`
	// Threshold is BCM's sliding θ, a running mean of r²; Mean the
	// covariance rule's running means of pre and post.
	Threshold *AverageSpec `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	Mean      *AverageSpec `yaml:"mean,omitempty" json:"mean,omitempty"`
	// WBound is ngc-learn's soft bound: the change is multiplied by
	// (w_bound − |W|) when > 0.
	WBound *float64   `yaml:"w_bound,omitempty" json:"w_bound,omitempty"`
	Prior  *PriorSpec `yaml:"prior,omitempty" json:"prior,omitempty"`
	// SignValue is ngc-learn's sign_value: −1 (default) strengthens
	// correlated synapses, +1 weakens them.
	SignValue *float64 `yaml:"sign_value,omitempty" json:"sign_value,omitempty"`
	// FlipInhibitory flips the change on synapses from inhibitory
	// presynaptic units (the L5 sliding BCM).
	FlipInhibitory *bool          `yaml:"flip_inhibitory,omitempty" json:"flip_inhibitory,omitempty"`
	Optimizer      *OptimizerSpec `yaml:"optimizer,omitempty" json:"optimizer,omitempty"`
}

// AverageSpec is a running average: exponential with time constant Tau
// (ms) from Init, or the mean of the last Window steps.
type AverageSpec struct {
	Tau    *float64 `yaml:"tau,omitempty" json:"tau,omitempty"`
	Init   *float64 `yaml:"init,omitempty" json:"init,omitempty"`
	Window *int     `yaml:"window,omitempty" json:"window,omitempty"`
}

// PriorSpec is ngc-learn's weight prior: l1, l2 or elastic_net (with
// ratio ρ, default 0.5), strength Lambda.
type PriorSpec struct {
	Type   string   `yaml:"type" json:"type"`
	Lambda float64  `yaml:"lambda" json:"lambda"`
	Ratio  *float64 `yaml:"ratio,omitempty" json:"ratio,omitempty"`
}

// OptimizerSpec is sgd (the default) or adam with β1, β2, ε (defaults
// 0.9, 0.999, 1e−8). YAML: sgd, adam, or {type: adam, beta1: …}.
type OptimizerSpec struct {
	Type    string   `yaml:"type" json:"type"`
	Beta1   *float64 `yaml:"beta1,omitempty" json:"beta1,omitempty"`
	Beta2   *float64 `yaml:"beta2,omitempty" json:"beta2,omitempty"`
	Epsilon *float64 `yaml:"epsilon,omitempty" json:"epsilon,omitempty"`
}

func (o *OptimizerSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*o = OptimizerSpec{Type: n.Value}
		return nil
	}
	if err := checkKeys(n, "optimizer", "type", "beta1", "beta2", "epsilon"); err != nil {
		return err
	}
	type plain OptimizerSpec
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*o = OptimizerSpec(p)
	return nil
}

// checkKeys refuses keys of mapping n other than allowed.
func checkKeys(n *yaml.Node, field string, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: field %s: must be a mapping of %s", n.Line, field, strings.Join(allowed, ", "))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !oneOf(k.Value, allowed...) {
			return fmt.Errorf("line %d: field %s: unknown key %q (want %s)", k.Line, field, k.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// ConnectionNames are the connections in backend.Layer order, with the spec's
// layer index (input 0, hidden 1, readout 2) of each.
var (
	ConnectionNames = [3]string{"recurrent", "input", "readout"}
	connLayers      = [3]int{1, 0, 2}
)

func (ps *PlasticitySpec) connections() [3]*ConnectionSpec {
	rec := ps.Recurrent
	if rec == nil {
		rec = ps.Hidden
	}
	return [3]*ConnectionSpec{rec, ps.Input, ps.Readout}
}

// plasticPlan is the plasticity section resolved against a spec (and its
// drawn network, when there is one), in float64 and the engine's layout.
// PlasticityPlan is the plasticity section resolved against a network's
// masks, in float64: what network.Plasticity turns into the
// backend.Plasticity of a run, and what the output records of its weights.
type PlasticityPlan struct {
	PerTrial bool
	Pops     []uint8 // population of each hidden unit; nil: one population
	PopNames []string
	Schedule backend.Schedule
	Record   backend.WeightRecord
	Conns    [3]*ConnectionPlan // recurrent, input, readout; nil = static
	Dims     [3][2]int          // (pre, post) of each connection
}

// ConnectionPlan is one plastic connection of a PlasticityPlan.
type ConnectionPlan struct {
	Rules              []backend.Rule[float64]
	Scale              []float64 // pre × post; nil = 1
	Sign               []int8    // per presynaptic unit; nil = free
	Bounded            bool
	Min, Max           float64
	FreezeZero         bool
	Growth, GrowWeight []float64 // pre × post; nil = no growth
	// Grows says the connection has growth (also in a validation plan,
	// which builds no per-synapse arrays).
	Grows bool
}

// validatePlasticity checks the plasticity section (loading its arrays).
func (s *Spec) validatePlasticity() error {
	if s.Plasticity == nil {
		return nil
	}
	_, err := s.PlasticityPlan(nil)
	return err
}

// Masks are the masks a network was built with, in the weights'
// orientation (out, in), nil where a layer has none (see
// network.Network): Sparsity 0/1, EI ±1 per entry, Plasticity scales in
// [0, 1].
type Masks struct {
	Sparsity, EI, Plasticity Layers
}

// PlasticityPlan resolves the plasticity section. With masks nil
// (validation) the masks are the spec's files; otherwise they are the
// built network's (the structure's and the removed diagonal included).
func (s *Spec) PlasticityPlan(masks *Masks) (*PlasticityPlan, error) {
	ps := s.Plasticity
	bad := func(field, format string, args ...any) error {
		f := "plasticity"
		if field != "" {
			f += "." + field
		}
		return &Error{Field: f, Reason: fmt.Sprintf(format, args...)}
	}
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	// Validation (masks nil) checks every value but builds no per-synapse
	// array that no file backs: a spec's validation must not allocate
	// what only a run that fits memory may (sim checks that first).
	dry := masks == nil
	var sparsity, ei, pmask Layers
	if masks != nil {
		sparsity, ei, pmask = masks.Sparsity, masks.EI, masks.Plasticity
	} else {
		m, err := s.Resolve()
		if err != nil {
			return nil, err
		}
		sparsity, ei, pmask = m.Sparsity, m.EI, m.Plasticity
	}
	pl := &PlasticityPlan{Dims: [3][2]int{{N, N}, {I, N}, {N, O}}}

	switch ps.Weights {
	case "", "shared":
	case "per_trial":
		pl.PerTrial = true
	default:
		return nil, bad("weights", "must be shared or per_trial, got %q", ps.Weights)
	}
	if ps.Recurrent != nil && ps.Hidden != nil {
		return nil, bad("hidden", "is a synonym of recurrent; give one of them")
	}

	// Populations.
	if err := pl.populations(s, ps.Populations, ei.Hidden); err != nil {
		return nil, err
	}
	sel := func(field string, p PopSelection, allowNone bool) (uint64, error) {
		if p == nil {
			return 0, nil
		}
		var m uint64
		for _, name := range p {
			switch name {
			case "all":
				if len(p) > 1 {
					return 0, bad(field, "all selects every population; list names or write all alone")
				}
				return 0, nil
			case "none":
				if !allowNone {
					return 0, bad(field, "none would never apply the rule; remove the rule instead")
				}
				if len(p) > 1 {
					return 0, bad(field, "none selects nothing; list names or write none alone")
				}
				return 0, nil
			}
			k := indexOf(pl.PopNames, name)
			if k < 0 {
				if pl.Pops == nil {
					return 0, bad(field, "no population %q: plasticity.populations defines none (every unit is in all)", name)
				}
				return 0, bad(field, "no population %q (the populations are %s)", name, strings.Join(pl.PopNames, ", "))
			}
			m |= 1 << k
		}
		return m, nil
	}

	// Schedule.
	sc := ps.Schedule
	if sc.Warmup < 0 {
		return nil, bad("schedule.warmup", "must be ≥ 0 steps, got %d", sc.Warmup)
	}
	if sc.Every < 0 {
		return nil, bad("schedule.every", "must be ≥ 1 step, got %d", sc.Every)
	}
	pl.Schedule = backend.Schedule{Warmup: sc.Warmup, Every: max(sc.Every, 1)}
	for i, ph := range sc.Phases {
		f := fmt.Sprintf("schedule.phases[%d]", i)
		if ph.Start < 0 {
			return nil, bad(f+".start", "must be a step ≥ 0, got %d", ph.Start)
		}
		if i > 0 && ph.Start <= sc.Phases[i-1].Start {
			return nil, bad(f+".start", "phases must start in ascending order (%d after %d)", ph.Start, sc.Phases[i-1].Start)
		}
		if ph.Learn == nil {
			return nil, bad(f+".learn", "say which populations learn: all, none, a name or a list")
		}
		m, err := sel(f+".learn", ph.Learn, true)
		if err != nil {
			return nil, err
		}
		if len(ph.Learn) == 1 && ph.Learn[0] == "all" {
			m = ^uint64(0)
		}
		pl.Schedule.Phases = append(pl.Schedule.Phases, backend.Phase{Start: ph.Start, Learn: m})
	}

	// Connections.
	plastic := false
	for l, cs := range ps.connections() {
		if cs == nil {
			continue
		}
		plastic = true
		name := ConnectionNames[l]
		if l == 0 && ps.Recurrent == nil {
			name = "hidden"
		}
		pre, post := pl.Dims[l][0], pl.Dims[l][1]
		if pre == 0 || post == 0 {
			return nil, bad(name, "the %s connection has no synapses (%d × %d): dims are %v", ConnectionNames[l], pre, post, s.Dims)
		}
		li := connLayers[l]
		cp := &ConnectionPlan{FreezeZero: cs.FreezeZero}
		// Arrays given (pre, post); the network's masks are (post, pre).
		fromLayer := func(a []float64) []float64 {
			if a == nil {
				return nil
			}
			t := make([]float64, pre*post)
			for j := 0; j < pre; j++ {
				for i := 0; i < post; i++ {
					t[j*post+i] = a[i*pre+j]
				}
			}
			return t
		}
		// values checks a per-synapse value and returns its pre × post
		// values (nil when dry).
		values := func(field string, v *SynapseValues, lo, hi float64) ([]float64, error) {
			var src []float64
			switch {
			case v.Array != nil:
				a, err := v.Array.load(s.dir, func(shape []int) error {
					if !shapeIs(shape, pre, post) {
						return fmt.Errorf("%s is shaped %s, want (%d, %d) (pre, post) as nn4n's masks", v.Array, npz.FormatShape(shape), pre, post)
					}
					return nil
				})
				if err != nil {
					return nil, bad(field, "%v", err)
				}
				src = a.values
			case v.Mask:
				return nil, bad(field, "mask is a value of scale only")
			default:
				if x := v.Value; !finite(x) || x < lo || x > hi {
					return nil, bad(field, "value %v is outside [%v, %v]", x, lo, hi)
				}
			}
			for i, x := range src {
				if !finite(x) || x < lo || x > hi {
					return nil, bad(field, "value %v at [%d %d] is outside [%v, %v]", x, i/post, i%post, lo, hi)
				}
			}
			if dry {
				return nil, nil
			}
			out := make([]float64, pre*post)
			if src != nil {
				copy(out, src)
			} else {
				for i := range out {
					out[i] = v.Value
				}
			}
			return out, nil
		}
		// Growth.
		if g := cs.Growth; g != nil {
			cp.Grows = true
			f := name + ".growth"
			if g.Probability == nil || !finite(*g.Probability) || *g.Probability < 0 || *g.Probability > 1 {
				return nil, bad(f+".probability", "give the probability per update step, in [0, 1]")
			}
			if g.Weight == nil {
				return nil, bad(f+".weight", "give the weight a new synapse starts with (a number or an array (pre, post))")
			}
			var mask []float64
			if g.Mask != nil {
				var err error
				if mask, err = values(f+".mask", g.Mask, 0, 1); err != nil {
					return nil, err
				}
			}
			w, err := values(f+".weight", g.Weight, math.Inf(-1), math.Inf(1))
			if err != nil {
				return nil, err
			}
			if !dry {
				if mask == nil {
					mask = make([]float64, pre*post)
					for i := range mask {
						mask[i] = 1
					}
				}
				cp.Growth, cp.GrowWeight = make([]float64, pre*post), w
				for i, m := range mask {
					cp.Growth[i] = *g.Probability * m
				}
			}
		}
		// Scale, zero where no synapse is or can grow.
		var scale []float64
		switch {
		case cs.Scale == nil || cs.Scale.Mask:
			scale = fromLayer(*pmask.At(li))
		default:
			var err error
			if scale, err = values(name+".scale", cs.Scale, 0, math.Inf(1)); err != nil {
				return nil, err
			}
		}
		if sp := fromLayer(*sparsity.At(li)); sp != nil && !dry {
			if scale == nil {
				scale = make([]float64, pre*post)
				for i := range scale {
					scale[i] = 1
				}
			}
			for i := range scale {
				if sp[i] == 0 && (cp.Growth == nil || cp.Growth[i] == 0) {
					scale[i] = 0
				}
			}
		}
		cp.Scale = scale
		// Dale's law per presynaptic unit.
		switch {
		case cs.Dale.Signs != nil:
			if len(cs.Dale.Signs) != pre {
				return nil, bad(name+".dale", "has %d signs, want one per presynaptic unit (%d)", len(cs.Dale.Signs), pre)
			}
			cp.Sign = make([]int8, pre)
			for j, sg := range cs.Dale.Signs {
				if sg < -1 || sg > 1 {
					return nil, bad(name+".dale", "sign %d of presynaptic unit %d: want 1, -1 or 0", sg, j)
				}
				cp.Sign[j] = int8(sg)
			}
		case cs.Dale.Mode == "" || cs.Dale.Mode == "ei_mask":
			if e := *ei.At(li); e != nil {
				cp.Sign = make([]int8, pre)
				for j := 0; j < pre; j++ {
					for i := 0; i < post; i++ {
						sg := int8(1)
						if e[i*pre+j] <= 0 {
							sg = -1
						}
						if i == 0 {
							cp.Sign[j] = sg
						} else if cp.Sign[j] != sg {
							return nil, bad(name+".dale", "the %s E/I mask gives presynaptic unit %d both signs (posts 0 and %d); Dale's law needs one sign per presynaptic unit: fix the mask or set dale: none", LayerNames[li], j, i)
						}
					}
				}
			}
		case cs.Dale.Mode == "none":
		default:
			return nil, bad(name+".dale", "must be ei_mask, none or a list of signs per presynaptic unit, got %q", cs.Dale.Mode)
		}
		if b := cs.Bounds; b != nil {
			if math.IsNaN(b.Min) || math.IsNaN(b.Max) || b.Min > b.Max {
				return nil, bad(name+".bounds", "want min ≤ max, got [%v, %v]", b.Min, b.Max)
			}
			cp.Bounded, cp.Min, cp.Max = true, b.Min, b.Max
		}
		if len(cs.Rules) == 0 {
			return nil, bad(name+".rules", "give at least one rule (hebbian, bcm, oja, covariance), or leave the connection out")
		}
		for ri := range cs.Rules {
			r, err := s.rulePlan(&cs.Rules[ri], fmt.Sprintf("%s.rules[%d]", name, ri), l, sel)
			if err != nil {
				return nil, err
			}
			if r.FlipInhibitory && cp.Sign == nil {
				return nil, bad(fmt.Sprintf("%s.rules[%d].flip_inhibitory", name, ri), "needs inhibitory presynaptic units: the connection has no Dale signs (dale)")
			}
			cp.Rules = append(cp.Rules, r)
		}
		pl.Conns[l] = cp
	}
	if !plastic {
		return nil, bad("", "no connection is plastic: give recurrent, input and/or readout with rules, or leave plasticity out")
	}
	if uint64((N+I+1)*N+(N+1)*O) > 1<<32 {
		return nil, bad("", "the network is too large for growth's random counter")
	}

	// Weight snapshots.
	rc := ps.Record
	pl.Record.Stride = rc.Every
	if rc.Every < 0 {
		return nil, bad("record.every", "must be ≥ 1 step, got %d", rc.Every)
	}
	if rc.Every == 0 {
		pl.Record.Stride = max(1, (s.Steps+99)/100)
	}
	if rc.Synapses != nil && rc.What != "synapses" {
		return nil, bad("record.synapses", "are recorded with what: synapses (what is %q)", rc.What)
	}
	switch rc.What {
	case "", "whole":
		pl.Record.What = backend.SnapWhole
	case "block_means":
		pl.Record.What = backend.SnapBlockMeans
	case "none":
		if rc.Every != 0 {
			return nil, bad("record.every", "what: none records no snapshots; leave every out")
		}
		pl.Record.Stride = 0
	case "synapses":
		pl.Record.What = backend.SnapSynapses
		if len(rc.Synapses) == 0 {
			return nil, bad("record.synapses", "what: synapses needs a list of [CONNECTION, PRE, POST]")
		}
		for i, sy := range rc.Synapses {
			f := fmt.Sprintf("record.synapses[%d]", i)
			l := indexOf(ConnectionNames[:], sy.Layer)
			if sy.Layer == "hidden" {
				l = 0
			}
			if l < 0 {
				return nil, bad(f, "unknown connection %q (want recurrent, input or readout)", sy.Layer)
			}
			if pl.Conns[l] == nil {
				return nil, bad(f, "the %s connection is not plastic", sy.Layer)
			}
			a, b := pl.Dims[l][0], pl.Dims[l][1]
			if sy.Pre < 0 || sy.Pre >= a || sy.Post < 0 || sy.Post >= b {
				return nil, bad(f, "[%s, %d, %d] is outside the %s connection's %d × %d (pre, post)", sy.Layer, sy.Pre, sy.Post, ConnectionNames[l], a, b)
			}
			pl.Record.Synapses = append(pl.Record.Synapses, backend.Synapse{Layer: backend.Layer(l), Pre: sy.Pre, Post: sy.Post})
		}
	default:
		return nil, bad("record.what", "must be whole, synapses, block_means or none, got %q", rc.What)
	}
	return pl, nil
}

// populations resolves plasticity.populations into pl.pops and pl.popNames.
// eiHidden is the hidden layer's E/I mask (post, pre), if any.
func (pl *PlasticityPlan) populations(s *Spec, p Populations, eiHidden []float64) error {
	bad := func(format string, args ...any) error {
		return &Error{Field: "plasticity.populations", Reason: fmt.Sprintf(format, args...)}
	}
	N := s.Dims[1]
	pops := make([]uint8, N)
	var names []string
	intern := func(name string) (uint8, error) {
		if name == "" || name == "all" || name == "none" {
			return 0, bad("%q cannot name a population", name)
		}
		k := indexOf(names, name)
		if k < 0 {
			if len(names) == 64 {
				return 0, bad("at most 64 populations")
			}
			names = append(names, name)
			k = len(names) - 1
		}
		return uint8(k), nil
	}
	switch {
	case p.Blocks != nil:
		at := 0
		for _, b := range p.Blocks {
			if b.Size < 1 {
				return bad("block %s has size %d; sizes must be ≥ 1", b.Name, b.Size)
			}
			k, err := intern(b.Name)
			if err != nil {
				return err
			}
			for i := at; i < at+b.Size && i < N; i++ {
				pops[i] = k
			}
			at += b.Size
		}
		if at != N {
			return bad("the blocks hold %d units, the network has %d", at, N)
		}
	case p.Names != nil:
		if len(p.Names) != N {
			return bad("has %d names, want one per hidden unit (%d)", len(p.Names), N)
		}
		for i, n := range p.Names {
			k, err := intern(n)
			if err != nil {
				return err
			}
			pops[i] = k
		}
	default:
		switch p.From {
		case "", "none":
			pl.PopNames = []string{"all"}
			return nil
		case "ei", "areas", "areas_ei":
		default:
			return bad("must be none, ei, areas, areas_ei, a list of one name per unit, or blocks {name, size}; got %q", p.From)
		}
		g, err := s.UnitGroups()
		if err != nil {
			return err
		}
		var exc []bool
		if p.From != "areas" {
			switch {
			case g != nil && len(g.Excitatory) == N:
				exc = g.Excitatory
			case eiHidden != nil:
				exc = make([]bool, N)
				for j := 0; j < N; j++ {
					exc[j] = eiHidden[j] > 0 // column j, row 0: presynaptic unit j
					for i := 1; i < N; i++ {
						if (eiHidden[i*N+j] > 0) != exc[j] {
							return bad("ei: the hidden E/I mask gives unit %d both signs; populations need one per unit", j)
						}
					}
				}
			default:
				return bad("%s needs E/I populations: a multi_area_ei structure or ei_masks.hidden", p.From)
			}
		}
		area := make([]int, N)
		var areaNames []string
		if p.From != "ei" {
			if g == nil || len(g.Areas) == 0 {
				return bad("%s needs areas: a multi_area or multi_area_ei structure", p.From)
			}
			for i := range area {
				area[i] = -1
			}
			for a, ar := range g.Areas {
				areaNames = append(areaNames, ar.Name)
				for _, u := range ar.Units {
					area[u] = a
				}
			}
			for i, a := range area {
				if a < 0 {
					return bad("unit %d is in no area", i)
				}
			}
		}
		// Names in a fixed order: areas (E before I), or E, I.
		switch p.From {
		case "ei":
			names = []string{"E", "I"}
		case "areas":
			names = areaNames
		default:
			for _, a := range areaNames {
				names = append(names, a+".E", a+".I")
			}
		}
		if len(names) > 64 {
			return bad("%d populations; at most 64", len(names))
		}
		for i := 0; i < N; i++ {
			k := 0
			switch p.From {
			case "ei":
				if !exc[i] {
					k = 1
				}
			case "areas":
				k = area[i]
			default:
				k = 2 * area[i]
				if !exc[i] {
					k++
				}
			}
			pops[i] = uint8(k)
		}
	}
	pl.Pops, pl.PopNames = pops, names
	return nil
}

// rulePlan resolves one rule of connection l (backend.Layer order).
func (s *Spec) rulePlan(rs *RuleSpec, field string, l int, sel func(string, PopSelection, bool) (uint64, error)) (backend.Rule[float64], error) {
	bad := func(f, format string, args ...any) error {
		ff := "plasticity." + field
		if f != "" {
			ff += "." + f
		}
		return &Error{Field: ff, Reason: fmt.Sprintf(format, args...)}
	}
	var r backend.Rule[float64]
	kind, err := backend.ParseRuleKind(rs.Rule)
	if err != nil {
		return r, bad("rule", "must be hebbian, bcm, oja or covariance, got %q", rs.Rule)
	}
	r.Kind = kind
	only := func(set bool, key string, kinds ...backend.RuleKind) error {
		if !set {
			return nil
		}
		for _, k := range kinds {
			if k == kind {
				return nil
			}
		}
		return bad(key, "is not a parameter of %s (it belongs to %v)", kind, kinds)
	}
	for _, c := range []struct {
		set   bool
		key   string
		kinds []backend.RuleKind
	}{
		{rs.PreWeight != nil, "pre_weight", []backend.RuleKind{backend.Hebbian}},
		{rs.PostWeight != nil, "post_weight", []backend.RuleKind{backend.Hebbian}},
		{rs.DivideByTheta != nil, "divide_by_theta", []backend.RuleKind{backend.BCM}},
		{rs.Threshold != nil, "threshold", []backend.RuleKind{backend.BCM}},
		{rs.Mean != nil, "mean", []backend.RuleKind{backend.Covariance}},
	} {
		if err := only(c.set, c.key, c.kinds...); err != nil {
			return r, err
		}
	}
	if rs.Eta == nil || !finite(*rs.Eta) || *rs.Eta < 0 {
		return r, bad("eta", "give the learning rate η ≥ 0 (the change per step is dt·η·ΔW)")
	}
	r.Rate = []float64{s.Dt * *rs.Eta}
	if r.PrePops, err = sel(field+".pre", rs.Pre, false); err != nil {
		return r, err
	}
	if r.PostPops, err = sel(field+".post", rs.Post, false); err != nil {
		return r, err
	}
	if l == int(backend.LayerInput) && r.PrePops != 0 {
		return r, bad("pre", "inputs have no populations: the input connection's pre must be all")
	}
	if l == int(backend.LayerReadout) && r.PostPops != 0 {
		return r, bad("post", "outputs have no populations: the readout connection's post must be all")
	}
	switch rs.Presynaptic {
	case "", "rate":
	case "input":
		if l == int(backend.LayerInput) {
			return r, bad("presynaptic", "input is for the recurrent and readout connections (the input connection's presynaptic factor is the input already)")
		}
		if s.Dims[0] != s.Dims[1] {
			return r, bad("presynaptic", "input needs one input per hidden unit (input j is unit j's stimulus), but dims are %v", s.Dims)
		}
		r.PreInput = true
	default:
		return r, bad("presynaptic", "must be rate or input, got %q", rs.Presynaptic)
	}
	num := func(p *float64, def float64, key string) (float64, error) {
		if p == nil {
			return def, nil
		}
		if !finite(*p) {
			return 0, bad(key, "must be finite, got %v", *p)
		}
		return *p, nil
	}
	if r.PreWeight, err = num(rs.PreWeight, 1, "pre_weight"); err != nil {
		return r, err
	}
	if r.PostWeight, err = num(rs.PostWeight, 1, "post_weight"); err != nil {
		return r, err
	}
	r.DivideByTheta = rs.DivideByTheta != nil && *rs.DivideByTheta
	avg := rs.Threshold
	avgKey := "threshold"
	if kind == backend.Covariance {
		avg, avgKey = rs.Mean, "mean"
	}
	if kind == backend.BCM || kind == backend.Covariance {
		if avg == nil {
			return r, bad(avgKey, "%s needs %s: {tau: MS[, init: X]} (exponential average) or {window: STEPS}", kind, avgKey)
		}
		switch {
		case avg.Tau != nil && avg.Window != nil:
			return r, bad(avgKey, "give tau (ms) or window (steps), not both")
		case avg.Window != nil:
			if *avg.Window < 1 {
				return r, bad(avgKey+".window", "must be ≥ 1 step, got %d", *avg.Window)
			}
			if avg.Init != nil {
				return r, bad(avgKey+".init", "belongs to tau: a window average has no initial value")
			}
			r.Average.Window = *avg.Window
		case avg.Tau != nil:
			if !finite(*avg.Tau) || *avg.Tau < s.Dt {
				return r, bad(avgKey+".tau", "must be ≥ dt = %v ms, got %v", s.Dt, *avg.Tau)
			}
			r.Average.Coef = s.Dt / *avg.Tau
			if r.Average.Init, err = num(avg.Init, 0, avgKey+".init"); err != nil {
				return r, err
			}
		default:
			return r, bad(avgKey, "give tau (ms) or window (steps)")
		}
	}
	if r.SoftBound, err = num(rs.WBound, 0, "w_bound"); err != nil {
		return r, err
	}
	if r.SoftBound < 0 {
		return r, bad("w_bound", "must be ≥ 0 (0: no soft bound), got %v", r.SoftBound)
	}
	if p := rs.Prior; p != nil {
		if !finite(p.Lambda) || p.Lambda < 0 {
			return r, bad("prior.lambda", "must be a finite number ≥ 0, got %v", p.Lambda)
		}
		if p.Ratio != nil && p.Type != "elastic_net" {
			return r, bad("prior.ratio", "belongs to elastic_net, not %q", p.Type)
		}
		switch p.Type {
		case "l1":
			r.L1 = p.Lambda
		case "l2":
			r.L2 = p.Lambda
		case "elastic_net":
			rho := 0.5
			if p.Ratio != nil {
				rho = *p.Ratio
			}
			if !finite(rho) || rho < 0 || rho > 1 {
				return r, bad("prior.ratio", "must be in [0, 1], got %v", rho)
			}
			r.L1, r.L2 = p.Lambda*rho, p.Lambda*(1-rho)/2
		default:
			return r, bad("prior.type", "must be l1, l2 or elastic_net, got %q", p.Type)
		}
	}
	if sv := rs.SignValue; sv != nil {
		switch *sv {
		case -1:
		case 1:
			r.Negate = true
		default:
			return r, bad("sign_value", "must be -1 (strengthen correlated synapses, ngc-learn's usual) or 1, got %v", *sv)
		}
	}
	r.FlipInhibitory = rs.FlipInhibitory != nil && *rs.FlipInhibitory
	if o := rs.Optimizer; o != nil {
		switch o.Type {
		case "sgd":
			if o.Beta1 != nil || o.Beta2 != nil || o.Epsilon != nil {
				return r, bad("optimizer", "beta1, beta2 and epsilon belong to adam")
			}
		case "adam":
			r.Optimizer = backend.Adam
			if r.Beta1, err = num(o.Beta1, 0.9, "optimizer.beta1"); err != nil {
				return r, err
			}
			if r.Beta2, err = num(o.Beta2, 0.999, "optimizer.beta2"); err != nil {
				return r, err
			}
			if r.Epsilon, err = num(o.Epsilon, 1e-8, "optimizer.epsilon"); err != nil {
				return r, err
			}
			if r.Beta1 < 0 || r.Beta1 >= 1 || r.Beta2 < 0 || r.Beta2 >= 1 {
				return r, bad("optimizer", "adam needs 0 ≤ beta1, beta2 < 1, got %v, %v", r.Beta1, r.Beta2)
			}
			if r.Epsilon <= 0 {
				return r, bad("optimizer.epsilon", "must be > 0, got %v", r.Epsilon)
			}
		default:
			return r, bad("optimizer", "must be sgd or adam, got %q", o.Type)
		}
	}
	return r, nil
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}
