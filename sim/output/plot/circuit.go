package plot

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Circuit is what the circuit pictures draw. Populations are [Start, End) unit ranges.
type Circuit struct {
	Populations []string  // names, e.g. CS, CC, PV, SST
	Offsets     []int     // len P+1: population p is units Offsets[p] … Offsets[p+1]−1
	Directions  []float64 // degrees, one per condition
	DtMs        float64   // the step, ms (or in TimeUnit)
	// TimeUnit names the time axis' unit when it is not ms ("" is ms): a
	// model whose dt and τ are in its own unit (the layer-5 model's
	// dt = 0.01, τ = 0.1) says so instead of pretending to be in ms.
	TimeUnit string
	// Rates[d] is condition d's recorded rates, Steps × N row-major, sample s at time (s+1)·RateStride·DtMs ms.
	Rates      [][]float64
	Steps      int
	RateStride int
	// Block means of the recurrent weights, P×P row-major [pre][post] (pre → post):
	InitialBlocks []float64   // at the start (same for every condition)
	FinalBlocks   [][]float64 // [d] at the end
	TargetBlocks  []float64   // nil: no targets
	// BlocksOverTime[d] is WeightSteps × P × P, sample s at time (s+1)·WeightStride·DtMs ms; nil: no snapshots.
	BlocksOverTime            [][]float64
	WeightSteps, WeightStride int
	// Selectivity per population, before and after learning: Mean and Std of OS, DS, OS_p over the population's reliable units (NaN when none).
	Before, After [3]PopulationIndex // [0] OS, [1] DS, [2] OS_p
	// Window is the analysis window in samples [From, To) of Rates (for (e)); zero: the last quarter.
	WindowFrom, WindowTo int
}

// PopulationIndex is one selectivity index per population: the mean and the
// standard deviation over the population's reliable units (NaN when it has
// none). Nil: not computed.
type PopulationIndex struct{ Mean, Std []float64 } // per population

// The circuit pictures' sizes (pixels of a PNG at DPI; points ×72/DPI for
// SVG and PDF).
var (
	CircuitWeightsSize     = Size{1300, 650}  // l5_weights
	CircuitSelectivitySize = Size{1300, 520}  // l5_selectivity
	CircuitActivitySize    = Size{1200, 900}  // l5_activity
	CircuitWeightsTimeSize = Size{1200, 1000} // l5_weights_time
	CircuitRatesSize       = Size{1300, 520}  // l5_rates
)

// SelectivityNames are the selectivity indices of Circuit.Before and After,
// in order.
var SelectivityNames = [3]string{"OS", "DS", "OS_p"}

// populationColours are the fixed colours of the layer-5 populations, the
// same in every picture: excitatory ones warm, inhibitory ones cool.
var populationColours = map[string]color.RGBA{
	"CS":  {214, 39, 40, 255},  // red
	"CC":  {255, 127, 14, 255}, // orange
	"PV":  {31, 119, 180, 255}, // blue
	"SST": {23, 163, 150, 255}, // teal
}

// otherColours colour populations of other names, by their index.
var otherColours = []color.RGBA{{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}}

// popColour is population p's colour.
func (c *Circuit) popColour(p int) color.RGBA {
	if col, ok := populationColours[strings.ToUpper(c.Populations[p])]; ok {
		return col
	}
	return otherColours[p%len(otherColours)]
}

// pairName is "pre→post".
func (c *Circuit) pairName(pre, post int) string {
	return c.Populations[pre] + "→" + c.Populations[post]
}

// directionName is a direction's label, in degrees.
func directionName(deg float64) string { return strconv.FormatFloat(deg, 'f', -1, 64) + "°" }

// circuitSpelling spells the circuit pictures' extra symbols in ASCII for PDF.
var circuitSpelling = strings.NewReplacer("±", "+/-", "°", " deg")

// circuitFigure draws a circuit picture: fn gets the figure, its PDF text
// spelling extended to the circuit pictures' symbols.
func circuitFigure(f Format, size Size, fn func(fig *figure)) ([]byte, error) {
	return drawFigure(f, size, func(fig *figure) {
		if f == PDF {
			fig.txt = func(s string) string { return pdfText(circuitSpelling.Replace(s)) }
		}
		fn(fig)
	})
}

