package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is a picture's file format.
type Format string

// The formats a figure is written in.
const (
	PNG Format = "png"
	SVG Format = "svg"
	PDF Format = "pdf"
)

// Formats lists the formats, the default first.
var Formats = []Format{PNG, SVG, PDF}

// ParseFormat reads a format name: png (also ""), svg or pdf.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "", PNG:
		return PNG, nil
	case SVG, PDF:
		return f, nil
	}
	return "", fmt.Errorf("unknown picture format %q: want png, svg or pdf", s)
}

// Ext is the format's file extension, with its dot.
func (f Format) Ext() string { return "." + string(f) }

// DPI is the resolution of PNG pictures, in dots per inch.
const DPI = 100

// Size is a figure's size in pixels of a PNG at DPI; SVG and PDF have the
// same size in points, ×72/DPI.
type Size struct{ W, H int }

// The figures' sizes.
var (
	RunSize       = Size{1200, 1000} // rates.png: 12 × 10 in
	WeightsSize   = Size{1200, 1000} // weights.png: 12 × 10 in
	StructureSize = Size{1300, 620}  // ratesim inspect --plot: 13 × 6.2 in
)

// Points is the size in points (1/72 in), the size of an SVG or PDF.
func (s Size) Points() (w, h float64) { return float64(s.W) * 72 / DPI, float64(s.H) * 72 / DPI }

func (s Size) lengths() (w, h vg.Length) {
	pw, ph := s.Points()
	return vg.Length(pw), vg.Length(ph)
}

// px is n pixels of a PNG as a length.
func px(n float64) vg.Length { return vg.Length(n * 72 / DPI) }

// figure is one picture being drawn: its canvas and format.
type figure struct {
	f    Format
	c    vg.CanvasWriterTo
	img  *vgimg.Canvas
	dc   draw.Canvas
	size Size
	txt  func(string) string
}

// pdfText spells text in ASCII: gonum's PDF backend writes text bytes as
// they are, so anything else comes out garbled.
func pdfText(s string) string {
	s = pdfSpelling.Replace(s)
	return strings.Map(func(r rune) rune {
		if r > 126 {
			return '?'
		}
		return r
	}, s)
}

var pdfSpelling = strings.NewReplacer("→", "->", "λ", "lambda", "ρ", "rho", "−", "-", "≤", "<=", "≥", ">=", "θ", "theta",
	"α", "alpha", "—", "-", "–", "-", "×", "x", "…", "...", "·", ".")

func newFigure(f Format, size Size) *figure {
	w, h := size.lengths()
	fig := &figure{f: f, size: size, txt: func(s string) string { return s }}
	switch f {
	case SVG:
		fig.c = vgsvg.New(w, h)
	case PDF:
		fig.c = vgpdf.New(w, h)
		fig.txt = pdfText
	default:
		fig.img = vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
		fig.c = vgimg.PngCanvas{Canvas: fig.img}
	}
	if fig.img != nil {
		fig.dc = draw.New(fig.img)
	} else {
		fig.dc = draw.New(fig.c)
	}
	if f != PNG {
		fig.dc.SetColor(color.White)
		fig.dc.Fill(fig.dc.Rectangle.Path())
	}
	return fig
}

// encode writes the figure out.
func (fig *figure) encode() (_ []byte, err error) {
	var buf bytes.Buffer
	if _, err := fig.c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encoding a %s picture: %w", fig.f, err)
	}
	if fig.f == SVG {
		// gonum's SVG backend embeds its PNG images as image/jpg, which
		// strict readers (librsvg) refuse to show.
		return bytes.ReplaceAll(buf.Bytes(), []byte("data:image/jpg;base64,"), []byte("data:image/png;base64,")), nil
	}
	return buf.Bytes(), nil
}

