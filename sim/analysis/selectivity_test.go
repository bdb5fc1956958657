package analysis

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/ratesim/ratesim/sim/npz"
)

// Fixtures in testdata come from make_l5_selectivity.py, which runs the
// original L5 model's code (commit 5db6801) with numpy: its
// calculate_selectivity, selectivity_eva_intrasim, activity_eva, weight_eva,
// lossfun and a whole (small) run_simulation.

type fixture struct {
	f     map[string][]float64
	shape map[string][]int
}

func load(t *testing.T, name string) fixture {
	t.Helper()
	a, err := npz.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	fx := fixture{map[string][]float64{}, map[string][]int{}}
	for k, v := range a {
		f, err := v.Float64s()
		if err != nil {
			if i, err2 := v.Int64s(); err2 == nil {
				for _, x := range i {
					f = append(f, float64(x))
				}
			} else {
				t.Fatalf("%s: %v", k, err)
			}
		}
		fx.f[k], fx.shape[k] = f, v.Shape
	}
	return fx
}

func offsetsOf(sizes []float64) []int {
	off := []int{0}
	for _, s := range sizes {
		off = append(off, off[len(off)-1]+int(s))
	}
	return off
}

// same is bit equality, with NaN equal to NaN.
func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestSelectivityOfUnitsMatchesOriginal(t *testing.T) {
	fx := load(t, "units.npz")
	resp, n := fx.f["resp"], fx.shape["resp"][1]
	rows := [][]float64{resp[:n], resp[n : 2*n], resp[2*n : 3*n], resp[3*n:]}
	for i := range n {
		u := SelectivityOf([4]float64{rows[0][i], rows[1][i], rows[2][i], rows[3][i]}, false)
		want := fx.f["unit"][3*i : 3*i+3]
		if !same(u.OS, want[0]) || !same(u.DS, want[1]) || !same(u.OSp, want[2]) {
			t.Errorf("unit %d: OS, DS, OS_p = %v, %v, %v; original %v", i, u.OS, u.DS, u.OSp, want)
		}
	}
	off := offsetsOf(fx.f["N"])
	pops, all := Selectivity(rows, off, SelectivityOptions{Threshold: L5Threshold})
	if !all {
		t.Fatal("a population without reliable units")
	}
	rel := fx.f["reliable"]
	r := fx.shape["reliable"][1]
	k := 0
	for p, ps := range pops {
		if len(ps.Reliable) != int(fx.f["counts"][p]) {
			t.Errorf("population %d: %d reliable units, original %v", p, len(ps.Reliable), fx.f["counts"][p])
		}
		for _, i := range ps.Reliable {
			for d := range 4 {
				if !same(rows[d][i], rel[d*r+k]) {
					t.Fatalf("reliable unit %d of population %d is unit %d, not the original's", k, p, i)
				}
			}
			k++
		}
		st := fx.f["stats"]
		got := []float64{ps.MeanOS, ps.StdOS, ps.MeanDS, ps.StdDS, ps.MeanOSp, ps.StdOSp}
		for j, g := range got {
			if !same(g, st[j*4+p]) {
				t.Errorf("population %d stat %d: %v, original %v", p, j, g, st[j*4+p])
			}
		}
	}
	// The planted cases: unit 1 is below the threshold everywhere, unit 2
	// reaches it exactly, unit 13's NaN makes it reliable in L5 and poisons
	// CC's means.
	if pops[0].Reliable[0] != 0 || pops[0].Reliable[1] != 2 || !math.IsNaN(pops[1].MeanOS) {
		t.Errorf("planted cases: CS reliable %v, CC mean OS %v", pops[0].Reliable, pops[1].MeanOS)
	}
	// Corrected: the NaN unit is left out, OS is about the stronger
	// orientation (unit 3: 1, 0.9, 0, 0.9 has L5 OS −2/7).
	cpops, _ := Selectivity(rows, off, SelectivityOptions{Threshold: L5Threshold, Corrected: true})
	if len(cpops[1].Reliable) != len(pops[1].Reliable)-1 || math.IsNaN(cpops[1].MeanOS) {
		t.Errorf("corrected: CC keeps %d units, mean OS %v", len(cpops[1].Reliable), cpops[1].MeanOS)
	}
	if u := SelectivityOf([4]float64{1, 0.9, 0, 0.9}, true); math.Abs(u.OS-0.4/1.4) > 1e-15 || u.DS != 1 {
		t.Errorf("corrected unit 3: OS %v (want (0.9−0.5)/(0.9+0.5)), DS %v", u.OS, u.DS)
	}
	if u := SelectivityOf([4]float64{0, 0, 0, 0}, true); u.OS != 0 || u.DS != 0 || u.OSp != 0 {
		t.Errorf("corrected silent unit: %+v", u)
	}
	for i := range n {
		r := [4]float64{rows[0][i], rows[1][i], rows[2][i], rows[3][i]}
		if u := SelectivityOf(r, true); !math.IsNaN(r[0]+r[1]+r[2]+r[3]) && (u.OS < 0 || u.DS < 0 || u.OSp < 0) {
			t.Errorf("corrected unit %d: negative index %+v for responses %v", i, u, r)
		}
	}
}