// validate checks that c's fields agree with each other, naming the first
// field that does not.
func (c *Circuit) validate() error {
	if c == nil {
		return fmt.Errorf("circuit pictures: no circuit")
	}
	P, D := len(c.Populations), len(c.Directions)
	if P == 0 {
		return fmt.Errorf("circuit pictures: Populations is empty")
	}
	if D == 0 {
		return fmt.Errorf("circuit pictures: Directions is empty")
	}
	if len(c.Offsets) != P+1 {
		return fmt.Errorf("circuit pictures: Offsets has %d entries, want len(Populations)+1 = %d", len(c.Offsets), P+1)
	}
	if c.Offsets[0] < 0 {
		return fmt.Errorf("circuit pictures: Offsets[0] = %d is negative", c.Offsets[0])
	}
	for p := 0; p < P; p++ {
		if c.Offsets[p+1] <= c.Offsets[p] {
			return fmt.Errorf("circuit pictures: Offsets[%d] = %d ≤ Offsets[%d] = %d: population %s has no unit", p+1, c.Offsets[p+1], p, c.Offsets[p], c.Populations[p])
		}
	}
	if !(c.DtMs > 0) {
		return fmt.Errorf("circuit pictures: DtMs = %v, want > 0", c.DtMs)
	}
	N := c.Offsets[P]
	if c.Rates != nil {
		if len(c.Rates) != D {
			return fmt.Errorf("circuit pictures: Rates has %d conditions, want len(Directions) = %d", len(c.Rates), D)
		}
		if c.Steps <= 0 {
			return fmt.Errorf("circuit pictures: Steps = %d with Rates given, want > 0", c.Steps)
		}
		if c.RateStride <= 0 {
			return fmt.Errorf("circuit pictures: RateStride = %d, want > 0", c.RateStride)
		}
		for d, r := range c.Rates {
			if len(r) != c.Steps*N {
				return fmt.Errorf("circuit pictures: Rates[%d] has %d values, want Steps × N = %d × %d", d, len(r), c.Steps, N)
			}
		}
		if c.WindowFrom != 0 || c.WindowTo != 0 {
			if c.WindowFrom < 0 || c.WindowTo <= c.WindowFrom || c.WindowTo > c.Steps {
				return fmt.Errorf("circuit pictures: window [WindowFrom, WindowTo) = [%d, %d) is not within the %d samples of Rates", c.WindowFrom, c.WindowTo, c.Steps)
			}
		}
	}
	blocks := func(name string, b []float64) error {
		if b != nil && len(b) != P*P {
			return fmt.Errorf("circuit pictures: %s has %d values, want P×P = %d", name, len(b), P*P)
		}
		return nil
	}
	if err := blocks("InitialBlocks", c.InitialBlocks); err != nil {
		return err
	}
	if err := blocks("TargetBlocks", c.TargetBlocks); err != nil {
		return err
	}
	if c.FinalBlocks != nil {
		if len(c.FinalBlocks) != D {
			return fmt.Errorf("circuit pictures: FinalBlocks has %d conditions, want len(Directions) = %d", len(c.FinalBlocks), D)
		}
		for d, b := range c.FinalBlocks {
			if len(b) != P*P {
				return fmt.Errorf("circuit pictures: FinalBlocks[%d] has %d values, want P×P = %d", d, len(b), P*P)
			}
		}
	}
	if c.BlocksOverTime != nil {
		if len(c.BlocksOverTime) != D {
			return fmt.Errorf("circuit pictures: BlocksOverTime has %d conditions, want len(Directions) = %d", len(c.BlocksOverTime), D)
		}
		if c.WeightSteps <= 0 || c.WeightStride <= 0 {
			return fmt.Errorf("circuit pictures: WeightSteps = %d, WeightStride = %d with BlocksOverTime given, want both > 0", c.WeightSteps, c.WeightStride)
		}
		for d, b := range c.BlocksOverTime {
			if len(b) != c.WeightSteps*P*P {
				return fmt.Errorf("circuit pictures: BlocksOverTime[%d] has %d values, want WeightSteps × P × P = %d × %d", d, len(b), c.WeightSteps, P*P)
			}
		}
	}
	for k, name := range SelectivityNames {
		for _, s := range []struct {
			when string
			ix   PopulationIndex
		}{{"Before", c.Before[k]}, {"After", c.After[k]}} {
			if s.ix.Mean != nil && len(s.ix.Mean) != P {
				return fmt.Errorf("circuit pictures: %s[%d] (%s).Mean has %d values, want one per population (%d)", s.when, k, name, len(s.ix.Mean), P)
			}
			if s.ix.Std != nil && len(s.ix.Std) != len(s.ix.Mean) {
				return fmt.Errorf("circuit pictures: %s[%d] (%s).Std has %d values, want one per population (%d)", s.when, k, name, len(s.ix.Std), P)
			}
		}
	}
	return nil
}

// The pictures' data: which of them CircuitPictures draws.
func (c *Circuit) hasWeights() bool     { return c.InitialBlocks != nil || c.FinalBlocks != nil }
func (c *Circuit) hasRates() bool       { return c.Rates != nil }
func (c *Circuit) hasWeightsTime() bool { return c.BlocksOverTime != nil }
func (c *Circuit) hasSelectivity() bool {
	for k := range SelectivityNames {
		if c.Before[k].Mean != nil || c.After[k].Mean != nil {
			return true
		}
	}
	return false
}

