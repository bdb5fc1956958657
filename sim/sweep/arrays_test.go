package sweep

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

const arraysSweep = base + `
axes:
  - {path: tau, values: [30, 80, 200]}
  - {path: input.amplitude, values: [0.5, 2]}
repeats: 2
record: {rates: true, outputs: true, every: 3, steps: [10, 40], units: [0, 2, 5]}
metrics:
  - {metric: mean, of: rates}
`

// pointArrays reads, from a sweep directory's table (table.csv), every
// point's recorded rates and outputs out of the archive its row names.
func pointArrays(t *testing.T, dir string) map[int][2][]float32 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "table.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	require.Contains(t, col, "arrays_file")
	require.Contains(t, col, "arrays_index")
	out := map[int][2][]float32{}
	for _, r := range recs[1:] {
		point, _ := strconv.Atoi(r[col["point"]])
		k, _ := strconv.Atoi(r[col["arrays_index"]])
		arch, err := npz.Load(filepath.Join(dir, filepath.FromSlash(r[col["arrays_file"]])))
		require.NoError(t, err, "point %d", point)
		pts, err := arch["points"].Int64s()
		require.NoError(t, err)
		require.Equal(t, int64(point), pts[k], "the archive's points name the row's point at its index")
		steps, err := arch["steps"].Int64s()
		require.NoError(t, err)
		assert.Equal(t, []int64{12, 15, 18, 21, 24, 27, 30, 33, 36, 39}, steps)
		var got [2][]float32
		for i, name := range []string{"rates", "outputs"} {
			a := arch[name]
			require.Equal(t, npz.Float32, a.DType, name)
			P, per := a.Shape[0], a.Shape[1]*a.Shape[2]*a.Shape[3]
			require.Equal(t, len(pts), P)
			all, err := a.Float32s()
			require.NoError(t, err)
			got[i] = all[k*per : (k+1)*per]
		}
		out[point] = got
	}
	return out
}

// Per-point arrays are the point's own recordings, bit for bit: the same
// in chunks of 1, 4 and all points, in shards (read from the merged
// table), and as `ratesim run` of the point's spec with the same record
// section records them.
func TestRecordArraysAreEachPointsRecording(t *testing.T) {
	sw := parse(t, arraysSweep)
	require.NotNil(t, sw.Record)
	ctx := context.Background()
	var runs []map[int][2][]float32
	for _, cp := range []int{1, 4, 0} {
		dir := t.TempDir()
		_, err := Execute(ctx, sw, dir, Options{ChunkPoints: cp}, true)
		require.NoError(t, err)
		runs = append(runs, pointArrays(t, dir))
	}
	root := t.TempDir()
	for i := 0; i < 3; i++ {
		_, err := Execute(ctx, sw, root, Options{Shard: Shard{i, 3}, ChunkPoints: 3}, true)
		require.NoError(t, err)
	}
	_, err := Merge(root, true, PictureOptions{Off: true})
	require.NoError(t, err)
	runs = append(runs, pointArrays(t, root))
	for i, r := range runs[1:] {
		require.Len(t, r, len(sw.Points))
		for p := range runs[0] {
			assert.Equal(t, f32bits(runs[0][p][0]), f32bits(r[p][0]), "run %d, point %d: rates", i+1, p)
			assert.Equal(t, f32bits(runs[0][p][1]), f32bits(r[p][1]), "run %d, point %d: outputs", i+1, p)
		}
	}
	b, err := backend.Lookup("reference")
	require.NoError(t, err)
	for _, p := range sw.Points {
		s, err := spec.Parse(filepath.Join(filepath.Dir(sw.File), "point.yaml"), p.YAML)
		require.NoError(t, err)
		s.Record = *sw.Record
		res, err := sim.Simulate[float32](ctx, s, b, sim.Options{ChunkSteps: 7})
		require.NoError(t, err)
		assert.Equal(t, f32bits(res.Rates), f32bits(runs[0][p.Index][0]), "point %d alone: rates", p.Index)
		assert.Equal(t, f32bits(res.Outputs), f32bits(runs[0][p.Index][1]), "point %d alone: outputs", p.Index)
	}
}

func f32bits(xs []float32) []uint32 {
	out := make([]uint32, len(xs))
	for i, x := range xs {
		out[i] = math.Float32bits(x)
	}
	return out
}
