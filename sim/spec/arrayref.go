package spec

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/npz"
)

// ArrayRef names an array in a file, as a spec writes it: {file: PATH} for
// a .npy file, or {file: PATH, key: NAME} for the array NAME inside an .npz
// archive. A relative PATH is relative to the directory of the spec file.
// Arrays may hold any numeric dtype (float32 and float64 in practice); every
// value must be finite.
type ArrayRef struct {
	File string `yaml:"file" json:"file"`
	Key  string `yaml:"key,omitempty" json:"key,omitempty"`

	arr *loadedArray // filled by load, shared by copies of the spec
}

type loadedArray struct {
	path   string
	values []float64
	shape  []int
}

// String is PATH or PATH[KEY], for messages.
func (r *ArrayRef) String() string {
	if r.Key == "" {
		return r.File
	}
	return r.File + "[" + r.Key + "]"
}

// decodeArrayRef reads {file: PATH[, key: NAME]} from a mapping node.
func decodeArrayRef(n *yaml.Node) (*ArrayRef, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: an array reference is {file: PATH} or {file: PATH, key: NAME}", n.Line)
	}
	r := &ArrayRef{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return nil, fmt.Errorf("line %d: %s must be a string", v.Line, k.Value)
		}
		switch k.Value {
		case "file":
			r.File = v.Value
		case "key":
			r.Key = v.Value
		default:
			return nil, fmt.Errorf("line %d: unknown key %q in an array reference (want file and, for an .npz, key)", k.Line, k.Value)
		}
	}
	if r.File == "" {
		return nil, fmt.Errorf("line %d: an array reference needs file: PATH", n.Line)
	}
	return r, nil
}

// load reads the array (once; later calls return the cached values), with
// PATH resolved against dir, and checks that every value is finite. shape
// checks the shape the file's header declares before its data is read, so
// that a wrong (or absurd) shape is refused before what it claims is
// allocated.
func (r *ArrayRef) load(dir string, shape func([]int) error) (*loadedArray, error) {
	if r.arr != nil {
		if err := shape(r.arr.shape); err != nil {
			return nil, err
		}
		return r.arr, nil
	}
	path := r.File
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			err = pe.Err // the path is in the message already; the operation is Go's
		}
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	var a *npz.Array
	tooMany := func(h *npz.Array) error { return shape(h.Shape) }
	if r.Key == "" {
		if strings.HasSuffix(path, ".npz") {
			return nil, fmt.Errorf("%s is an .npz archive: name the array inside it with key: NAME", path)
		}
		var h *npz.Array
		if h, err = npz.ReadNPYHeader(path); err == nil {
			if err = tooMany(h); err == nil {
				a, err = npz.ReadNPY(path)
			}
		}
	} else {
		var ar *npz.Archive
		if ar, err = npz.Open(path); err == nil {
			var h *npz.Array
			if h, err = ar.Header(r.Key); err == nil {
				if err = tooMany(h); err == nil {
					a, err = ar.Array(r.Key)
				}
			}
			ar.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	vals, err := a.Float64s()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", r.describe(path), err)
	}
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: value at index %s is %v; arrays must be finite", r.describe(path), npz.FormatShape(npz.Unravel(i, a.Shape)), v)
		}
	}
	r.arr = &loadedArray{path: path, values: vals, shape: append([]int{}, a.Shape...)}
	return r.arr, nil
}

func (r *ArrayRef) describe(path string) string {
	if r.Key == "" {
		return path
	}
	return fmt.Sprintf("%s: array %q", path, r.Key)
}

// shapeIs reports whether shape equals want.
func shapeIs(shape []int, want ...int) bool {
	if len(shape) != len(want) {
		return false
	}
	for i := range shape {
		if shape[i] != want[i] {
			return false
		}
	}
	return true
}

// PerUnit is a per-unit parameter (tau or alpha): one number for every unit,
// a list of one number per unit, or an array reference holding one number or
// one per unit. The zero value is "not given".
type PerUnit struct {
	Value  float64   // used when Values and Array are nil and Set is true
	Values []float64 // one per unit
	Array  *ArrayRef
	Set    bool
}

// Scalar is a PerUnit of one value for every unit.
func Scalar(v float64) PerUnit { return PerUnit{Value: v, Set: true} }

// IsZero reports whether the parameter was not given.
func (p PerUnit) IsZero() bool { return !p.Set }

func (p *PerUnit) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var v float64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: must be a number, a list of one number per unit, or {file: PATH[, key: NAME]}; got %q", n.Line, n.Value)
		}
		*p = PerUnit{Value: v, Set: true}
	case yaml.SequenceNode:
		var v []float64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: must be a list of numbers, one per unit", n.Line)
		}
		*p = PerUnit{Values: v, Set: true}
	default:
		r, err := decodeArrayRef(n)
		if err != nil {
			return err
		}
		*p = PerUnit{Array: r, Set: true}
	}
	return nil
}

func (p PerUnit) MarshalYAML() (any, error) { return p.plain(), nil }

func (p PerUnit) MarshalJSON() ([]byte, error) { return json.Marshal(p.plain()) }

func (p *PerUnit) UnmarshalJSON(data []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil || len(n.Content) == 0 {
		return fmt.Errorf("bad per-unit value %s", data)
	}
	return p.UnmarshalYAML(n.Content[0])
}

