package spec

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
)

//go:embed examples/*.yaml
var examples embed.FS

// DefaultExample is the network `ratesim run` runs with no spec.
const DefaultExample = "ctrnn"

// Examples lists the names of the built-in example specs.
func Examples() []string { return builtInSpecs.Names() }

// Example returns a built-in spec's YAML text.
func Example(name string) ([]byte, error) { return builtInSpecs.Read(name) }

var builtInSpecs = ExampleSet{FS: examples, What: "example"}

// ExampleSet is a set of built-in YAML files, examples/NAME.yaml in an
// embedded file system: the example specs here, and the example sweeps and
// fits of sim/sweep and sim/fit.
type ExampleSet struct {
	FS embed.FS
	// What names one example in errors ("example sweep").
	What string
	// Dir is the folder of the files in FS ("" means examples).
	Dir string
}

func (e ExampleSet) dir() string {
	if e.Dir == "" {
		return "examples"
	}
	return e.Dir
}

// Names lists the set's examples, sorted.
func (e ExampleSet) Names() []string {
	entries, _ := e.FS.ReadDir(e.dir())
	var names []string
	for _, f := range entries {
		names = append(names, strings.TrimSuffix(f.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Read returns example name's YAML text; an unknown name is an error that
// lists the set.
func (e ExampleSet) Read(name string) ([]byte, error) {
	data, err := e.FS.ReadFile(path.Join(e.dir(), name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("no built-in %s %q (the examples are %s)", e.What, name, strings.Join(e.Names(), ", "))
	}
	return data, nil
}

// LoadExample parses a built-in spec.
func LoadExample(name string) (*Spec, error) {
	data, err := Example(name)
	if err != nil {
		return nil, err
	}
	return Parse("example:"+name, data)
}