// CircuitPictures draws every picture that has data: name (l5_weights, l5_selectivity, l5_activity, l5_weights_time, l5_rates) → bytes.
func CircuitPictures(c *Circuit, f Format) (map[string][]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, p := range []struct {
		name string
		has  bool
		draw func(*Circuit, Format) ([]byte, error)
	}{
		{"l5_weights", c.hasWeights(), DrawCircuitWeights},
		{"l5_selectivity", c.hasSelectivity(), DrawCircuitSelectivity},
		{"l5_activity", c.hasRates(), DrawCircuitActivity},
		{"l5_weights_time", c.hasWeightsTime(), DrawCircuitWeightsOverTime},
		{"l5_rates", c.hasRates(), DrawCircuitRates},
	} {
		if !p.has {
			continue
		}
		data, err := p.draw(c, f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		out[p.name] = data
	}
	return out, nil
}

// dashGlyph is a short horizontal bar, 3 radii long: a target level.
type dashGlyph struct{}

func (dashGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: px(2.5)})
	var p vg.Path
	p.Move(vg.Point{X: pt.X - 1.5*sty.Radius, Y: pt.Y})
	p.Line(vg.Point{X: pt.X + 1.5*sty.Radius, Y: pt.Y})
	c.Stroke(p)
}

// errPoints are points with symmetric error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// addPoints adds points xy with glyph g to p and, where errs are finite
// and positive, their ± error bars in the glyph's colour. Points with a NaN
// y are left out.
func addPoints(p *plot.Plot, xy plotter.XYs, errs []float64, g draw.GlyphStyle) *plotter.Scatter {
	var pts plotter.XYs
	var bars errPoints
	for i, q := range xy {
		if math.IsNaN(q.Y) || math.IsInf(q.Y, 0) {
			continue
		}
		pts = append(pts, q)
		if errs != nil && errs[i] > 0 && !math.IsInf(errs[i], 0) {
			bars.XYs = append(bars.XYs, q)
			bars.YErrors = append(bars.YErrors, struct{ Low, High float64 }{errs[i], errs[i]})
		}
	}
	if len(bars.XYs) > 0 {
		if b, err := plotter.NewYErrorBars(bars); err == nil {
			b.Color, b.Width, b.CapWidth = g.Color, px(1.4), px(8)
			p.Add(b)
		}
	}
	s, _ := plotter.NewScatter(pts)
	s.GlyphStyle = g
	if len(pts) > 0 {
		p.Add(s)
	}
	return s
}

// entry is one legend entry: a name and what its thumbnail draws.
type entry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// legendList draws entries in one column from r's top left.
func (fig *figure) legendList(es []entry, r vg.Rectangle) {
	l := plot.NewLegend()
	l.TextStyle.Font = font.From(sans, 10)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = px(26)
	l.Padding = px(4)
	for _, e := range es {
		l.Add(fig.txt(e.name), e.thumbs...)
	}
	l.Draw(fig.canvas(r))
}

// namedTicks labels positions 0, 1, … with names.
func (fig *figure) namedTicks(names []string) fixedTicks {
	t := make(fixedTicks, len(names))
	for i, s := range names {
		t[i] = plot.Tick{Value: float64(i), Label: fig.txt(s)}
	}
	return t
}

// grid cuts r into rows × cols cells, gap apart, row-major from the top left.
func grid(r vg.Rectangle, rows, cols int, gapX, gapY vg.Length) []vg.Rectangle {
	w := (r.Max.X - r.Min.X - gapX*vg.Length(cols-1)) / vg.Length(cols)
	h := (r.Max.Y - r.Min.Y - gapY*vg.Length(rows-1)) / vg.Length(rows)
	out := make([]vg.Rectangle, 0, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			x, y := r.Min.X+vg.Length(j)*(w+gapX), r.Max.Y-vg.Length(i)*(h+gapY)
			out = append(out, vg.Rectangle{Min: vg.Point{X: x, Y: y - h}, Max: vg.Point{X: x + w, Y: y}})
		}
	}
	return out
}

// directionsNote says what the final weights of several directions show.
func (c *Circuit) directionsNote() string {
	if len(c.Directions) == 1 {
		return "direction " + directionName(c.Directions[0])
	}
	return fmt.Sprintf("mean ± std over %d directions", len(c.Directions))
}

// meanStd is the mean and the standard deviation (over n, not n−1) of xs's
// finite values; NaN, NaN when there are none.
func meanStd(xs []float64) (mean, std float64) {
	n, sum := 0, 0.0
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			sum += x
			n++
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	mean = sum / float64(n)
	ss := 0.0
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			ss += (x - mean) * (x - mean)
		}
	}
	return mean, math.Sqrt(ss / float64(n))
}