func (p PerUnit) plain() any {
	switch {
	case !p.Set:
		return nil
	case p.Array != nil:
		return p.Array
	case p.Values != nil:
		return p.Values
	}
	return p.Value
}

// resolve gives the n per-unit values, loading an array relative to dir.
func (p PerUnit) resolve(dir string, n int) ([]float64, error) {
	out := make([]float64, n)
	switch {
	case p.Array != nil:
		a, err := p.Array.load(dir, func(shape []int) error {
			size, nonUnit := 1, 0
			for _, d := range shape {
				size = capMul(size, d)
				if d != 1 {
					nonUnit++
				}
			}
			if size != 1 && (size != n || nonUnit > 1) {
				return fmt.Errorf("%s is shaped %s; want one value or one per unit, (%d,)", p.Array, npz.FormatShape(shape), n)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(a.values) == 1 {
			for i := range out {
				out[i] = a.values[0]
			}
		} else {
			copy(out, a.values)
		}
	case p.Values != nil:
		if len(p.Values) != n {
			return nil, fmt.Errorf("has %d values, want one per hidden unit (%d)", len(p.Values), n)
		}
		copy(out, p.Values)
	default:
		for i := range out {
			out[i] = p.Value
		}
	}
	return out, nil
}

// LayerInit initializes one layer's weights or biases: a distribution name
// (Kind) or an array (Array, Kind empty).
type LayerInit struct {
	Kind  string
	Array *ArrayRef
}

func (l LayerInit) plain() any {
	if l.Array != nil {
		return l.Array
	}
	return l.Kind
}

// LayerInits is the initializer of each of the three layers. In YAML it is
// one name for every layer (`weights: normal`) or a mapping
// {input: …, hidden: …, readout: …} whose values are names or array
// references; a layer the mapping leaves out keeps its default.
type LayerInits struct {
	Input, Hidden, Readout LayerInit
}

// AllLayers is the same initializer for every layer.
func AllLayers(kind string) LayerInits {
	l := LayerInit{Kind: kind}
	return LayerInits{Input: l, Hidden: l, Readout: l}
}

// layers lists the layers with their names, in the order input, hidden, readout.
func (l *LayerInits) PerLayer() [3]*LayerInit {
	return [3]*LayerInit{&l.Input, &l.Hidden, &l.Readout}
}

var LayerNames = [3]string{"input", "hidden", "readout"}

func (l *LayerInits) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = AllLayers(n.Value)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: must be one name for every layer or {input: …, hidden: …, readout: …}", n.Line)
	}
	ls := l.PerLayer()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		idx := layerIndex(k.Value)
		if idx < 0 {
			return fmt.Errorf("line %d: unknown layer %q (want input, hidden, readout)", k.Line, k.Value)
		}
		if v.Kind == yaml.ScalarNode {
			*ls[idx] = LayerInit{Kind: v.Value}
			continue
		}
		r, err := decodeArrayRef(v)
		if err != nil {
			return err
		}
		*ls[idx] = LayerInit{Array: r}
	}
	return nil
}

func layerIndex(name string) int {
	for i, n := range LayerNames {
		if n == name {
			return i
		}
	}
	return -1
}

func (l LayerInits) plain() any {
	if l.Input.Array == nil && l.Hidden.Array == nil && l.Readout.Array == nil &&
		l.Input.Kind == l.Hidden.Kind && l.Hidden.Kind == l.Readout.Kind {
		return l.Hidden.Kind
	}
	return map[string]any{"input": l.Input.plain(), "hidden": l.Hidden.plain(), "readout": l.Readout.plain()}
}

func (l LayerInits) MarshalYAML() (any, error) { return l.plain(), nil }

func (l LayerInits) MarshalJSON() ([]byte, error) { return json.Marshal(l.plain()) }

func (l *LayerInits) UnmarshalJSON(data []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil || len(n.Content) == 0 {
		return fmt.Errorf("bad layer initializers %s", data)
	}
	return l.UnmarshalYAML(n.Content[0])
}

// LayerMasks holds an optional mask array per layer, in nn4n's orientation
// (pre, post): input (I, N), hidden (N, N), readout (N, O) — transposed
// relative to the weights.
type LayerMasks struct {
	Input   *ArrayRef `yaml:"input,omitempty" json:"input,omitempty"`
	Hidden  *ArrayRef `yaml:"hidden,omitempty" json:"hidden,omitempty"`
	Readout *ArrayRef `yaml:"readout,omitempty" json:"readout,omitempty"`
}

// IsZero reports whether no layer has a mask.
func (m LayerMasks) IsZero() bool { return m.Input == nil && m.Hidden == nil && m.Readout == nil }

func (m *LayerMasks) PerLayer() [3]*ArrayRef { return [3]*ArrayRef{m.Input, m.Hidden, m.Readout} }

func (m *LayerMasks) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: must be {input: ARRAY, hidden: ARRAY, readout: ARRAY} (any subset), each {file: PATH[, key: NAME]}", n.Line)
	}
	*m = LayerMasks{}
	ptrs := [3]**ArrayRef{&m.Input, &m.Hidden, &m.Readout}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		idx := layerIndex(k.Value)
		if idx < 0 {
			return fmt.Errorf("line %d: unknown layer %q (want input, hidden, readout)", k.Line, k.Value)
		}
		if v.Tag == "!!null" {
			continue
		}
		r, err := decodeArrayRef(v)
		if err != nil {
			return err
		}
		*ptrs[idx] = r
	}
	return nil
}
