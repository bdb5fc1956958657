package stimulus

import (
	"math"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/dmath"
	"github.com/ratesim/ratesim/sim/spec"
)

// Generator produces the built-in inputs of a spec (its input section),
// chunk by chunk, as [B][n][I] for steps t0+1 … t0+n. Values are computed
// in float64 with deterministic math and rounded once to T, so they are the
// same on every machine.
type Generator struct {
	spec   *spec.Spec
	trials int
	inputs int
}

// NewGenerator returns the generator of s's input section; s must be valid.
func NewGenerator(s *spec.Spec) *Generator {
	return &Generator{spec: s, trials: s.Trials, inputs: s.Dims[0]}
}

// Value is channel c of trial b at step t (1-based).
func (g *Generator) Value(b, t, c int) float64 {
	in := g.spec.Input
	ms := float64(t) * g.spec.Dt
	if ms < in.Onset {
		return 0
	}
	switch in.Type {
	case "constant":
		return in.Amplitude
	case "sine":
		phase := 2 * (ms/in.Period + float64(c)/float64(g.inputs))
		return in.Amplitude * dmath.SinPi(phase)
	case "pulses":
		since := ms - in.Onset
		k := float64(int64(since / in.Period))
		if since-k*in.Period < in.Width {
			return in.Amplitude
		}
		return 0
	case "noise":
		idx := (b*g.spec.Steps+t-1)*g.inputs + c
		return in.Amplitude * backend.HostNormal(g.spec.Seed, spec.StreamInputNoise, idx)
	case "patterns":
		since := ms - in.Onset
		p := math.Floor(since / in.Period)
		if in.Width > 0 && since-p*in.Period >= in.Width {
			return 0
		}
		amp := in.Amplitude
		if amp == 0 {
			amp = 1
		}
		return amp * in.Patterns[g.Pattern(b, p)][c]
	}
	return 0
}

// Pattern is the index of the pattern trial b sees at presentation p
// (a whole number ≥ 0; absurdly many presentations wrap around).
func (g *Generator) Pattern(b int, p float64) int {
	in := g.spec.Input
	P := len(in.Patterns)
	if in.Order != "random" {
		return int(math.Mod(p, float64(P)))
	}
	u := backend.HostUniform(g.spec.Seed, spec.StreamInputPatterns, b<<40|int(math.Mod(p, 1<<40)))
	return min(int(u*float64(P)), P-1)
}

// None reports whether the input is identically zero.
func (g *Generator) None() bool { return g.inputs == 0 || g.spec.Input.Type == "none" }

// Fill writes the inputs of steps t0+1 … t0+n into dst[:B·n·I] and returns
// that slice, or nil when the input is identically zero (see None).
func Fill[T backend.Float](g *Generator, t0, n int, dst []T) []T {
	if g.None() {
		return nil
	}
	I := g.inputs
	dst = dst[:g.trials*n*I]
	for b := 0; b < g.trials; b++ {
		for s := 0; s < n; s++ {
			for c := 0; c < I; c++ {
				dst[(b*n+s)*I+c] = T(g.Value(b, t0+s+1, c))
			}
		}
	}
	return dst
}
