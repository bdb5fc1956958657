package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/analysis"
	"github.com/ratesim/ratesim/sim/circuit"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/output/plot"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// CircuitNetwork is one drawn network of a circuit run and what it did in
// every direction (condition).
type CircuitNetwork struct {
	Net *circuit.L5Network
	// Rates[d] are r_1 … r_T of direction d, (steps, units) row-major.
	Rates [][]float64
	// Final[d] are the weights after direction d's run, (post, pre) n×n;
	// the initial ones are Net.W.
	Final [][]float64
	// BlockMeans[d] are the weights' block means every bin of
	// bin_width steps, (snapshots, P pre, P post) as the backend's
	// SnapBlockMeans — nil without
	// plasticity.
	BlockMeans [][]float64
	// Analysis is the per-network selectivity analysis (nil unless the
	// circuit has the four directions 0°, 90°, 180°, 270°).
	Analysis *analysis.SimulationResult
}

// CircuitResult is a circuit run: its parameters, every network and the
// summary tables over networks.
type CircuitResult struct {
	Params   circuit.L5Params
	Offsets  []int
	Networks []CircuitNetwork
	// After and Before are the selectivity tables (analysis.SelectivityTable)
	// of the windows after and before learning, Weights the weight summary
	// (analysis.WeightSummary, corrected means) and Loss the tuning loss
	// (analysis.Loss, corrected) when the circuit has a w_compare target.
	After, Before [12][]float64
	Weights       [9][]float64
	Loss          float64
	HasAnalysis   bool
	Backend       string
	Wall          time.Duration
}

// circuitWindows are a circuit run's analysis windows, in bins: after
// learning the last 20 bins (L5's), before learning the 5 bins that end
// where learning starts (what L5 meant: its own window is the initial
// transient, analysis.L5Windows).
func circuitWindows(p circuit.L5Params) (before, after analysis.Window) {
	return analysis.CorrectedWindows(p.Steps()/p.BinWidth, p.BinWidth, p.Warmup)
}

// circuitDirectionsAnalysable reports whether the directions are the four
// the selectivity analysis needs (0°, 90°, 180°, 270° in that order).
func circuitDirectionsAnalysable(deg []float64) bool {
	return len(deg) == 4 && deg[0] == 0 && deg[1] == 90 && deg[2] == 180 && deg[3] == 270
}

// CircuitBackend is the backend circuit c runs on: c.Backend, except
// that auto (or no backend) falls back to cpu when the backend it picks
// cannot run c's program — the rate form, or with a learning rule the L5
// rules — and then says why in note (empty otherwise). A backend named
// explicitly is used as it is, and refuses such a program at Start.
func CircuitBackend(c *spec.Circuit) (b backend.Backend, note string, err error) {
	b, err = backend.Lookup(c.Backend)
	if err != nil {
		return nil, "", &spec.Error{File: c.File(), Field: "backend", Reason: err.Error()}
	}
	if c.Backend != "" && c.Backend != "auto" {
		return b, "", nil
	}
	learns := c.Plasticity != nil && c.Plasticity.Rule != "" && c.Plasticity.Rule != "none"
	var lacks string
	switch {
	case !backend.SupportsRateForm(b):
		lacks = "the rate form"
	case learns && !backend.SupportsL5Plasticity(b):
		lacks = "the L5 learning rules"
	case learns && c.Plasticity.Update == "low_rank" && !backend.SupportsL5LowRank(b):
		lacks = "the low-rank form of the L5 rules"
	default:
		return b, "", nil
	}
	cpu, err := backend.Lookup("cpu")
	if err != nil {
		return nil, "", &spec.Error{File: c.File(), Field: "backend", Reason: err.Error()}
	}
	return cpu, fmt.Sprintf("backend %s does not run circuits with %s yet; running on cpu", b.Name(), lacks), nil
}