// draw runs fn on the figure and encodes it, turning a panic of the plotting
// library into an error.
func drawFigure(f Format, size Size, fn func(fig *figure)) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("drawing a picture: %v", r)
		}
	}()
	fig := newFigure(f, size)
	fn(fig)
	return fig.encode()
}

// sans is the figures' font. (Bold is left out: gonum's PDF backend cannot
// write it.)
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func style(fnt font.Font, size vg.Length, xa draw.XAlignment, ya draw.YAlignment) draw.TextStyle {
	return draw.TextStyle{Color: color.Black, Font: font.From(fnt, size), XAlign: xa, YAlign: ya, Handler: plot.DefaultTextHandler}
}

// title writes the figure's title at its top and returns the canvas below it.
func (fig *figure) title(text string) vg.Rectangle {
	r := fig.dc.Rectangle
	st := style(sans, 15, draw.XCenter, draw.YTop)
	fig.dc.FillText(st, vg.Point{X: (r.Min.X + r.Max.X) / 2, Y: r.Max.Y - px(10)}, fig.txt(text))
	r.Max.Y -= px(40)
	return r
}

// newPlot is a panel with the figure's fonts.
func (fig *figure) newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = fig.txt(title)
	p.Title.TextStyle.Font = font.From(sans, 12)
	p.Title.Padding = px(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 11)
		a.Tick.Label.Font = font.From(sans, 10)
		a.Tick.Length = px(6)
		a.Padding = px(2)
	}
	p.X.Label.Text, p.Y.Label.Text = fig.txt(xlabel), fig.txt(ylabel)
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{n: 10}, niceTicks{n: 4}
	p.Legend.TextStyle.Font = font.From(sans, 10)
	return p
}

// canvas is the figure's canvas restricted to r.
func (fig *figure) canvas(r vg.Rectangle) draw.Canvas {
	return draw.Canvas{Canvas: fig.dc.Canvas, Rectangle: r}
}

// placed is a panel and the rectangle it is drawn in.
type placed struct {
	p *plot.Plot
	r vg.Rectangle
}

// yTicks gives the trace panels among ps about one labelled y tick every
// 70 px of their height (3 to 10).
func yTicks(ps []placed) {
	for _, q := range ps {
		if t, ok := q.p.Y.Tick.Marker.(niceTicks); ok && t.label == nil && !t.integer {
			t.n = max(3, min(10, int((q.r.Max.Y-q.r.Min.Y)/px(70))))
			q.p.Y.Tick.Marker = t
		}
	}
}

// alignX narrows the rectangles of panels stacked in one column so that their
// data areas share their left and right edges.
func (fig *figure) alignX(ps []placed) { fig.align(ps, func(p *vg.Point) *vg.Length { return &p.X }) }

// alignY does the same for panels side by side in one row: their data areas
// share their bottom and top edges.
func (fig *figure) alignY(ps []placed) { fig.align(ps, func(p *vg.Point) *vg.Length { return &p.Y }) }

// align shrinks each panel's rectangle along one axis (coord picks X or Y of
// a point) so that the panels' data areas start and end at the same place.
func (fig *figure) align(ps []placed, coord func(*vg.Point) *vg.Length) {
	var lo, hi vg.Length
	offs := make([][2]vg.Length, len(ps))
	for i, q := range ps {
		d := q.p.DataCanvas(fig.canvas(q.r))
		offs[i] = [2]vg.Length{*coord(&d.Min) - *coord(&q.r.Min), *coord(&q.r.Max) - *coord(&d.Max)}
		lo, hi = max(lo, offs[i][0]), max(hi, offs[i][1])
	}
	for i := range ps {
		*coord(&ps[i].r.Min) += lo - offs[i][0]
		*coord(&ps[i].r.Max) -= hi - offs[i][1]
	}
}

// dataRect is the data area of panel q.
func (fig *figure) dataRect(q placed) vg.Rectangle {
	return q.p.DataCanvas(fig.canvas(q.r)).Rectangle
}