// DrawCircuitWeights draws picture (a), l5_weights, as a CircuitWeightsSize
// picture: for each of the P×P population pairs pre → post (grouped by the
// presynaptic population) the initial block mean (grey ring), the final one
// (a dot in the presynaptic population's colour; with several directions
// their mean with ± std bars) and the target (black bar), when given.
func DrawCircuitWeights(c *Circuit, f Format) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if !c.hasWeights() {
		return nil, fmt.Errorf("circuit pictures: l5_weights: neither InitialBlocks nor FinalBlocks is given")
	}
	P := len(c.Populations)
	return circuitFigure(f, CircuitWeightsSize, func(fig *figure) {
		area := fig.title("Mean recurrent weight per population pair (pre → post)")
		area.Min.X += px(12)
		area.Min.Y += px(10)
		const rightW = 290 // px: the legend
		main := area
		main.Max.X -= px(rightW)
		p := fig.newPlot("", "population pair (pre → post)", "mean weight")
		// x position of pair (pre, post): a gap between presynaptic groups.
		x := func(pre, post int) float64 { return float64(pre*(P+1) + post) }
		ticks := fixedTicks{}
		for pre := 0; pre < P; pre++ {
			for post := 0; post < P; post++ {
				ticks = append(ticks, plot.Tick{Value: x(pre, post), Label: fig.txt(c.pairName(pre, post))})
			}
		}
		p.X.Tick.Marker = ticks
		// P² pair names do not fit side by side: they slant.
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
		p.X.Tick.Length = 0 // a tick mark would run into its slanted label
		p.X.Min, p.X.Max = -0.7, x(P-1, P-1)+0.7
		p.Y.Tick.Marker = niceTicks{n: 8}
		zero, _ := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 0}, {X: p.X.Max, Y: 0}})
		zero.Color, zero.Width = color.Gray{170}, px(1)
		p.Add(zero)
		var es []entry
		if c.InitialBlocks != nil {
			xy := make(plotter.XYs, P*P)
			for i, v := range c.InitialBlocks {
				xy[i] = plotter.XY{X: x(i/P, i%P) - 0.22, Y: v}
			}
			s := addPoints(p, xy, nil, draw.GlyphStyle{Color: color.Gray{100}, Radius: px(5), Shape: draw.RingGlyph{}})
			es = append(es, entry{"initial", []plot.Thumbnailer{s}})
		}
		if c.FinalBlocks != nil {
			for pre := 0; pre < P; pre++ {
				xy := make(plotter.XYs, P)
				errs := make([]float64, P)
				for post := 0; post < P; post++ {
					vals := make([]float64, len(c.FinalBlocks))
					for d, b := range c.FinalBlocks {
						vals[d] = b[pre*P+post]
					}
					m, sd := meanStd(vals)
					xy[post], errs[post] = plotter.XY{X: x(pre, post), Y: m}, sd
				}
				addPoints(p, xy, errs, draw.GlyphStyle{Color: c.popColour(pre), Radius: px(5), Shape: draw.CircleGlyph{}})
			}
			thumb, _ := plotter.NewScatter(plotter.XYs{{}})
			thumb.GlyphStyle = draw.GlyphStyle{Color: color.Gray{60}, Radius: px(5), Shape: draw.CircleGlyph{}}
			es = append(es, entry{"final: " + c.directionsNote(), []plot.Thumbnailer{thumb}})
		}
		if c.TargetBlocks != nil {
			xy := make(plotter.XYs, P*P)
			for i, v := range c.TargetBlocks {
				xy[i] = plotter.XY{X: x(i/P, i%P) + 0.22, Y: v}
			}
			s := addPoints(p, xy, nil, draw.GlyphStyle{Color: color.Black, Radius: px(5), Shape: dashGlyph{}})
			es = append(es, entry{"target", []plot.Thumbnailer{s}})
		}
		if m := (p.Y.Max - p.Y.Min) * 0.05; m > 0 {
			p.Y.Min, p.Y.Max = p.Y.Min-m, p.Y.Max+m
		}
		fig.drawAll(placed{p, main})
		d := fig.dataRect(placed{p, main})
		lr := vg.Rectangle{Min: vg.Point{X: d.Max.X + px(20), Y: d.Min.Y}, Max: vg.Point{X: area.Max.X, Y: d.Max.Y}}
		if c.FinalBlocks != nil {
			for q := 0; q < P; q++ {
				s, _ := plotter.NewScatter(plotter.XYs{{}})
				s.GlyphStyle = draw.GlyphStyle{Color: c.popColour(q), Radius: px(5), Shape: draw.CircleGlyph{}}
				es = append(es, entry{"final, from " + c.Populations[q], []plot.Thumbnailer{s}})
			}
		}
		fig.legendList(es, lr)
		if gaps := c.weightGaps(); len(gaps) > 0 {
			fig.note(vg.Point{X: lr.Min.X, Y: lr.Max.Y - px(18)*vg.Length(len(es)+1)}, "not finite, left out:\n"+strings.Join(gaps, "\n"))
		}
	})
}

