package spec

import (
	"math"
	"strings"
	"testing"
)

const groupsBase = `
dims: [64, 82, 2]
input_shape: [1, 8, 8]
groups:
  - {name: V1, shape: [2, 6, 6]}
  - {name: I, size: 10}
`

func TestGroupsErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"connections:\n  - {from: input, to: V1, type: conv, out_channels: 2, kernel_size: [2, 2]}\n", "connections[0].to: conv output is (2, 7, 7), 98 units"},
		{"connections:\n  - {from: input, to: V1, type: bogus}\n", "connections[0].type: unknown connection type \"bogus\""},
		{"connections:\n  - {from: V1, to: V1, type: full, nope: 1}\n", "connections[0]: full parameters"},
		{"connections:\n  - {from: V1, to: I, type: one_to_one}\n", "connections[0].to: one_to_one needs groups of the same size, got from 72 and to 10"},
		{"connections:\n  - {from: V2, to: I, type: full}\n", "connections[0].from: no group \"V2\""},
		{"connections:\n  - {from: I, to: I, type: fixed_in_degree, k: 2.5}\n", "connections[0].k: must be a whole number"},
		{"connections:\n  - {from: I, to: I, type: full, delay: 1ms}\n", "connections[0].delay: give delay_ms (milliseconds) or delay_steps"},
		{"connections:\n  - {from: I, to: I, type: full, delay_ms: 15}\n", "connections[0].delay_ms: 15 ms is 1.5 steps of dt = 10 ms, not a whole number"},
		{"connections:\n  - {from: I, to: I, type: full, delay_ms: -10}\n", "connections[0].delay_ms: must be ≥ 0 ms"},
		{"connections:\n  - {from: I, to: I, type: full, delay_ms: 20, delay_steps: 2}\n", "connections[0].delay_ms: give delay_ms or delay_steps, not both"},
		{"connections:\n  - {from: input, to: V1, type: conv, out_channels: 2, kernel_size: [3, 3], delay_ms: 20}\n", "connections[0].delay_steps: only recurrent connections"},
		{"connections:\n  - {from: input, to: V1, type: conv, out_channels: 2, kernel_size: [3, 3], delay_steps: 2}\n", "connections[0].delay_steps: only recurrent connections"},
		{"connections:\n  - {from: I, to: I, type: full, delay_steps: -1}\n", "connections[0].delay_steps: must be a whole number"},
	} {
		_, err := Parse("g.yaml", []byte(groupsBase+c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "g.yaml: ") {
			t.Errorf("%s: got %v, want …%s…", c.yaml, err, c.want)
		}
	}
	if _, err := Parse("g.yaml", []byte(strings.Replace(groupsBase, "[64, 82, 2]", "[64, 80, 2]", 1))); err == nil || !strings.Contains(err.Error(), "field dims: dims[1] = 80 hidden units but the groups hold 82") {
		t.Errorf("contradicting dims: %v", err)
	}
}

func TestGroupsHiddenSize(t *testing.T) {
	s, err := Parse("g.yaml", []byte("input_shape: [1, 8, 8]\ndims: [64, 82, 1]\ngroups:\n  - {name: V1, shape: [2, 6, 6]}\n  - {name: I, size: 10}\nconnections:\n  - {from: input, to: V1, type: conv, out_channels: 2, kernel_size: [3, 3]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.PlaceConnections()
	if err != nil || len(p) != 1 || p[0].Layer != 0 || p[0].PostOff != 0 {
		t.Fatalf("%v %+v", err, p)
	}
	s, err = Parse("g.yaml", []byte("groups:\n  - {name: A, size: 5}\n  - {name: B, size: 7}\n"))
	if err != nil || s.Dims[1] != 12 {
		t.Fatalf("hidden size from groups: %v %v", err, s.Dims)
	}
}

// Delays in ms become whole steps as written: decimal delays round to the
// step they name (SPAIC's float32 truncation makes 1.3 ms at dt 0.1 ms 12
// steps; here it is 13), and a delay between steps is refused.
func TestDelayStepsFromMs(t *testing.T) {
	for _, c := range []struct {
		ms, dt float64
		want   int
	}{{1.3, 0.1, 13}, {0.3, 0.1, 3}, {0, 0.1, 0}, {20, 10, 2}, {2.5, 0.5, 5}, {0.7, 0.1, 7}} {
		d, err := delaySteps(c.ms, c.dt)
		if err != nil || d != c.want {
			t.Errorf("delaySteps(%v ms, dt %v) = %d, %v; want %d", c.ms, c.dt, d, err, c.want)
		}
	}
	for _, ms := range []float64{0.15, 1.33, math.Inf(1), math.NaN()} {
		if d, err := delaySteps(ms, 0.1); err == nil {
			t.Errorf("delaySteps(%v ms, dt 0.1) = %d, want an error", ms, d)
		}
	}
}
