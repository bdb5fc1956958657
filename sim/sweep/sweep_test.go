package sweep

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
)

func init() {
	// The reference is not registered for users; the tests run through it
	// so this package's tests depend on no backend package.
	backend.Register(backend.Reference, -1)
}

const base = `
base:
  dims: [2, 12, 3]
  activation: tanh
  weights: normal
  biases: uniform
  preact_noise: 0.1
  postact_noise: 0.05
  input: {type: sine, amplitude: 1, period: 200}
  trials: 3
  steps: 40
  backend: reference
`

func parse(t *testing.T, yaml string) *Sweep {
	t.Helper()
	sw, err := Parse("sw.yaml", []byte(yaml))
	require.NoError(t, err)
	return sw
}

func TestParseErrorsNameFileFieldAndPoint(t *testing.T) {
	metrics := "metrics: [{metric: mean, of: rates}]\n"
	cases := []struct{ yaml, want string }{
		{base + "axes: [{path: tau, values: [10]}]\n" + metrics + "speed: 3\n", "unknown field speed"},
		{base + "axes: [{path: tau, values: [10], step: 1}]\n" + metrics, "unknown field step"},
		{base + "axes: [{path: taux, values: [10]}]\n" + metrics, `field axes[0].path: "taux": the spec has no field taux`},
		{base + "axes: [{path: input.amplitud, values: [1]}]\n" + metrics, "input has no field amplitud"},
		{base + "axes: [{path: 'tau[', values: [1]}]\n" + metrics, "field axes[0].path"},
		{base + "axes: [{path: noise_instance, values: [1]}]\n" + metrics, "set by the sweep"},
		{base + "axes: [{path: tau, linspace: [1, 2]}]\n" + metrics, "linspace must be [first, last, count]"},
		{base + "axes: [{path: tau, linspace: [1, 2, 2.5]}]\n" + metrics, "count must be a whole number"},
		{base + "axes: [{path: tau, logspace: [0, 2, 3]}]\n" + metrics, "logspace's ends must be > 0"},
		{base + "axes: [{path: tau, values: [1], linspace: [1, 2, 3]}]\n" + metrics, "exactly one of"},
		{base + "axes: [{path: tau, sample: sobol, low: 1, high: 2, count: 3}]\n" + metrics, "unknown sample"},
		{base + "axes: [{path: tau, sample: normal, low: 1, high: 2, count: 3}]\n" + metrics, "takes mean and std"},
		{base + "axes: [{path: tau, values: [1, 2]}, {path: dt, values: [1]}]\ncombine: zip\n" + metrics, "equal length"},
		{base + "axes: [{path: tau, values: [100, 0]}, {path: preact_noise, values: [0.1]}]\n" + metrics,
			"sw.yaml: point 1 (tau=0, preact_noise=0.1): field tau:"},
		{base + "axes: [{path: 'structure.areas[3]', values: [1]}]\n" + metrics, "point 0 (structure.areas[3]=1): axis structure.areas[3]"},
		{base + "axes: [{path: tau, values: [10]}]\nmetrics: [{metric: median, of: rates}]\n", "field metrics[0]: unknown metric"},
		{base + "axes: [{path: tau, values: [10]}]\nmetrics: [{metric: mean, of: weights}]\n", "field metrics[0]: mean needs of"},
		{base + "axes: [{path: tau, values: [10]}]\nmetrics: [{metric: mean, of: rates, window: [900, 1000]}]\n", "metric mean_rates_900_1000ms: window"},
		{base + "axes: [{path: tau, values: [10]}]\nmetrics: [{metric: mean, of: rates, units: [40]}]\n", "metric mean_rates_units_40"},
		{base + "axes: [{path: tau, values: [10]}]\nmetrics: [{metric: mse}]\n", "mse needs target"},
		{base + "axes: [{path: tau, values: [10]}]\nmetrics: [{metric: mean, of: rates, units: some}]\n", "field metrics[].units: must be"},
		{base + "axes: [{path: tau, values: [10]}]\n", "needs at least one metric"},
		{base + metrics, "needs at least one axis"},
		{base + "axes: [{path: tau, values: [10]}]\nrecord: {rates: false}\n" + metrics, "field record: records nothing"},
		{base + "axes: [{path: tau, values: [10]}]\nrecord: {rates: true, every: 0.5}\n" + metrics, "field record: every must be a whole number, got 0.5"},
		{base + "axes: [{path: tau, values: [10]}]\nrecord: {rates: true, trails: 2}\n" + metrics, "field record: line 1: unknown field trails"},
		{base + "axes: [{path: tau, values: [10]}]\nrecord: {rates: true, units: [0, 99]}\n" + metrics, "point 0 (tau=10): field record.units"},
		{base + "axes: [{path: tau, values: [10]}]\nrecord: [rates]\n" + metrics, "field record: give a mapping"},
		{"axes: [{path: tau, values: [10]}]\n" + metrics, "field base: missing"},
		{"base: nothere.yaml\naxes: [{path: tau, values: [10]}]\n" + metrics, "cannot read the base spec"},
		{"example: ctrnn\nbase: {dims: [1, 2, 1]}\naxes: [{path: tau, values: [10]}]\n" + metrics, "not both"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := Parse("sw.yaml", []byte(c.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, strings.HasPrefix(err.Error(), "sw.yaml: "), err.Error())
		})
	}
}

