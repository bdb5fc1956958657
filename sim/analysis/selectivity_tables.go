package analysis

import (
	"fmt"
	"math"
)

// The L5 model's summary tables (the original Jieran-S/L5Neuron_RateModel code): the
// selectivity table over simulations, the relative indices between two
// populations, the weight summary per population pair and the tuning loss,
// each as the original computes it and, where it has a bug, corrected.

// SimSelectivity is one simulation's results for one analysis window: the
// population activity (PopulationActivity) and the selectivity
// (Selectivity) over all directions.
type SimSelectivity struct {
	ActMean, ActStd []float64
	Pops            []PopulationSelectivity
	// All: every population had a reliable unit. L5 keeps the selectivity
	// of a simulation only then (its activity always).
	All bool
}

// SelectivityRowNames are the rows of SelectivityTable, L5's
// selectivity_df index.
var SelectivityRowNames = [12]string{
	"Mean_act", "Std_of_mean", "Mean_std",
	"Mean_of_OS", "Std_mean_OS", "Mean_std_OS",
	"Mean_of_DS", "Std_mean_DS", "Mean_std_DS",
	"Mean_of_OS_p", "Std_mean_OS_p", "Mean_std_OS_p",
}

// SelectivityTable is L5's selectivity_eva_all for one condition: per
// population, for X in activity, OS, DS, OS_p, the mean over simulations of
// the per-simulation population mean (Mean_…), the NaN-ignoring std over
// simulations of those means (Std_…) and the mean over simulations of the
// per-simulation std over units (…_std). Means over simulations add in
// simulation order. Simulations whose All is false add only their activity;
// with no such simulation the selectivity rows are 0, as in L5.
func SelectivityTable(sims []SimSelectivity) [12][]float64 {
	var t [12][]float64
	if len(sims) == 0 {
		return t
	}
	P := len(sims[0].ActMean)
	var kept []SimSelectivity
	for _, s := range sims {
		if s.All {
			kept = append(kept, s)
		}
	}
	get := func(ss []SimSelectivity, f func(SimSelectivity, int) float64) [][]float64 {
		out := make([][]float64, P)
		for p := range P {
			for _, s := range ss {
				out[p] = append(out[p], f(s, p))
			}
		}
		return out
	}
	fill := func(row int, ss []SimSelectivity, mean, std func(SimSelectivity, int) float64) {
		for r := row; r < row+3; r++ {
			t[r] = make([]float64, P)
		}
		if len(ss) == 0 {
			return
		}
		m, s := get(ss, mean), get(ss, std)
		for p := range P {
			t[row][p] = seqMean(m[p])
			t[row+1][p] = seqNanStd(m[p])
			t[row+2][p] = seqMean(s[p])
		}
	}
	fill(0, sims, func(s SimSelectivity, p int) float64 { return s.ActMean[p] }, func(s SimSelectivity, p int) float64 { return s.ActStd[p] })
	fill(3, kept, func(s SimSelectivity, p int) float64 { return s.Pops[p].MeanOS }, func(s SimSelectivity, p int) float64 { return s.Pops[p].StdOS })
	fill(6, kept, func(s SimSelectivity, p int) float64 { return s.Pops[p].MeanDS }, func(s SimSelectivity, p int) float64 { return s.Pops[p].StdDS })
	fill(9, kept, func(s SimSelectivity, p int) float64 { return s.Pops[p].MeanOSp }, func(s SimSelectivity, p int) float64 { return s.Pops[p].StdOSp })
	return t
}

// seqNanStd is np.nanstd (ddof 0) along a non-innermost axis: sums in
// order, NaN values left out of the mean, the deviations and the count.
func seqNanStd(x []float64) float64 {
	s, cnt := 0.0, 0
	for _, v := range x {
		if !math.IsNaN(v) {
			s += v
			cnt++
		}
	}
	mean := s / float64(cnt)
	q := 0.0
	for _, v := range x {
		if !math.IsNaN(v) {
			d := v - mean
			q += float64(d * d)
		}
	}
	return math.Sqrt(q / float64(cnt))
}