// SimulateCircuit runs every network of circuit c in every direction on
// backend b, the directions as the trials of one program (each with its
// own plastic weights, so learning restarts per direction from the same
// W0 and r_0, as the layer-5 model does), and analyses the rates.
func SimulateCircuit(ctx context.Context, c *spec.Circuit, b backend.Backend, progress io.Writer) (*CircuitResult, error) {
	res, err := SimulateCircuits(ctx, []*spec.Circuit{c}, b, progress)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// SimulateCircuits runs the circuits cs, which may differ only in
// circuit.BatchFields (the points of a fit's generation), as the instances
// of one program per network: every circuit's result has the bits
// SimulateCircuit of that circuit alone gives. Wall is the batch's.
func SimulateCircuits(ctx context.Context, cs []*spec.Circuit, b backend.Backend, progress io.Writer) ([]*CircuitResult, error) {
	if err := circuit.CheckBatch(cs); err != nil {
		return nil, err
	}
	ps := make([]circuit.L5Params, len(cs))
	for k, c := range cs {
		var err error
		if ps[k], err = circuit.FromSpec(c); err != nil {
			return nil, err
		}
	}
	prec, _ := backend.ParsePrecision(cs[0].Precision)
	if prec == backend.F32 {
		return simulateCircuits[float32](ctx, cs, ps, b, progress)
	}
	return simulateCircuits[float64](ctx, cs, ps, b, progress)
}

func simulateCircuits[T backend.Float](ctx context.Context, cs []*spec.Circuit, ps []circuit.L5Params, b backend.Backend, progress io.Writer) ([]*CircuitResult, error) {
	start := time.Now()
	c, p := cs[0], ps[0]
	offsets := []int{0}
	for _, q := range p.Populations {
		offsets = append(offsets, offsets[len(offsets)-1]+q.Size)
	}
	out := make([]*CircuitResult, len(cs))
	for k := range out {
		out[k] = &CircuitResult{Params: ps[k], Backend: b.Name(), Offsets: offsets}
	}
	D, steps := len(p.Degrees), p.Steps()
	what := fmt.Sprintf("%s: %d network(s) × %d directions", c.Name, c.Networks, D)
	if len(cs) > 1 {
		what = fmt.Sprintf("%s: %d points × %d network(s) × %d directions", c.Name, len(cs), c.Networks, D)
	}
	prog := output.NewProgress(progress, what, int64(c.Networks*steps), "steps")
	for s := 0; s < c.Networks; s++ {
		var net *circuit.L5Network
		var err error
		if path := c.NetworkPath(); path != "" {
			if net, err = p.LoadNetwork(path); err != nil {
				return nil, &spec.Error{File: c.File(), Field: "network.file", Reason: err.Error()}
			}
		} else if net, err = p.Network(c.Seed, s); err != nil {
			return nil, &spec.Error{File: c.File(), Field: "connectivity", Reason: err.Error()}
		}
		gs := make([]*stimulus.Grating, len(cs))
		for k := range cs {
			gs[k] = ps[k].Grating(net)
			if err := gs[k].Check(); err != nil {
				return nil, &spec.Error{File: cs[k].File(), Field: "stimulus", Reason: err.Error()}
			}
		}
		cns, err := runCircuitNetworks[T](ctx, cs, ps, net, gs, b, func(done int) { prog.Update(int64(s*steps + done)) })
		if err != nil {
			if c.Networks > 1 {
				err = fmt.Errorf("network %d of %d: %w", s+1, c.Networks, err)
			}
			return nil, err
		}
		for k, cn := range cns {
			out[k].Networks = append(out[k].Networks, *cn)
		}
	}
	prog.Finish()
	wall := time.Since(start)
	for _, res := range out {
		res.Wall = wall
		if err := analyseCircuit(res); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// analyseCircuit fills res's selectivity analysis, tables and loss from
// its networks' rates and weights, when the directions allow it.
func analyseCircuit(res *CircuitResult) error {
	p := res.Params
	if !circuitDirectionsAnalysable(p.Degrees) {
		return nil
	}
	res.HasAnalysis = true
	bw, aw := circuitWindows(p)
	sims, after, before, w, err := circuitTablesOf(res, bw, aw, false)
	if err != nil {
		return err
	}
	for i := range res.Networks {
		res.Networks[i].Analysis = sims[i]
	}
	res.After, res.Before, res.Weights = after, before, w
	if p.WCompare != nil {
		res.Loss = analysis.Loss(w, p.WCompare, res.After, res.Before, false)
	}
	return nil
}

// circuitTablesOf analyses every network of res over the windows bw, aw:
// each network's analysis, the selectivity tables after and before, and
// the weight summary (L5's own, whose means are stds, with l5).
func circuitTablesOf(res *CircuitResult, bw, aw analysis.Window, l5 bool) (sims []*analysis.SimulationResult, after, before [12][]float64, w [9][]float64, err error) {
	p := res.Params
	n, steps := p.Units(), p.Steps()
	var as, bs []analysis.SimSelectivity
	var final, initial [][]float64
	for i := range res.Networks {
		cn := &res.Networks[i]
		a, err := analysis.AnalyzeSimulation(cn.Rates, steps, n, p.BinWidth, res.Offsets, bw, aw, analysis.SelectivityOptions{Threshold: analysis.L5Threshold})
		if err != nil {
			return nil, after, before, w, err
		}
		sims = append(sims, a)
		as, bs = append(as, a.After), append(bs, a.Before)
		for d := range cn.Final {
			final, initial = append(final, cn.Final[d]), append(initial, cn.Net.W)
		}
	}
	w, err = analysis.WeightSummary(final, initial, res.Offsets, l5)
	return sims, analysis.SelectivityTable(as), analysis.SelectivityTable(bs), w, err
}

// CircuitLoss is res's tuning loss (l5.md §8; analysis.Loss) against the
// circuit's w_compare target: the corrected one (res.Loss: true block
// means, the "before" window that ends where learning starts) or, with
// l5, the original's own formula (its block "means" that are stds, its
// transient "before" window, Mean_std counted in), as its tuning loop
// minimizes it. NaN without a target or without the four directions.
func CircuitLoss(res *CircuitResult, l5 bool) (float64, error) {
	p := res.Params
	if !res.HasAnalysis || p.WCompare == nil {
		return math.NaN(), nil
	}
	if !l5 {
		return res.Loss, nil
	}
	bw, aw := analysis.L5Windows(p.Steps()/p.BinWidth, p.BinWidth, p.Warmup, p.Dt, p.Tau)
	_, after, before, w, err := circuitTablesOf(res, bw, aw, true)
	if err != nil {
		return 0, err
	}
	return analysis.Loss(w, p.WCompare, after, before, true), nil
}

// circuitChunk is the steps per Advance call of a circuit run, and the
// stride of the weights' block means over time.
const circuitChunk = 50

// runCircuitNetwork runs one network of one circuit in every direction.
func runCircuitNetwork[T backend.Float](ctx context.Context, c *spec.Circuit, p circuit.L5Params, net *circuit.L5Network, g *stimulus.Grating, b backend.Backend, tick func(done int)) (*CircuitNetwork, error) {
	cns, err := runCircuitNetworks[T](ctx, []*spec.Circuit{c}, []circuit.L5Params{p}, net, []*stimulus.Grating{g}, b, tick)
	if err != nil {
		return nil, err
	}
	return cns[0], nil
}

// runCircuitNetworks runs one network in every direction for each of the
// batched circuits cs (circuit.ProgramBatch: instance k is cs[k], with
// grating gs[k]), and returns what each did.
func runCircuitNetworks[T backend.Float](ctx context.Context, cs []*spec.Circuit, ps []circuit.L5Params, net *circuit.L5Network, gs []*stimulus.Grating, b backend.Backend, tick func(done int)) ([]*CircuitNetwork, error) {
	c, p := cs[0], ps[0]
	K, n, D, steps := len(cs), p.Units(), len(p.Degrees), p.Steps()
	// The rates' storage, the run's largest allocation (K × D × steps × n,
	// 32 MB for the static example, whose zeroing took ~3 ms), is made on
	// a second goroutine while this one builds and starts the program: the
	// first chunk's recording would otherwise wait for it.
	storage := make(chan [][]float64, 1)
	go func() {
		rates := make([][]float64, K*D)
		for x := range rates {
			rates[x] = make([]float64, 0, steps*n)
		}
		storage <- rates
	}()
	prog, err := circuit.ProgramBatch[T](cs, ps, net)
	if err != nil {
		return nil, err
	}
	run, err := backend.Start(b, prog)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.File(), err)
	}
	defer run.Close()
	cns := make([]*CircuitNetwork, K)
	for k := range cns {
		cns[k] = &CircuitNetwork{Net: net, Rates: make([][]float64, D)} // each direction's from storage, taken by the first record
	}
	plastic := prog.Plasticity != nil
	rows := prog.DriveRows()
	var drive []T
	if plastic {
		for _, cn := range cns {
			cn.BlockMeans = make([][]float64, D)
		}
		drive = make([]T, K*D*rows*n)
	}
	// The chunks are pipelined: while the backend advances chunk c, a
	// helper goroutine records chunk c−1's rates and fills chunk c+1's
	// input (two buffers of each), so the backend's cores do not wait for
	// either. The rates' storage is allocated by the helper too (its
	// zeroing is the largest single cost outside the backend).
	var ins [2][]T
	var outs [2]*backend.Chunk[T]
	outRecorded := [2]int{-1, -1}
	for i := range ins {
		ins[i] = make([]T, K*D*circuitChunk*n)
	}
	row := make([]float64, circuitChunk*n)
	fillers := make([]*stimulus.GratingFiller, len(gs))
	for k, g := range gs {
		fillers[k] = g.Filler()
	}
	fill := func(done int, in []T) {
		m := min(circuitChunk, steps-done)
		in64, f64 := any(in).([]float64)
		for k, g := range fillers {
			for d := 0; d < D; d++ {
				at := (k*D + d) * m * n
				if f64 {
					g.Fill(d, done, in64[at:at+m*n])
					continue
				}
				g.Fill(d, done, row[:m*n])
				for x, v := range row[:m*n] {
					in[at+x] = T(v)
				}
			}
		}
	}
	record := func(done int, out *backend.Chunk[T]) {
		m := min(circuitChunk, steps-done)
		r64, f64 := any(out.Rates).([]float64)
		if done == 0 {
			rates := <-storage
			for k, cn := range cns {
				copy(cn.Rates, rates[k*D:(k+1)*D])
			}
		}
		for k, cn := range cns {
			for d := 0; d < D; d++ {
				at := (k*D + d) * m * n
				if f64 {
					cn.Rates[d] = append(cn.Rates[d], r64[at:at+m*n]...)
					continue
				}
				for _, v := range out.Rates[at : at+m*n] {
					cn.Rates[d] = append(cn.Rates[d], float64(v))
				}
			}
		}
	}
	// The block means of a chunk's weights are taken on the next chunk's
	// helper goroutine, beside that chunk's Advance: drive is not written
	// again until that Advance and its helper are done.
	meansPending := false
	summarize := func() {
		for k, cn := range cns {
			for d := 0; d < D; d++ {
				cn.BlockMeans[d] = append(cn.BlockMeans[d], blockMeans(net.Offsets, drive[(k*D+d)*rows*n:], n, 1)...)
			}
		}
	}
	// The low-rank form (backend.L5LowRank) hands out its factors, O(N) a
	// trial, instead of the weights: the block means are W0's plus the
	// factors' (lowRankBlockMeans), and the weights are read once, at the
	// end.
	lowRun, lowRank := run.(backend.L5LowRankRun[T])
	lowRank = lowRank && backend.IsL5LowRank(prog)
	var factors []T
	var lowMeans *lowRankMeans
	if lowRank {
		factors = make([]T, K*D*prog.Plasticity.L5.LowRank.Factors*n)
		lowMeans = newLowRankMeans(prog, net.Offsets)
		summarize = func() {
			for k, cn := range cns {
				for d := 0; d < D; d++ {
					cn.BlockMeans[d] = append(cn.BlockMeans[d], lowRankBlockMeans(lowMeans, k*D+d, factors)...)
				}
			}
		}
	}
	fill(0, ins[0])
	for ci, done := 0, 0; done < steps; ci, done = ci+1, done+circuitChunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("interrupted: %w", err)
		}
		m := min(circuitChunk, steps-done)
		in, cur := ins[ci%2], ci%2
		if rec := prog.Record.Recorded(done, m); rec != outRecorded[cur] || prog.WeightsRecorded(done, m) > 0 {
			outs[cur], outRecorded[cur] = backend.NewChunkFor(prog, done, m), rec
		}
		out := outs[cur]
		helped := make(chan struct{})
		go func() {
			defer close(helped)
			if meansPending {
				summarize()
			}
			if ci > 0 {
				record(done-circuitChunk, outs[1-cur])
			}
			if done+m < steps {
				fill(done+m, ins[1-cur])
			}
		}()
		err := run.Advance(m, in[:K*D*m*n], out)
		<-helped
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.File(), err)
		}
		if done+m >= steps {
			record(done, out)
		}
		meansPending = false
		if lowRank {
			if err := lowRun.L5LowRankFactors(factors); err != nil {
				return nil, err
			}
			meansPending = true
		} else if plastic {
			if err := backend.Weights(run, drive, nil); err != nil {
				return nil, err
			}
			meansPending = true
		}
		tick(done + m)
	}
	if meansPending {
		summarize()
	}
	if lowRank {
		if err := backend.Weights(run, drive, nil); err != nil {
			return nil, err
		}
	}
	for k, cn := range cns {
		cn.Final = make([][]float64, D)
		if !plastic {
			for d := range cn.Final {
				cn.Final[d] = net.W
			}
			continue
		}
		for d := range cn.Final {
			W := drive[(k*D+d)*rows*n:]
			f := make([]float64, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					f[i*n+j] = float64(W[j*n+i])
				}
			}
			cn.Final[d] = f
		}
	}
	return cns, nil
}

