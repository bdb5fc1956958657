package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCircuitExampleParses(t *testing.T) {
	data, err := BuiltInCircuits.Read("l5")
	require.NoError(t, err)
	assert.True(t, IsCircuit(data))
	spec, _ := Example("ctrnn")
	assert.False(t, IsCircuit(spec))
	c, err := ParseCircuit("l5.yaml", data)
	require.NoError(t, err)
	assert.Equal(t, 4, len(c.Populations))
	assert.Equal(t, []int{1, 1, -1, -1}, c.Signs())
	assert.Equal(t, []float64{0.1, 0.1, 0.1, 0.1}, c.Taus())
	assert.Equal(t, "structural", c.Plasticity.Update)
	assert.Equal(t, []string{"l5"}, BuiltInCircuits.Names())
}

// Every bad value is refused with the file, the field and the reason.
func TestCircuitErrors(t *testing.T) {
	data, err := BuiltInCircuits.Read("l5")
	require.NoError(t, err)
	for _, tc := range []struct{ old, new, want string }{
		{"circuit: l5", "circuit: l6", "field circuit: the circuit models are: l5"},
		{"{name: CS, size: 45, sign: E}", "{name: CS, size: 45, sign: X}", "field populations[0].sign: must be E or I"},
		{"{name: CC, size: 275, sign: E}", "{name: CS, size: 275, sign: E}", "field populations[1].name: each population needs a name of its own"},
		{"{name: PV, size: 46, sign: I}", "{name: PV, size: 0, sign: I}", "field populations[2].size: must be ≥ 1"},
		{"{name: PV, size: 46, sign: I}", "{name: PV, size: 4.5, sign: I}", "field populations[2].size: must be a whole number, got 4.5"},
		{"integrator: euler", "integrator: rk2", "field dynamics.integrator: must be euler or rk4"},
		{"tau: [0.1]", "tau: [0.1, 0.2]", "field dynamics.tau: give one τ or one per population (4), got 2 values"},
		{"tau: [0.1]", "tau: [-1]", "field dynamics.tau[0]: must be a finite number > 0"},
		{"dt: 0.01 ", "dt: 0 ", "field dynamics.dt: must be a finite number > 0"},
		{"{kind: supralinear, floor: 0.01, ceiling: 500}", "{kind: supralinear, floor: 1, ceiling: 0.5}", "field dynamics.activation: supralinear needs finite floor ≤ ceiling"},
		{"{kind: supralinear, floor: 0.01, ceiling: 500}", "{kind: sigmoid}", "field dynamics.activation.kind: must be supralinear or power_law"},
		{"    - [0.27, 0, 1.01, 0.05]", "    - [0.27, 0, 1.01]", "field connectivity.weights[0]: must have 4 values"},
		{"    - [0.16, 0, 0.18, 0.23]", "    - [0.16, 0, 1.5, 0.23]", "field connectivity.probabilities[0][2]: must be a finite number in [0, 1], got 1.5"},
		{"weight_std: 0.03", "weight_std: -0.03", "field connectivity.weight_std: must be a finite number ≥ 0"},
		{"normalize: max_real", "normalize: trace", "field connectivity.normalize: must be max_real, spectral_radius or none"},
		{"block_noise: 0.1", "block_noise: 0.1\n  randomize: [CS, VIP]", `field connectivity.randomize[1]: no population "VIP"`},
		{"amplitude: [6, 5, 10, 5]", "amplitude: [6, 5, 10]", "field stimulus.amplitude: give one amplitude per population (4), got 3"},
		{"steady: [false, false, false, false]", "steady: [false]", "field stimulus.steady: give one flag per population"},
		{"directions: [0, 90, 180, 270]", "directions: []", "field stimulus.directions: list at least one direction"},
		{"form: counterphase", "form: standing", "field stimulus.form: must be drifting or counterphase"},
		{"rule: slide_bcm", "rule: oja", "field plasticity.rule: must be none, bcm, slide_bcm, l5_oja or covariance"},
		{"tau_learn: 1997.467", "tau_learn: 0", "field plasticity.tau_learn: must be a finite number > 0"},
		{"neurons: all", "neurons: some", "field plasticity.neurons: must be all, excit_only or inhibit_only"},
		{"phases: [all]", "phases: [all, Rest]", `field plasticity.phases[1]: must be all, rest or a population, got "Rest"`},
		{"update: structural ", "update: sparse ", "field plasticity.update: must be structural"},
		{"update: structural ", "update: low_rank\n  keep_signs: true\n ", "field plasticity.keep_signs: low_rank updates every entry with free signs"},
		{"rule: slide_bcm\n  tau_learn: 1997.467\n  tau_threshold: 2.7922382927606537\n  warmup: 500\n  neurons: all\n  phases: [all]\n  update: structural ",
			"rule: bcm\n  tau_learn: 1997.467\n  tau_threshold: 2.7922382927606537\n  warmup: 500\n  neurons: all\n  phases: [all]\n  update: low_rank ",
			"field plasticity.update: low_rank runs the slide_bcm rule only"},
		{"bin_width: 25", "bin_width: 0", "field analysis.bin_width: must be ≥ 1 step"},
		{"steps: 2500 ", "steps: 0 ", "field steps: must be ≥ 1"},
		{"precision: f64", "precision: f16", "field precision: must be f32 or f64"},
		{"networks: 1", "networks: 1\nsims: 5", "sims"},
	} {
		if !strings.Contains(string(data), tc.old) {
			t.Fatalf("%q is not in l5.yaml", tc.old)
		}
		_, err := ParseCircuit("bad.yaml", []byte(strings.Replace(string(data), tc.old, tc.new, 1)))
		if assert.Error(t, err, tc.new) {
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "bad.yaml")
		}
	}
}