// weightGaps names the block means that are not finite: the initial or
// target one of a pair, or the final one in some directions (the mean is
// then over the others).
func (c *Circuit) weightGaps() []string {
	P, D := len(c.Populations), len(c.Directions)
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	var gaps []string
	for i := 0; i < P*P; i++ {
		pair := c.pairName(i/P, i%P)
		if c.InitialBlocks != nil && !finite(c.InitialBlocks[i]) {
			gaps = append(gaps, "initial "+pair)
		}
		if c.FinalBlocks != nil {
			bad := 0
			for _, b := range c.FinalBlocks {
				if !finite(b[i]) {
					bad++
				}
			}
			if bad > 0 {
				gaps = append(gaps, fmt.Sprintf("final %s in %d of %d directions", pair, bad, D))
			}
		}
		if c.TargetBlocks != nil && !finite(c.TargetBlocks[i]) {
			gaps = append(gaps, "target "+pair)
		}
	}
	return gaps
}

// DrawCircuitSelectivity draws picture (b), l5_selectivity, as a
// CircuitSelectivitySize picture: a panel per index (OS, DS, OS_p) with the
// populations across, each population's mean over its reliable units before
// (ring) and after learning (dot) side by side with ± std bars, in the
// population's colour. A population with no reliable unit (NaN) is left out
// and named under the panel's title.
func DrawCircuitSelectivity(c *Circuit, f Format) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if !c.hasSelectivity() {
		return nil, fmt.Errorf("circuit pictures: l5_selectivity: no Mean in Before or After")
	}
	P := len(c.Populations)
	return circuitFigure(f, CircuitSelectivitySize, func(fig *figure) {
		area := fig.title("Selectivity before and after learning (mean ± std over each population's reliable units)")
		area.Min.X += px(12)
		area.Min.Y += px(10)
		const rightW = 190 // px: the legend
		main := area
		main.Max.X -= px(rightW)
		rects := grid(main, 1, 3, px(30), 0)
		var ps []placed
		var thumbs [2]*plotter.Scatter
		for k, name := range SelectivityNames {
			p := fig.newPlot(name, "population", name)
			p.X.Tick.Marker = fig.namedTicks(c.Populations)
			p.X.Min, p.X.Max = -0.6, float64(P)-0.4
			var noUnit, notComputed []string
			for w, s := range []struct {
				when  string
				ix    PopulationIndex
				shift float64
				shape draw.GlyphDrawer
			}{{"before", c.Before[k], -0.15, draw.RingGlyph{}}, {"after", c.After[k], 0.15, draw.CircleGlyph{}}} {
				if s.ix.Mean == nil {
					notComputed = append(notComputed, s.when)
					continue
				}
				for q := 0; q < P; q++ {
					m := s.ix.Mean[q]
					if math.IsNaN(m) {
						noUnit = append(noUnit, c.Populations[q]+" "+s.when)
						continue
					}
					var errs []float64
					if s.ix.Std != nil {
						errs = []float64{s.ix.Std[q]}
					}
					g := draw.GlyphStyle{Color: c.popColour(q), Radius: px(5.5), Shape: s.shape}
					addPoints(p, plotter.XYs{{X: float64(q) + s.shift, Y: m}}, errs, g)
				}
				if thumbs[w] == nil {
					t, _ := plotter.NewScatter(plotter.XYs{{}})
					t.GlyphStyle = draw.GlyphStyle{Color: color.Gray{60}, Radius: px(5.5), Shape: s.shape}
					thumbs[w] = t
				}
			}
			// What is missing goes under the title, which stays the index's name.
			var missing []string
			if len(noUnit) > 0 {
				missing = append(missing, "no reliable unit: "+strings.Join(noUnit, ", "))
			}
			if len(notComputed) > 0 {
				missing = append(missing, "not computed "+strings.Join(notComputed, " or "))
			}
			if len(missing) > 0 {
				p.Title.Text = fig.txt(name + "\n(" + strings.Join(missing, "; ") + ")")
			}
			// The indices are fractions: from 0, unless a value is below.
			p.Y.Min = math.Min(p.Y.Min, 0)
			ps = append(ps, placed{p, rects[k]})
		}
		fig.alignY(ps)
		fig.drawAll(ps...)
		d := fig.dataRect(ps[len(ps)-1])
		var es []entry
		for w, when := range []string{"before learning", "after learning"} {
			if thumbs[w] != nil {
				es = append(es, entry{when, []plot.Thumbnailer{thumbs[w]}})
			}
		}
		fig.legendList(es, vg.Rectangle{Min: vg.Point{X: d.Max.X + px(20), Y: d.Min.Y}, Max: vg.Point{X: area.Max.X, Y: d.Max.Y}})
	})
}