func (fig *figure) drawAll(ps ...placed) {
	for _, q := range ps {
		q.p.Draw(fig.canvas(q.r))
	}
}

// split cuts r into horizontal bands from the top, of heights in proportion to
// weights, gap apart.
func split(r vg.Rectangle, gap vg.Length, weights ...float64) []vg.Rectangle {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	free := r.Max.Y - r.Min.Y - gap*vg.Length(len(weights)-1)
	out := make([]vg.Rectangle, len(weights))
	y := r.Max.Y
	for i, w := range weights {
		h := free * vg.Length(w/total)
		out[i] = vg.Rectangle{Min: vg.Point{X: r.Min.X, Y: y - h}, Max: vg.Point{X: r.Max.X, Y: y}}
		y -= h + gap
	}
	return out
}

// niceTicks puts about n labelled ticks at round values (1, 2, 2.5 or 5 ×
// 10^k apart) with minor ticks between; with integer set, only at whole
// numbers.
type niceTicks struct {
	n       int
	integer bool
	// label, when set, writes a labelled tick's value.
	label func(float64) string
}

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := t.ticks(lo, hi)
	labelled := 0
	for _, tk := range ticks {
		if tk.Label != "" {
			labelled++
		}
	}
	if labelled < 2 && t.n < 64 && hi > lo {
		return niceTicks{n: 2 * max(t.n, 1), integer: t.integer, label: t.label}.Ticks(lo, hi)
	}
	return ticks
}

