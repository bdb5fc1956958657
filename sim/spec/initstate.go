package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/npz"
)

// InitState is the initial state v₀ (r₀ = f(v₀)): zero, one value per unit
// (Values), an array (Array) shaped (N,) — the same for every trial — or
// (trials, N), or From, the directory of an earlier run whose result.npz
// final_state (trials, N) is carried over. A relative From is relative to
// the spec file's directory, like array paths.
type InitState struct {
	Zero   bool
	Values []float64
	Array  *ArrayRef
	From   string
}

// UnmarshalYAML accepts zero, a list of numbers, {file: PATH[, key: NAME]}
// or {from: DIR}.
func (s *InitState) UnmarshalYAML(n *yaml.Node) error {
	const want = `"zero", a list of one number per unit, {file: PATH[, key: NAME]} or {from: RUN_DIR}`
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "zero" {
			return fmt.Errorf("line %d: must be %s, got %q", n.Line, want, n.Value)
		}
		*s = InitState{Zero: true}
		return nil
	case yaml.SequenceNode:
		var v []float64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: must be %s", n.Line, want)
		}
		if v == nil {
			v = []float64{}
		}
		*s = InitState{Values: v}
		return nil
	case yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Value == "from" {
			v := n.Content[1]
			if v.Kind != yaml.ScalarNode || v.Value == "" || v.Tag == "!!null" {
				return fmt.Errorf("line %d: from: must name a run directory (holding result.npz)", v.Line)
			}
			*s = InitState{From: v.Value}
			return nil
		}
		r, err := decodeArrayRef(n)
		if err != nil {
			return fmt.Errorf("%v; init_state must be %s", err, want)
		}
		*s = InitState{Array: r}
		return nil
	}
	return fmt.Errorf("line %d: must be %s", n.Line, want)
}

func (s InitState) plain() any {
	switch {
	case s.Array != nil:
		return s.Array
	case s.From != "":
		return map[string]string{"from": s.From}
	case s.Values != nil:
		return s.Values
	}
	return "zero"
}

func (s InitState) MarshalYAML() (any, error) { return s.plain(), nil }

func (s InitState) MarshalJSON() ([]byte, error) { return json.Marshal(s.plain()) }

func (s *InitState) UnmarshalJSON(data []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil || len(n.Content) == 0 {
		return fmt.Errorf("bad init_state %s", data)
	}
	return s.UnmarshalYAML(n.Content[0])
}

// resolve returns v₀ as N values (every trial) or trials×N values, or nil
// for zero.
func (s InitState) resolve(dir string, trials, units int) ([]float64, error) {
	switch {
	case s.Values != nil:
		if len(s.Values) != units {
			return nil, fmt.Errorf("has %d values, want one per hidden unit (%d)", len(s.Values), units)
		}
		for i, x := range s.Values {
			if !finite(x) {
				return nil, fmt.Errorf("value %d is %v; initial states must be finite", i, x)
			}
		}
		return append([]float64(nil), s.Values...), nil
	case s.Array != nil:
		a, err := s.Array.load(dir, initShape(s.Array.String(), trials, units))
		if err != nil {
			return nil, err
		}
		return fitInitState(s.Array.String(), a.values, a.shape, trials, units, false)
	case s.From != "":
		runDir := s.From
		if !filepath.IsAbs(runDir) && dir != "" {
			runDir = filepath.Join(dir, runDir)
		}
		ref := &ArrayRef{File: filepath.Join(runDir, "result.npz"), Key: "final_state"}
		a, err := ref.load("", initShape(ref.String(), trials, units))
		if err != nil {
			return nil, fmt.Errorf("from %s: %v", s.From, err)
		}
		return fitInitState(ref.String(), a.values, a.shape, trials, units, false)
	}
	return nil, nil
}

// fitInitState checks that an initial-state array is (units,) or
// (trials, units). With broadcast, (units,) is repeated for every trial;
// otherwise it is returned as is (N values mean "every trial").
func fitInitState(name string, vals []float64, shape []int, trials, units int, broadcast bool) ([]float64, error) {
	switch {
	case shapeIs(shape, units):
		if !broadcast {
			return vals, nil
		}
		out := make([]float64, 0, trials*units)
		for b := 0; b < trials; b++ {
			out = append(out, vals...)
		}
		return out, nil
	case shapeIs(shape, trials, units):
		return vals, nil
	}
	return nil, fmt.Errorf("%s: initial state shaped %s, want (%d, %d) (trials, units) or (%d,)", name, npz.FormatShape(shape), trials, units, units)
}

// initShape checks an initial state's shape: (units,) or (trials, units).
func initShape(name string, trials, units int) func([]int) error {
	return func(shape []int) error {
		if shapeIs(shape, units) || shapeIs(shape, trials, units) {
			return nil
		}
		return fmt.Errorf("%s: initial state shaped %s, want (%d, %d) (trials, units) or (%d,)", name, npz.FormatShape(shape), trials, units, units)
	}
}

// capMul is a·b for a, b ≥ 0, or the largest int when that overflows.
func capMul(a, b int) int {
	if a > 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}
