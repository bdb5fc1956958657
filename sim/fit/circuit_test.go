package fit

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/spec"
)

// circuitFitText is a fit over testdata/l5_small.yaml in L5's search
// space (narrowed), three points a generation.
const circuitFitText = `base: l5_small.yaml
parameters:
  - {path: "stimulus.amplitude[0]", low: 2, high: 12}
  - {path: "stimulus.amplitude[2]", low: 2, high: 12}
  - {path: plasticity.tau_learn, low: 1000, high: 2000}
  - {path: plasticity.tau_threshold, factor_of: plasticity.tau_learn, low: 0.0002, high: 0.001}
  - {path: dynamics.tau, low: 0.08, high: 0.12}
objective: {metric: l5_loss}
optimizer: random
population: 3
budget: 6
seed: 4
`

// writeCircuitFit writes the small circuit, with the old → new text
// replacements given, and a fit text beside it.
func writeCircuitFit(t *testing.T, text string, replace ...string) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/l5_small.yaml")
	require.NoError(t, err)
	data = []byte(strings.NewReplacer(replace...).Replace(string(data)))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "l5_small.yaml"), data, 0o644))
	path := filepath.Join(dir, "fit.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// TestCircuitFit runs a fit over a circuit: each generation is one
// batched program (one network), every point's loss is the loss of its
// circuit (best.yaml's kind of text) run alone, bit for bit, the factor
// parameter sets τ_θ = factor·τ_learn, the outputs are written, and a rerun
// into the same directory replays the whole history.
func TestCircuitFit(t *testing.T) {
	path := writeCircuitFit(t, circuitFitText)
	ft, err := Load(path)
	require.NoError(t, err)
	require.True(t, ft.IsCircuit())
	out := filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), ft, Options{Backend: "cpu", Dir: out})
	require.NoError(t, err)
	require.Len(t, res.History, 6)
	assert.Equal(t, 2, res.Generations)
	assert.Equal(t, 2, res.Programs, "one batched program per generation (one network)")
	assert.Equal(t, "cpu", res.Backend)
	be, err := backend.Lookup("cpu")
	require.NoError(t, err)
	distinct := map[uint64]bool{}
	for _, e := range res.History {
		require.Equal(t, "ok", e.Status, "evaluation %d", e.Index)
		require.False(t, math.IsNaN(e.Loss))
		distinct[math.Float64bits(e.Loss)] = true
		c, err := spec.ParseCircuit(filepath.Join(filepath.Dir(path), "point.yaml"), e.Spec)
		require.NoError(t, err)
		assert.Equal(t, e.Values[0], c.Stimulus.Amplitude[0])
		assert.Equal(t, e.Values[1], c.Stimulus.Amplitude[2])
		assert.Equal(t, e.Values[2], c.Plasticity.TauLearn)
		assert.Equal(t, e.Values[3]*e.Values[2], c.Plasticity.TauThreshold, "τ_θ = factor × τ_learn")
		assert.Equal(t, []float64{e.Values[4]}, c.Dynamics.Tau)
		alone, err := sim.SimulateCircuit(context.Background(), c, be, nil)
		require.NoError(t, err)
		assert.Equal(t, math.Float64bits(alone.Loss), math.Float64bits(e.Loss), "evaluation %d: the batched loss is the point's own", e.Index)
	}
	assert.Len(t, distinct, 6, "the points' losses differ")
	require.NoError(t, Write(out, ft, res))
	for _, f := range []string{"history.parquet", "history.csv", "best.yaml", "fit.png", "meta.json"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	best, err := os.ReadFile(filepath.Join(out, "best.yaml"))
	require.NoError(t, err)
	assert.True(t, spec.IsCircuit(best), "best.yaml is a circuit `ratesim run` reads")

	again, err := Run(context.Background(), ft, Options{Backend: "cpu", Dir: out})
	require.NoError(t, err)
	assert.Equal(t, 2, again.Replayed)
	assert.Equal(t, 0, again.Programs)
	assert.Equal(t, res.Best, again.Best)
	assert.Equal(t, math.Float64bits(res.History[res.Best].Loss), math.Float64bits(again.History[again.Best].Loss))
}

