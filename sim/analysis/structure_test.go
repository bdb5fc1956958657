package analysis

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/spec"
)

func TestSpectralRadiusKnownMatrices(t *testing.T) {
	for _, c := range []struct {
		name string
		w    []float64
		n    int
		want float64
	}{
		{"diagonal", []float64{0.3, 0, 0, -0.9}, 2, 0.9},
		{"rotation by 90° scaled by 0.5", []float64{0, -0.5, 0.5, 0}, 2, 0.5},
		{"nilpotent", []float64{0, 1, 0, 0}, 2, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			eig, note := eigenvalues(c.w, c.n)
			require.Empty(t, note)
			require.Len(t, eig, c.n)
			assert.InDelta(t, c.want, spectralRadius(eig, note), 1e-12)
		})
	}
	eig, note := eigenvalues(nil, MaxEigenUnits+1)
	assert.Nil(t, eig)
	assert.True(t, math.IsNaN(spectralRadius(eig, note)))
	assert.Contains(t, note, "not computed")
	// The rotation's eigenvalues are ±0.5i.
	eig, _ = eigenvalues([]float64{0, -0.5, 0.5, 0}, 2)
	require.Len(t, eig, 2)
	for _, v := range eig {
		assert.InDelta(t, 0, real(v), 1e-12)
		assert.InDelta(t, 0.5, math.Abs(imag(v)), 1e-12)
	}
	assert.InDelta(t, 0, imag(eig[0]+eig[1]), 1e-12, "a conjugate pair")
}

// A two-area E/I network: 80% excitatory units per area, Dale's law on
// every presynaptic column, within-area blocks fully connected, the E/I
// balance making the hidden weights sum to zero.
func TestInspectMultiAreaEI(t *testing.T) {
	s, err := spec.Parse("ei.yaml", []byte("dims: [1, 20, 1]\nweights: normal\nstructure: {type: multi_area_ei, areas: [10, 10], area_connectivities: [0.5, 0.2], exc_pct: 0.8}\n"))
	require.NoError(t, err)
	net, err := network.New(s)
	require.NoError(t, err)
	r := Inspect(s, net)
	assert.Equal(t, "multi_area_ei", r.Builder)
	require.Len(t, r.Areas, 2)
	assert.Equal(t, 16, r.Excitatory)
	assert.Equal(t, 4, r.Inhibitory)
	assert.Zero(t, r.Mixed)
	for u, sign := range r.UnitSign {
		assert.Equal(t, u%10 < 8, sign == 1, "unit %d", u)
	}
	// Within areas every synapse exists, but Dale's law clamps the half of
	// the normal draws with the wrong sign to zero; between areas the masks
	// keep 50% (forward) and 20% (feedback) of them first.
	for a := range 2 {
		assert.InDelta(t, 0.5, r.Density[a][a], 0.2, "within area %d", a)
	}
	assert.Less(t, r.Density[1][0], r.Density[0][0])
	assert.Less(t, r.Density[0][1], r.Density[1][1])
	assert.False(t, r.SignedByWeight)
	assert.InDelta(t, 0, r.Sum, 1e-12*(math.Abs(r.SumE)+math.Abs(r.SumI)))
	assert.Greater(t, r.SumE, 0.0)
	assert.Less(t, r.SumI, 0.0)
	assert.False(t, math.IsNaN(r.SpectralRadius))
	assert.Len(t, r.Eigenvalues, 20)
}