// populationStats bins condition d's rates over time (at most MaxBins bins):
// per bin and population the mean over the population's units and the bin's
// mean of their standard deviation across units. Group 2p is population p's
// mean, 2p+1 its standard deviation.
func (c *Circuit) populationStats(d int) *Bins {
	P, N := len(c.Populations), c.Offsets[len(c.Populations)]
	b := NewBins(c.Steps, 2*P, MaxBins, 2*P, false)
	row := make([]float64, 2*P)
	for s := 0; s < c.Steps; s++ {
		r := c.Rates[d][s*N : (s+1)*N]
		for p := 0; p < P; p++ {
			row[2*p], row[2*p+1] = meanStd(r[c.Offsets[p]:c.Offsets[p+1]])
		}
		Add(b, s, float64(s+1)*float64(c.RateStride)*c.DtMs, row)
	}
	return b
}

// DrawCircuitActivity draws picture (c), l5_activity, as a
// CircuitActivitySize picture: a panel per direction, one line per
// population (its colour) of the mean rate over the population's units, over
// a shaded band of ± their standard deviation, both averaged over time bins
// (at most MaxBins), time in ms, all panels on one rate scale.
func DrawCircuitActivity(c *Circuit, f Format) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if !c.hasRates() {
		return nil, fmt.Errorf("circuit pictures: l5_activity: Rates is nil")
	}
	P, D := len(c.Populations), len(c.Directions)
	stats := make([]*Bins, D)
	lo, hi := math.Inf(1), math.Inf(-1)
	for d := range stats {
		stats[d] = c.populationStats(d)
		for p := 0; p < P; p++ {
			m, sd := stats[d].Series(2*p, "", 1), stats[d].Series(2*p+1, "", 1)
			for k := range m.Mean {
				if !math.IsNaN(m.Mean[k]) {
					lo, hi = math.Min(lo, m.Mean[k]-sd.Mean[k]), math.Max(hi, m.Mean[k]+sd.Mean[k])
				}
			}
		}
	}
	t1 := float64(c.Steps*c.RateStride) * c.DtMs
	return circuitFigure(f, CircuitActivitySize, func(fig *figure) {
		area := fig.title("Activity per direction: mean rate of each population ± std over its units")
		area.Min.X += px(12)
		area.Min.Y += px(10)
		const rightW = 190 // px: the legend
		main := area
		main.Max.X -= px(rightW)
		cols := int(math.Ceil(math.Sqrt(float64(D))))
		rows := (D + cols - 1) / cols
		rects := grid(main, rows, cols, px(30), px(24))
		var ps []placed
		var es []entry
		for d := 0; d < D; d++ {
			p := fig.newPlot("direction "+directionName(c.Directions[d]), "time ("+c.timeUnit()+")", "rate")
			p.X.Min, p.X.Max = 0, t1
			if hi > lo {
				p.Y.Min, p.Y.Max = lo, hi
			}
			var lines []plot.Plotter
			var missing []string
			for q := 0; q < P; q++ {
				m, sd := stats[d].Series(2*q, "", 1), stats[d].Series(2*q+1, "", 1)
				col := c.popColour(q)
				var xy, ring plotter.XYs
				for k := range m.T {
					if !math.IsNaN(m.Mean[k]) {
						xy = append(xy, plotter.XY{X: m.T[k], Y: m.Mean[k]})
						ring = append(ring, plotter.XY{X: m.T[k], Y: m.Mean[k] + sd.Mean[k]})
					}
				}
				for k := len(m.T) - 1; k >= 0; k-- {
					if !math.IsNaN(m.Mean[k]) {
						ring = append(ring, plotter.XY{X: m.T[k], Y: m.Mean[k] - sd.Mean[k]})
					}
				}
				if len(xy) == 0 {
					missing = append(missing, c.Populations[q])
					continue
				}
				if poly, err := plotter.NewPolygon(ring); err == nil {
					poly.Color = color.NRGBA{col.R, col.G, col.B, 55}
					poly.LineStyle.Width = 0
					p.Add(poly)
				}
				l, err := plotter.NewLine(xy)
				if err != nil {
					continue
				}
				l.Color, l.Width = col, px(1.8)
				lines = append(lines, l)
			}
			p.Add(lines...)
			if len(missing) > 0 {
				p.Title.Text = fig.txt("direction " + directionName(c.Directions[d]) + "\n(no finite rate: " + strings.Join(missing, ", ") + ")")
			}
			ps = append(ps, placed{p, rects[d]})
		}
		for q := 0; q < P; q++ {
			l, _ := plotter.NewLine(plotter.XYs{{}, {}})
			l.Color, l.Width = c.popColour(q), px(1.8)
			es = append(es, entry{c.Populations[q], []plot.Thumbnailer{l}})
		}
		yTicks(ps)
		for r := 0; r < rows; r++ {
			fig.alignY(ps[r*cols : min(D, (r+1)*cols)])
		}
		for col := 0; col < cols; col++ {
			var column []placed
			for d := col; d < D; d += cols {
				column = append(column, ps[d])
			}
			fig.alignX(column)
			for i, d := 0, col; d < D; i, d = i+1, d+cols {
				ps[d] = column[i]
			}
		}
		fig.drawAll(ps...)
		dr := fig.dataRect(ps[min(cols, D)-1])
		es = append(es, entry{"shaded: ± std over units", nil})
		fig.legendList(es, vg.Rectangle{Min: vg.Point{X: dr.Max.X + px(16), Y: dr.Min.Y}, Max: vg.Point{X: area.Max.X, Y: dr.Max.Y}})
	})
}

