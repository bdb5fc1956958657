package plot

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/vg"
)

// Weights is what the weights picture shows of a plastic run; each part is
// left out when it is empty.
type Weights struct {
	Title string
	// Pairs are the plastic connections' matrices at the start and at the
	// end, one row of the picture each.
	Pairs []MatrixPair
	// Traces are individual weights over time; Means the mean weight of
	// each population pair over time.
	Traces, Means           []Series
	TracesTitle, MeansTitle string
	// T0 and T1 (ms) span the time axis.
	T0, T1 float64
}

// MatrixPair is one connection's matrix at the start and at the end (out
// down, in across), drawn side by side on one colour scale.
type MatrixPair struct {
	Initial, Final           *Grid
	InitialTitle, FinalTitle string
	XLabel, YLabel           string
	// XNames and YNames, when set, label the columns and rows (a table of
	// populations) instead of numbering them.
	XNames, YNames []string
}

// DrawWeights draws w as a WeightsSize picture in format f: a row per
// connection of initial | final | colour bar (blue negative, white zero,
// red positive, the pair on one scale), then the weight traces and the
// population-pair means on one time axis in ms, legends to the right.
func DrawWeights(w *Weights, f Format) ([]byte, error) {
	return drawFigure(f, WeightsSize, func(fig *figure) {
		area := fig.title(w.Title)
		const rightW = 200 // px
		area.Min.X += px(12)
		area.Min.Y += px(10)
		var ws []float64
		// The matrices take at most about half the height, whatever their
		// number.
		for range w.Pairs {
			ws = append(ws, 4.4/float64(max(2, len(w.Pairs))))
		}
		type trace struct {
			ss    []Series
			title string
		}
		var traces []trace
		for _, t := range []trace{{w.Traces, w.TracesTitle}, {w.Means, w.MeansTitle}} {
			if len(t.ss) > 0 {
				traces = append(traces, t)
				ws = append(ws, 1.6)
			}
		}
		if len(ws) == 0 {
			fig.note(vg.Point{X: area.Min.X, Y: area.Max.Y}, "no weights were recorded")
			return
		}
		rows := split(area, px(18), ws...)
		// Matrix rows: initial and final share the width left of the colour bar.
		for i, mp := range w.Pairs {
			r := rows[i]
			lo, hi := span(mp.Initial.Z, mp.Final.Z)
			cm := colourMap(lo, hi, true)
			left, right := r, r
			mid := r.Min.X + (r.Max.X-px(rightW)-r.Min.X)/2
			left.Max.X, right.Min.X, right.Max.X = mid-px(10), mid+px(10), r.Max.X-px(rightW)
			pl := fig.matrixPanel(mp.Initial, cm, mp.InitialTitle, mp.XLabel, mp.YLabel, mp.XNames, mp.YNames)
			pr := fig.matrixPanel(mp.Final, cm, mp.FinalTitle, mp.XLabel, mp.YLabel, mp.XNames, mp.YNames)
			ps := []placed{{pl, left}, {pr, right}}
			fig.alignY(ps)
			fig.drawAll(ps...)
			d := fig.dataRect(ps[1])
			fig.colourBar(cm, "weight", d, d.Max.X+px(16), px(110))
		}
		var ps []placed
		var lgs []*legend
		main := area
		main.Max.X -= px(rightW)
		for i, t := range traces {
			r := rows[len(w.Pairs)+i]
			r.Min.X, r.Max.X = main.Min.X, main.Max.X
			p, lg := fig.tracePanel(t.ss, t.title, "", "weight", w.T0, w.T1)
			ps, lgs = append(ps, placed{p, r}), append(lgs, lg)
		}
		if len(ps) == 0 {
			return
		}
		ps[len(ps)-1].p.X.Label.Text = "time (ms)"
		yTicks(ps)
		fig.alignX(ps)
		fig.drawAll(ps...)
		for i := range ps {
			d := fig.dataRect(ps[i])
			fig.legendAt(lgs[i], vg.Rectangle{Min: vg.Point{X: d.Max.X + px(16), Y: d.Min.Y}, Max: vg.Point{X: area.Max.X - px(4), Y: d.Max.Y}})
		}
	})
}

// matrixPanel is a heat map of a matrix, row 0 at the top, its rows and
// columns numbered or named.
func (fig *figure) matrixPanel(g *Grid, cm palette.ColorMap, title, xlabel, ylabel string, xnames, ynames []string) *plot.Plot {
	p := fig.heatPanel(g, cm, title, xlabel, ylabel)
	p.X.Tick.Marker = indexTicks(g.X1-g.X0, xnames, fig)
	p.Y.Tick.Marker = indexTicks(g.Y1-g.Y0, ynames, fig)
	return p
}

// indexTicks labels whole-number positions, or names them.
func indexTicks(n float64, names []string, fig *figure) plot.Ticker {
	if names != nil {
		t := make(fixedTicks, len(names))
		for i, s := range names {
			t[i] = plot.Tick{Value: float64(i), Label: fig.txt(s)}
		}
		return t
	}
	return niceTicks{n: int(math.Max(2, math.Min(6, n))), integer: true}
}
