package sweep

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
)

// The benchmark sweep is K points of the asked shape in one group, and
// MeasureOverhead times both sides once per repetition; the raw program
// it times is the sweep's own program, so it ends in the same state.
func TestMeasureOverhead(t *testing.T) {
	sw, err := BenchSweep(BenchSize{K: 5, N: 8, B: 3, I: 2, O: 2, Steps: 30, Noise: true})
	require.NoError(t, err)
	require.Len(t, sw.Points, 5)
	require.Len(t, groupsOf(sw), 1)
	s := sw.Points[4].Spec
	assert.Equal(t, []int{2, 8, 2}, s.Dims)
	assert.Equal(t, 3, s.Trials)
	assert.Equal(t, 30, s.Steps)
	assert.Equal(t, 0.05, s.PreactNoise)
	be, err := backend.Lookup("reference")
	require.NoError(t, err)
	o, err := MeasureOverhead(context.Background(), be, sw, 3, 1<<30)
	require.NoError(t, err)
	assert.Len(t, o.SweepAll, 3)
	assert.Len(t, o.RawAll, 3)
	assert.Positive(t, o.Sweep)
	assert.Positive(t, o.Raw)
	assert.Contains(t, o.SweepAll, o.Sweep, "an odd count's median is one of the times")

	// The raw program is the one the sweep runs: its final rates are the
	// sweep's, bit for bit.
	res, err := Run(context.Background(), sw, Options{Backend: "reference", ChunkPoints: 5, KeepFinal: true})
	require.NoError(t, err)
	p, inputs, chunk := rawProgram[float32](sw)
	run, err := backend.Start(be, p)
	require.NoError(t, err)
	defer run.Close()
	c := backend.NewChunk(p, chunk)
	for i, t0 := 0, 0; t0 < 30; i, t0 = i+1, t0+chunk {
		require.NoError(t, run.Advance(min(chunk, 30-t0), inputs[i], c))
	}
	v, r := make([]float32, 5*3*8), make([]float32, 5*3*8)
	require.NoError(t, run.State(v, r))
	for k, row := range res.Rows {
		assert.Equal(t, bits(row.FinalRates), bits(f64(r[k*24:(k+1)*24])), "point %d", k)
	}

	_, err = BenchSweep(BenchSize{K: 0, N: 8, B: 1, O: 1, Steps: 1})
	assert.ErrorContains(t, err, "must be ≥ 1")
}
