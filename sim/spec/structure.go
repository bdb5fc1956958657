package spec

import (
	"encoding/json"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/connect"
)

// Structure is the spec's `structure:` section: a mask builder of package
// sim/connect and its parameters, with nn4n's names and defaults. It produces
// the sparsity masks of all three layers and, for multi_area_ei, the E/I
// masks of the hidden and readout layers; those layers' masks cannot also be
// given as files.
type Structure struct {
	// Type is multi_area, multi_area_ei, random_input or multi_io.
	Type string `yaml:"type" json:"type"`

	// multi_area and multi_area_ei.
	// Areas is a count of equal areas or a list of sizes (default 2).
	Areas *AreaSizes `yaml:"areas,omitempty" json:"areas,omitempty"`
	// AreaConnectivities is [forward, feedback] or [forward, feedback,
	// within] (within defaults to 1), or an n×n matrix indexed [post][pre]
	// (default [0.1, 0.1]).
	AreaConnectivities *Connectivities `yaml:"area_connectivities,omitempty" json:"area_connectivities,omitempty"`
	// InputAreas and ReadoutAreas are 0-based area indices (default: all).
	InputAreas   []int `yaml:"input_areas,omitempty" json:"input_areas,omitempty"`
	ReadoutAreas []int `yaml:"readout_areas,omitempty" json:"readout_areas,omitempty"`
	// AreaNames name the areas (default nn4n's area_1, area_2, …), e.g. for
	// record.units: {area: NAME}.
	AreaNames []string `yaml:"area_names,omitempty" json:"area_names,omitempty"`

	// multi_area_ei.
	// ExcPct is the excitatory fraction of every area (default 0.8).
	ExcPct *float64 `yaml:"exc_pct,omitempty" json:"exc_pct,omitempty"`
	// InterAreaConnections is [E→E, E→I, I→E, I→I] (default all true).
	InterAreaConnections []bool `yaml:"inter_area_connections,omitempty" json:"inter_area_connections,omitempty"`
	// InhReadout lets inhibitory units feed the readout (default true).
	InhReadout *bool `yaml:"inh_readout,omitempty" json:"inh_readout,omitempty"`

	// random_input (defaults 1, 1, 1, true, as nn4n's code).
	InputSpar   *float64 `yaml:"input_spar,omitempty" json:"input_spar,omitempty"`
	ReadoutSpar *float64 `yaml:"readout_spar,omitempty" json:"readout_spar,omitempty"`
	HiddenSpar  *float64 `yaml:"hidden_spar,omitempty" json:"hidden_spar,omitempty"`
	Overlap     *bool    `yaml:"overlap,omitempty" json:"overlap,omitempty"`

	// multi_io.
	InputDims    []int       `yaml:"input_dims,omitempty" json:"input_dims,omitempty"`
	ReadoutDims  []int       `yaml:"readout_dims,omitempty" json:"readout_dims,omitempty"`
	InputTable   [][]float64 `yaml:"input_table,omitempty" json:"input_table,omitempty"`
	ReadoutTable [][]float64 `yaml:"readout_table,omitempty" json:"readout_table,omitempty"`
}

// AreaSizes is a count of equal areas or a list of area sizes.
type AreaSizes struct {
	Count int
	Sizes []int
}

func (a *AreaSizes) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var s []int
		if err := decodeNode(n, &s); err != nil {
			return fmt.Errorf("line %d: must be a count of areas or a list of area sizes (integers)", n.Line)
		}
		*a = AreaSizes{Sizes: s}
		if s == nil {
			a.Sizes = []int{}
		}
		return nil
	}
	var c int
	if err := decodeNode(n, &c); err != nil {
		return fmt.Errorf("line %d: must be a count of areas or a list of area sizes (integers)", n.Line)
	}
	*a = AreaSizes{Count: c}
	return nil
}

func (a AreaSizes) MarshalYAML() (any, error) {
	if a.Sizes != nil {
		return a.Sizes, nil
	}
	return a.Count, nil
}

func (a AreaSizes) MarshalJSON() ([]byte, error) {
	v, _ := a.MarshalYAML()
	return json.Marshal(v)
}