// TestCircuitFitL5Formula: formula l5 minimizes the original's own loss,
// which differs from the corrected one. (The original's "before" window
// is its bins before warmup·dt/τ/width: warm-up 500 makes it 2 bins.)
func TestCircuitFitL5Formula(t *testing.T) {
	text := circuitFitText[:len(circuitFitText)-len("objective: {metric: l5_loss}\noptimizer: random\npopulation: 3\nbudget: 6\nseed: 4\n")] +
		"objective: {metric: l5_loss, formula: l5}\noptimizer: random\npopulation: 3\nbudget: 3\nseed: 4\n"
	ft, err := Load(writeCircuitFit(t, text, "steps: 200", "steps: 700", "warmup: 100", "warmup: 500"))
	require.NoError(t, err)
	res, err := Run(context.Background(), ft, Options{Backend: "cpu"})
	require.NoError(t, err)
	be, err := backend.Lookup("cpu")
	require.NoError(t, err)
	for _, e := range res.History {
		c, err := spec.ParseCircuit(ft.circuit.name, e.Spec)
		require.NoError(t, err)
		alone, err := sim.SimulateCircuit(context.Background(), c, be, nil)
		require.NoError(t, err)
		want, err := sim.CircuitLoss(alone, true)
		require.NoError(t, err)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(e.Loss))
		assert.NotEqual(t, math.Float64bits(alone.Loss), math.Float64bits(e.Loss), "L5's formula is not the corrected one")
	}
}

func TestCircuitFitParseErrors(t *testing.T) {
	par := "parameters:\n  - {path: plasticity.tau_learn, low: 1000, high: 2000}\n"
	obj := "objective: {metric: l5_loss}\n"
	for _, c := range []struct{ name, text, want string }{
		{"unknown circuit", "circuit: l6\n" + par + obj + "budget: 8\n", "field circuit"},
		{"circuit and base", "circuit: l5\nbase: l5_small.yaml\n" + par + obj + "budget: 8\n", "give circuit, base or example"},
		{"metric", "base: l5_small.yaml\n" + par + "objective: {metric: mse}\nbudget: 8\n", "field objective (line 4): a circuit fit minimizes metric l5_loss"},
		{"formula", "base: l5_small.yaml\n" + par + "objective: {metric: l5_loss, formula: l4}\nbudget: 8\n", "formula must be corrected or l5"},
		{"objective key", "base: l5_small.yaml\n" + par + "objective: {metric: l5_loss, of: rates}\nbudget: 8\n", "not of"},
		{"absent field", "base: l5_small.yaml\nparameters:\n  - {path: stimulus.contrast, low: 0, high: 1}\n" + obj + "budget: 8\n",
			"field parameters[0].path: stimulus.contrast: the base circuit has no field stimulus.contrast"},
		{"index", "base: l5_small.yaml\nparameters:\n  - {path: \"stimulus.amplitude[4]\", low: 0, high: 1}\n" + obj + "budget: 8\n",
			"amplitude has no element 4"},
		{"factor of nothing", "base: l5_small.yaml\n" + par + "  - {path: plasticity.tau_threshold, factor_of: plasticity.tau, low: 0.1, high: 1}\n" + obj + "budget: 8\n",
			"field parameters[1].factor_of (line 4): plasticity.tau is not a fitted parameter"},
		{"factor of a factor", "base: l5_small.yaml\n" + par + "  - {path: plasticity.tau_threshold, factor_of: plasticity.tau_threshold, low: 0.1, high: 1}\n" + obj + "budget: 8\n",
			"is itself a factor"},
		{"bound makes an invalid circuit", "base: l5_small.yaml\nparameters:\n  - {path: dynamics.dt, low: -1, high: 0.01}\n" + obj + "budget: 8\n",
			"a point of the fit makes an invalid circuit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeCircuitFit(t, c.text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "fit.yaml")
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestL5TuningExample: the built-in example fit parses as L5's search
// space and its two bounds make valid circuits.
func TestL5TuningExample(t *testing.T) {
	ft, err := PrepareExample(context.Background(), "l5_tuning", t.TempDir(), "cpu")
	require.NoError(t, err)
	require.True(t, ft.IsCircuit())
	require.Len(t, ft.Spec.Parameters, 6)
	cs, _, err := ft.circuit.circuits(ft, [][]float64{{1, 2, 3, 4, 1500, 0.5}})
	require.NoError(t, err)
	c := cs[0]
	assert.Equal(t, []float64{1, 2, 3, 4}, c.Stimulus.Amplitude)
	assert.Equal(t, 1500.0, c.Plasticity.TauLearn)
	assert.Equal(t, 750.0, c.Plasticity.TauThreshold)
	assert.Equal(t, 400, c.Units())
}