// DrawCircuitWeightsOverTime draws picture (d), l5_weights_time, as a
// CircuitWeightsTimeSize picture: a panel per postsynaptic population, one
// line per presynaptic population (its colour) of the block mean weight pre
// → post over time, averaged over the directions and over time bins (at
// most MaxBins), with the target as a dashed line of the same colour. It
// fails when BlocksOverTime is nil.
func DrawCircuitWeightsOverTime(c *Circuit, f Format) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if !c.hasWeightsTime() {
		return nil, fmt.Errorf("circuit pictures: l5_weights_time: BlocksOverTime is nil (no weight snapshots)")
	}
	P, D := len(c.Populations), len(c.Directions)
	b := NewBins(c.WeightSteps, P*P, MaxBins, P*P, false)
	row := make([]float64, P*P)
	for s := 0; s < c.WeightSteps; s++ {
		for i := range row {
			sum := 0.0
			for d := 0; d < D; d++ {
				sum += c.BlocksOverTime[d][s*P*P+i]
			}
			row[i] = sum / float64(D)
		}
		Add(b, s, float64(s+1)*float64(c.WeightStride)*c.DtMs, row)
	}
	t1 := float64(c.WeightSteps*c.WeightStride) * c.DtMs
	over := "mean over the directions"
	if D == 1 {
		over = "direction " + directionName(c.Directions[0])
	}
	return circuitFigure(f, CircuitWeightsTimeSize, func(fig *figure) {
		title := "Mean recurrent weight per population pair over time (" + over + ")"
		if c.TargetBlocks != nil {
			title += ", targets dashed"
		}
		area := fig.title(title)
		area.Min.X += px(12)
		area.Min.Y += px(10)
		const rightW = 200 // px: the legends
		main := area
		main.Max.X -= px(rightW)
		rects := split(main, px(16), slicesOf(P, 1.0)...)
		ps := make([]placed, P)
		legends := make([][]entry, P)
		for post := 0; post < P; post++ {
			p := fig.newPlot("to "+c.Populations[post], "", "mean weight")
			p.X.Min, p.X.Max = 0, t1
			for pre := 0; pre < P; pre++ {
				s := b.Series(pre*P+post, c.pairName(pre, post), 1)
				xy := make(plotter.XYs, 0, len(s.T))
				for k := range s.T {
					if !math.IsNaN(s.Mean[k]) && !math.IsInf(s.Mean[k], 0) {
						xy = append(xy, plotter.XY{X: s.T[k], Y: s.Mean[k]})
					}
				}
				if len(xy) == 0 {
					legends[post] = append(legends[post], entry{s.Name + " (not finite)", nil})
					continue
				}
				l, err := plotter.NewLine(xy)
				if err != nil {
					continue
				}
				l.Color, l.Width = c.popColour(pre), px(1.8)
				p.Add(l)
				legends[post] = append(legends[post], entry{s.Name, []plot.Thumbnailer{l}})
				if c.TargetBlocks != nil {
					v := c.TargetBlocks[pre*P+post]
					if !math.IsNaN(v) {
						tl, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: v}, {X: t1, Y: v}})
						tl.Color, tl.Width, tl.Dashes = c.popColour(pre), px(1.2), []vg.Length{px(6), px(4)}
						p.Add(tl)
					}
				}
			}
			if post == 0 && c.TargetBlocks != nil {
				tl, _ := plotter.NewLine(plotter.XYs{{}, {}})
				tl.Color, tl.Width, tl.Dashes = color.Gray{60}, px(1.2), []vg.Length{px(6), px(4)}
				legends[post] = append(legends[post], entry{"target", []plot.Thumbnailer{tl}})
			}
			// A margin, so that lines at the extremes stay clear of the axes.
			if m := (p.Y.Max - p.Y.Min) * 0.06; m > 0 {
				p.Y.Min, p.Y.Max = p.Y.Min-m, p.Y.Max+m
			}
			ps[post] = placed{p, rects[post]}
		}
		ps[P-1].p.X.Label.Text = "time (" + c.timeUnit() + ")"
		yTicks(ps)
		fig.alignX(ps)
		fig.drawAll(ps...)
		for post := range ps {
			d := fig.dataRect(ps[post])
			fig.legendList(legends[post], vg.Rectangle{Min: vg.Point{X: d.Max.X + px(16), Y: d.Min.Y}, Max: vg.Point{X: area.Max.X, Y: d.Max.Y}})
		}
	})
}