// Connectivities is [forward, feedback(, within)] or an n×n matrix [post][pre].
type Connectivities struct {
	List   []float64
	Matrix [][]float64
}

func (c *Connectivities) UnmarshalYAML(n *yaml.Node) error {
	bad := fmt.Errorf("line %d: must be [forward, feedback], [forward, feedback, within] or an n×n matrix of densities [post][pre]", n.Line)
	if n.Kind != yaml.SequenceNode {
		return bad
	}
	if len(n.Content) > 0 && n.Content[0].Kind == yaml.SequenceNode {
		var m [][]float64
		if err := n.Decode(&m); err != nil {
			return bad
		}
		*c = Connectivities{Matrix: m}
		return nil
	}
	var l []float64
	if err := n.Decode(&l); err != nil {
		return bad
	}
	*c = Connectivities{List: l}
	return nil
}

func (c Connectivities) MarshalYAML() (any, error) {
	if c.Matrix != nil {
		return c.Matrix, nil
	}
	return c.List, nil
}

func (c Connectivities) MarshalJSON() ([]byte, error) {
	v, _ := c.MarshalYAML()
	return json.Marshal(v)
}

var structureTypes = []string{"multi_area", "multi_area_ei", "random_input", "multi_io"}

// builder checks the section's parameters against its type and returns the
// builder with nn4n's defaults filled in. Errors are *Error naming the
// field structure.PARAM.
func (st *Structure) builder() (connect.Builder, error) {
	bad := func(field, format string, args ...any) error {
		f := "structure"
		if field != "" {
			f += "." + field
		}
		return &Error{Field: f, Reason: fmt.Sprintf(format, args...)}
	}
	if !oneOf(st.Type, structureTypes...) {
		return nil, bad("type", "must be one of %v, got %q", structureTypes, st.Type)
	}
	// Which parameters each type takes.
	given := []struct {
		name  string
		set   bool
		types []string
	}{
		{"areas", st.Areas != nil, []string{"multi_area", "multi_area_ei"}},
		{"area_connectivities", st.AreaConnectivities != nil, []string{"multi_area", "multi_area_ei"}},
		{"input_areas", st.InputAreas != nil, []string{"multi_area", "multi_area_ei"}},
		{"readout_areas", st.ReadoutAreas != nil, []string{"multi_area", "multi_area_ei"}},
		{"area_names", st.AreaNames != nil, []string{"multi_area", "multi_area_ei"}},
		{"exc_pct", st.ExcPct != nil, []string{"multi_area_ei"}},
		{"inter_area_connections", st.InterAreaConnections != nil, []string{"multi_area_ei"}},
		{"inh_readout", st.InhReadout != nil, []string{"multi_area_ei"}},
		{"input_spar", st.InputSpar != nil, []string{"random_input"}},
		{"readout_spar", st.ReadoutSpar != nil, []string{"random_input"}},
		{"hidden_spar", st.HiddenSpar != nil, []string{"random_input"}},
		{"overlap", st.Overlap != nil, []string{"random_input"}},
		{"input_dims", st.InputDims != nil, []string{"multi_io"}},
		{"readout_dims", st.ReadoutDims != nil, []string{"multi_io"}},
		{"input_table", st.InputTable != nil, []string{"multi_io"}},
		{"readout_table", st.ReadoutTable != nil, []string{"multi_io"}},
	}
	for _, g := range given {
		if g.set && !oneOf(st.Type, g.types...) {
			return nil, bad(g.name, "is a parameter of %v, not of %s", g.types, st.Type)
		}
	}
	f := func(p *float64, def float64) float64 {
		if p == nil {
			return def
		}
		return *p
	}
	b := func(p *bool, def bool) bool {
		if p == nil {
			return def
		}
		return *p
	}
	switch st.Type {
	case "multi_area", "multi_area_ei":
		ma := connect.MultiArea{Count: 2, Forward: 0.1, Feedback: 0.1, Within: 1,
			InputAreas: st.InputAreas, ReadoutAreas: st.ReadoutAreas, Names: st.AreaNames}
		if a := st.Areas; a != nil {
			ma.Count, ma.Sizes = a.Count, a.Sizes
		}
		if c := st.AreaConnectivities; c != nil {
			switch {
			case c.Matrix != nil:
				ma.Connectivity = c.Matrix
			case len(c.List) == 2:
				ma.Forward, ma.Feedback = c.List[0], c.List[1]
			case len(c.List) == 3:
				ma.Forward, ma.Feedback, ma.Within = c.List[0], c.List[1], c.List[2]
			default:
				return nil, bad("area_connectivities", "a list must be [forward, feedback] or [forward, feedback, within], got %d values", len(c.List))
			}
		}
		if st.Type == "multi_area" {
			return ma, nil
		}
		ei := connect.MultiAreaEI{MultiArea: ma, ExcPct: f(st.ExcPct, 0.8), InterArea: [4]bool{true, true, true, true},
			InhReadout: b(st.InhReadout, true)}
		if c := st.InterAreaConnections; c != nil {
			if len(c) != 4 {
				return nil, bad("inter_area_connections", "must be 4 booleans [E→E, E→I, I→E, I→I], got %d", len(c))
			}
			copy(ei.InterArea[:], c)
		}
		return ei, nil
	case "random_input":
		return connect.RandomInput{InputSpar: f(st.InputSpar, 1), ReadoutSpar: f(st.ReadoutSpar, 1),
			HiddenSpar: f(st.HiddenSpar, 1), Overlap: b(st.Overlap, true)}, nil
	default: // multi_io
		return connect.MultiIO{InputDims: st.InputDims, ReadoutDims: st.ReadoutDims,
			InputTable: st.InputTable, ReadoutTable: st.ReadoutTable}, nil
	}
}

