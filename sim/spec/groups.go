package spec

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/connect"
)

// Group is a named group of hidden units (`groups:`). Units are laid out
// group after group in the order listed; Shape (optional, e.g. [C, H, W])
// gives the geometry conv and distance connections use, and its product
// must equal Size when both are given.
type Group struct {
	Name  string `yaml:"name" json:"name"`
	Size  int    `yaml:"size,omitempty" json:"size,omitempty"`
	Shape []int  `yaml:"shape,omitempty" json:"shape,omitempty"`
}

// Connection is one entry of `connections:`: From is a group name or
// "input", To a group name or "output", Type a sim/connect type, and every
// other key a parameter of that type (decoded strictly: unknown keys are
// refused).
type Connection struct {
	From   string         `yaml:"from" json:"from"`
	To     string         `yaml:"to" json:"to"`
	Type   string         `yaml:"type" json:"type"`
	Params map[string]any `yaml:",inline" json:"params,omitempty"`
}

// Placed is a validated connection: its builder, the groups it joins and
// where they lie. Layer is 0 (from input), 1 (recurrent) or 2 (to output);
// PreOff/PostOff are the offsets of the pre and post groups inside the
// layer's pre (inputs or hidden units) and post (hidden units or outputs).
type Placed struct {
	Index    int
	From, To string
	// DelaySteps is the connection's synaptic delay in steps (recurrent
	// connections only; 0 = none).
	DelaySteps int
	// Form is how the connection's synapses should run: "auto" (the
	// default: CSR when its density is below connect.SparseBelow), "dense"
	// or "sparse" (`form:`). A target group runs its drive sparse when
	// every connection into it does (sim/network.DriveForm).
	Form            string
	Builder         connect.Connection
	Pre, Post       connect.Group
	Layer           int
	PreOff, PostOff int
}

// GroupsSize is the number of hidden units the groups hold.
func (m *Model) GroupsSize() int {
	n := 0
	for _, g := range m.Groups {
		n += g.units()
	}
	return n
}

func (g Group) units() int {
	if g.Size > 0 {
		return g.Size
	}
	return connect.Group{Shape: g.Shape}.Size()
}

func (g Group) shape() []int {
	if len(g.Shape) > 0 {
		return g.Shape
	}
	return []int{g.Size}
}

