package fit

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
	_ "github.com/ratesim/ratesim/cpu" // the backend the fits run on
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/sweep"
)

const base = `base:
  dims: [2, 8, 2]
  activation: tanh
  preact_noise: 0
  postact_noise: 0
  trials: 1
  steps: 20
`

func TestParseErrors(t *testing.T) {
	obj := "objective: {metric: mean, of: rates}\n"
	par := "parameters:\n  - {path: tau, low: 10, high: 100}\n"
	cases := []struct{ name, text, want string }{
		{"empty", "", "the fit spec is empty"},
		{"unknown", base + par + obj + "budgett: 3\n", "line 11: unknown field budgett"},
		{"no parameters", base + obj + "budget: 8\n", "field parameters: a fit needs at least one parameter"},
		{"no bounds", base + "parameters:\n  - {path: tau, low: 10}\n" + obj + "budget: 8\n", "field parameters[0] (line 9): tau needs low and high"},
		{"bounds reversed", base + "parameters:\n  - {path: tau, low: 10, high: 5}\n" + obj + "budget: 8\n", "field parameters[0] (line 9): tau: low < high"},
		{"log needs positive", base + "parameters:\n  - {path: input.amplitude, low: 0, high: 2, scale: log}\n" + obj + "budget: 8\n", "field parameters[0].low (line 9): input.amplitude: scale: log needs low > 0"},
		{"bad scale", base + "parameters:\n  - {path: tau, low: 1, high: 2, scale: ln}\n" + obj + "budget: 8\n", "field parameters[0].scale (line 9): tau: must be linear or log"},
		{"twice", base + "parameters:\n  - {path: tau, low: 1, high: 2}\n  - {path: tau, low: 1, high: 2}\n" + obj + "budget: 8\n", "field parameters[1].path (line 10): tau is fitted twice"},
		{"bad path", base + "parameters:\n  - {path: taux, low: 1, high: 2}\n" + obj + "budget: 8\n", "field parameters[0].path"},
		{"bad optimizer", base + par + obj + "budget: 8\noptimizer: bfgs\n", "field optimizer (line 12): must be cmaes, cmaes-gonum, random or lhs"},
		{"no budget", base + par + obj, "field budget: must be ≥ 1"},
		{"budget under a generation", base + par + obj + "budget: 3\npopulation: 4\n", "field budget (line 11): 3 is less than one generation of 4"},
		{"no objective", base + par + "budget: 8\n", "field objective: give one metric"},
		{"bad objective", base + par + "objective: {metric: median, of: rates}\nbudget: 8\n", "field objective"},
		{"bound makes an invalid spec", base + "parameters:\n  - {path: tau, low: -5, high: 100}\n" + obj + "budget: 8\n", "tau"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(c.text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "f.yaml")
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := Parse("f.yaml", []byte(base+par+obj+"budget: 8\n"))
	require.NoError(t, err)
}

func TestParameterMapping(t *testing.T) {
	lo, hi := 10.0, 1000.0
	lin := Parameter{Path: "tau", Low: &lo, High: &hi, Scale: "linear"}
	lg := Parameter{Path: "tau", Low: &lo, High: &hi, Scale: "log"}
	for _, p := range []Parameter{lin, lg} {
		assert.Equal(t, lo, p.Value(0), p.Scale)
		assert.Equal(t, hi, p.Value(1), p.Scale)
		assert.Equal(t, lo, p.Value(-0.5), p.Scale)
		assert.Equal(t, hi, p.Value(7), p.Scale)
		prev := lo
		for u := 0.05; u < 1; u += 0.05 {
			v := p.Value(u)
			assert.Greater(t, v, prev, "%s is not increasing at u=%v", p.Scale, u)
			assert.Less(t, v, hi)
			prev = v
		}
	}
	assert.InDelta(t, 505, lin.Value(0.5), 1e-12)
	assert.InDelta(t, 100, lg.Value(0.5), 1e-12) // the geometric mean
	assert.InDelta(t, math.Sqrt(10*100), lg.Value(0.25), 1e-12)
	for _, c := range []struct{ z, u float64 }{{0, 0}, {0.3, 0.3}, {1, 1}, {1.25, 0.75}, {2, 0}, {-0.25, 0.25}, {-1.5, 0.5}, {3.5, 0.5}, {math.NaN(), 0.5}} {
		assert.InDelta(t, c.u, Fold(c.z), 1e-12, "Fold(%v)", c.z)
	}
}

// mse is the mean squared error of a run's outputs against the target, in
// the sweep's order (per trial over steps and outputs, then the trials'
// sums over their counts), so it has the bits of the sweep's metric.
func mse(out, target []float64, trials int) float64 {
	per := len(out) / trials
	var n, sum float64
	for b := 0; b < trials; b++ {
		var s float64
		for i := b * per; i < (b+1)*per; i++ {
			d := out[i] - target[i]
			s += d * d
		}
		n += float64(per)
		sum += s
	}
	return sum / n
}

func TestExampleConverges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ft, err := PrepareExample(ctx, "ctrnn_tau", dir, "cpu")
	require.NoError(t, err)
	const trueTau, trueAmp = 100.0, 1.5 // the example's base, which made the target

	// The loss at the optimizer's starting point, the centre of the bounds.
	centre := []float64{ft.Spec.Parameters[0].Value(0.5), ft.Spec.Parameters[1].Value(0.5)}
	sw, err := ft.Sweep([][]float64{centre})
	require.NoError(t, err)
	r0, err := sweep.Run(ctx, sw, sweep.Options{Backend: "cpu"})
	require.NoError(t, err)
	start := r0.Rows[0].Metrics[0]
	require.Greater(t, start, 0.0)

	res, err := Run(ctx, ft, Options{Backend: "cpu"})
	require.NoError(t, err)
	best := res.History[res.Best]
	t.Logf("loss %.4g at the centre (tau %.4g, amplitude %.4g) → %.4g at tau %.6g, amplitude %.6g after %d generations of %d (%d evaluations, %v)",
		start, centre[0], centre[1], best.Loss, best.Values[0], best.Values[1], res.Generations, ft.Spec.Population, len(res.History), res.Wall)
	// The target is the model itself at the true values, noise-free, so the
	// loss there is exactly 0: a fit that converges gets far below the
	// start. 1 % of the start and τ within 10 % are what a search that only
	// sampled near the start, or one lucky draw, would not reach.
	assert.Less(t, best.Loss, 0.01*start)
	assert.InEpsilon(t, trueTau, best.Values[0], 0.10)
	assert.InEpsilon(t, trueAmp, best.Values[1], 0.10)
	// Every generation ran as one batched program of Population points.
	assert.Equal(t, res.Generations, res.Programs)
	assert.Equal(t, len(res.History), res.Generations*ft.Spec.Population)
	assert.LessOrEqual(t, len(res.History), ft.Spec.Budget)
	for _, e := range res.History {
		assert.Equal(t, e.Index/ft.Spec.Population, e.Generation)
	}

	out := t.TempDir()
	require.NoError(t, Write(out, ft, res))

	// best.yaml, run as a plain spec, reproduces the best loss bit for bit.
	text, err := os.ReadFile(filepath.Join(out, "best.yaml"))
	require.NoError(t, err)
	s, err := spec.Parse(filepath.Join(out, "best.yaml"), append(text, []byte("record: {rates: false, outputs: true, every: 1}\n")...))
	require.NoError(t, err)
	assert.Equal(t, best.Values[0], s.Tau.Value)
	b, err := backend.Lookup("cpu")
	require.NoError(t, err)
	run, err := sim.Simulate[float64](ctx, s, b, sim.Options{})
	require.NoError(t, err)
	target, err := npz.ReadNPY(filepath.Join(dir, "target.npy"))
	require.NoError(t, err)
	tv, err := target.Float64s()
	require.NoError(t, err)
	require.Len(t, run.Outputs, len(tv))
	assert.Equal(t, math.Float64bits(best.Loss), math.Float64bits(mse(run.Outputs, tv, s.Trials)))

	// The history read back: CSV to the same bits, Parquet with its rows.
	rows, err := csv.NewReader(mustOpen(t, filepath.Join(out, "history.csv"))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(res.History)+1)
	assert.Equal(t, []string{"evaluation", "generation", "tau", "input.amplitude", "loss", "status"}, rows[0])
	for i, e := range res.History {
		r := rows[i+1]
		assert.Equal(t, strconv.Itoa(i), r[0])
		for j, want := range append(append([]float64{}, e.Values...), e.Loss) {
			got, err := strconv.ParseFloat(r[2+j], 64)
			require.NoError(t, err)
			assert.Equal(t, math.Float64bits(want), math.Float64bits(got), "row %d column %s", i, rows[0][2+j])
		}
	}
	f := mustOpen(t, filepath.Join(out, "history.parquet"))
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	require.NoError(t, err)
	assert.Equal(t, int64(len(res.History)), pf.NumRows())
	pr := parquet.NewReader(f)
	defer pr.Close()
	for i, e := range res.History {
		prow := []parquet.Row{make(parquet.Row, 0)}
		n, err := pr.ReadRows(prow)
		if n == 0 {
			require.NoError(t, err)
		}
		assert.Equal(t, int64(i), prow[0][0].Int64())
		assert.Equal(t, math.Float64bits(e.Loss), math.Float64bits(prow[0][4].Double()), "row %d", i)
	}
	for _, name := range []string{"fit.png", "meta.json"} {
		st, err := os.Stat(filepath.Join(out, name))
		require.NoError(t, err)
		assert.Greater(t, st.Size(), int64(100), name)
	}
}

func TestRandomAndLHS(t *testing.T) {
	text := base + "parameters:\n  - {path: tau, low: 10, high: 100, scale: log}\n  - {path: input.amplitude, low: 0.5, high: 2}\n" +
		"objective: {metric: mean, of: rates}\nbudget: 20\npopulation: 10\n"
	for _, opt := range []string{"random", "lhs"} {
		ft, err := Parse("f.yaml", []byte(text+"optimizer: "+opt+"\n"))
		require.NoError(t, err)
		res, err := Run(context.Background(), ft, Options{Backend: "cpu"})
		require.NoError(t, err)
		assert.Equal(t, 2, res.Generations)
		assert.Equal(t, 2, res.Programs)
		for g := 0; g < 2; g++ {
			strata := map[int]bool{}
			for _, e := range res.History[g*10 : (g+1)*10] {
				assert.GreaterOrEqual(t, e.Values[0], 10.0)
				assert.LessOrEqual(t, e.Values[0], 100.0)
				u := math.Log(e.Values[0]/10) / math.Log(10)
				strata[int(u*10)] = true
			}
			if opt == "lhs" {
				assert.Len(t, strata, 10, "generation %d: a Latin hypercube has one τ in each of the 10 strata", g)
			}
		}
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// A fit stopped mid-generation resumes from its history to the same end,
// bit for bit, running only the generations not recorded.
func TestResume(t *testing.T) {
	ctx := context.Background()
	whole, err := PrepareExample(ctx, "ctrnn_tau", t.TempDir(), "cpu")
	require.NoError(t, err)
	full, err := Run(ctx, whole, Options{Backend: "cpu", Dir: t.TempDir()})
	require.NoError(t, err)

	dir := t.TempDir()
	ft, err := PrepareExample(ctx, "ctrnn_tau", dir, "cpu")
	require.NoError(t, err)
	require.NoError(t, Write(dir, ft, full))
	// Keep 10 whole generations and half of the 11th, as a kill would.
	pop := ft.Spec.Population
	data, err := os.ReadFile(filepath.Join(dir, "history.csv"))
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "history.csv"), []byte(strings.Join(lines[:1+10*pop+pop/2], "")), 0o644))

	res, err := Run(ctx, ft, Options{Backend: "cpu", Dir: dir})
	require.NoError(t, err)
	assert.Equal(t, 10, res.Replayed)
	assert.Equal(t, full.Generations-10, res.Programs)
	require.Len(t, res.History, len(full.History))
	for i, e := range res.History {
		f := full.History[i]
		assert.Equal(t, math.Float64bits(f.Loss), math.Float64bits(e.Loss), "evaluation %d", i)
		for j := range e.Values {
			assert.Equal(t, math.Float64bits(f.Values[j]), math.Float64bits(e.Values[j]), "evaluation %d", i)
		}
	}
	assert.Equal(t, full.Best, res.Best)
	again, err := os.ReadFile(filepath.Join(dir, "history.csv"))
	require.NoError(t, err)
	assert.Equal(t, string(data), string(again), "the resumed history is the uninterrupted one")

	// Another fit's history is refused.
	other, err := Parse(filepath.Join(dir, "other.yaml"), []byte(ft.Text+"\n# changed\n"))
	require.NoError(t, err)
	_, err = Run(ctx, other, Options{Backend: "cpu", Dir: dir})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another fit")
	// A history whose points the optimizer does not draw again is refused.
	bad := strings.Replace(string(data), lines[1], strings.Replace(lines[1], "0,0,1", "0,0,2", 1), 1)
	require.NotEqual(t, string(data), bad)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "history.csv"), []byte(bad), 0o644))
	_, err = Run(ctx, ft, Options{Backend: "cpu", Dir: dir})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot resume")
}

