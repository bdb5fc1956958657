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
func Examples() []string {
	entries, _ := examples.ReadDir("examples")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Example returns a built-in spec's YAML text.
func Example(name string) ([]byte, error) {
	data, err := examples.ReadFile(path.Join("examples", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("no built-in example %q (the examples are %s)", name, strings.Join(Examples(), ", "))
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