func (t niceTicks) ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: formatTick(lo, 1)}}
	}
	raw := (hi - lo) / float64(max(t.n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step, sub := 10*mag, 5
	for _, m := range []struct {
		m   float64
		sub int
	}{{1, 5}, {2, 4}, {2.5, 5}, {5, 5}} {
		if m.m*mag >= raw*0.999 {
			step, sub = m.m*mag, m.sub
			break
		}
	}
	if t.integer && step < 1 {
		step, sub = 1, 1
	}
	minor := step / float64(sub)
	if t.integer && minor < 1 || minor != minor {
		minor, sub = step, 1
	}
	var ticks []plot.Tick
	i0, i1 := math.Ceil(lo/minor-1e-9), math.Floor(hi/minor+1e-9)
	if i1-i0 > 1000 {
		return nil
	}
	for i := i0; i <= i1; i++ {
		v := i * minor
		tk := plot.Tick{Value: v}
		if math.Mod(math.Abs(i), float64(sub)) == 0 {
			if t.label != nil {
				tk.Label = t.label(v)
			} else {
				tk.Label = formatTick(v, step)
			}
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// formatTick writes v with as many decimals as the step between ticks needs.
func formatTick(v, step float64) string {
	if math.Abs(v) < step*1e-9 {
		return "0"
	}
	if math.Abs(v) >= 1e7 || (math.Abs(v) < 1e-4 && v != 0) {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	dec := 0
	for s := step; dec < 8 && math.Abs(s-math.Round(s)) > 1e-9*math.Max(1, math.Abs(s)); s *= 10 {
		dec++
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// fixedTicks are ticks at given values with given labels.
type fixedTicks []plot.Tick

func (t fixedTicks) Ticks(lo, hi float64) []plot.Tick { return t }

// invert puts an axis's minimum at the top (matrices and rasters: row 0 at
// the top).
func invert(a *plot.Axis) { a.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}} }

// colourMap is a diverging blue–white–red map symmetric about 0 when the
// values [lo, hi] have both signs (or signed is set), else a sequential
// white-to-dark map from 0 (or lo when it is below) to hi.
func colourMap(lo, hi float64, signed bool) palette.ColorMap {
	if signed || lo < 0 && hi > 0 {
		a := math.Max(math.Abs(lo), math.Abs(hi))
		if a == 0 || math.IsNaN(a) {
			a = 1
		}
		cm := &ramp{stops: blueWhiteRed}
		cm.SetMin(-a)
		cm.SetMax(a)
		return cm
	}
	cm := palette.Reverse(moreland.BlackBody())
	if hi <= 0 {
		lo, hi = math.Min(lo, -1), 0
		cm = moreland.BlackBody()
	} else {
		lo = math.Min(lo, 0)
	}
	if hi == lo {
		hi = lo + 1
	}
	cm.SetMin(lo)
	cm.SetMax(hi)
	return cm
}

// blueWhiteRed is ColorBrewer's RdBu, reversed: blue negative, white zero,
// red positive.
var blueWhiteRed = []color.NRGBA{
	{5, 48, 97, 255}, {33, 102, 172, 255}, {67, 147, 195, 255}, {146, 197, 222, 255}, {209, 229, 240, 255},
	{255, 255, 255, 255},
	{253, 219, 199, 255}, {244, 165, 130, 255}, {214, 96, 77, 255}, {178, 24, 43, 255}, {103, 0, 31, 255},
}

// ramp is a colour map interpolating linearly between equally spaced stops.
type ramp struct {
	stops    []color.NRGBA
	min, max float64
	alpha    float64
}

func (r *ramp) At(v float64) (color.Color, error) {
	if !(v >= r.min && v <= r.max) {
		return nil, palette.ErrOverflow
	}
	x := (v - r.min) / (r.max - r.min) * float64(len(r.stops)-1)
	i := min(int(x), len(r.stops)-2)
	f := x - float64(i)
	a, b := r.stops[i], r.stops[i+1]
	mix := func(p, q uint8) uint8 { return uint8(math.Round(float64(p)*(1-f) + float64(q)*f)) }
	return color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}, nil
}
func (r *ramp) Max() float64       { return r.max }
func (r *ramp) Min() float64       { return r.min }
func (r *ramp) SetMax(v float64)   { r.max = v }
func (r *ramp) SetMin(v float64)   { r.min = v }
func (r *ramp) Alpha() float64     { return 1 }
func (r *ramp) SetAlpha(a float64) { r.alpha = a }
func (r *ramp) Palette(n int) palette.Palette {
	cs := make([]color.Color, n)
	for i := range cs {
		c, _ := r.At(r.min + (r.max-r.min)*float64(i)/float64(max(n-1, 1)))
		cs[i] = c
	}
	return plainPalette(cs)
}

type plainPalette []color.Color

func (p plainPalette) Colors() []color.Color { return p }

// raster draws a Grid as an image whose cells are sharp at any size: on a
// PNG it is computed at the canvas's own pixels (nearest cell), on SVG and
// PDF at twice 72 dpi.
type raster struct {
	g  *Grid
	cm palette.ColorMap
}

func (r *raster) DataRange() (xmin, xmax, ymin, ymax float64) {
	x0, x1, y0, y1 := r.g.extent()
	return math.Min(x0, x1), math.Max(x0, x1), math.Min(y0, y1), math.Max(y0, y1)
}

func (r *raster) Plot(c draw.Canvas, p *plot.Plot) {
	g := r.g
	if g.Rows == 0 || g.Cols == 0 {
		return
	}
	trX, trY := p.Transforms(&c)
	x0, x1, y0, y1 := g.extent()
	ax, bx, ay, by := trX(x0), trX(x1), trY(y0), trY(y1)
	base := c.Canvas
	for {
		d, ok := base.(draw.Canvas)
		if !ok {
			break
		}
		base = d.Canvas
	}
	dpi, over := 72.0, 2.0
	if d, ok := base.(interface{ DPI() float64 }); ok {
		dpi = d.DPI()
	}
	if _, ok := base.(*vgimg.Canvas); ok {
		over = 1
	}
	// gonum's PDF backend draws images upside down.
	_, upsideDown := base.(*vgpdf.Canvas)
	dots := func(l vg.Length) float64 { return math.Round(l.Dots(dpi)) }
	left, right := dots(min(ax, bx)), dots(max(ax, bx))
	bottom, top := dots(min(ay, by)), dots(max(ay, by))
	W, H := int((right-left)*over), int((top-bottom)*over)
	if W <= 0 || H <= 0 {
		return
	}
	pal := r.cm.Palette(256).Colors()
	lo, hi := r.cm.Min(), r.cm.Max()
	cells := make([]color.Color, g.Rows*g.Cols)
	for k, z := range g.Z {
		if math.IsNaN(z) {
			cells[k] = color.White
			continue
		}
		i := int(math.Round((math.Max(lo, math.Min(hi, z)) - lo) / (hi - lo) * float64(len(pal)-1)))
		cells[k] = pal[i]
	}
	// Row 0 is drawn at the top unless the axis puts y0 at the bottom.
	flipX, flipY := ax > bx, ay < by != upsideDown
	img := image.NewNRGBA(image.Rect(0, 0, W, H))
	for y := 0; y < H; y++ {
		row := y * g.Rows / H
		if flipY {
			row = g.Rows - 1 - row
		}
		for x := 0; x < W; x++ {
			col := x * g.Cols / W
			if flipX {
				col = g.Cols - 1 - col
			}
			img.Set(x, y, cells[row*g.Cols+col])
		}
	}
	toLen := func(d float64) vg.Length { return vg.Length(d / dpi * 72) }
	c.DrawImage(vg.Rectangle{Min: vg.Point{X: toLen(left), Y: toLen(bottom)}, Max: vg.Point{X: toLen(right), Y: toLen(top)}}, img)
}

// heatPanel is a panel showing g with colour map cm.
func (fig *figure) heatPanel(g *Grid, cm palette.ColorMap, title, xlabel, ylabel string) *plot.Plot {
	p := fig.newPlot(title, xlabel, ylabel)
	p.Add(&raster{g: g, cm: cm})
	x0, x1, y0, y1 := (&raster{g: g}).DataRange()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = x0, x1, y0, y1
	invert(&p.Y)
	return p
}

// colourBar draws cm's colour bar with label beside the data area d (a
// heat map's), its axis starting at x, in at most w.
func (fig *figure) colourBar(cm palette.ColorMap, label string, d vg.Rectangle, x, w vg.Length) {
	p := fig.newPlot("", "", label)
	p.HideX()
	// The bar is a raster, like the heat maps: an SVG viewer keeps an
	// image's aspect ratio, so it must already have the bar's shape.
	const steps = 256
	bar := &Grid{Rows: steps, Cols: 1, Z: make([]float64, steps), X0: 0, X1: 1, Y0: cm.Max(), Y1: cm.Min()}
	for i := range bar.Z {
		bar.Z[i] = cm.Max() - (cm.Max()-cm.Min())*(float64(i)+0.5)/steps
	}
	p.Add(&raster{g: bar, cm: cm})
	p.X.Min, p.X.Max = 0, 1
	p.Y.Min, p.Y.Max = cm.Min(), cm.Max()
	p.Y.Tick.Marker = niceTicks{n: 6}
	r := vg.Rectangle{Min: vg.Point{X: x, Y: d.Min.Y}, Max: vg.Point{X: x + w, Y: d.Max.Y}}
	dd := p.DataCanvas(fig.canvas(r)).Rectangle
	r.Min.Y -= dd.Min.Y - d.Min.Y
	r.Max.Y -= dd.Max.Y - d.Max.Y
	// The axis at the strip's left, then the bar, 18 px wide.
	r.Max.X = dd.Min.X + px(18) + (r.Max.X - dd.Max.X)
	p.Draw(fig.canvas(r))
}

// The line colours, in turn (Tableau's ten).
var lineColours = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

// lineColour is series i's colour, with a dash pattern past the ten colours.
func lineColour(i int) (color.RGBA, []vg.Length) {
	c := lineColours[i%len(lineColours)]
	if i >= len(lineColours) {
		return c, []vg.Length{px(6), px(3)}
	}
	return c, nil
}

// tracePanel draws series into a panel: each the line of its means over the
// shaded min–max envelope of its bins. It returns the panel and a legend of
// the series.
func (fig *figure) tracePanel(ss []Series, title, xlabel, ylabel string, t0, t1 float64) (*plot.Plot, *legend) {
	p := fig.newPlot(title, xlabel, ylabel)
	p.Y.Tick.Marker = niceTicks{n: 3}
	lg := &legend{}
	var lines []plot.Plotter
	for i, s := range ss {
		if len(s.T) == 0 {
			continue
		}
		col, dash := lineColour(i)
		if envelope(s) {
			ring := make(plotter.XYs, 0, 2*len(s.T))
			for k := range s.T {
				ring = append(ring, plotter.XY{X: s.T[k], Y: s.Hi[k]})
			}
			for k := len(s.T) - 1; k >= 0; k-- {
				ring = append(ring, plotter.XY{X: s.T[k], Y: s.Lo[k]})
			}
			if poly, err := plotter.NewPolygon(ring); err == nil {
				poly.Color = color.NRGBA{col.R, col.G, col.B, 60}
				poly.LineStyle.Width = 0
				p.Add(poly)
			}
		}
		xy := make(plotter.XYs, len(s.T))
		for k := range s.T {
			xy[k] = plotter.XY{X: s.T[k], Y: s.Mean[k]}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			continue
		}
		l.Color, l.Width, l.Dashes = col, px(1.6), dash
		lines = append(lines, l)
		lg.names, lg.lines = append(lg.names, fig.txt(s.Name)), append(lg.lines, l)
	}
	p.Add(lines...)
	if t1 > t0 {
		p.X.Min, p.X.Max = t0, t1
	}
	return p, lg
}

// envelope reports whether any of s's bins spans more than its mean.
func envelope(s Series) bool {
	for k := range s.T {
		if s.Hi[k] > s.Lo[k] {
			return true
		}
	}
	return false
}

// legend is a panel's legend: a name and a line for each series.
type legend struct {
	names []string
	lines []*plotter.Line
}

// legendAt draws lg in r from its top left, in as many columns as it takes
// to fit r's height.
func (fig *figure) legendAt(lg *legend, r vg.Rectangle) {
	if lg == nil || len(lg.names) == 0 {
		return
	}
	newLegend := func() plot.Legend {
		l := plot.NewLegend()
		l.TextStyle.Font = font.From(sans, 10)
		l.Top, l.Left = true, true
		l.ThumbnailWidth = px(22)
		l.Padding = px(3)
		return l
	}
	probe := newLegend()
	probe.Add("X", lg.lines[0])
	entry := probe.Rectangle(fig.canvas(r)).Size().Y + probe.Padding
	rows := max(1, int((r.Max.Y-r.Min.Y+probe.Padding)/entry))
	cols := (len(lg.names) + rows - 1) / rows
	rows = (len(lg.names) + cols - 1) / cols
	w := (r.Max.X - r.Min.X) / vg.Length(cols)
	for c := 0; c < cols; c++ {
		l := newLegend()
		for i := c * rows; i < min(len(lg.names), (c+1)*rows); i++ {
			l.Add(lg.names[i], lg.lines[i])
		}
		cr := r
		cr.Min.X, cr.Max.X = r.Min.X+vg.Length(c)*w, r.Min.X+vg.Length(c+1)*w
		l.Draw(fig.canvas(cr))
	}
}

// note writes small grey text at p (left aligned, top).
func (fig *figure) note(at vg.Point, text string) {
	st := style(sans, 9, draw.XLeft, draw.YTop)
	st.Color = color.Gray{90}
	fig.dc.FillText(st, at, fig.txt(text))
}
