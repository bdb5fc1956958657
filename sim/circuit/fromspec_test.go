package circuit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/spec"
)

// The built-in l5 circuit is the original's configuration: FromSpec gives
// L5Defaults (its phase list of ten 'all' is the one-entry cycle, and the
// file's steps are L5's int(Ttau·τ/dt)); the example draws one network
// where run_simulation draws five.
func TestL5ExampleIsTheDefaults(t *testing.T) {
	c, err := spec.LoadCircuitExample("l5")
	require.NoError(t, err)
	got, err := FromSpec(c)
	require.NoError(t, err)
	want := L5Defaults()
	assert.Equal(t, want.Steps(), got.Steps())
	want.Phases, want.StepCount, want.Ttau, want.Sims = []string{"all"}, want.Steps(), 0, 1
	assert.Equal(t, want, got)
	assert.Equal(t, 400, c.Units())
	assert.True(t, *c.Plasticity.KeepSigns, "structural updates keep signs by default")
}

func TestFromSpecRefuses(t *testing.T) {
	data, err := spec.BuiltInCircuits.Read("l5")
	require.NoError(t, err)
	for _, tc := range []struct{ old, new, want string }{
		{"tau: [0.1]", "tau: [0.1, 0.1, 0.2, 0.1]", "field dynamics.tau: the layer-5 model has one τ for all populations"},
		{"{kind: supralinear, floor: 0.01, ceiling: 500}", "{kind: power_law, gain: 1, power: 2}", "field dynamics.activation.kind: the layer-5 model's activation is supralinear"},
	} {
		c, err := spec.ParseCircuit("x.yaml", []byte(strings.Replace(string(data), tc.old, tc.new, 1)))
		require.NoError(t, err)
		_, err = FromSpec(c)
		if assert.Error(t, err) {
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "x.yaml")
		}
	}
}

// The file's normalize reaches the drawn network: none leaves W as drawn
// (scale 1), spectral_radius divides by max |λ|, max_real (L5's) by max Re λ.
func TestFromSpecNormalize(t *testing.T) {
	data, err := spec.BuiltInCircuits.Read("l5")
	require.NoError(t, err)
	scales := map[string]float64{}
	for _, mode := range []string{"none", "spectral_radius", "max_real"} {
		c, err := spec.ParseCircuit("x.yaml", []byte(strings.Replace(string(data), "normalize: max_real", "normalize: "+mode, 1)))
		require.NoError(t, err)
		p, err := FromSpec(c)
		require.NoError(t, err)
		net, err := p.Network(c.Seed, 0)
		require.NoError(t, err)
		scales[mode] = net.Scale
	}
	assert.Equal(t, 1.0, scales["none"])
	assert.Greater(t, scales["spectral_radius"], 0.0)
	assert.GreaterOrEqual(t, scales["spectral_radius"], scales["max_real"], "max |λ| ≥ max Re λ")
	assert.NotEqual(t, scales["spectral_radius"], scales["max_real"])
}