func axis(t *testing.T, a string) []float64 {
	t.Helper()
	sw := parse(t, base+"axes: ["+a+"]\nmetrics: [{metric: mean, of: rates}]\n")
	var xs []float64
	for _, v := range sw.Axes[0].Values {
		x, err := strconv.ParseFloat(v.Value, 64)
		require.NoError(t, err)
		xs = append(xs, x)
	}
	assert.Len(t, sw.Points, len(xs))
	return xs
}

func TestAxisValues(t *testing.T) {
	lin := axis(t, "{path: tau, linspace: [20, 0.3e3, 7]}")
	require.Len(t, lin, 7)
	assert.Equal(t, 20.0, lin[0])
	assert.Equal(t, 300.0, lin[6])
	for i := 1; i < 7; i++ {
		assert.InDelta(t, 280.0/6, lin[i]-lin[i-1], 1e-9)
	}
	log := axis(t, "{path: tau, logspace: [10, 1000, 3]}")
	require.Len(t, log, 3)
	assert.Equal(t, 10.0, log[0])
	assert.Equal(t, 1000.0, log[2])
	assert.InDelta(t, 100, log[1], 1e-9)

	for _, kind := range []string{"uniform", "loguniform", "lhs", "halton"} {
		xs := axis(t, "{path: tau, sample: "+kind+", low: 20, high: 500, count: 50}")
		require.Len(t, xs, 50, kind)
		for _, x := range xs {
			assert.True(t, x >= 20 && x <= 500, "%s: %v outside [20, 500]", kind, x)
		}
		assert.Equal(t, xs, axis(t, "{path: tau, sample: "+kind+", low: 20, high: 500, count: 50}"), "%s is not deterministic", kind)
	}
	// Latin hypercube: one value in each of the count strata.
	xs := axis(t, "{path: preact_noise, sample: lhs, low: 0, high: 100, count: 10}")
	seen := map[int]bool{}
	for _, x := range xs {
		seen[int(x/10)] = true
	}
	assert.Len(t, seen, 10, "lhs strata %v", xs)
	// Halton in base 2: 1/2, 1/4, 3/4, 1/8 …
	assert.Equal(t, []float64{50, 25, 75, 12.5}, axis(t, "{path: preact_noise, sample: halton, low: 0, high: 100, count: 4}"))
	assert.Equal(t, []float64{0, 0.1, 0.2, 0.3}, axis(t, "{path: preact_noise, linspace: [0, 0.3, 4]}"))
	// The sweep's seed changes random samples.
	a := parse(t, base+"seed: 5\naxes: [{path: tau, sample: uniform, low: 20, high: 500, count: 5}]\nmetrics: [{metric: mean, of: rates}]\n")
	b := parse(t, base+"seed: 6\naxes: [{path: tau, sample: uniform, low: 20, high: 500, count: 5}]\nmetrics: [{metric: mean, of: rates}]\n")
	assert.NotEqual(t, a.Axes[0].Values[0].Value, b.Axes[0].Values[0].Value)
	n := axis(t, "{path: tau, sample: normal, mean: 100, std: 0, count: 3}")
	assert.Equal(t, []float64{100, 100, 100}, n)
}