// blockMeans are the mean recurrent weights of each (pre, post)
// population block, P × P pre-major, the weight from unit j to unit i at
// w[j·preStride + i·postStride], each block's entries added pre-major from
// +0, absent synapses included (the block's mean weight per pair of units,
// as L5's weight summary). A direct loop rather than an accessor closure:
// a plastic run calls it on every weight matrix after every chunk.
func blockMeans[T backend.Float](offsets []int, w []T, preStride, postStride int) []float64 {
	P := len(offsets) - 1
	out := make([]float64, P*P)
	for a := range P {
		for b := range P {
			var s float64
			for j := offsets[a]; j < offsets[a+1]; j++ {
				row := w[j*preStride:]
				for i := offsets[b]; i < offsets[b+1]; i++ {
					s += float64(row[i*postStride])
				}
			}
			if cnt := (offsets[a+1] - offsets[a]) * (offsets[b+1] - offsets[b]); cnt > 0 {
				out[a*P+b] = s / float64(cnt)
			}
		}
	}
	return out
}

// lowRankMeans computes the block means of a low-rank run's weights
// W0 + Σ_f P_f ⊗ S'_f (backend.L5LowRank) from its factors: per (pre a,
// post b) block, W0's mean (blockMeans) plus Σ_f (Σ_{i∈b} P_fi)·(Σ_{j∈a}
// S'_fj)/count, in float64 — the same means as blockMeans of the
// materialized weights up to rounding, at O(F·N) a trial instead of
// O(N²).
type lowRankMeans struct {
	offsets []int
	f, n    int
	w0      [][]float64 // per trial: W0's block means
	sSums   [][]float64 // per trial: Σ_{j∈a} S'_fj, [f·P + a]
}

