package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSpecErrorsNameTheField(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"dims: [1, 10, 1]\nfoo: 3\n", "unknown field foo"},
		{"dims: [1, 10, 1]\ndt: abc\n", "field dt"},
		{"dims: [1, 10]\n", "field dims"},
		{"dims: [1, 0, 1]\n", "field dims"},
		{"activation: swish\n", "field activation"},
		{"dt: -1\n", "field dt"},
		{"dt: 200\ntau: 100\n", "field dt"},
		{"tau: .nan\n", "field tau"},
		{"preact_noise: -0.1\n", "field preact_noise"},
		{"weights: xavier\n", "field weights"},
		{"biases: ones\n", "field biases"},
		{"dims: [1, 3, 1]\ninit_state: [1, 2]\n", "field init_state"},
		{"init_state: ones\n", "init_state"},
		{"input: {type: sine}\n", "field input.period"},
		{"input: {type: square, period: 3}\n", "field input.type"},
		{"dims: [0, 5, 1]\ninput: {type: constant}\n", "field input.type"},
		{"input: {type: pulses, period: 10, width: 20}\n", "field input.width"},
		{"record: {every: 0}\n", "field record.every"},
		{"record: {speed: 1}\n", "unknown field speed"},
		{"trials: 0\n", "field trials"},
		{"steps: -5\n", "field steps"},
		{"precision: f16\n", "field precision"},
		{"noise_instance: -1\n", "field noise_instance"},
		{"noise_instance: 268435456\n", "field noise_instance"},
		{"dims: [1, 10, 1\n", "my.yaml"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := Parse("my.yaml", []byte(c.yaml))
			require.Error(t, err, c.yaml)
			assert.Contains(t, err.Error(), c.want, c.yaml)
			assert.Contains(t, err.Error(), "my.yaml", c.yaml)
		})
	}
}

func TestDefaultsFollowNN4N(t *testing.T) {
	s, err := Parse("empty.yaml", nil)
	require.NoError(t, err)
	if s.Dims[0] != 1 || s.Dims[1] != 100 || s.Dims[2] != 1 || s.Activation != "relu" || s.Dt != 10 ||
		s.Tau.Value != 100 || s.Tau.Values != nil || s.Tau.Array != nil || s.Alpha.Set ||
		s.Weights != AllLayers("uniform") || s.Biases != AllLayers("none") || !s.InitState.Zero {
		t.Errorf("defaults differ from nn4n's: %+v", s)
	}
}

func TestExamplesAreValid(t *testing.T) {
	if len(Examples()) == 0 {
		t.Fatal("no built-in examples")
	}
	for _, name := range Examples() {
		if _, err := LoadExample(name); err != nil {
			t.Errorf("example %s: %v", name, err)
		}
	}
	if _, err := LoadExample("nosuch"); err == nil || !strings.Contains(err.Error(), DefaultExample) {
		t.Errorf("LoadExample(nosuch) = %v, want an error listing the examples", err)
	}
}

func TestLoadSpecMissingFile(t *testing.T) {
	_, err := Load("/nonexistent/spec.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/spec.yaml", "Load's error names the file")
}