func TestL5Windows(t *testing.T) {
	// L5's defaults: 2500 steps in 100 bins of 25, warm-up 500 steps,
	// dt = 0.01, τ = 0.1: LearningTime = int(50/25) = 2.
	before, after := L5Windows(100, 25, 500, 0.01, 0.1)
	if before != (Window{0, 2}) || after != (Window{80, 100}) {
		t.Errorf("L5 windows: before %v, after %v", before, after)
	}
	before, after = CorrectedWindows(100, 25, 500)
	if before != (Window{15, 20}) || after != (Window{80, 100}) {
		t.Errorf("corrected windows: before %v, after %v", before, after)
	}
	// A warm-up long enough for LearningTime > 5 bins: the last 5.
	if before, _ := L5Windows(100, 25, 2000, 0.01, 0.1); before != (Window{3, 8}) {
		t.Errorf("L5 before window with warm-up 2000: %v", before)
	}
}

// A whole run of the original (two networks, four directions, 600 steps,
// sliding BCM from step 500): from its rates, the bins, windows,
// activities, selectivity table, relative indices, counters, weight table
// and loss are the original's, bit for bit.
func TestSelectivityOfARunMatchesOriginal(t *testing.T) {
	fx := load(t, "run.npz")
	off := offsetsOf(fx.f["N"])
	const sims, dirs, steps, units, width = 2, 4, 600, 18, 25
	if s := fx.shape["raw"]; s[0] != sims || s[1] != dirs || s[2] != steps || s[3] != units {
		t.Fatalf("raw is %v", s)
	}
	before, after := L5Windows(steps/width, width, 500, 0.01, 0.1)
	var simsAfter, simsBefore []SimSelectivity
	notEq, nan := 0, 0
	for s := range sims {
		rates := make([][]float64, dirs)
		for d := range dirs {
			rates[d] = fx.f["raw"][(s*dirs+d)*steps*units : (s*dirs+d+1)*steps*units]
		}
		res, err := AnalyzeSimulation(rates, steps, units, width, off, before, after, SelectivityOptions{Threshold: L5Threshold})
		if err != nil {
			t.Fatal(err)
		}
		nan, notEq = nan+res.NaN, notEq+res.NotEq
		for _, c := range []struct {
			ss  SimSelectivity
			eva string
		}{{res.After, "eva_after"}, {res.Before, "eva_before"}} {
			for p := range 4 {
				wm, wsd := fx.f[c.eva][s*8+p], fx.f[c.eva][s*8+4+p]
				if c.ss.ActMean[p] != wm || c.ss.ActStd[p] != wsd {
					t.Errorf("sim %d %s population %d: activity %v ± %v, original %v ± %v", s, c.eva, p, c.ss.ActMean[p], c.ss.ActStd[p], wm, wsd)
				}
			}
		}
		simsAfter, simsBefore = append(simsAfter, res.After), append(simsBefore, res.Before)
	}
	if nan != int(fx.f["counters"][0]) || notEq != int(fx.f["counters"][1]) {
		t.Errorf("nan_counter %d, not_eq_counter %d; original %v", nan, notEq, fx.f["counters"])
	}
	tabA, tabB := SelectivityTable(simsAfter), SelectivityTable(simsBefore)
	for c, tab := range [][12][]float64{tabA, tabB} {
		for r := range 12 {
			for p := range 4 {
				if w := fx.f["sel"][(c*12+r)*4+p]; !same(tab[r][p], w) {
					t.Errorf("condition %d %s %d: %v, original %v", c, SelectivityRowNames[r], p, tab[r][p], w)
				}
			}
		}
	}
	os, ds, osp, ok := RelativeIndices(tabA, 0, 1)
	if rel := fx.f["rel"]; !ok || os != rel[0] || ds != rel[1] || osp != rel[2] {
		t.Errorf("relative indices %v %v %v (%v), original %v", os, ds, osp, ok, rel)
	}
	// The weight table from weight_eva's arguments, and the loss.
	nn := units * units
	wEval, wInit := fx.f["w_eval"], fx.f["w_init"]
	runs := fx.shape["w_eval"][0]
	var binnedW, initial [][]float64
	for r := range runs {
		per := len(wEval) / runs
		binnedW = append(binnedW, wEval[r*per:(r+1)*per])
		initial = append(initial, wInit[r*nn:(r+1)*nn])
	}
	wt, err := WeightSummary(FinalWeights(binnedW, nn, 25), initial, off, true)
	if err != nil {
		t.Fatal(err)
	}
	checkWeightTable(t, wt, fx.f["weight_df"])
	if l := Loss(wt, matrix(fx.f["w_compare"], 4), tabA, tabB, true); l != fx.f["loss"][0] {
		t.Errorf("loss %v, original %v", l, fx.f["loss"][0])
	}
}