func newLowRankMeans[T backend.Float](p *backend.Program[T], offsets []int) *lowRankMeans {
	N, rows, B := p.Units, p.DriveRows(), p.Trials
	P := len(offsets) - 1
	F := p.Plasticity.L5.LowRank.Factors
	m := &lowRankMeans{offsets: offsets, f: F, n: N}
	for kb := range p.Instances * B {
		k := kb / B
		m.w0 = append(m.w0, blockMeans(offsets, p.Drive[k*rows*N:], N, 1))
		s := backend.L5LowRankPresynaptic(p, kb)
		sums := make([]float64, F*P)
		for f := range F {
			for a := range P {
				for j := offsets[a]; j < offsets[a+1]; j++ {
					sums[f*P+a] += float64(s[f*N+j])
				}
			}
		}
		m.sSums = append(m.sSums, sums)
	}
	return m
}

// lowRankBlockMeans returns trial kb's block means (P × P, pre-major)
// with factors holding every trial's P (backend.L5LowRankRun's layout).
func lowRankBlockMeans[T backend.Float](m *lowRankMeans, kb int, factors []T) []float64 {
	P := len(m.offsets) - 1
	out := append([]float64(nil), m.w0[kb]...)
	for f := range m.f {
		pf := factors[(kb*m.f+f)*m.n : (kb*m.f+f+1)*m.n]
		for b := range P {
			var ps float64
			for i := m.offsets[b]; i < m.offsets[b+1]; i++ {
				ps += float64(pf[i])
			}
			for a := range P {
				if cnt := (m.offsets[a+1] - m.offsets[a]) * (m.offsets[b+1] - m.offsets[b]); cnt > 0 {
					out[a*P+b] += ps * m.sSums[kb][f*P+a] / float64(cnt)
				}
			}
		}
	}
	return out
}