func TestPointsProductZipRepeatsAndSeeds(t *testing.T) {
	m := "metrics: [{metric: mean, of: rates}]\n"
	sw := parse(t, base+"axes: [{path: tau, values: [50, 100]}, {path: input.amplitude, values: [0.5, 1, 2]}]\nrepeats: 2\n"+m)
	require.Len(t, sw.Points, 12)
	// The last axis varies fastest, repeats fastest of all.
	p := sw.Points[7] // combination 3: tau 100, amplitude 0.5; repeat 1
	assert.Equal(t, "point 7 (tau=100, input.amplitude=0.5, repeat=1)", sw.Label(p))
	assert.Equal(t, 0.5, p.Spec.Input.Amplitude)
	assert.Equal(t, uint64(2), p.Seed)
	assert.Equal(t, uint64(2), p.Spec.Seed)
	// Two seeds, two groups: ranks 0 … 5 in each.
	assert.Equal(t, 3, p.NoiseInstance)
	assert.Equal(t, 3, sw.Points[6].NoiseInstance)
	zip := parse(t, base+"axes: [{path: tau, values: [50, 100]}, {path: seed, values: [7, 9]}]\ncombine: zip\n"+m)
	require.Len(t, zip.Points, 2)
	assert.Equal(t, uint64(9), zip.Points[1].Spec.Seed)
	assert.Equal(t, 0, zip.Points[1].NoiseInstance)
	// The point's YAML is the spec `ratesim run` reads, noise_instance included.
	s, err := spec.Parse("p.yaml", sw.Points[7].YAML)
	require.NoError(t, err)
	assert.Equal(t, 3, s.NoiseInstance)
	assert.Equal(t, 100.0, s.Tau.Value)
}

const invarianceSweep = base + `
axes:
  - {path: tau, values: [30, 80, 200]}
  - {path: input.amplitude, values: [0.5, 2]}
repeats: 2
metrics:
  - {metric: mean, of: rates}
  - {metric: std, of: rates, window: [100, 300], units: [0, 3, 5]}
  - {metric: min, of: states}
  - {metric: max, of: outputs}
  - {metric: std, of: outputs, name: out_sd}
  - {metric: final_state_mean, units: [1, 2]}
  - {metric: mse, target: {file: target.npy}, window: [50, 400]}
`

// recording is what one point recorded: per (trial, step) rows.
type recording map[[2]int][3][]float64

func runSweep(t *testing.T, sw *Sweep, chunkPoints int) ([]*Row, map[int]recording) {
	return runSweepCalls(t, sw, chunkPoints, 0)
}

// runSweepCalls is runSweep with calls of the given steps (0: the default).
func runSweepCalls(t *testing.T, sw *Sweep, chunkPoints, calls int) ([]*Row, map[int]recording) {
	t.Helper()
	recs := map[int]recording{}
	opt := Options{ChunkPoints: chunkPoints, KeepFinal: true, callSteps: calls, observe: func(point, trial, step int, r, s, o []float64) {
		if recs[point] == nil {
			recs[point] = recording{}
		}
		recs[point][[2]int{trial, step}] = [3][]float64{append([]float64(nil), r...), append([]float64(nil), s...), append([]float64(nil), o...)}
	}}
	res, err := Run(context.Background(), sw, opt)
	require.NoError(t, err)
	return res.Rows, recs
}

func writeTarget(t *testing.T, dir string, steps, outputs int) {
	target := make([]float64, steps*outputs)
	for i := range target {
		target[i] = math.Sin(float64(i) / 7)
	}
	require.NoError(t, npz.WriteNPY(filepath.Join(dir, "target.npy"), npz.Float64, []int{steps, outputs}, target))
}

