package sim

import (
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
	}
	return 0
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