// RelativeIndices are L5's Real_OS, Real_DS and Real_OS_paper from the
// "after" SelectivityTable: (X̄_a − X̄_b)/(X̄_a + X̄_b) for X = OS, DS, OS_p
// between populations a and b (L5: CS = 0, CC = 1). ok is false, and the
// indices NaN, unless X̄_b > 1e-5 for OS and DS, as in L5.
func RelativeIndices(t [12][]float64, a, b int) (os, ds, osp float64, ok bool) {
	rel := func(row int) float64 { return (t[row][a] - t[row][b]) / (t[row][a] + t[row][b]) }
	if !(t[3][b] > 1e-5 && t[6][b] > 1e-5) {
		return math.NaN(), math.NaN(), math.NaN(), false
	}
	return rel(3), rel(6), rel(9), true
}

// FinalWeights returns, per run, the mean weights over the last
// min(last, bins) bins of binned[r] (bins × n × n, row-major), added in bin
// order (L5's weight_eva: the last 25 of its 50 weight bins).
func FinalWeights(binned [][]float64, nn, last int) [][]float64 {
	out := make([][]float64, len(binned))
	for r, b := range binned {
		bins := len(b) / nn
		from := bins - min(last, bins)
		col := make([]float64, bins-from)
		out[r] = make([]float64, nn)
		for e := range nn {
			for k := range col {
				col[k] = b[(from+k)*nn+e]
			}
			out[r][e] = seqMean(col)
		}
	}
	return out
}

// WeightRowNames are the rows of WeightSummary, L5's weight_df index; its
// 16 columns are the pairs POST-PRE, post-major ("CS-CC" is post CS, pre
// CC).
var WeightRowNames = [9]string{
	"Mean_weight", "Std_mean_W", "Mean_std_W",
	"Mean_Wini", "Std_mean_Wini", "Mean_std_Wini",
	"Mean_Wdel", "Std_mean_Wdel", "Mean_std_Wdel",
}

// WeightSummary is L5's weight_eva: for the final weights (FinalWeights),
// the initial weights and their change, per population block (post p, pre
// q; W is (post, pre) row-major n×n, offsets the populations' first units)
// the block's mean and NaN-ignoring std over its entries for every run,
// then over runs: Mean_… the mean of the block means, Std_mean_… their
// NaN-ignoring std, Mean_std_… the mean of the block stds.
//
// With l5 true it keeps L5's bug (l5.md §8): weight_summary's mean and std
// arrays are one array, so every block "mean" is the block's std, rows 0/2,
// 3/5 and 6/8 are equal and rows 1, 4, 7 are stds of stds. With l5 false
// the means are means.
func WeightSummary(final, initial [][]float64, offsets []int, l5 bool) ([9][]float64, error) {
	var t [9][]float64
	P := len(offsets) - 1
	n := offsets[P]
	if len(final) != len(initial) || len(final) == 0 {
		return t, fmt.Errorf("analysis: %d final and %d initial weight sets", len(final), len(initial))
	}
	delta := make([][]float64, len(final))
	for r := range final {
		if len(final[r]) != n*n || len(initial[r]) != n*n {
			return t, fmt.Errorf("analysis: run %d: weights are not %d×%d", r, n, n)
		}
		delta[r] = make([]float64, n*n)
		for e := range delta[r] {
			delta[r][e] = final[r][e] - initial[r][e]
		}
	}
	for k, ws := range [][][]float64{final, initial, delta} {
		for r := k * 3; r < k*3+3; r++ {
			t[r] = make([]float64, P*P)
		}
		for p := range P {
			for q := range P {
				var means, stds []float64
				for _, w := range ws {
					block := make([]float64, 0, (offsets[p+1]-offsets[p])*(offsets[q+1]-offsets[q]))
					for i := offsets[p]; i < offsets[p+1]; i++ {
						block = append(block, w[i*n+offsets[q]:i*n+offsets[q+1]]...)
					}
					s := numpyNanStd(block)
					m := s
					if !l5 {
						m = numpyMean(block)
					}
					means, stds = append(means, m), append(stds, s)
				}
				c := p*P + q
				t[k*3][c] = seqMean(means)
				t[k*3+1][c] = seqNanStd(means)
				t[k*3+2][c] = seqMean(stds)
			}
		}
	}
	return t, nil
}