// CircuitFiles are the paths a circuit run wrote.
type CircuitFiles struct {
	Dir, Result, Meta string
	Tables, Pictures  []string
}

// circuitMeta is a circuit run's meta.json.
type circuitMeta struct {
	Ratesim     string           `json:"ratesim"`
	Circuit     *spec.Circuit    `json:"circuit"`
	CircuitFile string           `json:"circuit_file,omitempty"`
	Backend     string           `json:"backend"`
	Precision   string           `json:"precision"`
	Populations []string         `json:"populations"`
	Directions  []float64        `json:"directions"`
	Steps       int              `json:"steps"`
	Networks    int              `json:"networks"`
	WallSeconds float64          `json:"wall_seconds"`
	Arrays      map[string][]int `json:"arrays"`
	// Summary is what `ratesim run` prints: per population, the mean OS,
	// DS and OS_p before and after learning; the tuning loss; the relative
	// indices of the first two populations; NaN and equilibrium counters.
	Summary  *circuitSummary `json:"summary,omitempty"`
	Tables   []string        `json:"tables"`
	Pictures []string        `json:"pictures"`
	Finished string          `json:"finished"`
}

type circuitSummary struct {
	Before, After map[string]map[string]float64
	Loss          *float64           `json:"loss,omitempty"`
	Relative      map[string]float64 `json:"relative,omitempty"`
	NaNRuns       int                `json:"nan_runs"`
	NotInEq       int                `json:"not_in_equilibrium_runs"`
}