// gonum's CmaEsChol, driven a generation at a time, evaluates each
// generation as one program, improves on what its first generation found
// (an optimizer that ignored its losses would not, on average, beat its
// first generation by a factor of 10 in 24 more), and is reproducible:
// the same fit twice gives the same history to the bit, which resuming by
// replay needs.
func TestGonumCMAES(t *testing.T) {
	ctx := context.Background()
	ft, err := PrepareExample(ctx, "ctrnn_tau", t.TempDir(), "cpu")
	require.NoError(t, err)
	ft.Spec.Optimizer = "cmaes-gonum"
	res, err := Run(ctx, ft, Options{Backend: "cpu"})
	require.NoError(t, err)
	pop := ft.Spec.Population
	assert.Equal(t, res.Generations, res.Programs)
	assert.Equal(t, len(res.History), res.Generations*pop)
	first := math.Inf(1)
	for _, e := range res.History[:pop] {
		first = math.Min(first, e.Loss)
	}
	best := res.History[res.Best].Loss
	t.Logf("best of the first generation %.4g, best of %d evaluations %.4g", first, len(res.History), best)
	assert.Less(t, best, first/10)
	again, err := Run(ctx, ft, Options{Backend: "cpu"})
	require.NoError(t, err)
	require.Equal(t, len(res.History), len(again.History))
	for i := range res.History {
		require.Equal(t, res.History[i].Values, again.History[i].Values, "evaluation %d", i)
		require.Equal(t, math.Float64bits(res.History[i].Loss), math.Float64bits(again.History[i].Loss), "evaluation %d", i)
	}
}
