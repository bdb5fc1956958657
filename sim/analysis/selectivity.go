package analysis

import (
	"fmt"
	"math"
)

// Orientation and direction selectivity of the V1 layer-5 model
// (the original Jieran-S/L5Neuron_RateModel code), computed as its run_simulation,
// SimpleNetwork.activity_eva / selectivity_eva_intrasim / selectivity_eva_all
// and helper.calculate_selectivity compute them — the same formulas, windows
// and summation orders, so the numbers are its numbers bit for bit — and,
// where it has a bug, a corrected variant beside it (Corrected options).
//
// Responses are per direction, in the order the directions were shown; the
// indices need four directions 90° apart, (0°, 90°, 180°, 270°) as L5 shows
// them, so that direction (p+2) mod 4 is opposite to p and (p±1) mod 4 are
// orthogonal.

// numpySum is numpy's np.sum of float64 values in C order as numpy reduces
// an array it iterates with buffering (a strided slice, such as a
// population's columns): in chunks of its 8192-element buffer, each summed
// pairwise (pairwiseSum), the chunks added in order to an accumulator that
// starts at +0. For n ≤ 8192 that is numpy's pairwise sum of a contiguous
// array too.
func numpySum(x []float64) float64 {
	const buffer = 8192
	s := 0.0
	for i := 0; i < len(x); i += buffer {
		s += pairwiseSum(x[i:min(i+buffer, len(x))])
	}
	return s
}

// pairwiseSum is numpy's pairwise_sum for float64 (umath loops): below 8
// values a plain running sum; up to 128 eight interleaved partial sums
// combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the rest added in
// order; beyond, the two halves (split at a multiple of 8) summed
// recursively.
func pairwiseSum(x []float64) float64 {
	n := len(x)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], x[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += x[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += x[i]
		}
		return s
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(x[:n2]) + pairwiseSum(x[n2:])
}

// numpyMean is np.mean: numpySum / n.
func numpyMean(x []float64) float64 { return numpySum(x) / float64(len(x)) }

// numpyNanStd is np.nanstd (ddof 0), which is np.std when x holds no NaN:
// the mean of the non-NaN values, their squared deviations (NaN entries as
// 0) summed, divided by their count, square root. All NaN gives NaN.
func numpyNanStd(x []float64) float64 {
	cnt := 0
	vals := make([]float64, len(x))
	for i, v := range x {
		if !math.IsNaN(v) {
			vals[i] = v
			cnt++
		}
	}
	mean := numpySum(vals) / float64(cnt)
	for i, v := range x {
		if math.IsNaN(v) {
			vals[i] = 0
		} else {
			d := v - mean
			vals[i] = float64(d * d)
		}
	}
	return math.Sqrt(numpySum(vals) / float64(cnt))
}

// seqMean is numpy's mean along an axis that is not the innermost one: the
// values added in order from the first, divided by their count (NaN for
// none, as numpy's 0/0; L5's "before" window is empty when its
// LearningTime is 0 bins).
func seqMean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := x[0]
	for _, v := range x[1:] {
		s += v
	}
	return s / float64(len(x))
}

// BinMeans returns the means of consecutive bins of width steps of the
// row-major (steps, units) rates: (steps/width, units), each the bin's rates
// added in step order and divided by width (L5's np.mean(r.reshape(-1,
// width, n), axis=1), its "activity_mean" with width 25). steps must be a
// multiple of width.
func BinMeans(rates []float64, steps, units, width int) ([]float64, error) {
	if width < 1 || steps%width != 0 || len(rates) != steps*units {
		return nil, fmt.Errorf("analysis: %d rates as %d steps × %d units in bins of %d", len(rates), steps, units, width)
	}
	bins := steps / width
	out := make([]float64, bins*units)
	col := make([]float64, width)
	for b := range bins {
		for i := range units {
			for k := range width {
				col[k] = rates[(b*width+k)*units+i]
			}
			out[b*units+i] = seqMean(col)
		}
	}
	return out, nil
}

// Window is the half-open range of bins [From, To).
type Window struct{ From, To int }

// Len is the number of bins.
func (w Window) Len() int { return w.To - w.From }

