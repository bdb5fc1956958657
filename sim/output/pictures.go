package output

import (
	"fmt"
	"math"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/output/plot"
	"github.com/ratesim/ratesim/sim/spec"
)

// The pictures a run may write into its output directory, as PNG; in
// another format (Recording.PlotFormat) the extension follows it:
// rates.svg, weights.pdf.
const (
	RatesPicture   = "rates.png"
	WeightsPicture = "weights.png"
)

// PictureNames are every picture a run may write, in every format; Write
// removes an earlier run's picture that the new run does not draw.
var PictureNames = func() []string {
	var names []string
	for _, f := range plot.Formats {
		for _, n := range []string{RatesPicture, WeightsPicture} {
			names = append(names, pictureFile(n, f))
		}
	}
	return names
}()

// CheckPlotFormat checks a picture format's name: png (also ""), svg or pdf.
func CheckPlotFormat(format string) error {
	_, err := plot.ParseFormat(format)
	return err
}

// pictureFile is picture name (RatesPicture, WeightsPicture) in format f.
func pictureFile(name string, f plot.Format) string {
	return strings.TrimSuffix(name, path.Ext(name)) + f.Ext()
}

// PictureFile is the file name picture name (RatesPicture, WeightsPicture)
// has in r's plot format.
func (r *Recording[T]) PictureFile(name string) string {
	f, err := plot.ParseFormat(r.PlotFormat)
	if err != nil {
		return name
	}
	return pictureFile(name, f)
}

// Picture is one picture of a run: its file name in the output directory
// and its encoded bytes.
type Picture struct {
	Name string
	Data []byte
}

// The rates picture's choices.
const (
	// heatRows is the most rows of the rates heat map: more recorded units
	// are averaged in groups.
	heatRows = 300
	// traceUnits is how many units' traces the rates picture draws: the
	// most variable unit of each quarter of the recorded units.
	traceUnits = 4
	// maxChannels is the most outputs and input channels drawn (the first
	// ones).
	maxChannels = 8
	// maxWeightTraces is the most single weights the weights picture draws.
	maxWeightTraces = 8
	// maxMatrix is the most rows and columns a matrix is drawn with: larger
	// ones are averaged over blocks.
	maxMatrix = 300
)

// drawPictures draws the pictures of spec s's run from its recording, in
// its PlotFormat: rates.png when rates or outputs were recorded,
// weights.png when a plastic run recorded weight snapshots.
func drawPictures[T backend.Float](s *spec.Spec, res *Recording[T]) ([]Picture, error) {
	f, err := plot.ParseFormat(res.PlotFormat)
	if err != nil {
		return nil, err
	}
	var pics []Picture
	run, err := runFigure(s, res)
	if err != nil {
		return nil, err
	}
	if run != nil {
		data, err := plot.DrawRun(run, f)
		if err != nil {
			return nil, err
		}
		pics = append(pics, Picture{pictureFile(RatesPicture, f), data})
	}
	if res.Weights != nil {
		if w := weightsFigure(s, res.Weights); w != nil {
			data, err := plot.DrawWeights(w, f)
			if err != nil {
				return nil, err
			}
			pics = append(pics, Picture{pictureFile(WeightsPicture, f), data})
		}
	}
	return pics, nil
}

// inputBins is trial 0's input over the recorded span of steps, binned as
// the rates picture draws it.
type inputBins struct {
	first, last int
	bins        *plot.Bins
}

// PutInput keeps what the rates picture needs of the input of the chunk of
// steps t0+1 … t0+n: in is (B, n, I), nil when the run has no input. Only
// trial 0's first channels are kept, aggregated into time bins over the
// recorded span of steps, so memory does not grow with the run.
func (r *Recording[T]) PutInput(t0, n, I int, in []T) {
	p := r.Plan
	if in == nil || I == 0 || p.M == 0 {
		return
	}
	if r.input == nil {
		span := p.Last - p.First + 1
		r.input = &inputBins{first: p.First, last: p.Last, bins: plot.NewBins(span, min(I, maxChannels), plot.MaxBins, maxChannels, true)}
	}
	ib := r.input
	C := ib.bins.Width
	for s := 0; s < n; s++ {
		t := t0 + s + 1
		if t < ib.first || t > ib.last {
			continue
		}
		plot.Add(ib.bins, t-ib.first, float64(t), in[s*I:s*I+C])
	}
}

