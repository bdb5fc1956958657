package fit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/sweep"
)

// File is a fit spec as written in YAML.
type File struct {
	// Base is the spec every evaluation starts from, as a sweep's base: a
	// path (relative to the fit file) or an inline spec; Example names a
	// built-in spec example instead.
	Base    yaml.Node `yaml:"base"`
	Example string    `yaml:"example"`
	// Circuit names a built-in circuit model (ratesim examples) as the
	// base; a base file or inline base with a circuit: key is one too.
	// A circuit fit's parameters are the circuit's fields and its
	// objective {metric: l5_loss, formula: corrected | l5}.
	Circuit    string      `yaml:"circuit"`
	Parameters []Parameter `yaml:"parameters"`
	// Objective is one sweep metric (see sweep.Metric), minimized.
	Objective yaml.Node `yaml:"objective"`
	// Optimizer is cmaes (default), random or lhs.
	Optimizer string `yaml:"optimizer"`
	// Budget is the most evaluations (points) run, whole generations only.
	Budget int `yaml:"budget"`
	// Population is the generation size: the points run as one batched
	// program (default: CMA-ES's 4 + ⌊3 ln d⌋, at least 8 for random/lhs).
	Population int `yaml:"population"`
	// Seed seeds the optimizer's sampling (default 1); not the model's seed.
	Seed *uint64 `yaml:"seed"`
}

// Parameter is one fitted spec field with its bounds.
type Parameter struct {
	// Path names a float spec field as a sweep axis does (tau,
	// input.amplitude, plasticity.recurrent.rules[0].eta).
	Path string   `yaml:"path" json:"path"`
	Low  *float64 `yaml:"low" json:"low"`
	High *float64 `yaml:"high" json:"high"`
	// Scale is linear (default) or log (low > 0): the unit coordinate maps
	// to the log of the value.
	Scale string `yaml:"scale" json:"scale"`
	// FactorOf names another fitted parameter: this one's value (between
	// low and high) is a factor, and the field is set to factor × that
	// parameter's value — L5's τ_θ = fac·τ_learn. The history records the
	// factor.
	FactorOf string `yaml:"factor_of" json:"factor_of,omitempty"`
}

// Fit is a parsed and checked fit spec.
type Fit struct {
	File   string // the fit file's name: relative paths are read from its directory
	Text   string
	Spec   File
	Metric sweep.Metric
	Seed   uint64
	root   *yaml.Node
	// circuit is set for a fit over a circuit model.
	circuit *circuitFit
}