func matrix(v []float64, n int) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = v[i*n : (i+1)*n]
	}
	return m
}

func checkWeightTable(t *testing.T, got [9][]float64, want []float64) {
	t.Helper()
	for r := range 9 {
		for c := range 16 {
			if !same(got[r][c], want[r*16+c]) {
				t.Errorf("%s column %d: %v, original %v", WeightRowNames[r], c, got[r][c], want[r*16+c])
			}
		}
	}
}

func TestWeightSummaryMatchesOriginal(t *testing.T) {
	fx := load(t, "weights.npz")
	off := []int{0, 3, 12, 15, 18}
	const nn = 18 * 18
	runs, bins := fx.shape["w"][0], fx.shape["w"][1]
	var binned, initial [][]float64
	for r := range runs {
		binned = append(binned, fx.f["w"][r*bins*nn:(r+1)*bins*nn])
		initial = append(initial, fx.f["w0"][r*nn:(r+1)*nn])
	}
	final := FinalWeights(binned, nn, 25)
	wt, err := WeightSummary(final, initial, off, true)
	if err != nil {
		t.Fatal(err)
	}
	checkWeightTable(t, wt, fx.f["out"])
	// Corrected: the Mean rows are the block means (here of the initial
	// weights, block post PV, pre CC: rows 12–14, columns 3–11).
	ct, _ := WeightSummary(final, initial, off, false)
	sum := 0.0
	for r := range runs {
		s := 0.0
		for i := 12; i < 15; i++ {
			for j := 3; j < 12; j++ {
				s += initial[r][i*18+j]
			}
		}
		sum += s / 27
	}
	if c := 2*4 + 1; math.Abs(ct[3][c]-sum/float64(runs)) > 1e-15 || ct[5][c] != wt[5][c] || ct[3][c] == wt[3][c] {
		t.Errorf("corrected Mean_Wini PV-CC %v, want %v (L5's, a std: %v)", ct[3][c], sum/float64(runs), wt[3][c])
	}
}

func TestLossMatchesOriginal(t *testing.T) {
	fx := load(t, "loss.npz")
	var w [9][]float64
	for r := range 9 {
		w[r] = fx.f["weight"][r*16 : (r+1)*16]
	}
	var a, b [12][]float64
	for r := range 12 {
		a[r], b[r] = fx.f["sel"][r*4:(r+1)*4], fx.f["sel"][(12+r)*4:(13+r)*4]
	}
	target := matrix(fx.f["w_compare"], 4)
	if l := Loss(w, target, a, b, true); l != fx.f["loss"][0] {
		t.Errorf("loss %v, original %v", l, fx.f["loss"][0])
	}
	// The corrected loss leaves out the activity's Mean_std row: without
	// the abs, the difference is 0.1·mean(Mean_std).
	l5, fixed := Loss(w, target, a, b, true), Loss(w, target, a, b, false)
	if d := 0.1 * numpyMean(a[2]); math.Abs(math.Abs(l5-fixed)-d) > 1e-12 {
		t.Errorf("corrected loss %v, L5 %v: differ by %v, want %v", fixed, l5, l5-fixed, d)
	}
}

// numpy's pairwise summation differs from a running sum from n = 8 on;
// the fixtures check it through the tables, this checks its structure.
func TestPairwiseSumStructure(t *testing.T) {
	x := make([]float64, 300)
	for i := range x {
		x[i] = 1 / float64(i+3)
	}
	// Up to 7 values: a running sum.
	if got := pairwiseSum(x[:7]); got != ((((((x[0] + x[1]) + x[2]) + x[3]) + x[4]) + x[5]) + x[6]) {
		t.Errorf("7 values: %v", got)
	}
	// 10 values: eight lanes, then the rest in order.
	lanes := ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]))
	if got := pairwiseSum(x[:10]); got != (lanes+x[8])+x[9] {
		t.Errorf("10 values: %v", got)
	}
	// 300 values: halves at 144 (150 rounded down to a multiple of 8).
	if got := pairwiseSum(x); got != pairwiseSum(x[:144])+pairwiseSum(x[144:]) {
		t.Errorf("300 values: %v", got)
	}
	// numpySum over 20000 values: chunks of 8192.
	y := make([]float64, 20000)
	for i := range y {
		y[i] = math.Sin(float64(i))
	}
	if got := numpySum(y); got != (pairwiseSum(y[:8192])+pairwiseSum(y[8192:16384]))+pairwiseSum(y[16384:]) {
		t.Errorf("20000 values: %v", got)
	}
}