// PlaceConnections validates groups: and connections: against dims and
// returns the connections in list order. Errors name the field with its
// list index (connections[2].kernel_size).
func (s *Spec) PlaceConnections() ([]Placed, error) {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if len(s.Groups) == 0 {
		if len(s.Connections) > 0 {
			return nil, bad("connections", "need groups: to connect")
		}
		if s.InputShape != nil {
			return nil, bad("input_shape", "is for a spec with groups:")
		}
		if s.InputGroups != nil {
			return nil, bad("input_groups", "is for a spec with groups:")
		}
		return nil, nil
	}
	if s.Structure != nil {
		return nil, bad("structure", "a spec with groups: wires its layers by connections:, not by structure")
	}
	for l := 0; l < 3; l++ {
		if s.SparsityMasks.PerLayer()[l] != nil || s.EIMasks.PerLayer()[l] != nil {
			return nil, bad("groups", "a spec with groups: takes no sparsity_masks or ei_masks (its connections give the structure)")
		}
	}
	where := map[string][2]int{}   // hidden group name → offset, index
	inWhere := map[string][2]int{} // input group name → offset, index
	if err := placeGroups(s.Groups, "groups", where, nil); err != nil {
		return nil, err
	}
	if err := placeGroups(s.InputGroups, "input_groups", inWhere, where); err != nil {
		return nil, err
	}
	I, O := s.Dims[0], s.Dims[2]
	inShape := []int{I}
	if s.InputGroups != nil {
		if s.InputShape != nil {
			return nil, bad("input_shape", "give input_shape or input_groups (each with its own shape), not both")
		}
		n := 0
		for _, g := range s.InputGroups {
			n += g.units()
		}
		if n != I {
			return nil, bad("input_groups", "the input groups hold %d inputs, dims[0] is %d", n, I)
		}
	}
	if s.InputShape != nil {
		if n := (connect.Group{Shape: s.InputShape}).Size(); n != I || len(s.InputShape) > 3 {
			return nil, bad("input_shape", "%v holds %d inputs, dims[0] is %d", s.InputShape, n, I)
		}
		inShape = s.InputShape
	}
	var out []Placed
	for c, cn := range s.Connections {
		f := fmt.Sprintf("connections[%d]", c)
		p := Placed{Index: c, From: cn.From, To: cn.To}
		if w, ok := inWhere[cn.From]; ok {
			p.Layer, p.PreOff, p.Pre = 0, w[0], connect.Group{Shape: s.InputGroups[w[1]].shape()}
		} else {
			switch cn.From {
			case "input":
				if I == 0 {
					return nil, bad(f+".from", "the network has no inputs (dims[0] = 0)")
				}
				p.Layer, p.Pre = 0, connect.Group{Shape: inShape}
			case "output":
				return nil, bad(f+".from", "output is only a target")
			default:
				w, ok := where[cn.From]
				if !ok {
					return nil, bad(f+".from", "no group %q (%s)", cn.From, sourceNames(s))
				}
				p.Layer, p.PreOff, p.Pre = 1, w[0], connect.Group{Shape: s.Groups[w[1]].shape()}
			}
		}
		switch cn.To {
		case "output":
			if p.Layer == 0 {
				return nil, bad(f+".to", "an input cannot drive the readout directly")
			}
			if O == 0 {
				return nil, bad(f+".to", "the network has no outputs (dims[2] = 0)")
			}
			p.Layer, p.Post = 2, connect.Units(O)
		case "input":
			return nil, bad(f+".to", "input is only a source")
		default:
			w, ok := where[cn.To]
			if !ok {
				if _, isInput := inWhere[cn.To]; isInput {
					return nil, bad(f+".to", "%q is an input group, only a source", cn.To)
				}
				return nil, bad(f+".to", "no group %q (groups, output)", cn.To)
			}
			p.PostOff, p.Post = w[0], connect.Group{Shape: s.Groups[w[1]].shape()}
		}
		b, err := connect.New(cn.Type)
		if err != nil {
			return nil, connErr(f, err)
		}
		if _, ok := cn.Params["delay"]; ok {
			return nil, bad(f+".delay", "give delay_ms (milliseconds) or delay_steps (whole steps)")
		}
		params := map[string]any{}
		for k, v := range cn.Params {
			params[k] = v
		}
		if v, ok := params["delay_ms"]; ok {
			d, err := delaySteps(v, s.Dt)
			if err != nil {
				return nil, bad(f+".delay_ms", "%v", err)
			}
			if _, both := params["delay_steps"]; both {
				return nil, bad(f+".delay_ms", "give delay_ms or delay_steps, not both")
			}
			params["delay_steps"] = d
			delete(params, "delay_ms")
		}
		if v, ok := params["delay_steps"]; ok {
			d, isInt := v.(int)
			if !isInt || d < 0 || d > backend.MaxDelay {
				return nil, bad(f+".delay_steps", "must be a whole number in 0 … %d, got %v", backend.MaxDelay, v)
			}
			if p.Layer != 1 {
				return nil, bad(f+".delay_steps", "only recurrent connections (group → group) have delays")
			}
			p.DelaySteps = d
			delete(params, "delay_steps")
		}
		p.Form = "auto"
		if v, ok := params["form"]; ok {
			form, _ := v.(string)
			switch form {
			case "auto", "dense", "sparse":
			default:
				return nil, bad(f+".form", "must be auto, dense or sparse, got %v", v)
			}
			if p.Layer == 2 && form != "auto" {
				return nil, bad(f+".form", "the readout always runs dense; form is for connections into groups")
			}
			p.Form = form
			delete(params, "form")
		}
		if len(params) > 0 {
			data, _ := yaml.Marshal(params)
			var n yaml.Node
			if err := yaml.Unmarshal(data, &n); err == nil {
				if err := checkWhole(&n, reflect.TypeOf(b), ""); err != nil {
					return nil, bad(joinField(f, err.field), "%s", err.reason)
				}
			}
			dec := yaml.NewDecoder(bytes.NewReader(data))
			dec.KnownFields(true)
			if err := dec.Decode(b); err != nil {
				return nil, bad(f, "%s parameters: %s", cn.Type, yamlReason(err, nil))
			}
		}
		if err := b.Check(p.Pre, p.Post); err != nil {
			return nil, connErr(f, err)
		}
		p.Builder = b
		out = append(out, p)
	}
	return out, nil
}

