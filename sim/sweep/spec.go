package sweep

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/spec"
)

// File is a sweep spec as written in YAML.
type File struct {
	// Base is the spec every point starts from: a path (relative to the
	// sweep file) or an inline spec mapping. Example names a built-in
	// example instead; exactly one of the two is given.
	Base    yaml.Node `yaml:"base"`
	Example string    `yaml:"example"`
	// Seed seeds the sampled axes (default 1); it is not the points' seed.
	Seed *uint64 `yaml:"seed"`
	Axes []Axis  `yaml:"axes"`
	// Combine is product (default: every combination, the last axis
	// varying fastest) or zip (the i-th value of every axis together).
	Combine string `yaml:"combine"`
	// Repeats runs every combination R times (default 1): repeat r has the
	// seed of its combination plus r.
	Repeats int      `yaml:"repeats"`
	Metrics []Metric `yaml:"metrics"`
	// ChunkPoints caps the points run as one program (0: from memory).
	ChunkPoints int `yaml:"chunk_points"`
	// Record asks for per-point arrays: a spec's record section (rates,
	// states, outputs, every, window or steps, units) applied to every
	// point, written one archive per chunk (see arrays.go).
	Record yaml.Node `yaml:"record"`
	// Slurm are the defaults of `ratesim sweep --slurm` (its flags win).
	// They do not change results, so they are not part of the sweep's
	// Hash.
	Slurm SlurmFile `yaml:"slurm"`
}

// SlurmFile is a sweep's slurm: section: shards (array tasks) and each
// task's resources, as sbatch spells them (e.g. time: "2:00:00").
type SlurmFile struct {
	Shards      int    `yaml:"shards"`
	Partition   string `yaml:"partition"`
	Time        string `yaml:"time"`
	GPUsPerTask string `yaml:"gpus_per_task"`
	CPUsPerTask string `yaml:"cpus_per_task"`
	Mem         string `yaml:"mem"`
}

// Axis is one swept field and its values.
type Axis struct {
	// Path names the spec field: YAML keys joined by dots, with [i] for a
	// list's element (plasticity.recurrent.rules[0].eta).
	Path     string      `yaml:"path"`
	Values   []yaml.Node `yaml:"values"`
	Linspace []float64   `yaml:"linspace"`
	// Logspace [a, b, n]: n values from a to b evenly spaced in log (what
	// numpy calls geomspace; a, b > 0).
	Logspace []float64 `yaml:"logspace"`
	// Sample is uniform, loguniform, normal, lhs (Latin hypercube: one
	// value in each of count equal strata, in random order) or halton
	// (scrambled Halton; halton axes zipped together form one Halton
	// design), with Low, High (Mean, Std for normal) and Count.
	Sample string   `yaml:"sample"`
	Low    *float64 `yaml:"low"`
	High   *float64 `yaml:"high"`
	Mean   *float64 `yaml:"mean"`
	Std    *float64 `yaml:"std"`
	Count  int      `yaml:"count"`
}

// Sweep is a parsed and checked sweep: its points, each a full valid spec.
type Sweep struct {
	File        string // the sweep file's name, for messages
	Text        string // the sweep file as written
	Spec        File
	BaseFile    string // the base spec's path, "" when inline, example:NAME for an example
	Axes        []ResolvedAxis
	Points      []*Point
	Metrics     []ResolvedMetric
	ChunkPoints int
	// Record is the record: section, the per-point arrays written beside
	// the table (arrays.go); nil when there is none.
	Record *spec.Recording
}

// ResolvedAxis is an axis with its values.
type ResolvedAxis struct {
	Path   string
	Values []*yaml.Node
	// Kind is the table column's type: "int", "float" or "string" (values
	// written as YAML flow text).
	Kind string
}

// Point is one spec of the sweep.
type Point struct {
	Index int
	// Values are the axes' values at this point, one per axis.
	Values []*yaml.Node
	Repeat int
	Seed   uint64
	// NoiseInstance is the instance index of the point's noise (its rank
	// among the points it can be packed with; see group).
	NoiseInstance int
	Spec          *spec.Spec
	// YAML is the point's spec as a document `ratesim run` reads.
	YAML []byte
	doc  *yaml.Node
}

// Label is the point's index and axis values, as messages show it.
func (sw *Sweep) Label(p *Point) string {
	var parts []string
	for i, a := range sw.Axes {
		parts = append(parts, a.Path+"="+flow(p.Values[i]))
	}
	if sw.Spec.Repeats > 1 {
		parts = append(parts, fmt.Sprintf("repeat=%d", p.Repeat))
	}
	return fmt.Sprintf("point %d (%s)", p.Index, strings.Join(parts, ", "))
}