func loadSweep(t *testing.T, text string) *Sweep {
	dir := t.TempDir()
	writeTarget(t, dir, 40, 3)
	path := filepath.Join(dir, "sw.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	sw, err := Load(path)
	require.NoError(t, err)
	return sw
}

func bits(xs []float64) []uint64 {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		out[i] = math.Float64bits(x)
	}
	return out
}

// The invariance promise: a point's recorded values, final state and
// metrics have the same bits alone (`ratesim run` of its YAML, through
// sim.Simulate) and in the sweep, whatever the chunk size.
func TestPointAloneEqualsPointInSweepBitForBit(t *testing.T) {
	sw := loadSweep(t, invarianceSweep)
	require.Len(t, sw.Points, 12)
	rows1, recs1 := runSweep(t, sw, 1)
	// Chunks of 2, 5 and all points, and backend calls of 7, 13 and all
	// steps (several calls run one ahead of the metrics, in two buffers).
	for i, cp := range []int{2, 5, 0} {
		calls := []int{7, 13, 0}[i]
		rows, recs := runSweepCalls(t, sw, cp, calls)
		for i := range rows {
			assert.Equal(t, bits(rows1[i].Metrics), bits(rows[i].Metrics), "point %d, chunk_points %d, calls of %d steps: metrics", i, cp, calls)
			assert.Equal(t, bits(rows1[i].FinalState), bits(rows[i].FinalState), "point %d, chunk_points %d: final state", i, cp)
			assert.Equal(t, recs1[i], recs[i], "point %d, chunk_points %d: recordings", i, cp)
		}
	}
	// Without an observer the points reduce in parallel, straight from
	// the backend's rows where they can: the same metrics.
	for _, calls := range []int{0, 9} {
		res, err := Run(context.Background(), sw, Options{ChunkPoints: 0, callSteps: calls})
		require.NoError(t, err)
		for i, row := range res.Rows {
			assert.Equal(t, bits(rows1[i].Metrics), bits(row.Metrics), "point %d, no observer, calls of %d steps: metrics", i, calls)
		}
	}
	b, err := backend.Lookup("reference")
	require.NoError(t, err)
	for _, p := range sw.Points {
		s, err := spec.Parse(filepath.Join(filepath.Dir(sw.File), "point.yaml"), p.YAML)
		require.NoError(t, err)
		yes := true
		s.Record.Rates, s.Record.States, s.Record.Outputs = &yes, &yes, &yes
		res, err := sim.Simulate[float32](context.Background(), s, b, sim.Options{ChunkSteps: 7})
		require.NoError(t, err)
		B, M, N, O := s.Trials, s.Steps, s.Dims[1], s.Dims[2]
		rec := recs1[p.Index]
		require.Len(t, rec, B*M)
		accs := make([]*accumulator, len(sw.Metrics))
		for i := range sw.Metrics {
			mp, err := sw.Metrics[i].plan(s)
			require.NoError(t, err)
			accs[i] = newAccumulator(&sw.Metrics[i], mp, B)
		}
		for bb := 0; bb < B; bb++ {
			for j := 0; j < M; j++ {
				row := rec[[2]int{bb, j + 1}]
				want := [3][]float64{f64(res.Rates[(bb*M+j)*N : (bb*M+j+1)*N]), f64(res.States[(bb*M+j)*N : (bb*M+j+1)*N]), f64(res.Outputs[(bb*M+j)*O : (bb*M+j+1)*O])}
				require.Equal(t, bits(want[0]), bits(row[0]), "point %d trial %d step %d: rates", p.Index, bb, j+1)
				require.Equal(t, bits(want[1]), bits(row[1]), "point %d trial %d step %d: states", p.Index, bb, j+1)
				require.Equal(t, bits(want[2]), bits(row[2]), "point %d trial %d step %d: outputs", p.Index, bb, j+1)
				for _, a := range accs {
					switch a.m.Of {
					case "rates":
						a.add(bb, j+1, want[0], nil)
					case "states":
						a.add(bb, j+1, want[1], nil)
					case "outputs":
						var target []float64
						if a.m.Kind == "mse" {
							target = a.m.targetRow(bb, j+1, M, O)
						}
						a.add(bb, j+1, want[2], target)
					}
				}
			}
			for _, a := range accs {
				if a.m.Kind == "final_state_mean" {
					a.add(bb, M, f64(res.FinalState[bb*N:(bb+1)*N]), nil)
				}
			}
		}
		assert.Equal(t, bits(f64(res.FinalState)), bits(rows1[p.Index].FinalState), "point %d: final state", p.Index)
		for i, a := range accs {
			assert.Equal(t, math.Float64bits(a.value()), math.Float64bits(rows1[p.Index].Metrics[i]), "point %d: metric %s", p.Index, a.m.Name)
		}
	}
}