// readRows reads rows m0 … m0+k−1 of trial b into dst (k·width values), in
// one read when the array is streamed.
func readRows[T backend.Float](a *array[T], b, m0, k int, dst []T) error {
	off := (b*a.M + m0) * a.width
	n := k * a.width
	if a.file == nil {
		copy(dst[:n], a.mem[off:off+n])
		return nil
	}
	size := elemSize[T]()
	if cap(a.buf) < n*size {
		a.buf = make([]byte, n*size)
	}
	buf := a.buf[:n*size]
	if _, err := a.file.ReadAt(buf, int64(off)*int64(size)); err != nil {
		return fmt.Errorf("reading back %s: %w", a.name, err)
	}
	decode(dst[:n], buf)
	return nil
}

// eachRow calls fn with every recorded row of trial 0 of a, in order,
// reading about a megabyte at a time.
func eachRow[T backend.Float](a *array[T], fn func(m int, row []T)) error {
	per := max(1, (1<<20)/max(1, a.width*elemSize[T]()))
	block := make([]T, per*a.width)
	for m0 := 0; m0 < a.M; m0 += per {
		k := min(per, a.M-m0)
		if err := readRows(a, 0, m0, k, block); err != nil {
			return err
		}
		for j := 0; j < k; j++ {
			fn(m0+j, block[j*a.width:(j+1)*a.width])
		}
	}
	return nil
}