// L5Windows returns L5's "after" and "before" analysis windows over bins
// bins of width steps (run_simulation + activity_eva, l5.md §7):
//
//   - after: the last min(20, bins) bins (the last 500 steps for width 25);
//   - before: with LearningTime = int(max(warmup·dt/τ, 0)/width), bins
//     [max(LearningTime−5, 0), LearningTime), capped at the last 5 of them.
//
// The "before" window is L5's bug: LearningTime divides a time in units of
// τ (warmup·dt/τ = 50 for warm-up 500, dt 0.01, τ 0.1) by the bin width in
// steps, so it is 2 bins instead of 20, and "before learning" is bins 0–1
// (steps 1–50), the initial transient. CorrectedWindows has the intended
// one.
func L5Windows(bins, width, warmup int, dt, tau float64) (before, after Window) {
	evalBins := min(600/width, bins) // activity_eval: the last int(600/width) bins
	afterBins := min(500/width, evalBins)
	after = Window{bins - afterBins, bins}
	lt := int(math.Max(float64(float64(warmup)*dt)/tau, 0) / float64(width))
	before = Window{max(lt-5, 0), min(lt, bins)}
	if b := min(5, 500/width); before.Len() > b { // activity_eva(…, 5·width) keeps the last 5
		before.From = before.To - b
	}
	return before, after
}

// CorrectedWindows is L5Windows with the "before" window L5 meant: the 5
// bins that end where learning starts, warmup/width (in steps).
func CorrectedWindows(bins, width, warmup int) (before, after Window) {
	after = Window{bins - min(500/width, bins), bins}
	lt := min(warmup/width, bins)
	return Window{max(lt-5, 0), lt}, after
}

// WindowMeans returns the per-unit mean response over window w, one row
// per direction: binned[d] is direction d's row-major (bins, units) bin
// means, and row d of the result is (units), each unit's bins added in order
// and divided by w.Len() (activity_eva's np.mean over the bin axis).
func WindowMeans(binned [][]float64, units int, w Window) [][]float64 {
	out := make([][]float64, len(binned))
	col := make([]float64, w.Len())
	for d, b := range binned {
		out[d] = make([]float64, units)
		for i := range units {
			for k := range col {
				col[k] = b[(w.From+k)*units+i]
			}
			out[d][i] = seqMean(col)
		}
	}
	return out
}

// PopulationActivity returns the mean and the NaN-ignoring std (ddof 0) of
// all bin means of units [from, to) over every direction and the bins of
// window w, in numpy's order (activity_eva's Amean and Astd).
func PopulationActivity(binned [][]float64, units int, w Window, from, to int) (mean, std float64) {
	vals := make([]float64, 0, len(binned)*w.Len()*(to-from))
	for _, b := range binned {
		for k := w.From; k < w.To; k++ {
			vals = append(vals, b[k*units+from:k*units+to]...)
		}
	}
	return numpyMean(vals), numpyNanStd(vals)
}

// UnitSelectivity is one unit's selectivity from its responses to four
// directions 90° apart.
type UnitSelectivity struct {
	// Preferred is the direction of the largest response (the first on ties).
	Preferred int
	// OS = (R_po − R_orth)/(R_po + R_orth), DS = (R_pref − R_opp)/(R_pref +
	// R_opp), OSp = (R_pref − R_orth)/(R_pref + R_orth), with R_pref the
	// preferred response, R_opp the opposite one, R_po the mean of the two
	// and R_orth the mean of the two orthogonal responses.
	OS, DS, OSp float64
}

// SelectivityOf computes a unit's indices as helper.calculate_selectivity
// does: preferred = np.argmax (the first maximum, or the first NaN), means
// of two as (a+b)/2, no absolute values. OS is then measured about the
// preferred direction's orientation, so it is negative when the orthogonal
// orientation responds more on average (e.g. responses 1, 0.9, 0, 0.9).
//
// With corrected, the preferred orientation for OS is the one of the larger
// mean response of its two directions (standard OS, ≥ 0 for non-negative
// responses); DS and OSp stay about the preferred direction, and an index
// whose denominator is 0 (no response in its directions) is 0 instead of
// NaN. L5's unused calculate_selectivity_sbi takes |·| of each numerator
// instead; that is neither.
func SelectivityOf(r [4]float64, corrected bool) UnitSelectivity {
	p := 0
	for d := 1; d < 4 && !math.IsNaN(r[p]); d++ {
		if r[d] > r[p] || math.IsNaN(r[d]) {
			p = d
		}
	}
	pref, opp := r[p], r[(p+2)%4]
	po := (pref + opp) / 2
	orth := (r[(p+1)%4] + r[(p+3)%4]) / 2
	idx := func(a, b float64) float64 {
		if corrected && a+b == 0 {
			return 0
		}
		return (a - b) / (a + b)
	}
	u := UnitSelectivity{Preferred: p, OS: idx(po, orth), DS: idx(pref, opp), OSp: idx(pref, orth)}
	if corrected {
		o0, o1 := (r[0]+r[2])/2, (r[1]+r[3])/2
		u.OS = idx(math.Max(o0, o1), math.Min(o0, o1))
	}
	return u
}