// flow is a YAML node as one line of flow text.
func flow(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	c := *n
	setFlow(&c)
	out, err := yaml.Marshal(&c)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func setFlow(n *yaml.Node) {
	n.Style = yaml.FlowStyle
	for i, c := range n.Content {
		cc := *c
		setFlow(&cc)
		n.Content[i] = &cc
	}
}

// Load reads and checks a sweep file: every point is parsed and validated
// as `ratesim run` would.
func Load(path string) (*Sweep, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read sweep: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and checks a sweep spec; name is its file name (relative
// base paths are taken from its directory) and appears in errors.
func Parse(name string, data []byte) (*Sweep, error) {
	sw := &Sweep{File: name, Text: string(data)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sw.Spec); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the sweep is empty; it needs base (or example) and axes", name)
		}
		msg := spec.YAMLReason(err)
		// The only unit selections a sweep file decodes are its metrics'.
		msg = strings.ReplaceAll(msg, "field record.units", "field metrics[].units")
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	f := &sw.Spec
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%s: field %s: %s", name, field, fmt.Sprintf(format, args...))
	}
	base, err := sw.baseDoc(bad)
	if err != nil {
		return nil, err
	}
	switch f.Combine {
	case "":
		f.Combine = "product"
	case "product", "zip":
	default:
		return nil, bad("combine", "must be product or zip, got %q", f.Combine)
	}
	if f.Repeats == 0 {
		f.Repeats = 1
	}
	if f.Repeats < 1 {
		return nil, bad("repeats", "must be ≥ 1, got %d", f.Repeats)
	}
	if f.ChunkPoints < 0 {
		return nil, bad("chunk_points", "must be ≥ 0 (0: chosen from memory), got %d", f.ChunkPoints)
	}
	sw.ChunkPoints = f.ChunkPoints
	seed := uint64(1)
	if f.Seed != nil {
		seed = *f.Seed
	}
	if len(f.Axes) == 0 {
		return nil, bad("axes", "a sweep needs at least one axis")
	}
	seen := map[string]bool{}
	haltons := 0
	for i := range f.Axes {
		a := &f.Axes[i]
		field := fmt.Sprintf("axes[%d]", i)
		if err := checkPath(a.Path); err != nil {
			return nil, bad(field+".path", "%v", err)
		}
		if seen[a.Path] {
			return nil, bad(field+".path", "%s is swept by two axes", a.Path)
		}
		seen[a.Path] = true
		vals, err := axisValues(a, seed, i, &haltons)
		if err != nil {
			return nil, bad(field, "%s: %v", a.Path, err)
		}
		sw.Axes = append(sw.Axes, ResolvedAxis{Path: a.Path, Values: vals, Kind: valuesKind(vals)})
	}
	if f.Combine == "zip" {
		for i, a := range sw.Axes {
			if len(a.Values) != len(sw.Axes[0].Values) {
				return nil, bad(fmt.Sprintf("axes[%d]", i), "combine: zip needs axes of equal length, but %s has %d values and %s has %d",
					a.Path, len(a.Values), sw.Axes[0].Path, len(sw.Axes[0].Values))
			}
		}
	}
	if err := sw.points(base); err != nil {
		return nil, err
	}
	if sw.Metrics, err = resolveMetrics(sw); err != nil {
		return nil, err
	}
	if sw.Record, err = recordingOf(sw); err != nil {
		return nil, err
	}
	group(sw.Points)
	for _, p := range sw.Points {
		p.Spec.NoiseInstance = p.NoiseInstance
		setNoiseInstance(p)
	}
	return sw, nil
}

// baseDoc returns the base spec's YAML document node, and sets BaseFile.
func (sw *Sweep) baseDoc(bad func(field, format string, args ...any) error) (*yaml.Node, error) {
	f := &sw.Spec
	var data []byte
	switch {
	case f.Example != "" && f.Base.Kind != 0:
		return nil, bad("base", "give base or example, not both")
	case f.Example != "":
		var err error
		if data, err = spec.Example(f.Example); err != nil {
			return nil, bad("example", "%v", err)
		}
		sw.BaseFile = "example:" + f.Example
	case f.Base.Kind == yaml.ScalarNode:
		path := f.Base.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(sw.File), path)
		}
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, bad("base", "cannot read the base spec: %v", err)
		}
		sw.BaseFile = path
	case f.Base.Kind == yaml.MappingNode:
		doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{&f.Base}}
		return doc, nil
	case f.Base.Kind == 0:
		return nil, bad("base", "missing: give a spec path, an inline spec or example: NAME")
	default:
		return nil, bad("base", "must be a spec path or an inline spec mapping")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, bad("base", "%s: %v", sw.BaseFile, err)
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return nil, bad("base", "%s is not a spec mapping", sw.BaseFile)
	}
	return &doc, nil
}