// runFigure aggregates trial 0 of the recording into the rates picture:
// one pass over the rates for the heat map, the outputs and each unit's
// variance, a second for the traces of the most variable units. It returns
// nil when nothing was recorded.
func runFigure[T backend.Float](s *spec.Spec, res *Recording[T]) (*plot.Run, error) {
	plan := res.Plan
	M := plan.M
	if M == 0 || res.rates == nil && res.outputs == nil {
		return nil, nil
	}
	h := float64(plan.Every) * s.Dt // the time between recorded steps
	per := plot.NewBins(M, 1, plot.MaxBins, 1, false)
	t0 := res.Time[0] - h/2
	t1 := t0 + float64(per.Count*per.Per)*h
	r := &plot.Run{T0: t0, T1: t1}
	r.Title = fmt.Sprintf("%s — trial 0 of %d: %d units, %d steps of %g ms", s.Name, s.Trials, s.Dims[1], s.Steps, s.Dt)
	binNote := func() string {
		if per.Per == 1 {
			return ""
		}
		return fmt.Sprintf(", mean of each %d recorded steps", per.Per)
	}
	if a := res.rates; a != nil {
		U := a.width
		heat := plot.NewBins(M, U, plot.MaxBins, heatRows, false)
		sum, sq := make([]float64, U), make([]float64, U)
		if err := eachRow(a, func(m int, row []T) {
			plot.Add(heat, m, res.Time[m], row)
			for u, v := range row {
				sum[u] += float64(v)
				sq[u] += float64(v) * float64(v)
			}
		}); err != nil {
			return nil, err
		}
		g := heat.Grid()
		g.X0, g.X1, g.Y0, g.Y1 = t0, t1, -0.5, float64(U)-0.5
		r.Rates = g
		if !plan.All {
			r.Units = plan.Units
		}
		r.RatesTitle = fmt.Sprintf("rates r of %d recorded units%s", U, binNote())
		if heat.Groups() < U {
			r.RatesTitle += fmt.Sprintf(" and %d units", (U+heat.Groups()-1)/heat.Groups())
		}
		// The most variable unit of each of traceUnits consecutive groups of
		// the recorded units (ties: the lower position), so that the traces
		// span the network rather than repeat its most active corner.
		variance := func(u int) float64 {
			m := sum[u] / float64(M)
			return sq[u]/float64(M) - m*m
		}
		var pick []int
		groups := min(traceUnits, U)
		for q := 0; q < groups; q++ {
			best := q * U / groups
			for u := best + 1; u < (q+1)*U/groups; u++ {
				if variance(u) > variance(best) {
					best = u
				}
			}
			pick = append(pick, best)
		}
		tb := plot.NewBins(M, len(pick), plot.MaxBins, len(pick), true)
		sel := make([]T, len(pick))
		if err := eachRow(a, func(m int, row []T) {
			for k, u := range pick {
				sel[k] = row[u]
			}
			plot.Add(tb, m, res.Time[m], sel)
		}); err != nil {
			return nil, err
		}
		for k, u := range pick {
			r.Traces = append(r.Traces, tb.Series(k, fmt.Sprintf("unit %d", plan.Units[u]), 1))
		}
		r.TracesTitle = "the most variable unit of each quarter of the recorded units"
		if len(pick) < traceUnits {
			r.TracesTitle = "every recorded unit"
		}
		if per.Per > 1 {
			r.TracesTitle += " (line: mean, shade: min–max of each bin)"
		}
	}
	if a := res.outputs; a != nil && a.width > 0 {
		C := min(a.width, maxChannels)
		ob := plot.NewBins(M, C, plot.MaxBins, C, true)
		if err := eachRow(a, func(m int, row []T) { plot.Add(ob, m, res.Time[m], row[:C]) }); err != nil {
			return nil, err
		}
		for k := 0; k < C; k++ {
			r.Outputs = append(r.Outputs, ob.Series(k, fmt.Sprintf("output %d", k), 1))
		}
		r.OutputsTitle = "outputs y" + channelsNote(C, a.width)
	}
	if ib := res.input; ib != nil {
		C := ib.bins.Width
		for k := 0; k < C; k++ {
			r.Inputs = append(r.Inputs, ib.bins.Series(k, fmt.Sprintf("input %d", k), s.Dt))
		}
		r.InputsTitle = "input u" + channelsNote(C, s.Dims[0])
		if ib.bins.Per > 1 {
			r.InputsTitle += fmt.Sprintf(" (every step; mean and min–max of each %d steps)", ib.bins.Per)
		}
	}
	return r, nil
}

func channelsNote(shown, of int) string {
	if shown < of {
		return fmt.Sprintf(" (the first %d of %d)", shown, of)
	}
	return ""
}