func f64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// The accumulator's numbers against plain two-pass formulas.
func TestAccumulatorAgainstTwoPass(t *testing.T) {
	m := &ResolvedMetric{Metric: Metric{Kind: "std", Of: "rates"}}
	plan := &metricPlan{First: 1, Last: 100, Units: []int{0, 1}}
	var all []float64
	acc := map[string]*accumulator{}
	for _, k := range []string{"mean", "std", "min", "max"} {
		mk := *m
		mk.Kind = k
		acc[k] = newAccumulator(&mk, plan, 3)
	}
	for b := 0; b < 3; b++ {
		for t := 1; t <= 20; t++ {
			row := []float64{math.Sin(float64(b*100 + t)), float64(b) + 1/float64(t)}
			all = append(all, row...)
			for _, a := range acc {
				a.add(b, t, row, nil)
			}
		}
	}
	var sum, lo, hi = 0.0, math.Inf(1), math.Inf(-1)
	for _, x := range all {
		sum += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean := sum / float64(len(all))
	var ss float64
	for _, x := range all {
		ss += (x - mean) * (x - mean)
	}
	assert.InDelta(t, mean, acc["mean"].value(), 1e-12)
	assert.InDelta(t, math.Sqrt(ss/float64(len(all))), acc["std"].value(), 1e-12)
	assert.Equal(t, lo, acc["min"].value())
	assert.Equal(t, hi, acc["max"].value())
}

// A point that goes non-finite is reported in its row; the others are
// what they are without it.
func TestNonFinitePointIsReportedInItsRow(t *testing.T) {
	text := strings.Replace(base, "activation: tanh", "activation: relu", 1) + `
axes:
  - {path: input.amplitude, values: [1, 3e38, 2]}
metrics: [{metric: mean, of: rates}, {metric: max, of: outputs}]
`
	sw := parse(t, text)
	res, err := Run(context.Background(), sw, Options{})
	require.NoError(t, err)
	require.Len(t, res.Rows, 3)
	assert.Equal(t, "ok", res.Rows[0].Status)
	assert.Contains(t, res.Rows[1].Status, "non-finite")
	assert.Nil(t, res.Rows[1].Metrics)
	assert.Equal(t, "ok", res.Rows[2].Status)
	for _, cp := range []int{1} {
		alone, err := Run(context.Background(), sw, Options{ChunkPoints: cp})
		require.NoError(t, err)
		for _, i := range []int{0, 2} {
			assert.Equal(t, bits(alone.Rows[i].Metrics), bits(res.Rows[i].Metrics), "point %d", i)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, Columns(sw), cellsOf(sw, res.Rows)))
	lines := strings.Split(buf.String(), "\n")
	assert.Contains(t, lines[2], "NaN")
	assert.Contains(t, lines[2], "non-finite")
}

// The table read back with parquet-go: its columns, their types and the
// rows' values; the CSV holds the same.
func TestTableParquetAndCSV(t *testing.T) {
	sw := loadSweep(t, invarianceSweep)
	res, err := Run(context.Background(), sw, Options{ChunkPoints: 5})
	require.NoError(t, err)
	dir := t.TempDir()
	files, err := Write(dir, sw, res, true)
	require.NoError(t, err)
	f, err := os.Open(files.Table)
	require.NoError(t, err)
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	require.NoError(t, err)
	cols := Columns(sw)
	fields := pf.Schema().Fields()
	require.Len(t, fields, len(cols))
	wantNames := []string{"point", "tau", "input.amplitude", "seed", "repeat", "noise_instance", "mean_rates", "std_rates_100_300ms_units_0_3_5",
		"min_states", "max_outputs", "out_sd", "final_state_mean_units_1_2", "mse_50_400ms", "status"}
	for i, fd := range fields {
		assert.Equal(t, wantNames[i], fd.Name())
		want := map[string]parquet.Kind{"int": parquet.Int64, "float": parquet.Double, "string": parquet.ByteArray}[cols[i].Kind]
		assert.Equal(t, want, fd.Type().Kind(), fd.Name())
		if cols[i].Kind == "string" {
			assert.Equal(t, "STRING", fd.Type().LogicalType().String(), "%s is not annotated as a UTF-8 string", fd.Name())
		}
	}
	assert.Equal(t, int64(len(sw.Points)), pf.NumRows())
	r := parquet.NewReader(f)
	defer r.Close()
	csvRows, err := csv.NewReader(mustOpen(t, files.CSV)).ReadAll()
	require.NoError(t, err)
	require.Len(t, csvRows, len(sw.Points)+1)
	assert.Equal(t, wantNames, csvRows[0])
	for i := range sw.Points {
		row := make(parquet.Row, 0)
		rows := []parquet.Row{row}
		n, err := r.ReadRows(rows)
		if n == 0 {
			require.NoError(t, err)
		}
		got := rows[0]
		require.Len(t, got, len(cols))
		want := values(sw, res.Rows[i])
		for j, v := range got {
			switch x := want[j].(type) {
			case int64:
				assert.Equal(t, x, v.Int64(), "row %d %s", i, cols[j].Name)
			case float64:
				assert.Equal(t, math.Float64bits(x), math.Float64bits(v.Double()), "row %d %s", i, cols[j].Name)
				c, err := strconv.ParseFloat(csvRows[i+1][j], 64)
				require.NoError(t, err)
				assert.Equal(t, math.Float64bits(x), math.Float64bits(c), "csv row %d %s", i, cols[j].Name)
			case string:
				assert.Equal(t, x, string(v.ByteArray()), "row %d %s", i, cols[j].Name)
				assert.Equal(t, x, csvRows[i+1][j])
			}
		}
		// The metric columns are the run's metrics.
		for k := range sw.Metrics {
			assert.Equal(t, math.Float64bits(res.Rows[i].Metrics[k]), math.Float64bits(got[6+k].Double()))
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
}

// pandas reads the table, when installed.
func TestTableReadsInPandas(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import pandas, pyarrow").Run() != nil {
		t.Skip("skipping: /usr/bin/python3 cannot import pandas and pyarrow")
	}
	sw := loadSweep(t, invarianceSweep)
	res, err := Run(context.Background(), sw, Options{})
	require.NoError(t, err)
	files, err := Write(t.TempDir(), sw, res, false)
	require.NoError(t, err)
	out, err := exec.Command("/usr/bin/python3", "-c", "import pandas, struct; t = pandas.read_parquet('"+files.Table+"'); print(len(t), list(t.columns)[6], struct.pack('<d', t['mean_rates'].iloc[3]).hex(), t['status'].iloc[3], t['tau'].dtype)").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, strconv.Itoa(len(sw.Points))+" mean_rates "+leHex(res.Rows[3].Metrics[0])+" ok int64", strings.TrimSpace(string(out)))
}

// leHex is x's bytes, little-endian, in hex (Python's struct.pack('<d', x).hex()).
func leHex(x float64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
	return hex.EncodeToString(b[:])
}

func mustOpen(t *testing.T, path string) io.Reader {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return bytes.NewReader(data)
}

// Chunks are consecutive points of one group, cut at multiples of the
// chunk size of the points' ranks; a point that cannot fit is refused.
func TestPlanChunksAndMemory(t *testing.T) {
	sw := parse(t, base+"axes: [{path: tau, values: [30, 80, 200]}, {path: input.amplitude, values: [0.5, 2]}]\nrepeats: 2\nmetrics: [{metric: mean, of: rates}]\n")
	pl, err := MakePlan(sw, Options{ChunkPoints: 5})
	require.NoError(t, err)
	var got [][]int
	for _, c := range pl.Chunks {
		got = append(got, c.Points)
	}
	assert.Equal(t, [][]int{{0, 2, 4, 6, 8}, {10}, {1, 3, 5, 7, 9}, {11}}, got)
	pl, err = MakePlan(sw, Options{MemoryLimit: 3 * pointBytes(sw.Points[0].Spec, sw)})
	require.NoError(t, err)
	assert.Equal(t, []int{3, 3}, pl.ChunkPoints)
	_, err = MakePlan(sw, Options{MemoryLimit: 1000})
	var le *output.LimitError
	require.ErrorAs(t, err, &le)
	assert.Contains(t, err.Error(), "memory")
	two := parse(t, base+"axes: [{path: backend, values: [reference, cpu]}]\nmetrics: [{metric: mean, of: rates}]\n")
	_, err = Check(two, Options{})
	assert.ErrorContains(t, err, "point 1 (backend=cpu): backend cpu differs")
	_, err = Check(two, Options{Backend: "reference"})
	assert.NoError(t, err)
}

// Written points load from where they are written, or nothing is written.
func TestWritePoints(t *testing.T) {
	dir := t.TempDir()
	w := make([]float64, 12*12)
	w[5] = 0.5
	require.NoError(t, npz.WriteNPY(filepath.Join(dir, "w.npy"), npz.Float64, []int{12, 12}, w))
	text := strings.Replace(base, "weights: normal", "weights: {hidden: {file: w.npy}, input: normal, readout: normal}", 1) +
		"axes: [{path: tau, values: [30, 80]}]\nmetrics: [{metric: mean, of: rates}]\n"
	path := filepath.Join(dir, "sw.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	sw, err := Load(path)
	require.NoError(t, err)
	files, err := WritePoints(filepath.Join(dir, "points"), sw)
	require.Error(t, err, "%v", files)
	assert.Contains(t, err.Error(), "write the points there")
	files, err = WritePoints(dir, sw)
	require.NoError(t, err)
	require.Len(t, files, 2)
	s, err := spec.Load(files[1])
	require.NoError(t, err)
	assert.Equal(t, 80.0, s.Tau.Value)
	assert.Equal(t, 1, s.NoiseInstance)
}

// Weight metrics are checked against every point like the others.
func TestWeightMetricErrors(t *testing.T) {
	for _, c := range []struct{ metric, want string }{
		{"{metric: final_weight_mean, of: rates}", "needs of: recurrent, input or readout"},
		{"{metric: final_weight_std, pre: [0, 13]}", "point 0 (tau=10): metric final_weight_std: pre: want [a, b] with 0 ≤ a < b ≤ 12"},
		{"{metric: final_weight_mean, of: input, post: [3, 3]}", "post: want [a, b]"},
		{"{metric: final_weight_mean, window: [0, 10]}", "takes of, pre and post"},
		{"{metric: mean, of: rates, pre: [0, 1]}", "pre and post belong to the weight metrics"},
	} {
		_, err := Parse("sw.yaml", []byte(base+"axes: [{path: tau, values: [10]}]\nmetrics: ["+c.metric+"]\n"))
		require.Error(t, err, c.metric)
		assert.Contains(t, err.Error(), c.want, c.metric)
	}
	sw := parse(t, base+"axes: [{path: tau, values: [10]}]\nmetrics: [{metric: final_weight_mean, of: readout, post: [1, 3]}]\n")
	assert.Equal(t, "final_weight_mean_readout_post_1_3", sw.Metrics[0].Name)
	// A static point's weights are its initial ones.
	res, err := Run(context.Background(), sw, Options{})
	require.NoError(t, err)
	net := network.Build(sw.Points[0].Spec)
	var sum float64
	for j := 0; j < 12; j++ { // presynaptic, then postsynaptic, ascending
		for o := 1; o < 3; o++ {
			sum += float64(float32(net.Out[o*12+j]))
		}
	}
	assert.Equal(t, sum/24, res.Rows[0].Metrics[0])
}