// SelectivityOptions are the analysis' choices.
type SelectivityOptions struct {
	// Threshold: a unit is reliable unless its response is below Threshold
	// in every direction (L5: 1e-4).
	Threshold float64
	// Corrected selects the corrected indices (SelectivityOf) and makes a
	// unit with a NaN response unreliable; L5 counts it reliable (NaN <
	// threshold is false) and lets the NaN into its population's means.
	Corrected bool
}

// L5Threshold is L5's reliability threshold.
const L5Threshold = 1e-4

// PopulationSelectivity is one population's selectivity over its reliable
// units.
type PopulationSelectivity struct {
	// Reliable are the reliable units (global indices) and Units their
	// indices, in unit order.
	Reliable []int
	Units    []UnitSelectivity
	// Mean and Std (np.std, ddof 0) of OS, DS and OSp over the reliable
	// units, in numpy's order; NaN without reliable units.
	MeanOS, StdOS, MeanDS, StdDS, MeanOSp, StdOSp float64
}

// Selectivity computes every population's selectivity from the per-unit
// responses resp[d][i] (four directions, as WindowMeans returns them);
// offsets[p] is population p's first unit, offsets[P] the total. all
// reports whether every population has a reliable unit: L5 computes (and
// keeps) the selectivity of a simulation only then, and counts each
// population without one in activity_off.
func Selectivity(resp [][]float64, offsets []int, opt SelectivityOptions) (pops []PopulationSelectivity, all bool) {
	if len(resp) != 4 {
		panic(fmt.Sprintf("analysis.Selectivity: %d directions, need 4 (0°, 90°, 180°, 270°)", len(resp)))
	}
	all = true
	for p := 0; p+1 < len(offsets); p++ {
		var ps PopulationSelectivity
		var os, ds, osp []float64
		for i := offsets[p]; i < offsets[p+1]; i++ {
			r := [4]float64{resp[0][i], resp[1][i], resp[2][i], resp[3][i]}
			below, nan := 0, false
			for _, v := range r {
				if v < opt.Threshold {
					below++
				}
				nan = nan || math.IsNaN(v)
			}
			if below == 4 || opt.Corrected && nan {
				continue
			}
			u := SelectivityOf(r, opt.Corrected)
			ps.Reliable = append(ps.Reliable, i)
			ps.Units = append(ps.Units, u)
			os, ds, osp = append(os, u.OS), append(ds, u.DS), append(osp, u.OSp)
		}
		if len(ps.Reliable) == 0 {
			all = false
			ps.MeanOS, ps.StdOS, ps.MeanDS, ps.StdDS, ps.MeanOSp, ps.StdOSp = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
		} else {
			ps.MeanOS, ps.StdOS = numpyMean(os), numpyStd(os)
			ps.MeanDS, ps.StdDS = numpyMean(ds), numpyStd(ds)
			ps.MeanOSp, ps.StdOSp = numpyMean(osp), numpyStd(osp)
		}
		pops = append(pops, ps)
	}
	return pops, all
}

// numpyStd is np.std (ddof 0): NaN propagates.
func numpyStd(x []float64) float64 {
	mean := numpyMean(x)
	sq := make([]float64, len(x))
	for i, v := range x {
		d := v - mean
		sq[i] = float64(d * d)
	}
	return math.Sqrt(numpySum(sq) / float64(len(x)))
}

// LastBinAllNaN reports L5's NaN check: every unit's last bin mean is NaN
// (binned is (bins, units) row-major). L5 then sets them to 0 and counts
// the run in nan_counter.
func LastBinAllNaN(binned []float64, units int) bool {
	last := binned[len(binned)-units:]
	for _, v := range last {
		if !math.IsNaN(v) {
			return false
		}
	}
	return len(last) > 0
}

// NotInEquilibrium is L5's equilibrium check on one direction's bin means
// (bins ≥ 10, (bins, units) row-major): m1 = the mean of bins −10…−6, m2 =
// that of bins −5…−1 (added in bin order, divided by 5); the run is not in
// equilibrium when m1 − m2 ≥ tol (L5: 0.05) for some unit, or it is NaN.
// L5's test is one-sided — only a falling rate counts — and with its
// aliased input (see stimulus.Grating) it fails in every direction; with
// twoSided the test is |m1 − m2| ≥ tol.
func NotInEquilibrium(binned []float64, units int, tol float64, twoSided bool) bool {
	bins := len(binned) / units
	col := make([]float64, 5)
	mean := func(from, i int) float64 {
		for k := range col {
			col[k] = binned[(from+k)*units+i]
		}
		return seqMean(col)
	}
	for i := range units {
		d := mean(bins-10, i) - mean(bins-5, i)
		if twoSided {
			d = math.Abs(d)
		}
		if !(d < tol) {
			return true
		}
	}
	return false
}
