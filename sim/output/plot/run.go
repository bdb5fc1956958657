package plot

import (
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Run is what the rates picture shows of one trial of a run; each part is
// left out when it is empty.
type Run struct {
	Title string
	// Rates is the heat map of the rates: recorded units down (row r holds
	// positions Y0 … Y1 of the recorded units, −0.5 … U−0.5 with one row
	// a unit), time bins across (X0 … X1 in ms).
	Rates *Grid
	// Units is the unit index at each recorded position (nil: the position
	// is the unit index), for the heat map's tick labels.
	Units []int
	// Traces are a few units' rates, Outputs the outputs, Inputs the input
	// channels, each aggregated over time bins.
	Traces, Outputs, Inputs []Series
	// The panels' titles.
	RatesTitle, TracesTitle, OutputsTitle, InputsTitle string
	// T0 and T1 (ms) span the time axis of every panel.
	T0, T1 float64
}

// DrawRun draws r as a RunSize picture in format f: the heat map with its
// colour bar above the traces, the outputs and the input, all on one time
// axis in ms, legends to the right.
func DrawRun(r *Run, f Format) ([]byte, error) {
	return drawFigure(f, RunSize, func(fig *figure) {
		area := fig.title(r.Title)
		const rightW = 190 // px: the colour bar and the legends
		area.Min.X += px(12)
		area.Min.Y += px(10)
		mainMaxX := area.Max.X - px(rightW)
		type band struct {
			w   float64
			p   *plot.Plot
			lg  *legend
			bar bool
		}
		var bands []band
		if r.Rates != nil && r.Rates.Rows > 0 && r.Rates.Cols > 0 {
			lo, hi := span(r.Rates.Z)
			cm := colourMap(lo, hi, false)
			p := fig.heatPanel(r.Rates, cm, r.RatesTitle, "", "unit")
			units := r.Units
			p.Y.Tick.Marker = niceTicks{n: 6, integer: true, label: func(v float64) string {
				i := int(v)
				if units == nil {
					return strconv.Itoa(i)
				}
				if i >= 0 && i < len(units) {
					return strconv.Itoa(units[i])
				}
				return ""
			}}
			if r.T1 > r.T0 {
				p.X.Min, p.X.Max = r.T0, r.T1
			}
			bands = append(bands, band{w: 3.2, p: p, bar: true})
		}
		for _, t := range []struct {
			ss     []Series
			title  string
			ylabel string
			w      float64
		}{{r.Traces, r.TracesTitle, "rate", 1.6}, {r.Outputs, r.OutputsTitle, "output", 1.6}, {r.Inputs, r.InputsTitle, "input", 1.3}} {
			if len(t.ss) == 0 {
				continue
			}
			p, lg := fig.tracePanel(t.ss, t.title, "", t.ylabel, r.T0, r.T1)
			bands = append(bands, band{w: t.w, p: p, lg: lg})
		}
		if len(bands) == 0 {
			fig.note(vg.Point{X: area.Min.X, Y: area.Max.Y}, "nothing was recorded")
			return
		}
		bands[len(bands)-1].p.X.Label.Text = "time (ms)"
		ws := make([]float64, len(bands))
		for i, b := range bands {
			ws[i] = b.w
		}
		main := area
		main.Max.X = mainMaxX
		rects := split(main, px(14), ws...)
		ps := make([]placed, len(bands))
		for i, b := range bands {
			ps[i] = placed{b.p, rects[i]}
		}
		yTicks(ps)
		fig.alignX(ps)
		fig.drawAll(ps...)
		for i, b := range bands {
			d := fig.dataRect(ps[i])
			if b.bar {
				lo, hi := span(r.Rates.Z)
				fig.colourBar(colourMap(lo, hi, false), "rate", d, d.Max.X+px(12), px(110))
			}
			if b.lg != nil {
				fig.legendAt(b.lg, vg.Rectangle{Min: vg.Point{X: d.Max.X + px(16), Y: d.Min.Y}, Max: vg.Point{X: area.Max.X - px(4), Y: d.Max.Y}})
			}
		}
	})
}
