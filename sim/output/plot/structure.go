package plot

import (
	"fmt"
	"image/color"
	"math"
	"math/cmplx"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Structure is what the structure picture shows of a network.
type Structure struct {
	Title string
	// W is the hidden weight matrix (post down, pre across), pooled to the
	// picture's resolution; its extent is in unit indices (−0.5 … N−0.5).
	W *Grid
	N int
	// Areas are the hidden areas, consecutive units each; EI are the places
	// inside areas where the E/I population changes, as the index of the
	// first unit after the change.
	Areas []Area
	EI    []int
	// Eigenvalues are W_hidden's; Radius their largest modulus. Note says
	// why there are none.
	Eigenvalues []complex128
	Radius      float64
	Note        string
}

// Area is a named range of consecutive units, [Start, End).
type Area struct {
	Name       string
	Start, End int
}

// DrawStructure draws s as a StructureSize picture in format f: the hidden
// weight matrix (colours saturating at the 98th percentile of the nonzero
// |w|) with solid lines between areas and dashed lines between E and I
// units, and the eigenvalue spectrum in the complex plane with the unit
// circle and the spectral radius.
func DrawStructure(s *Structure, f Format) ([]byte, error) {
	return drawFigure(f, StructureSize, func(fig *figure) {
		area := fig.title(s.Title)
		area.Min.X += px(12)
		area.Max.X -= px(12)
		area.Min.Y += px(10)
		width := area.Max.X - area.Min.X
		left, right := area, area
		left.Max.X = area.Min.X + width*0.5
		right.Min.X = left.Max.X + px(140)

		// A few strong weights (inhibitory ones, balancing many weak
		// excitatory ones) would wash the rest out: the colours saturate at
		// the 98th percentile of the nonzero |w|.
		clip := percentileAbs(s.W.Z, 0.98)
		cm := colourMap(-clip, clip, true)
		title := "W_hidden (post × pre)"
		switch {
		case len(s.Areas) > 1 && len(s.EI) > 0 && len(s.EI) <= 32:
			title += ": areas solid, E | I dashed"
		case len(s.Areas) > 1:
			title += ": areas solid"
		case len(s.EI) > 0 && len(s.EI) <= 32:
			title += ": E | I dashed"
		}
		pm := fig.heatPanel(s.W, cm, title, "presynaptic unit", "postsynaptic unit")
		pm.X.Tick.Marker, pm.Y.Tick.Marker = s.unitTicks(fig), s.unitTicks(fig)
		n := float64(s.N)
		line := func(xs, ys []float64, dash bool) {
			l, err := plotter.NewLine(plotter.XYs{{X: xs[0], Y: ys[0]}, {X: xs[1], Y: ys[1]}})
			if err != nil {
				return
			}
			l.Color, l.Width = color.Gray{40}, px(1.4)
			if dash {
				l.Color, l.Width, l.Dashes = color.Gray{70}, px(1), []vg.Length{px(5), px(4)}
			}
			pm.Add(l)
		}
		for _, a := range s.Areas {
			if a.Start > 0 {
				b := float64(a.Start) - 0.5
				line([]float64{b, b}, []float64{-0.5, n - 0.5}, false)
				line([]float64{-0.5, n - 0.5}, []float64{b, b}, false)
			}
		}
		if len(s.EI) <= 32 {
			for _, u := range s.EI {
				b := float64(u) - 0.5
				line([]float64{b, b}, []float64{-0.5, n - 0.5}, true)
				line([]float64{-0.5, n - 0.5}, []float64{b, b}, true)
			}
		}
		ml := placed{pm, left}
		fig.square(&ml)

		ps := fig.spectrum(s)
		sp := placed{ps, right}
		fig.square(&sp)
		fig.drawAll(ml, sp)
		d := fig.dataRect(ml)
		label := "weight"
		if lo, hi := span(s.W.Z); math.Max(-lo, hi) > clip*1.0001 {
			label = fmt.Sprintf("weight (saturates; |w| up to %.3g)", math.Max(-lo, hi))
		}
		fig.colourBar(cm, label, d, d.Max.X+px(16), px(110))
	})
}

// unitTicks label the area boundaries with unit indices and the areas'
// middles with their names (plain numbers with a single area).
func (s *Structure) unitTicks(fig *figure) plot.Ticker {
	if len(s.Areas) < 2 {
		return niceTicks{n: 6, integer: true}
	}
	var t fixedTicks
	for _, a := range s.Areas {
		t = append(t, plot.Tick{Value: float64(a.Start) - 0.5, Label: strconv.Itoa(a.Start)})
		if len(s.Areas) <= 8 {
			t = append(t, plot.Tick{Value: float64(a.Start+a.End-1) / 2, Label: fig.txt(a.Name)})
		}
	}
	t = append(t, plot.Tick{Value: float64(s.N) - 0.5, Label: strconv.Itoa(s.N)})
	for _, u := range s.EI {
		t = append(t, plot.Tick{Value: float64(u) - 0.5})
	}
	return t
}

// spectrum is the panel of the eigenvalues in the complex plane.
func (fig *figure) spectrum(s *Structure) *plot.Plot {
	title := "eigenvalues of W_hidden"
	if len(s.Eigenvalues) > 0 {
		title += fmt.Sprintf(" (ρ = %.4g)", s.Radius)
	}
	p := fig.newPlot(title, "Re λ", "Im λ")
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = px(6), -px(4)
	p.Legend.Padding = px(3)
	lim := 1.0
	for _, v := range s.Eigenvalues {
		lim = math.Max(lim, math.Max(math.Abs(real(v)), math.Abs(imag(v))))
	}
	lim *= 1.12
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -lim, lim, -lim, lim
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{n: 6}, niceTicks{n: 6}
	circle := func(r float64) plotter.XYs {
		xy := make(plotter.XYs, 361)
		for k := range xy {
			z := cmplx.Rect(r, float64(k)*math.Pi/180)
			xy[k] = plotter.XY{X: real(z), Y: imag(z)}
		}
		return xy
	}
	axes, _ := plotter.NewLine(plotter.XYs{{X: -lim, Y: 0}, {X: lim, Y: 0}})
	axes2, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: -lim}, {X: 0, Y: lim}})
	for _, a := range []*plotter.Line{axes, axes2} {
		a.Color, a.Width = color.Gray{190}, px(1)
		p.Add(a)
	}
	unit, _ := plotter.NewLine(circle(1))
	unit.Color, unit.Width = color.Gray{60}, px(1.5)
	p.Add(unit)
	p.Legend.Add("unit circle", unit)
	if len(s.Eigenvalues) == 0 {
		msg := s.Note
		if msg == "" {
			msg = "no eigenvalues"
		}
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 0, Y: lim * 0.5}}, Labels: []string{fig.txt("eigenvalues " + msg)}})
		if err == nil {
			lb.TextStyle[0].XAlign = draw.XCenter
			lb.TextStyle[0].Font.Size = 11
			p.Add(lb)
		}
		return p
	}
	rho, _ := plotter.NewLine(circle(s.Radius))
	rho.Color, rho.Width, rho.Dashes = color.RGBA{214, 39, 40, 255}, px(1.2), []vg.Length{px(6), px(4)}
	p.Add(rho)
	p.Legend.Add(fig.txt(fmt.Sprintf("|λ| = ρ = %.4g", s.Radius)), rho)
	xy := make(plotter.XYs, len(s.Eigenvalues))
	for k, v := range s.Eigenvalues {
		xy[k] = plotter.XY{X: real(v), Y: imag(v)}
	}
	sc, err := plotter.NewScatter(xy)
	if err == nil {
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		sc.GlyphStyle.Radius = px(2.6)
		sc.GlyphStyle.Color = color.NRGBA{31, 119, 180, 200}
		p.Add(sc)
		p.Legend.Add(fig.txt(fmt.Sprintf("eigenvalues (%d)", len(s.Eigenvalues))), sc)
	}
	return p
}

// square shrinks q's rectangle, keeping it centred, so that its data area
// is square.
func (fig *figure) square(q *placed) {
	d := fig.dataRect(*q)
	w, h := d.Max.X-d.Min.X, d.Max.Y-d.Min.Y
	if w > h {
		cut := (w - h) / 2
		q.r.Min.X += cut
		q.r.Max.X -= cut
	} else {
		cut := h - w
		q.r.Min.Y += cut
	}
}

// percentileAbs is the q-quantile of the nonzero finite |z| (1 when there
// are none).
func percentileAbs(z []float64, q float64) float64 {
	var a []float64
	for _, v := range z {
		if v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
			a = append(a, math.Abs(v))
		}
	}
	if len(a) == 0 {
		return 1
	}
	sort.Float64s(a)
	return a[min(len(a)-1, int(q*float64(len(a))))]
}