// Load reads and checks a fit file.
func Load(path string) (*Fit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read fit spec: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and checks a fit spec. Every error names the file, the
// field and, where the field is written, its line. The base and the
// objective are checked by building a sweep of two points, all parameters
// at their lows and all at their highs, so a fit is refused before any
// evaluation when either end of a bound makes an invalid spec.
func Parse(name string, data []byte) (*Fit, error) {
	ft := &Fit{File: name, Text: string(data)}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: the fit spec is empty; it needs base (or example), parameters and objective", name)
	}
	ft.root = root.Content[0]
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&ft.Spec); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s", name, spec.YAMLReason(err))
	}
	f := &ft.Spec
	bad := func(line int, field, format string, args ...any) error {
		where := ""
		if line > 0 {
			where = fmt.Sprintf(" (line %d)", line)
		}
		return fmt.Errorf("%s: field %s%s: %s", name, field, where, fmt.Sprintf(format, args...))
	}
	switch f.Optimizer {
	case "":
		f.Optimizer = "cmaes"
	case "cmaes", "cmaes-gonum", "random", "lhs":
	default:
		return nil, bad(ft.line("optimizer"), "optimizer", "must be cmaes, cmaes-gonum, random or lhs, got %q", f.Optimizer)
	}
	if len(f.Parameters) == 0 {
		return nil, bad(ft.line("parameters"), "parameters", "a fit needs at least one parameter ({path: tau, low: 10, high: 500, scale: log})")
	}
	seen := map[string]bool{}
	for i := range f.Parameters {
		p := &f.Parameters[i]
		field := fmt.Sprintf("parameters[%d]", i)
		line := ft.line("parameters", i)
		switch {
		case p.Path == "":
			return nil, bad(line, field+".path", "missing")
		case seen[p.Path]:
			return nil, bad(line, field+".path", "%s is fitted twice", p.Path)
		case p.Low == nil || p.High == nil:
			return nil, bad(line, field, "%s needs low and high", p.Path)
		case !finite(*p.Low) || !finite(*p.High) || !(*p.Low < *p.High):
			return nil, bad(line, field, "%s: low < high, both finite, got low %v, high %v", p.Path, *p.Low, *p.High)
		}
		seen[p.Path] = true
		switch p.Scale {
		case "":
			p.Scale = "linear"
		case "linear":
		case "log":
			if *p.Low <= 0 {
				return nil, bad(line, field+".low", "%s: scale: log needs low > 0, got %v", p.Path, *p.Low)
			}
		default:
			return nil, bad(line, field+".scale", "%s: must be linear or log, got %q", p.Path, p.Scale)
		}
	}
	for i, p := range f.Parameters {
		if p.FactorOf == "" {
			continue
		}
		field := fmt.Sprintf("parameters[%d].factor_of", i)
		j := ft.paramIndex(p.FactorOf)
		switch {
		case j < 0:
			return nil, bad(ft.line("parameters", i), field, "%s is not a fitted parameter (factor_of names another parameter's path)", p.FactorOf)
		case j == i || f.Parameters[j].FactorOf != "":
			return nil, bad(ft.line("parameters", i), field, "%s is itself a factor: factor_of names a parameter with a value of its own", p.FactorOf)
		}
	}
	if f.Objective.Kind != yaml.MappingNode {
		return nil, bad(ft.line("objective"), "objective", "give one metric, e.g. {metric: mse, of: outputs, target: {file: target.npy}}")
	}
	cf, err := loadCircuitBase(ft)
	if err != nil {
		return nil, err
	}
	if cf != nil {
		if err := cf.parseObjective(ft); err != nil {
			return nil, err
		}
		ft.circuit = cf
	} else if f.Circuit != "" {
		return nil, bad(ft.line("circuit"), "circuit", "%q is not a built-in circuit", f.Circuit)
	} else if err := f.Objective.Decode(&ft.Metric); err != nil {
		return nil, bad(ft.line("objective"), "objective", "%v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if f.Budget <= 0 {
		return nil, bad(ft.line("budget"), "budget", "must be ≥ 1 evaluations, got %d", f.Budget)
	}
	if f.Population < 0 {
		return nil, bad(ft.line("population"), "population", "must be ≥ 1 (0: the default), got %d", f.Population)
	}
	if f.Population == 0 {
		f.Population = 4 + int(3*math.Log(float64(len(f.Parameters))))
		if !strings.HasPrefix(f.Optimizer, "cmaes") {
			f.Population = max(f.Population, 8)
		}
	}
	if strings.HasPrefix(f.Optimizer, "cmaes") && f.Population < 2 {
		return nil, bad(ft.line("population"), "population", "%s needs at least 2, got %d", f.Optimizer, f.Population)
	}
	if f.Budget < f.Population {
		return nil, bad(ft.line("budget"), "budget", "%d is less than one generation of %d", f.Budget, f.Population)
	}
	ft.Seed = 1
	if f.Seed != nil {
		ft.Seed = *f.Seed
	}
	lows, highs := make([]float64, len(f.Parameters)), make([]float64, len(f.Parameters))
	for i, p := range f.Parameters {
		lows[i], highs[i] = *p.Low, *p.High
	}
	if ft.circuit != nil {
		if _, _, err := ft.circuit.circuits(ft, [][]float64{lows, highs}); err != nil {
			return nil, err
		}
		return ft, nil
	}
	if _, err := ft.Sweep([][]float64{lows, highs}); err != nil {
		return nil, err
	}
	return ft, nil
}