// placeGroups checks the groups of one list (field names the list) and
// records name → (offset, index) in where; other holds names already
// taken by the other list.
func placeGroups(groups []Group, field string, where, other map[string][2]int) error {
	off := 0
	for k, g := range groups {
		f := fmt.Sprintf("%s[%d]", field, k)
		if g.Name == "" || g.Name == "input" || g.Name == "output" {
			return &Error{Field: f + ".name", Reason: fmt.Sprintf("a group needs a name other than input and output, got %q", g.Name)}
		}
		if _, dup := where[g.Name]; dup {
			return &Error{Field: f + ".name", Reason: fmt.Sprintf("group %q is listed twice", g.Name)}
		}
		if _, dup := other[g.Name]; dup {
			return &Error{Field: f + ".name", Reason: fmt.Sprintf("%q names a hidden group too; names must differ", g.Name)}
		}
		for _, d := range g.Shape {
			if d < 1 {
				return &Error{Field: f + ".shape", Reason: fmt.Sprintf("dimensions must be ≥ 1, got %v", g.Shape)}
			}
		}
		if len(g.Shape) > 3 {
			return &Error{Field: f + ".shape", Reason: fmt.Sprintf("at most 3 dimensions (channels, height, width), got %v", g.Shape)}
		}
		n := connect.Group{Shape: g.Shape}.Size()
		switch {
		case g.Size < 0 || g.Size == 0 && len(g.Shape) == 0:
			return &Error{Field: f + ".size", Reason: "give a size ≥ 1 or a shape"}
		case g.Size > 0 && len(g.Shape) > 0 && g.Size != n:
			return &Error{Field: f + ".size", Reason: fmt.Sprintf("size %d disagrees with shape %v (%d units)", g.Size, g.Shape, n)}
		}
		where[g.Name] = [2]int{off, k}
		off += g.units()
	}
	return nil
}

// sourceNames lists what a connection may come from, for errors.
func sourceNames(s *Spec) string {
	if len(s.InputGroups) == 0 {
		return "groups, input"
	}
	return "groups, input groups, input"
}

// delaySteps converts a delay in ms to whole steps of dt ms: ms/dt rounded
// to the nearest integer, accepted only when ms/dt is within a relative
// 1e-9 of it, so that decimal delays behave as written (1.3 ms at dt
// 0.1 ms is 13 steps, although 1.3/0.1 is 12.999999999999998 in floating
// point; SPAIC truncates its float32 quotient and makes it 12). A delay
// that is not a whole number of steps is refused rather than rounded.
func delaySteps(v any, dt float64) (int, error) {
	var ms float64
	switch x := v.(type) {
	case int:
		ms = float64(x)
	case float64:
		ms = x
	default:
		return 0, fmt.Errorf("must be a number of milliseconds, got %v", v)
	}
	if !(ms >= 0) || math.IsInf(ms, 0) {
		return 0, fmt.Errorf("must be ≥ 0 ms, got %v", v)
	}
	steps := ms / dt
	d := math.Round(steps)
	if math.Abs(steps-d) > 1e-9*math.Max(1, d) {
		return 0, fmt.Errorf("%v ms is %.6g steps of dt = %v ms, not a whole number: give a multiple of dt, or delay_steps", ms, steps, dt)
	}
	if d > backend.MaxDelay {
		return 0, fmt.Errorf("%v ms is %v steps; at most %d", ms, d, backend.MaxDelay)
	}
	return int(d), nil
}

func connErr(f string, err error) error {
	var pe *connect.ParamError
	if errors.As(err, &pe) {
		return &Error{Field: f + "." + pe.Param, Reason: pe.Reason}
	}
	return &Error{Field: f, Reason: err.Error()}
}

// ConnectionRandom is connection c's randomness: host streams
// StreamConnections + c·connect.NumConnStreams on, so adding a connection
// never changes another's weights.
func ConnectionRandom(seed uint64, c int) connect.Random {
	return connect.HostRandom(seed, StreamConnections+c*connect.NumConnStreams)
}
