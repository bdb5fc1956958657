package sweep

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/network"
)

// A chunk's networks built with sharing are, point by point, the networks
// network.Build gives each point alone: the weights and masks of the
// point that first had the key, the per-point α, initial state and noise
// of its own. The sweep varies the fields sharing treats per point (τ,
// noise) and, across groups and keys, fields it must not share over (the
// seed, self connections, the weight initializer).
func TestSharedNetworksEqualBuild(t *testing.T) {
	sw, err := Parse("share.yaml", []byte(`base:
  dims: [2, 12, 2]
  activation: tanh
  structure: {type: multi_area_ei, areas: [8, 4], area_connectivities: [0.5, 0.3, 0.6], exc_pct: 0.75}
  trials: 2
  steps: 10
  input: {type: sine, period: 50}
axes:
  - {path: tau, values: [20, 50]}
  - {path: preact_noise, values: [0, 0.1]}
  - {path: postact_noise, values: [0, 0.05]}
  - {path: self_connections, values: [true, false]}
  - {path: weights, values: [normal, uniform]}
repeats: 2
metrics:
  - {metric: mean, of: rates}
`))
	require.NoError(t, err)
	shared := 0
	for gi, g := range groupsOf(sw) {
		nets := sharedNetworks(g)
		keys := map[string]bool{}
		for k, pt := range g {
			want := network.Build(pt.Spec)
			got := nets[k]
			where := fmt.Sprintf("group %d, point %d", gi, pt.Index)
			requireSameBits(t, want.Hidden, got.Hidden, where+": hidden weights")
			requireSameBits(t, want.In, got.In, where+": input weights")
			requireSameBits(t, want.Out, got.Out, where+": readout weights")
			requireSameBits(t, want.HiddenB, got.HiddenB, where+": hidden bias")
			requireSameBits(t, want.Alpha, got.Alpha, where+": α")
			requireSameBits(t, want.Init, got.Init, where+": initial state")
			requireSameBits(t, want.Sparsity.Hidden, got.Sparsity.Hidden, where+": sparsity")
			requireSameBits(t, want.EI.Hidden, got.EI.Hidden, where+": E/I mask")
			require.Equal(t, want.PreSigma, got.PreSigma, where)
			require.Equal(t, want.PostSigma, got.PostSigma, where)
			if keys[networkKey(pt.Spec)] {
				shared++
			}
			keys[networkKey(pt.Spec)] = true
		}
	}
	// 2 seeds × 2 self-connection settings × 2 initializers = 8 networks
	// for 64 points: the other 56 took a network already drawn.
	require.Equal(t, 56, shared)
}

func requireSameBits(t *testing.T, want, got []float64, what string) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	for i := range want {
		if math.Float64bits(want[i]) != math.Float64bits(got[i]) {
			t.Fatalf("%s: value %d is %v, alone %v", what, i, got[i], want[i])
		}
	}
}
