package fit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/circuit"
	"github.com/ratesim/ratesim/sim/spec"
)

// circuitFit is what a fit over a circuit model (its base a circuit file
// or Circuit, a built-in circuit) keeps: the base circuit's YAML text, the
// name its relative paths are read against, and the objective.
type circuitFit struct {
	name string // the base's file name (ParseCircuit's name)
	text []byte
	// objective: metric l5_loss, formula corrected (default) or l5.
	objective circuitObjective
	noted     bool // the backend's fallback note was printed
}

// circuitObjective is a circuit fit's objective as written.
type circuitObjective struct {
	// Metric is l5_loss: the layer-5 model's tuning loss (l5.md §8;
	// sim.CircuitLoss) against the circuit's analysis.w_compare.
	Metric string `yaml:"metric" json:"metric"`
	// Formula is corrected (true block means, the "before" window that
	// ends where learning starts) or l5 (the original's own formula).
	Formula string `yaml:"formula" json:"formula"`
}

// loadCircuitBase reads a fit's circuit base when it has one: Circuit (a
// built-in circuit), a base path naming a circuit file (relative to the
// fit file), or an inline base with a circuit: key. It returns nil for a
// spec base.
func loadCircuitBase(ft *Fit) (*circuitFit, error) {
	f := &ft.Spec
	switch {
	case f.Circuit != "":
		if f.Base.Kind != 0 || f.Example != "" {
			return nil, fmt.Errorf("%s: field circuit: give circuit, base or example, not two of them", ft.File)
		}
		data, err := spec.BuiltInCircuits.Read(f.Circuit)
		if err != nil {
			return nil, fmt.Errorf("%s: field circuit: %v", ft.File, err)
		}
		return &circuitFit{name: f.Circuit + ".yaml", text: data}, nil
	case f.Base.Kind == yaml.ScalarNode:
		path := f.Base.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(ft.File), path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			// The sweep's base reader reports a missing file with its own words.
			return nil, nil
		}
		if !spec.IsCircuit(data) {
			return nil, nil
		}
		return &circuitFit{name: path, text: data}, nil
	case f.Base.Kind == yaml.MappingNode:
		data, err := yaml.Marshal(&f.Base)
		if err != nil {
			return nil, fmt.Errorf("%s: field base: %v", ft.File, err)
		}
		if !spec.IsCircuit(data) {
			return nil, nil
		}
		return &circuitFit{name: ft.File, text: data}, nil
	}
	return nil, nil
}

// parseObjective checks a circuit fit's objective and sets ft.Metric's
// names from it (the picture's and meta.json's).
func (cf *circuitFit) parseObjective(ft *Fit) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: field objective (line %d): %s", ft.File, ft.line("objective"), fmt.Sprintf(format, args...))
	}
	var o circuitObjective
	if err := ft.Spec.Objective.Decode(&o); err != nil {
		return bad("%v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	for i := 0; i+1 < len(ft.Spec.Objective.Content); i += 2 {
		if k := ft.Spec.Objective.Content[i].Value; k != "metric" && k != "formula" {
			return bad("a circuit fit's objective has metric and formula, not %s", k)
		}
	}
	if o.Metric != "l5_loss" {
		return bad("a circuit fit minimizes metric l5_loss (the layer-5 model's tuning loss), got %q", o.Metric)
	}
	switch o.Formula {
	case "":
		o.Formula = "corrected"
	case "corrected", "l5":
	default:
		return bad("formula must be corrected or l5, got %q", o.Formula)
	}
	cf.objective = o
	ft.Metric.Kind, ft.Metric.Of = o.Metric, o.Formula
	return nil
}

// pathStep is one step of a field path: a key, then an optional index.
var pathStep = regexp.MustCompile(`^([a-z_]+)(?:\[(\d+)\])?$`)

// setPath sets the field path (stimulus.amplitude[0], plasticity.tau_learn)
// of the YAML mapping doc to x. The field must be written in the base
// (a fit changes values, it does not add fields); a list field given
// without an index (dynamics.tau: [0.1]) has every element set.
func setPath(doc *yaml.Node, path string, x float64) error {
	n := doc
	steps := strings.Split(path, ".")
	for si, st := range steps {
		m := pathStep.FindStringSubmatch(st)
		if m == nil {
			return fmt.Errorf("%q is not a field path (key.key[index])", path)
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: %s is not a mapping", path, strings.Join(steps[:si], "."))
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == m[1] {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return fmt.Errorf("%s: the base circuit has no field %s", path, strings.Join(append(steps[:si:si], m[1]), "."))
		}
		if m[2] != "" {
			i, _ := strconv.Atoi(m[2])
			if next.Kind != yaml.SequenceNode || i >= len(next.Content) {
				return fmt.Errorf("%s: %s has no element %d", path, m[1], i)
			}
			next = next.Content[i]
		}
		n = next
	}
	scalar := func(n *yaml.Node) { *n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: formatFloat(x)} }
	switch n.Kind {
	case yaml.ScalarNode:
		scalar(n)
	case yaml.SequenceNode:
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return fmt.Errorf("%s is a list of lists; name one element", path)
			}
			scalar(e)
		}
	default:
		return fmt.Errorf("%s is not a number or a list of numbers", path)
	}
	return nil
}