// specName is the name each point's spec is parsed under: relative array
// paths in it are read from that name's directory.
func (sw *Sweep) specName() string {
	if sw.BaseFile == "" || strings.HasPrefix(sw.BaseFile, "example:") {
		return sw.File
	}
	return sw.BaseFile
}

// points builds and parses every point.
func (sw *Sweep) points(base *yaml.Node) error {
	if n, ok := lookup(base.Content[0], "noise_instance"); ok && n != nil {
		return fmt.Errorf("%s: base spec: noise_instance is set by the sweep (each point's own), remove it", sw.File)
	}
	combos := 1
	if sw.Spec.Combine == "zip" {
		combos = len(sw.Axes[0].Values)
	} else {
		for _, a := range sw.Axes {
			combos *= len(a.Values)
		}
	}
	for c := 0; c < combos; c++ {
		vals := make([]*yaml.Node, len(sw.Axes))
		rest := c
		for i := len(sw.Axes) - 1; i >= 0; i-- {
			a := sw.Axes[i]
			if sw.Spec.Combine == "zip" {
				vals[i] = a.Values[c]
				continue
			}
			vals[i] = a.Values[rest%len(a.Values)]
			rest /= len(a.Values)
		}
		for r := 0; r < sw.Spec.Repeats; r++ {
			p := &Point{Index: len(sw.Points), Values: vals, Repeat: r}
			if err := sw.buildPoint(base, p); err != nil {
				return err
			}
			sw.Points = append(sw.Points, p)
		}
	}
	return nil
}

// buildPoint sets the point's values into a copy of the base document,
// gives it its seed and parses it.
func (sw *Sweep) buildPoint(base *yaml.Node, p *Point) error {
	doc := clone(base)
	where := sw.File + ": " + sw.Label(p)
	for i, a := range sw.Axes {
		if err := set(doc.Content[0], a.Path, p.Values[i]); err != nil {
			return fmt.Errorf("%s: axis %s: %v", where, a.Path, err)
		}
	}
	seed := spec.Defaults().Seed
	if n, ok := lookup(doc.Content[0], "seed"); ok && n != nil {
		v, err := strconv.ParseUint(n.Value, 0, 64)
		if err != nil || n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: field seed: %q is not a whole number ≥ 0", where, flow(n))
		}
		seed = v
	}
	if uint64(p.Repeat) > math.MaxUint64-seed {
		return fmt.Errorf("%s: field seed: seed %d + repeat %d overflows", where, seed, p.Repeat)
	}
	p.Seed = seed + uint64(p.Repeat)
	if p.Repeat > 0 || sw.hasAxis("seed") {
		scalar := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(p.Seed, 10)}
		if err := set(doc.Content[0], "seed", scalar); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	s, err := spec.Parse(sw.specName(), data)
	if err != nil {
		var se *spec.Error
		if errors.As(err, &se) {
			se.File = where
			return se
		}
		return fmt.Errorf("%s: %v", where, err)
	}
	p.Spec, p.YAML, p.doc = s, data, doc
	return nil
}

func (sw *Sweep) hasAxis(path string) bool {
	for _, a := range sw.Axes {
		if a.Path == path {
			return true
		}
	}
	return false
}

// setNoiseInstance writes the point's noise instance into its YAML.
func setNoiseInstance(p *Point) {
	if p.NoiseInstance == 0 {
		return
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(p.NoiseInstance)}
	if err := set(p.doc.Content[0], "noise_instance", n); err != nil {
		panic(err) // a top-level key of a mapping can always be set
	}
	data, err := yaml.Marshal(p.doc)
	if err != nil {
		panic(err)
	}
	p.YAML = data
}

// valuesKind is the column type of an axis's values.
func valuesKind(vals []*yaml.Node) string {
	kind := "int"
	for _, v := range vals {
		if v.Kind != yaml.ScalarNode {
			return "string"
		}
		switch v.ShortTag() {
		case "!!int":
		case "!!float":
			kind = "float"
		default:
			return "string"
		}
	}
	return kind
}

//go:embed examples/*.yaml
var examples embed.FS

// Examples lists the built-in example sweeps.
func Examples() []string { return builtIn.Names() }

// Example returns a built-in example's YAML text.
func Example(name string) ([]byte, error) { return builtIn.Read(name) }

var builtIn = spec.ExampleSet{FS: examples, What: "example sweep"}

// LoadExample parses a built-in sweep.
func LoadExample(name string) (*Sweep, error) {
	data, err := Example(name)
	if err != nil {
		return nil, err
	}
	return Parse("example:"+name, data)
}