// Loss is L5's tuning objective helper.lossfun (l5.md §8):
//
//	| 10·(RMSE + |ΔOS|) − ΔDS + 0.1·(Sel_std + Sel_std_sim) |
//
// RMSE between the weight table's Mean_weight row and target (P×P, [pre]
// [post], as L5's w_compare; compared as its transpose, post-major), ΔOS
// and ΔDS the sums over populations of the after − before Mean_of_OS and
// Mean_of_DS, Sel_std the sum over OS, DS, OS_p of the population mean of
// Std_mean_X, Sel_std_sim the same of Mean_std_X.
//
// With l5 true Sel_std_sim also adds the activity row Mean_std, as L5's
// substring match on "Mean_std" does; with l5 false it does not. (L5's
// Mean_weight row is a std, see WeightSummary: pass the table of
// WeightSummary(…, l5) to reproduce it, and a corrected one to compare
// true means with the target.)
func Loss(weights [9][]float64, target [][]float64, after, before [12][]float64, l5 bool) float64 {
	P := len(target)
	diff := make([]float64, 0, P*P)
	for post := range P {
		for pre := range P {
			d := weights[0][post*P+pre] - target[pre][post]
			diff = append(diff, float64(d*d))
		}
	}
	rmse := math.Sqrt(numpyMean(diff))
	sumDiff := func(row int) float64 {
		s := 0.0
		for p := range after[row] {
			s += after[row][p] - before[row][p]
		}
		return s
	}
	rowMeans := func(rows ...int) float64 {
		s := 0.0
		for _, r := range rows {
			s += numpyMean(after[r])
		}
		return s
	}
	dDS, dOS := sumDiff(6), math.Abs(sumDiff(3))
	selStd := rowMeans(4, 7, 10)
	selStdSim := rowMeans(5, 8, 11)
	if l5 {
		selStdSim = rowMeans(2, 5, 8, 11)
	}
	return math.Abs(float64(10*(rmse+dOS)) - dDS + float64(0.1*(selStd+selStdSim)))
}

// SimulationResult is one network's analysis as run_simulation does it,
// for its "after" and "before" windows.
type SimulationResult struct {
	After, Before SimSelectivity
	// Binned are the bin means per direction ((bins, units) row-major).
	Binned [][]float64
	// NaN and NotEq count the directions whose last bin is all NaN and
	// those NotInEquilibrium (tolerance 0.05, one-sided as L5's) flags.
	NaN, NotEq int
}

// AnalyzeSimulation runs run_simulation's per-network analysis on the
// rates of each direction (rates[d] is r_1 … r_T, (steps, units)
// row-major): bin means of width steps, the NaN check (an all-NaN last bin
// becomes 0, as in L5) and the equilibrium check,
// the population activity and the selectivity over the windows before and
// after (L5Windows or CorrectedWindows). Collect the results of several
// networks with SelectivityTable.
func AnalyzeSimulation(rates [][]float64, steps, units, width int, offsets []int, before, after Window, opt SelectivityOptions) (*SimulationResult, error) {
	res := &SimulationResult{}
	for _, r := range rates {
		b, err := BinMeans(r, steps, units, width)
		if err != nil {
			return nil, err
		}
		res.Binned = append(res.Binned, b)
		if LastBinAllNaN(b, units) {
			// L5 sets them to 0 in place, before the checks and windows.
			clear(b[len(b)-units:])
			res.NaN++
		}
		if steps/width >= 10 && NotInEquilibrium(b, units, 0.05, false) {
			res.NotEq++
		}
	}
	for _, c := range []struct {
		w    Window
		into *SimSelectivity
	}{{after, &res.After}, {before, &res.Before}} {
		for p := 0; p+1 < len(offsets); p++ {
			m, s := PopulationActivity(res.Binned, units, c.w, offsets[p], offsets[p+1])
			c.into.ActMean, c.into.ActStd = append(c.into.ActMean, m), append(c.into.ActStd, s)
		}
		c.into.Pops, c.into.All = Selectivity(WindowMeans(res.Binned, units, c.w), offsets, opt)
	}
	return res, nil
}