// circuits builds the circuits of points (values in the order of the
// parameters; a factor_of parameter's value times its reference's), each
// with its YAML text, as `ratesim run` reads it.
func (cf *circuitFit) circuits(ft *Fit, points [][]float64) ([]*spec.Circuit, [][]byte, error) {
	var cs []*spec.Circuit
	var texts [][]byte
	for _, pt := range points {
		var doc yaml.Node
		if err := yaml.Unmarshal(cf.text, &doc); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", cf.name, err)
		}
		root := doc.Content[0]
		for i, p := range ft.Spec.Parameters {
			if err := setPath(root, p.Path, ft.FieldValue(pt, i)); err != nil {
				return nil, nil, fmt.Errorf("%s: field parameters[%d].path: %v", ft.File, i, err)
			}
		}
		absNetworkFile(root, filepath.Dir(cf.name))
		data, err := yaml.Marshal(&doc)
		if err != nil {
			return nil, nil, err
		}
		c, err := spec.ParseCircuit(cf.name, data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: a point of the fit makes an invalid circuit: %w", ft.File, err)
		}
		cs, texts = append(cs, c), append(texts, data)
	}
	return cs, texts, nil
}

// evaluate runs a generation of circuits and returns each point's loss
// and status. Points that differ only in circuit.BatchFields run as the
// instances of one program per network (sim.SimulateCircuits); others in
// groups of equal batch keys. A point whose run goes non-finite gets
// status non-finite and a NaN loss, and its group runs again without it.
func (cf *circuitFit) evaluate(ctx context.Context, ft *Fit, cs []*spec.Circuit, backendName string, progress io.Writer) (loss []float64, status []string, programs int, name string, err error) {
	loss, status = make([]float64, len(cs)), make([]string, len(cs))
	if backendName != "" {
		for _, c := range cs {
			c.Backend = backendName
		}
	}
	b, note, err := sim.CircuitBackend(cs[0])
	if err != nil {
		return nil, nil, 0, "", err
	}
	if note != "" && progress != nil && !cf.noted {
		fmt.Fprintf(progress, "ratesim: %s\n", note)
		cf.noted = true
	}
	var groups [][]int
	keys := map[string]int{}
	for k, c := range cs {
		key := circuit.BatchKey(c)
		g, ok := keys[key]
		if !ok {
			g = len(groups)
			keys[key] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], k)
	}
	for _, members := range groups {
		for len(members) > 0 {
			batch := make([]*spec.Circuit, len(members))
			for i, k := range members {
				batch[i] = cs[k]
			}
			res, err := sim.SimulateCircuits(ctx, batch, b, progress)
			programs += cs[0].Networks
			var nf *backend.NonFiniteError
			if errors.As(err, &nf) && nf.Instance >= 0 && nf.Instance < len(members) {
				bad := members[nf.Instance]
				loss[bad], status[bad] = math.NaN(), "non-finite: "+nf.Error()
				members = append(members[:nf.Instance:nf.Instance], members[nf.Instance+1:]...)
				continue
			}
			if err != nil {
				return nil, nil, 0, "", err
			}
			for i, k := range members {
				l, err := sim.CircuitLoss(res[i], cf.objective.Formula == "l5")
				if err != nil {
					return nil, nil, 0, "", err
				}
				loss[k], status[k] = l, "ok"
				if math.IsNaN(l) {
					status[k] = "no loss (the circuit needs the four directions and analysis.w_compare)"
				}
			}
			members = nil
		}
	}
	return loss, status, programs, b.Name(), nil
}

// absNetworkFile makes a relative network.file of the circuit document
// absolute (against dir, the base's directory), so a point's YAML (best.yaml)
// runs from wherever it is written.
func absNetworkFile(doc *yaml.Node, dir string) {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "network" || doc.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		m := doc.Content[i+1]
		for j := 0; j+1 < len(m.Content); j += 2 {
			if f := m.Content[j+1]; m.Content[j].Value == "file" && f.Kind == yaml.ScalarNode && !filepath.IsAbs(f.Value) {
				if abs, err := filepath.Abs(filepath.Join(dir, f.Value)); err == nil {
					f.Value = abs
				}
			}
		}
	}
}