// WriteCircuit writes a circuit run into the stage and publishes it:
// result.npz (rates, weights, positions), the tables selectivity, units
// and weights in Parquet and CSV, the pictures and meta.json.
func WriteCircuit(st *output.Stage, c *spec.Circuit, res *CircuitResult, version, plotFormat string) (*CircuitFiles, error) {
	p := res.Params
	n, D, steps, K := p.Units(), len(p.Degrees), p.Steps(), len(res.Networks)
	P := len(p.Populations)
	files := &CircuitFiles{Dir: st.Path(""), Result: st.Path("result.npz"), Meta: st.Path("meta.json")}
	arrays := map[string][]int{}
	path, err := st.StagedPath("result.npz")
	if err != nil {
		return nil, err
	}
	w, err := npz.Create(path)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	put := func(name string, shape []int, data []float64) error {
		arrays[name] = shape
		return w.Float64(name, shape, data)
	}
	var rates, initial, final, blocks, x, y []float64
	snaps := 0
	for _, cn := range res.Networks {
		for d := range D {
			rates = append(rates, cn.Rates[d]...)
			final = append(final, cn.Final[d]...)
			if cn.BlockMeans != nil {
				snaps = len(cn.BlockMeans[d]) / (P * P)
				blocks = append(blocks, cn.BlockMeans[d]...)
			}
		}
		initial = append(initial, cn.Net.W...)
		x, y = append(x, cn.Net.X...), append(y, cn.Net.Y...)
	}
	for _, a := range []struct {
		name  string
		shape []int
		data  []float64
	}{
		{"rates", []int{K, D, steps, n}, rates},
		{"initial_weights", []int{K, n, n}, initial},
		{"final_weights", []int{K, D, n, n}, final},
		{"x", []int{K, n}, x}, {"y", []int{K, n}, y},
		{"directions", []int{D}, p.Degrees},
	} {
		if err := put(a.name, a.shape, a.data); err != nil {
			return nil, err
		}
	}
	if blocks != nil {
		if err := put("block_means", []int{K, D, snaps, P, P}, blocks); err != nil {
			return nil, err
		}
	}
	offsets := make([]int64, len(res.Offsets))
	for i, o := range res.Offsets {
		offsets[i] = int64(o)
	}
	arrays["offsets"] = []int{len(offsets)}
	if err := w.Int64("offsets", []int{len(offsets)}, offsets); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	meta := circuitMeta{Ratesim: version, Circuit: c, CircuitFile: c.File(), Backend: res.Backend, Precision: c.Precision,
		Directions: p.Degrees, Steps: steps, Networks: K, WallSeconds: res.Wall.Seconds(), Arrays: arrays,
		Finished: time.Now().UTC().Format(time.RFC3339)}
	for _, q := range p.Populations {
		meta.Populations = append(meta.Populations, q.Name)
	}
	if res.HasAnalysis {
		tables := circuitTables(res)
		for _, t := range tables {
			for _, csvForm := range []bool{true, false} {
				var buf bytes.Buffer
				name := t.name + ".parquet"
				if csvForm {
					name = t.name + ".csv"
					err = output.WriteCSV(&buf, t.cols, t.rows)
				} else {
					err = output.WriteParquet(&buf, t.cols, t.rows)
				}
				if err == nil {
					err = st.WriteStaged(name, buf.Bytes())
				}
				if err != nil {
					return nil, err
				}
				meta.Tables = append(meta.Tables, name)
				files.Tables = append(files.Tables, st.Path(name))
			}
		}
		meta.Summary = summarize(res)
	}
	if plotFormat != "" {
		f, err := plot.ParseFormat(plotFormat)
		if err != nil {
			return nil, err
		}
		pics, err := plot.CircuitPictures(circuitPictures(res), f)
		if err != nil {
			return nil, fmt.Errorf("pictures: %w", err)
		}
		names := make([]string, 0, len(pics))
		for name := range pics {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			file := name + f.Ext()
			if err := st.WriteStaged(file, pics[name]); err != nil {
				return nil, err
			}
			meta.Pictures = append(meta.Pictures, file)
			files.Pictures = append(files.Pictures, st.Path(file))
		}
	}
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := st.WriteStaged("meta.json", append(data, '\n')); err != nil {
		return nil, err
	}
	if err := st.Publish(); err != nil {
		return nil, err
	}
	return files, nil
}

type circuitTable struct {
	name string
	cols []output.Column
	rows [][]string
}

