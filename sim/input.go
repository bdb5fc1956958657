package sim

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/dmath"
)

// inputGen produces the built-in inputs of a spec, chunk by chunk, as
// [B][n][I] for steps t0+1 … t0+n. Values are computed in float64 with
// deterministic math and rounded once to T, so they are the same on every
// machine.
type inputGen struct {
	spec   *Spec
	trials int
	inputs int
}

func newInputGen(s *Spec) *inputGen {
	return &inputGen{spec: s, trials: s.Trials, inputs: s.Dims[0]}
}

// value is channel c of trial b at step t (1-based).
func (g *inputGen) value(b, t, c int) float64 {
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
		return in.Amplitude * backend.HostNormal(g.spec.Seed, streamInputNoise, idx)
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
		return amp * in.Patterns[g.pattern(b, p)][c]
	}
	return 0
}

// pattern is the index of the pattern trial b sees at presentation p
// (a whole number ≥ 0; absurdly many presentations wrap around).
func (g *inputGen) pattern(b int, p float64) int {
	in := g.spec.Input
	P := len(in.Patterns)
	if in.Order != "random" {
		return int(math.Mod(p, float64(P)))
	}
	u := backend.HostUniform(g.spec.Seed, streamInputPatterns, b<<40|int(math.Mod(p, 1<<40)))
	return min(int(u*float64(P)), P-1)
}

// streamInputPatterns is the host stream of input.order: random.
const streamInputPatterns = streamMasks - 1

// validatePatterns checks the fields of type patterns (and that other types
// do not set them).
func (in *InputSpec) validatePatterns(inputs int) error {
	bad := func(field, format string, args ...any) error {
		return &SpecError{Field: "input." + field, Reason: fmt.Sprintf(format, args...)}
	}
	if in.Type != "patterns" {
		if in.Patterns != nil {
			return bad("patterns", "is for type patterns, not %s", in.Type)
		}
		if in.Order != "" {
			return bad("order", "is for type patterns, not %s", in.Type)
		}
		return nil
	}
	if len(in.Patterns) == 0 {
		return bad("patterns", "type patterns needs a list of input vectors, each of %d values", inputs)
	}
	for k, v := range in.Patterns {
		if len(v) != inputs {
			return bad("patterns", "pattern %d has %d values, want one per input (%d)", k, len(v), inputs)
		}
		for c, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return bad("patterns", "pattern %d, input %d is %v; values must be finite", k, c, x)
			}
		}
	}
	if in.Period <= 0 {
		return bad("period", "must be > 0 ms for patterns (how long each pattern is shown), got %v", in.Period)
	}
	if in.Width < 0 || in.Width > in.Period {
		return bad("width", "must be in [0, period] ms (0: the whole period), got %v", in.Width)
	}
	if !oneOf(in.Order, "", "cycle", "random") {
		return bad("order", "must be cycle or random, got %q", in.Order)
	}
	return nil
}

// none reports whether the input is identically zero.
func (g *inputGen) none() bool { return g.inputs == 0 || g.spec.Input.Type == "none" }

func fillInput[T backend.Float](g *inputGen, t0, n int, dst []T) []T {
	if g.none() {
		return nil
	}
	I := g.inputs
	dst = dst[:g.trials*n*I]
	for b := 0; b < g.trials; b++ {
		for s := 0; s < n; s++ {
			for c := 0; c < I; c++ {
				dst[(b*n+s)*I+c] = T(g.value(b, t0+s+1, c))
			}
		}
	}
	return dst
}