// weightsFigure gathers matrix 0 of a plastic run's weight record into the
// weights picture, or returns nil when it recorded no snapshots.
func weightsFigure[T backend.Float](s *spec.Spec, w *Weights[T]) *plot.Weights {
	S, W := w.snaps, w.width
	if S == 0 || W == 0 {
		return nil
	}
	snap := func(k int) []T { return w.snapshots[k*W : (k+1)*W] }
	end := float64(s.Steps) * s.Dt
	out := &plot.Weights{T0: 0, T1: math.Max(w.times[S-1], end)}
	if out.T1 <= 0 {
		out.T1 = 1
	}
	out.Title = fmt.Sprintf("%s — plastic weights (%s): %d snapshots, one every %d steps", s.Name, weightsKind(w), S, w.plan.Record.Stride)
	if w.mats > 1 {
		out.Title += ", trial 0's matrix"
	}
	pops := w.plan.PopNames
	popOf := func(u int) int {
		if w.plan.Pops == nil {
			return 0
		}
		return int(w.plan.Pops[u])
	}
	what := w.plan.Record.What
	// series bins the snapshots' values picked by at (one per series)
	// over time.
	series := func(names []string, at func(snap []T, q int) float64) []plot.Series {
		b := plot.NewBins(S, len(names), plot.MaxBins, len(names), true)
		row := make([]float64, len(names))
		for k := 0; k < S; k++ {
			for q := range names {
				row[q] = at(snap(k), q)
			}
			plot.Add(b, k, w.times[k], row)
		}
		ss := make([]plot.Series, len(names))
		for q, n := range names {
			ss[q] = b.Series(q, n, 1)
		}
		return ss
	}
	switch what {
	case backend.SnapSynapses:
		n := min(W, 3*maxWeightTraces/2)
		names := make([]string, n)
		syn := s.Plasticity.Record.Synapses
		for q := range names {
			names[q] = fmt.Sprintf("weight %d", q)
			if q < len(syn) {
				names[q] = synapseName(syn[q].Layer, syn[q].Pre, syn[q].Post)
			}
		}
		out.Traces = series(names, func(v []T, q int) float64 { return float64(v[q]) })
		out.TracesTitle = "the recorded synapses" + channelsNote(n, W)
		return out
	case backend.SnapBlockMeans:
		var names []string
		var idx []int
		for _, sg := range w.segs {
			rows, cols := sg.Shape[0], sg.Shape[1]
			ini, fin := snap(0)[sg.Offset:sg.Offset+rows*cols], snap(S - 1)[sg.Offset:sg.Offset+rows*cols]
			mp := plot.MatrixPair{Initial: plot.Pool(ini, rows, cols, maxMatrix), Final: plot.Pool(fin, rows, cols, maxMatrix),
				InitialTitle: sg.Connection + ": block means at 0 ms", FinalTitle: fmt.Sprintf("%s: block means at %g ms", sg.Connection, w.times[S-1]),
				XLabel: "presynaptic population", YLabel: "postsynaptic population"}
			mp.XNames, mp.YNames = popLabels(sg.Connection, pops, cols, true), popLabels(sg.Connection, pops, rows, false)
			out.Pairs = append(out.Pairs, mp)
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					names = append(names, mp.XNames[j]+" → "+mp.YNames[i])
					idx = append(idx, sg.Offset+i*cols+j)
				}
			}
		}
		if len(names) > 3*maxWeightTraces/2 {
			names, idx = names[:3*maxWeightTraces/2], idx[:3*maxWeightTraces/2]
		}
		out.Means = series(names, func(v []T, q int) float64 { return float64(v[idx[q]]) })
		out.MeansTitle = "mean weight of each population pair (pre → post)"
		return out
	}
	// Whole matrices: initial | final per connection, the weights that
	// changed most, and the population-pair means.
	type change struct {
		at    int
		name  string
		delta float64
	}
	var changes []change
	var meanNames []string
	// block is a population pair of a connection's matrix at offset at:
	// presynaptic population pre (when byPre), postsynaptic post (when
	// byPost; inputs and outputs are one population each).
	type block struct {
		at, rows, cols, pre, post int
		byPre, byPost             bool
	}
	var blocks []block
	for _, sg := range w.segs {
		rows, cols := sg.Shape[0], sg.Shape[1]
		ini := snap(0)[sg.Offset : sg.Offset+rows*cols]
		fin := snap(S - 1)[sg.Offset : sg.Offset+rows*cols]
		finT := w.times[S-1]
		if l := slices.Index(spec.ConnectionNames[:], sg.Connection); l >= 0 && w.final[l] != nil {
			fin, finT = w.final[l][:rows*cols], end
		}
		xl, yl := "presynaptic unit", "postsynaptic unit"
		switch sg.Connection {
		case "input":
			xl = "input"
		case "readout":
			yl = "output"
		}
		out.Pairs = append(out.Pairs, plot.MatrixPair{Initial: plot.Pool(ini, rows, cols, maxMatrix), Final: plot.Pool(fin, rows, cols, maxMatrix),
			InitialTitle: sg.Connection + ": initial (0 ms)", FinalTitle: fmt.Sprintf("%s: final (%g ms)", sg.Connection, finT), XLabel: xl, YLabel: yl})
		last := snap(S - 1)[sg.Offset:]
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				k := i*cols + j
				if d := math.Abs(float64(last[k]) - float64(ini[k])); d > 0 {
					changes = append(changes, change{sg.Offset + k, synapseName(sg.Connection, j, i), d})
				}
			}
		}
		if len(pops) > 1 {
			preNames, postNames := popLabels(sg.Connection, pops, len(pops), true), popLabels(sg.Connection, pops, len(pops), false)
			np, nq := len(pops), len(pops)
			if sg.Connection == "input" {
				np = 1
			}
			if sg.Connection == "readout" {
				nq = 1
			}
			for x := 0; x < np; x++ {
				for y := 0; y < nq; y++ {
					meanNames = append(meanNames, preNames[x]+" → "+postNames[y])
					blocks = append(blocks, block{sg.Offset, rows, cols, x, y, sg.Connection != "input", sg.Connection != "readout"})
				}
			}
		}
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].delta > changes[j].delta })
	changes = changes[:min(len(changes), maxWeightTraces)]
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].at < changes[j].at })
	tracesTitle := fmt.Sprintf("the %d weights that changed most (pre → post)", len(changes))
	if len(changes) == 0 {
		// Nothing changed: draw the first weights, and say so.
		for k := 0; k < min(W, maxWeightTraces) && len(w.segs) > 0; k++ {
			sg := w.segs[0]
			if k < sg.Shape[0]*sg.Shape[1] {
				changes = append(changes, change{at: k, name: synapseName(sg.Connection, k%sg.Shape[1], k/sg.Shape[1])})
			}
		}
		tracesTitle = fmt.Sprintf("no weight changed; the first %d (pre → post)", len(changes))
	}
	names := make([]string, len(changes))
	for q, c := range changes {
		names[q] = c.name
	}
	out.Traces = series(names, func(v []T, q int) float64 { return float64(v[changes[q].at]) })
	out.TracesTitle = tracesTitle
	if len(blocks) > 0 {
		if len(blocks) > 3*maxWeightTraces/2 {
			blocks, meanNames = blocks[:3*maxWeightTraces/2], meanNames[:3*maxWeightTraces/2]
		}
		out.Means = series(meanNames, func(v []T, q int) float64 {
			b := blocks[q]
			var sum float64
			n := 0
			for i := 0; i < b.rows; i++ {
				if b.byPost && popOf(i) != b.post {
					continue
				}
				for j := 0; j < b.cols; j++ {
					if b.byPre && popOf(j) != b.pre {
						continue
					}
					sum += float64(v[b.at+i*b.cols+j])
					n++
				}
			}
			if n == 0 {
				return 0
			}
			return sum / float64(n)
		})
		out.MeansTitle = "mean weight of each population pair (pre → post)"
	}
	return out
}

// weightsKind names what a weight record holds.
func weightsKind[T backend.Float](w *Weights[T]) string {
	switch w.plan.Record.What {
	case backend.SnapSynapses:
		return "chosen synapses"
	case backend.SnapBlockMeans:
		return "block means"
	}
	return "whole matrices"
}

// synapseName names the synapse from pre onto post of a connection.
func synapseName(conn string, pre, post int) string {
	switch conn {
	case "input":
		return fmt.Sprintf("input %d → %d", pre, post)
	case "readout":
		return fmt.Sprintf("%d → output %d", pre, post)
	}
	return fmt.Sprintf("%d → %d", pre, post)
}

// popLabels names the n presynaptic (pre) or postsynaptic populations of a
// connection: the hidden populations, or "input" / "output" for the side
// that has none.
func popLabels(conn string, pops []string, n int, pre bool) []string {
	if pre && conn == "input" {
		return []string{"input"}
	}
	if !pre && conn == "readout" {
		return []string{"output"}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i)
		if i < len(pops) {
			out[i] = pops[i]
		}
	}
	return out
}