// paramIndex is the index of the parameter with path, or −1.
func (ft *Fit) paramIndex(path string) int {
	for i, p := range ft.Spec.Parameters {
		if p.Path == path {
			return i
		}
	}
	return -1
}

// FieldValue is the value parameter i sets its field to at point pt: its
// own value, or with FactorOf that value times the other parameter's.
func (ft *Fit) FieldValue(pt []float64, i int) float64 {
	p := ft.Spec.Parameters[i]
	if p.FactorOf == "" {
		return pt[i]
	}
	return pt[i] * pt[ft.paramIndex(p.FactorOf)]
}

// IsCircuit reports whether the fit is over a circuit model.
func (ft *Fit) IsCircuit() bool { return ft.circuit != nil }

// line is the line of a top-level key's value, or of its i-th element.
func (ft *Fit) line(key string, index ...int) int {
	m := ft.root
	if m == nil || m.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		if len(index) > 0 && v.Kind == yaml.SequenceNode && index[0] < len(v.Content) {
			return v.Content[index[0]].Line
		}
		return m.Content[i].Line
	}
	return 0
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Value maps a unit coordinate u ∈ [0, 1] to parameter p's value: low +
// u·(high − low), or for scale log exp(ln low + u·(ln high − ln low)). u = 0
// gives low and u = 1 high exactly.
func (p *Parameter) Value(u float64) float64 {
	lo, hi := *p.Low, *p.High
	switch {
	case u <= 0:
		return lo
	case u >= 1:
		return hi
	case p.Scale == "log":
		return math.Exp(math.Log(lo) + u*(math.Log(hi)-math.Log(lo)))
	}
	return lo + u*(hi-lo)
}

// Fold maps CMA-ES's unbounded coordinate z to the unit interval by
// reflection at 0 and 1 (a triangle wave of period 2): z itself on [0, 1],
// 2 − z on [1, 2], and so on. It is continuous and bounded, and inside
// [0, 1] it does not distort the search distribution.
func Fold(z float64) float64 {
	if !finite(z) {
		return 0.5
	}
	m := math.Mod(math.Abs(z), 2)
	if m > 1 {
		m = 2 - m
	}
	return m
}

// Sweep is the sweep of the given points (each a list of parameter
// values, in the order of parameters) zipped as one axis per parameter,
// with the objective as its only metric, sized to run as one chunk: the
// generation is one batched program. Its errors name the fit file and its
// fields (axes are the parameters, the metric the objective).
func (ft *Fit) Sweep(points [][]float64) (*sweep.Sweep, error) {
	f := &ft.Spec
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	doc := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { doc.Content = append(doc.Content, str(k), v) }
	if f.Example != "" {
		add("example", str(f.Example))
	}
	if f.Base.Kind != 0 {
		add("base", &f.Base)
	}
	axes := &yaml.Node{Kind: yaml.SequenceNode}
	for i, p := range f.Parameters {
		vals := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, x := range points {
			vals.Content = append(vals.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: formatFloat(ft.FieldValue(x, i))})
		}
		axes.Content = append(axes.Content, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("path"), str(p.Path), str("values"), vals}})
	}
	add("axes", axes)
	add("combine", str("zip"))
	add("metrics", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{&f.Objective}})
	add("chunk_points", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(len(points))})
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", ft.File, err)
	}
	sw, err := sweep.Parse(ft.File, data)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "field axes[", "field parameters[")
		msg = strings.ReplaceAll(msg, "field metrics[0]", "field objective")
		msg = strings.ReplaceAll(msg, "field metrics[].", "field objective.")
		return nil, errors.New(msg)
	}
	return sw, nil
}

// formatFloat is x in Go's shortest round-trip form, which YAML reads back
// to the same bits.
func formatFloat(x float64) string {
	s := fmt.Sprint(x)
	switch s {
	case "+Inf":
		return ".inf"
	case "-Inf":
		return "-.inf"
	case "NaN":
		return ".nan"
	}
	return s
}
