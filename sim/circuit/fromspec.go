package circuit

import (
	"fmt"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/spec"
)

// l5RuleNames maps a circuit file's rule names to L5's learning_rule.
var l5RuleNames = map[string]string{"none": "None", "bcm": "BCM", "slide_bcm": "Slide_BCM", "l5_oja": "Oja", "covariance": "Cov"}

// FromSpec returns the L5Params a layer-5 circuit file describes (what
// L5Network, L5Run and the analysis take), with L5's names for rules,
// phases and integrators. A circuit with one τ per population differing
// between populations is refused here: L5Params, like the original, has
// one τ.
func FromSpec(c *spec.Circuit) (L5Params, error) {
	bad := func(field, format string, args ...any) error {
		return &spec.Error{File: c.File(), Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	taus := c.Taus()
	for _, t := range taus[1:] {
		if t != taus[0] {
			return L5Params{}, bad("dynamics.tau", "the layer-5 model has one τ for all populations, got %v", taus)
		}
	}
	p := L5Params{
		Dt: c.Dynamics.Dt, Tau: taus[0], StepCount: c.Steps,
		WTarget: c.Connectivity.Weights, Prob: c.Connectivity.Probabilities, WCompare: c.Analysis.WCompare,
		WNoise: c.Connectivity.WeightStd, BlockNoise: c.Connectivity.BlockNoise,
		Normalize:  map[string]string{"max_real": connect.NormalizeMaxReal, "spectral_radius": connect.NormalizeSpectralRadius, "none": connect.NormalizeNone}[c.Connectivity.Normalize],
		Activation: "supralinear", Gamma: 1, Floor: c.Dynamics.Activation.Floor, Ceiling: c.Dynamics.Activation.Ceiling,
		Integrator: map[string]string{"euler": "forward_euler", "rk4": "runge_kutta"}[c.Dynamics.Integrator],
		Degrees:    c.Stimulus.Directions, Amplitude: c.Stimulus.Amplitude, Steady: c.Stimulus.Steady,
		SpatialF: c.Stimulus.SpatialFrequency, TemporalF: c.Stimulus.TemporalFrequency, SpatialPhase: c.Stimulus.SpatialPhase,
		GratingForm: c.Stimulus.Form, L5Compat: c.Stimulus.L5Compat,
		Sims: c.Networks, BinWidth: c.Analysis.BinWidth,
		Rule: "None", Neurons: "all", Phases: []string{"all"},
	}
	for _, name := range c.Connectivity.Randomize {
		for i, q := range c.Populations {
			if q.Name == name {
				p.Randomize = append(p.Randomize, i)
			}
		}
	}
	if p.Steady == nil {
		p.Steady = make([]bool, len(c.Populations))
	}
	if c.Dynamics.Activation.Kind != "supralinear" {
		return L5Params{}, bad("dynamics.activation.kind", "the layer-5 model's activation is supralinear, got %q", c.Dynamics.Activation.Kind)
	}
	for i, sg := range c.Signs() {
		q := c.Populations[i]
		p.Populations = append(p.Populations, connect.Population{Name: q.Name, Size: q.Size, Sign: sg})
	}
	if pl := c.Plasticity; pl != nil {
		p.Rule = l5RuleNames[pl.Rule]
		p.TauLearn, p.TauThreshold, p.Warmup, p.Neurons = pl.TauLearn, pl.TauThreshold, pl.Warmup, pl.Neurons
		p.Phases = nil
		for _, ph := range pl.Phases {
			if ph == "rest" {
				ph = "Rest"
			}
			p.Phases = append(p.Phases, ph)
		}
		if len(p.Phases) == 0 {
			p.Phases = []string{"all"}
		}
	}
	return p, nil
}
