package fit

import (
	"context"
	"embed"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

//go:embed examples/*.yaml
var examples embed.FS

// Examples lists the built-in example fits.
func Examples() []string { return builtIn.Names() }

// Example returns a built-in example's YAML text.
func Example(name string) ([]byte, error) { return builtIn.Read(name) }

var builtIn = spec.ExampleSet{FS: examples, What: "example fit"}

// PrepareExample writes the example's fit file into dir as NAME.yaml, and
// for a fit over a spec its target: the example's base spec, which holds the true parameter
// values, run once (all outputs, every step) into dir/target.npy, shaped
// (trials, steps, outputs). It returns the loaded fit.
func PrepareExample(ctx context.Context, name, dir, backendName string) (*Fit, error) {
	data, err := Example(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var f File
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name+".yaml")
	if f.Circuit != "" {
		// A circuit fit's target is in its circuit (analysis.w_compare).
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
		return Load(path)
	}
	f.Base.Content = append(f.Base.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "record"},
		&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Value: "rates"}, {Kind: yaml.ScalarNode, Value: "false"},
			{Kind: yaml.ScalarNode, Value: "outputs"}, {Kind: yaml.ScalarNode, Value: "true"},
			{Kind: yaml.ScalarNode, Value: "every"}, {Kind: yaml.ScalarNode, Value: "1"}}})
	truth, err := yaml.Marshal(&f.Base)
	if err != nil {
		return nil, err
	}
	s, err := spec.Parse("example:"+name+" (target)", truth)
	if err != nil {
		return nil, err
	}
	if backendName == "" {
		backendName = s.Backend
	}
	b, err := backend.Lookup(backendName)
	if err != nil {
		return nil, err
	}
	r, err := sim.Simulate[float64](ctx, s, b, sim.Options{})
	if err != nil {
		return nil, err
	}
	if err := npz.WriteNPY(filepath.Join(dir, "target.npy"), npz.Float64, []int{s.Trials, r.Recorded, s.Dims[2]}, r.Outputs); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, err
	}
	return Load(path)
}