func cell(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// circuitTables are the run's tables: selectivity (per window and
// population, the rows of analysis.SelectivityTable), units (per network,
// direction window and unit: reliability, preferred direction, OS, DS,
// OS_p and the mean response in each direction) and weights (per
// population pair, analysis.WeightSummary with true means).
func circuitTables(res *CircuitResult) []circuitTable {
	p := res.Params
	sel := circuitTable{name: "selectivity", cols: []output.Column{{Name: "window", Kind: "string"}, {Name: "population", Kind: "string"}}}
	for _, r := range analysis.SelectivityRowNames {
		sel.cols = append(sel.cols, output.Column{Name: strings.ToLower(r), Kind: "float"})
	}
	for _, w := range []struct {
		name string
		t    [12][]float64
	}{{"before", res.Before}, {"after", res.After}} {
		for q, pop := range p.Populations {
			row := []string{w.name, pop.Name}
			for r := range 12 {
				row = append(row, cell(w.t[r][q]))
			}
			sel.rows = append(sel.rows, row)
		}
	}
	units := circuitTable{name: "units", cols: []output.Column{{Name: "network", Kind: "int"}, {Name: "window", Kind: "string"},
		{Name: "unit", Kind: "int"}, {Name: "population", Kind: "string"}, {Name: "reliable", Kind: "int"},
		{Name: "preferred_deg", Kind: "float"}, {Name: "os", Kind: "float"}, {Name: "ds", Kind: "float"}, {Name: "os_p", Kind: "float"}}}
	for _, d := range p.Degrees {
		units.cols = append(units.cols, output.Column{Name: fmt.Sprintf("response_%g", d), Kind: "float"})
	}
	for k, cn := range res.Networks {
		for _, w := range []struct {
			name string
			s    analysis.SimSelectivity
		}{{"before", cn.Analysis.Before}, {"after", cn.Analysis.After}} {
			bw, aw := circuitWindows(p)
			win := aw
			if w.name == "before" {
				win = bw
			}
			resp := analysis.WindowMeans(cn.Analysis.Binned, p.Units(), win)
			for q, ps := range w.s.Pops {
				rel := map[int]analysis.UnitSelectivity{}
				for x, i := range ps.Reliable {
					rel[i] = ps.Units[x]
				}
				for i := res.Offsets[q]; i < res.Offsets[q+1]; i++ {
					u, ok := rel[i]
					r := [4]float64{resp[0][i], resp[1][i], resp[2][i], resp[3][i]}
					if !ok {
						u = analysis.SelectivityOf(r, false)
					}
					row := []string{strconv.Itoa(k), w.name, strconv.Itoa(i), p.Populations[q].Name, map[bool]string{true: "1", false: "0"}[ok],
						cell(p.Degrees[u.Preferred]), cell(u.OS), cell(u.DS), cell(u.OSp)}
					for d := range r {
						row = append(row, cell(r[d]))
					}
					units.rows = append(units.rows, row)
				}
			}
		}
	}
	wt := circuitTable{name: "weights", cols: []output.Column{{Name: "post", Kind: "string"}, {Name: "pre", Kind: "string"}}}
	for _, r := range analysis.WeightRowNames {
		wt.cols = append(wt.cols, output.Column{Name: strings.ToLower(r), Kind: "float"})
	}
	P := len(p.Populations)
	for post := range P {
		for pre := range P {
			row := []string{p.Populations[post].Name, p.Populations[pre].Name}
			for r := range 9 {
				row = append(row, cell(res.Weights[r][post*P+pre]))
			}
			wt.rows = append(wt.rows, row)
		}
	}
	return []circuitTable{sel, units, wt}
}

// summarize is meta.json's summary and what `ratesim run` prints.
func summarize(res *CircuitResult) *circuitSummary {
	p := res.Params
	s := &circuitSummary{Before: map[string]map[string]float64{}, After: map[string]map[string]float64{}}
	for q, pop := range p.Populations {
		for _, w := range []struct {
			into map[string]map[string]float64
			t    [12][]float64
		}{{s.Before, res.Before}, {s.After, res.After}} {
			w.into[pop.Name] = map[string]float64{"activity": w.t[0][q], "os": w.t[3][q], "ds": w.t[6][q], "os_p": w.t[9][q]}
		}
	}
	if p.WCompare != nil {
		l := res.Loss
		s.Loss = &l
	}
	if len(p.Populations) >= 2 {
		if os, ds, osp, ok := analysis.RelativeIndices(res.After, 0, 1); ok {
			s.Relative = map[string]float64{"os": os, "ds": ds, "os_p": osp}
		}
	}
	for _, cn := range res.Networks {
		s.NaNRuns += cn.Analysis.NaN
		s.NotInEq += cn.Analysis.NotEq
	}
	return s
}

// PrintCircuitSummary writes the selectivity summary a user reads first:
// per population the mean activity, OS, DS and OS_p before and after
// learning.
func PrintCircuitSummary(w io.Writer, res *CircuitResult) {
	if !res.HasAnalysis {
		fmt.Fprintln(w, "no selectivity analysis: it needs the four directions 0, 90, 180, 270")
		return
	}
	s := summarize(res)
	fmt.Fprintf(w, "%-10s %-7s %10s %8s %8s %8s\n", "population", "window", "activity", "OS", "DS", "OS_p")
	for _, pop := range res.Params.Populations {
		for _, win := range []struct {
			name string
			m    map[string]map[string]float64
		}{{"before", s.Before}, {"after", s.After}} {
			v := win.m[pop.Name]
			fmt.Fprintf(w, "%-10s %-7s %10.4g %8.4f %8.4f %8.4f\n", pop.Name, win.name, v["activity"], v["os"], v["ds"], v["os_p"])
		}
	}
	if s.Loss != nil {
		fmt.Fprintf(w, "tuning loss %.6g", *s.Loss)
		if s.Relative != nil {
			fmt.Fprintf(w, "; %s vs %s: relative OS %.4f, DS %.4f, OS_p %.4f", res.Params.Populations[0].Name, res.Params.Populations[1].Name, s.Relative["os"], s.Relative["ds"], s.Relative["os_p"])
		}
		fmt.Fprintln(w)
	}
	runs := len(res.Networks) * len(res.Params.Degrees)
	if s.NaNRuns > 0 {
		fmt.Fprintf(w, "warning: %d of %d direction runs ended in NaN (their last bin counts as 0, as in L5)\n", s.NaNRuns, runs)
	}
	if s.NotInEq > 0 {
		fmt.Fprintf(w, "note: %d of %d direction runs not in equilibrium by L5's test (some unit's mean rate fell by ≥ 0.05 from bins −10…−6 to −5…−1; with l5_compat's aliased grating it fails in every direction)\n", s.NotInEq, runs)
	}
}

// circuitPictures is what the circuit pictures draw: the first network's
// rates and weights per direction, its selectivity before and after
// learning, the target block means (the connectivity's w_target, the
// means W0's blocks are drawn around before normalization — so the
// targets are the table a user wrote, on the weights' own scale only when
// the normalization is none — or analysis.w_compare when given).
func circuitPictures(res *CircuitResult) *plot.Circuit {
	p := res.Params
	cn := res.Networks[0]
	P, n := len(p.Populations), p.Units()
	pc := &plot.Circuit{Offsets: res.Offsets, Directions: p.Degrees, DtMs: p.Dt, TimeUnit: "model units, τ = " + strconv.FormatFloat(p.Tau, 'g', -1, 64), Rates: cn.Rates, Steps: p.Steps(), RateStride: 1}
	for _, q := range p.Populations {
		pc.Populations = append(pc.Populations, q.Name)
	}
	pc.InitialBlocks = blockMeans(res.Offsets, cn.Net.W, 1, n)
	for _, f := range cn.Final {
		pc.FinalBlocks = append(pc.FinalBlocks, blockMeans(res.Offsets, f, 1, n))
	}
	if p.WCompare != nil {
		pc.TargetBlocks = make([]float64, 0, P*P)
		for _, row := range p.WCompare {
			pc.TargetBlocks = append(pc.TargetBlocks, row...)
		}
	}
	if cn.BlockMeans != nil {
		pc.BlocksOverTime = cn.BlockMeans
		pc.WeightSteps = len(cn.BlockMeans[0]) / (P * P)
		pc.WeightStride = circuitChunk
	}
	nan := func() []float64 {
		v := make([]float64, P)
		for i := range v {
			v[i] = math.NaN()
		}
		return v
	}
	for x := range 3 {
		pc.Before[x] = plot.PopulationIndex{Mean: nan(), Std: nan()}
		pc.After[x] = plot.PopulationIndex{Mean: nan(), Std: nan()}
	}
	if a := cn.Analysis; a != nil {
		for _, w := range []struct {
			into *[3]plot.PopulationIndex
			s    analysis.SimSelectivity
		}{{&pc.Before, a.Before}, {&pc.After, a.After}} {
			for q, ps := range w.s.Pops {
				w.into[0].Mean[q], w.into[0].Std[q] = ps.MeanOS, ps.StdOS
				w.into[1].Mean[q], w.into[1].Std[q] = ps.MeanDS, ps.StdDS
				w.into[2].Mean[q], w.into[2].Std[q] = ps.MeanOSp, ps.StdOSp
			}
		}
		_, aw := circuitWindows(p)
		pc.WindowFrom, pc.WindowTo = aw.From*p.BinWidth, aw.To*p.BinWidth
	}
	return pc
}