// At full size the CC blocks exceed numpy's 8192-element buffer, so the
// sums are chunked (numpySum); the arrays are integer formulas the
// generator shares, rebuilt here exactly.
func TestSelectivityFullSizeMatchesOriginal(t *testing.T) {
	fx := load(t, "full.npz")
	off := []int{0, 45, 320, 366, 400}
	const units = 400
	binned := make([][]float64, 4)
	for d := range 4 {
		binned[d] = make([]float64, 24*units)
		for b := range 24 {
			for i := range units {
				binned[d][b*units+i] = float64((d*100003+b*4001+i)*7919%1000003) / 1000003
			}
		}
	}
	for _, c := range []struct {
		w                   Window
		mean, std, unitName string
	}{{Window{4, 24}, "a_mean", "a_std", "a_unit"}, {Window{0, 2}, "b_mean", "b_std", "b_unit"}} {
		resp := WindowMeans(binned, units, c.w)
		for p := range 4 {
			m, s := PopulationActivity(binned, units, c.w, off[p], off[p+1])
			if m != fx.f[c.mean][p] || s != fx.f[c.std][p] {
				t.Errorf("%s population %d: %v ± %v, original %v ± %v", c.mean, p, m, s, fx.f[c.mean][p], fx.f[c.std][p])
			}
		}
		for d := range 4 {
			for i := range units {
				if resp[d][i] != fx.f[c.unitName][d*units+i] {
					t.Fatalf("%s direction %d unit %d: %v, original %v", c.unitName, d, i, resp[d][i], fx.f[c.unitName][d*units+i])
				}
			}
		}
	}
	const nn = units * units
	var ws, w0 [][]float64
	for r := range 2 {
		w := make([]float64, 25*nn)
		for b := range 25 {
			for e := range nn {
				w[b*nn+e] = float64(((r*31+b)*160000+e)*7919%1000003)/1000003 - 0.5
			}
		}
		init := make([]float64, nn)
		for e := range nn {
			init[e] = float64((r*160000+e)*104729%1000003)/1000003 - 0.5
		}
		ws, w0 = append(ws, w), append(w0, init)
	}
	wt, err := WeightSummary(FinalWeights(ws, nn, 25), w0, off, true)
	if err != nil {
		t.Fatal(err)
	}
	checkWeightTable(t, wt, fx.f["weight"])
}

func TestAnalyzeSimulationChecks(t *testing.T) {
	const steps, units, width = 300, 4, 25
	off := []int{0, 1, 2, 3, 4}
	mk := func(f func(k, i int) float64) []float64 {
		r := make([]float64, steps*units)
		for k := range steps {
			for i := range units {
				r[k*units+i] = f(k, i)
			}
		}
		return r
	}
	flat := mk(func(k, i int) float64 { return 1 + float64(i) })
	falling := mk(func(k, i int) float64 { return 5 - float64(k)/50 })
	rising := mk(func(k, i int) float64 { return 1 + float64(k)/50 })
	dead := mk(func(k, i int) float64 {
		if k >= steps-width {
			return math.NaN()
		}
		return 1
	})
	before, after := L5Windows(steps/width, width, 100, 0.01, 0.1)
	res, err := AnalyzeSimulation([][]float64{flat, falling, rising, dead}, steps, units, width, off, before, after, SelectivityOptions{Threshold: L5Threshold})
	if err != nil {
		t.Fatal(err)
	}
	// One all-NaN last bin, zeroed; the falling direction fails L5's
	// one-sided equilibrium test, the rising one passes it, and the zeroed
	// one fails it (m1 − m2 = 1 − 0.8 = 0.2: its last bin counts as 0).
	if res.NaN != 1 {
		t.Errorf("NaN count %d, want 1", res.NaN)
	}
	for _, v := range res.Binned[3][len(res.Binned[3])-units:] {
		if v != 0 {
			t.Fatalf("the NaN bin holds %v, want 0", v)
		}
	}
	if got := res.NotEq; got != 2 {
		t.Errorf("%d directions out of equilibrium, want 2 (falling and the zeroed one)", got)
	}
	// The warm-up of 100 steps is int(10/25) = 0 bins in L5's arithmetic:
	// the "before" window is empty and its activity NaN, as numpy's mean of
	// nothing.
	if before.Len() != 0 || !math.IsNaN(res.Before.ActMean[0]) {
		t.Errorf("before window %v, activity %v", before, res.Before.ActMean)
	}
	if NotInEquilibrium(res.Binned[2], units, 0.05, false) || !NotInEquilibrium(res.Binned[2], units, 0.05, true) {
		t.Error("a rising rate: L5's one-sided test should pass it, the two-sided one flag it")
	}
}