// slicesOf is n copies of v.
func slicesOf(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// window is the analysis window [from, to) in samples of Rates.
func (c *Circuit) window() (from, to int) {
	if c.WindowFrom == 0 && c.WindowTo == 0 {
		return c.Steps - max(1, c.Steps/4), c.Steps
	}
	return c.WindowFrom, c.WindowTo
}

// DrawCircuitRates draws picture (e), l5_rates, as a CircuitRatesSize
// picture: a panel per population, a box plot per direction of the
// population's units' rates, each unit's rate averaged over the analysis
// window (median, quartiles, whiskers to the furthest value within 1.5
// interquartile ranges, points beyond).
func DrawCircuitRates(c *Circuit, f Format) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if !c.hasRates() {
		return nil, fmt.Errorf("circuit pictures: l5_rates: Rates is nil")
	}
	P, D, N := len(c.Populations), len(c.Directions), c.Offsets[len(c.Populations)]
	from, to := c.window()
	// means[d][u]: unit u's mean rate over the window in condition d.
	means := make([][]float64, D)
	for d := range means {
		means[d] = make([]float64, N)
		n := make([]int, N)
		for s := from; s < to; s++ {
			for u, v := range c.Rates[d][s*N : (s+1)*N] {
				if !math.IsNaN(v) {
					means[d][u] += v
					n[u]++
				}
			}
		}
		for u := range means[d] {
			if n[u] == 0 {
				means[d][u] = math.NaN()
			} else {
				means[d][u] /= float64(n[u])
			}
		}
	}
	ms := func(s int) string {
		return strconv.FormatFloat(float64(s*c.RateStride)*c.DtMs, 'f', -1, 64)
	}
	dirs := make([]string, D)
	for d, deg := range c.Directions {
		dirs[d] = directionName(deg)
	}
	return circuitFigure(f, CircuitRatesSize, func(fig *figure) {
		area := fig.title("Rates per population and direction: each unit's mean rate over " + ms(from) + "–" + ms(to) + " " + c.timeUnit())
		area.Min.X += px(12)
		area.Min.Y += px(10)
		cols := P
		rects := grid(area, 1, cols, px(26), 0)
		var ps []placed
		for q := 0; q < P; q++ {
			p := fig.newPlot(c.Populations[q], "direction", "mean rate")
			p.X.Tick.Marker = fig.namedTicks(dirs)
			p.X.Min, p.X.Max = -0.6, float64(D)-0.4
			col := c.popColour(q)
			var empty []string
			for d := 0; d < D; d++ {
				var vals plotter.Values
				for _, v := range means[d][c.Offsets[q]:c.Offsets[q+1]] {
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						vals = append(vals, v)
					}
				}
				if len(vals) == 0 {
					empty = append(empty, dirs[d])
					continue
				}
				sort.Float64s(vals)
				box, err := plotter.NewBoxPlot(px(34), float64(d), vals)
				if err != nil {
					continue
				}
				box.FillColor = color.NRGBA{col.R, col.G, col.B, 110}
				box.BoxStyle.Color, box.MedianStyle.Color = col, color.Black
				box.MedianStyle.Width = px(2)
				box.GlyphStyle.Color, box.GlyphStyle.Radius = col, px(2.5)
				p.Add(box)
			}
			if m := (p.Y.Max - p.Y.Min) * 0.05; m > 0 {
				p.Y.Min, p.Y.Max = p.Y.Min-m, p.Y.Max+m
			}
			if len(empty) > 0 {
				p.Title.Text = fig.txt(c.Populations[q] + "\n(no finite rate: " + strings.Join(empty, ", ") + ")")
			}
			ps = append(ps, placed{p, rects[q]})
		}
		yTicks(ps)
		fig.alignY(ps)
		fig.drawAll(ps...)
	})
}

// timeUnit is the time axis' unit.
func (c *Circuit) timeUnit() string {
	if c.TimeUnit == "" {
		return "ms"
	}
	return c.TimeUnit
}