// check validates the parameters against the network's size without drawing
// anything.
func (st *Structure) check(d connect.Dims) error {
	bld, err := st.builder()
	if err != nil {
		return err
	}
	if err := bld.Check(d); err != nil {
		return structureErr(err)
	}
	return nil
}

func structureErr(err error) error {
	var pe *connect.ParamError
	if errors.As(err, &pe) {
		return &Error{Field: "structure." + pe.Param, Reason: pe.Reason}
	}
	return &Error{Field: "structure", Reason: err.Error()}
}

// UnitGroups answers record.units' and plasticity.populations' questions
// about areas and E/I populations from the structure section (nil when
// there is none); it draws only what choosing units needs, not the masks.
func (s *Spec) UnitGroups() (*UnitGroups, error) {
	st := s.Structure
	if st == nil || len(s.Dims) != 3 {
		return nil, nil
	}
	bld, err := st.builder()
	if err != nil {
		return nil, err
	}
	areas, exc, err := bld.Groups(connect.Dims{Inputs: s.Dims[0], Hidden: s.Dims[1], Outputs: s.Dims[2]}, maskSource(s.Seed))
	if err != nil {
		return nil, structureErr(err)
	}
	if areas == nil && exc == nil {
		return nil, nil
	}
	g := &UnitGroups{Excitatory: exc}
	for _, a := range areas {
		g.Areas = append(g.Areas, UnitArea{Name: a.Name, Units: a.Units})
	}
	return g, nil
}

// maskSource is the builders' randomness: host streams StreamMasks + k.
func maskSource(seed uint64) connect.Source {
	return func(stream, index int) float64 {
		return backend.HostUniform(seed, StreamMasks+stream, index)
	}
}

// BuildMasks draws the structure's masks from the spec's seed.
func (st *Structure) BuildMasks(seed uint64, d connect.Dims) (*connect.Masks, error) {
	bld, err := st.builder()
	if err != nil {
		return nil, err
	}
	m, err := bld.Build(d, maskSource(seed))
	if err != nil {
		return nil, structureErr(err)
	}
	return m, nil
}

func (a *AreaSizes) UnmarshalJSON(data []byte) error {
	return viaYAML(data, a.UnmarshalYAML)
}

func (c *Connectivities) UnmarshalJSON(data []byte) error {
	return viaYAML(data, c.UnmarshalYAML)
}

// viaYAML decodes JSON (a subset of YAML) with a type's YAML decoder.
func viaYAML(data []byte, dec func(*yaml.Node) error) error {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil || len(n.Content) == 0 {
		return fmt.Errorf("cannot decode %s", data)
	}
	return dec(n.Content[0])
}
