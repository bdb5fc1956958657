package sweep

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PictureWidth and PictureHeight are DIR/sweep.png's size in pixels.
const PictureWidth, PictureHeight = 900, 600

// pictureDPI makes the picture's points pixels at its size.
const pictureDPI = 96

// PictureOptions say what DIR/sweep.png shows.
type PictureOptions struct {
	// Off: no picture.
	Off bool
	// Metric is the metric column drawn (default: the first metric).
	Metric string
	// Axes are one axis (a line per value of the other axes, or the mean
	// over them with its range when they have more than maxLines values;
	// repeats averaged, their range shaded) or two (a heat map of the
	// mean over the rest, with a colour bar), by path. Default: the first
	// two axes of a product sweep, else the first axis.
	Axes []string
}

// maxLines is the most lines a line picture draws before it summarizes.
const maxLines = 8

// drawInto draws the table's picture into dir/sweep.png.
func drawInto(dir string, m *Meta, rows [][]string, opt PictureOptions) (string, error) {
	if opt.Off {
		return "", nil
	}
	data, err := DrawPicture(m, rows, opt)
	if err != nil {
		return "", fmt.Errorf("no picture: %w", err)
	}
	name := filepath.Join(dir, "sweep.png")
	if err := writeAtomic(name, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return "", err
	}
	return name, nil
}

// axisData is one axis's column: its distinct values in order of first
// appearance (the sweep's order) and each row's value index.
type axisData struct {
	name    string
	labels  []string
	numbers []float64 // nil when a value is not a number
	of      []int
}

func columnIndex(cols []Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// DrawPicture draws the sweep picture of a table (rows of cells in
// m.Columns order) as a PNG of PictureWidth × PictureHeight pixels.
func DrawPicture(m *Meta, rows [][]string, opt PictureOptions) ([]byte, error) {
	cols := m.Columns
	metric := opt.Metric
	first := columnIndex(cols, "noise_instance") + 1
	if metric == "" {
		if first <= 0 || first >= len(cols) || cols[first].Name == "status" {
			return nil, fmt.Errorf("the table has no metric")
		}
		metric = cols[first].Name
	}
	mi := columnIndex(cols, metric)
	if mi < first || cols[mi].Kind != "float" {
		var names []string
		for _, c := range cols[first:statusColumn(cols)] {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("metric %q is not a column of the table (metrics: %s)", metric, strings.Join(names, ", "))
	}
	axes := opt.Axes
	if len(axes) == 0 {
		for _, a := range m.Axes {
			axes = append(axes, a.Path)
		}
		if len(axes) > 2 || len(axes) == 2 && m.Combine == "zip" {
			if m.Combine == "zip" {
				axes = axes[:1]
			} else {
				axes = axes[:2]
			}
		}
	}
	if len(axes) == 0 || len(axes) > 2 {
		return nil, fmt.Errorf("a picture is a metric against one or two axes; the sweep has %d to choose from", len(m.Axes))
	}
	var ad []*axisData
	for _, a := range axes {
		d, err := axisColumn(m, rows, a)
		if err != nil {
			return nil, err
		}
		ad = append(ad, d)
	}
	// The rest of the axes, for the lines of a line picture.
	var rest []*axisData
	for _, a := range m.Axes {
		if !slices.Contains(axes, a.Path) {
			d, err := axisColumn(m, rows, a.Path)
			if err != nil {
				return nil, err
			}
			rest = append(rest, d)
		}
	}
	ys := make([]float64, len(rows))
	st := statusColumn(cols)
	for i, r := range rows {
		ys[i] = math.NaN()
		if r[st] == "ok" {
			ys[i], _ = strconv.ParseFloat(r[mi], 64)
		}
	}
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(PictureWidth)*vg.Inch/pictureDPI, vg.Length(PictureHeight)*vg.Inch/pictureDPI), vgimg.UseDPI(pictureDPI))
	dc := draw.New(img)
	// A white page: PNG's transparent default reads as black in some viewers.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	// A margin, so that the title and the colour bar's ticks stay inside.
	dc = draw.Crop(dc, vg.Points(6), -vg.Points(14), vg.Points(4), -vg.Points(8))
	var err error
	if len(ad) == 1 {
		err = drawLines(dc, metric, ad[0], rest, ys)
	} else {
		err = drawHeat(dc, metric, ad[0], ad[1], ys)
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func axisColumn(m *Meta, rows [][]string, path string) (*axisData, error) {
	ci := columnIndex(m.Columns, path)
	known := false
	for _, a := range m.Axes {
		known = known || a.Path == path
	}
	if ci < 0 || !known {
		var names []string
		for _, a := range m.Axes {
			names = append(names, a.Path)
		}
		return nil, fmt.Errorf("%q is not an axis of the sweep (axes: %s)", path, strings.Join(names, ", "))
	}
	d := &axisData{name: path, of: make([]int, len(rows))}
	index := map[string]int{}
	numeric := m.Columns[ci].Kind != "string"
	for i, r := range rows {
		v := r[ci]
		k, ok := index[v]
		if !ok {
			k = len(d.labels)
			index[v] = k
			d.labels = append(d.labels, v)
			if x, err := strconv.ParseFloat(v, 64); err == nil && numeric {
				d.numbers = append(d.numbers, x)
			} else {
				numeric = false
			}
		}
		d.of[i] = k
	}
	if !numeric {
		d.numbers = nil
	}
	return d, nil
}

// at is where value k of the axis lies on a line picture's x axis.
func (d *axisData) at(k int) float64 {
	if d.numbers != nil {
		return d.numbers[k]
	}
	return float64(k)
}

// logScale says whether the axis's values span two decades of positives.
func (d *axisData) logScale() bool {
	if d.numbers == nil {
		return false
	}
	lo, hi := slices.Min(d.numbers), slices.Max(d.numbers)
	return lo > 0 && hi/lo >= 100
}

type labelTicks []string

func (t labelTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	step := max(1, len(t)/12)
	for i := 0; i < len(t); i += step {
		out = append(out, plot.Tick{Value: float64(i), Label: t[i]})
	}
	return out
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.TextStyle.Font.Size = vg.Points(12)
	p.Y.Label.TextStyle.Font.Size = vg.Points(12)
	p.Add(plotter.NewGrid())
	return p
}

// drawLines draws the metric against axis x: one line per value of the
// other axes (mean over repeats, range shaded), or their mean and range
// when they have more than maxLines values.
func drawLines(dc draw.Canvas, metric string, x *axisData, rest []*axisData, ys []float64) error {
	lineOf := make([]int, len(ys))
	var names []string
	index := map[string]int{}
	for i := range ys {
		var parts []string
		for _, r := range rest {
			parts = append(parts, r.name+"="+r.labels[r.of[i]])
		}
		key := strings.Join(parts, ", ")
		k, ok := index[key]
		if !ok {
			k = len(names)
			index[key] = k
			names = append(names, key)
		}
		lineOf[i] = k
	}
	summary := len(names) > maxLines
	if summary {
		names = []string{"mean over " + restNames(rest) + " (range shaded)"}
		clear(lineOf)
	}
	title := metric + " against " + x.name
	if len(names) == 1 && names[0] == "" {
		names[0] = metric
	}
	p := newPlot(title, x.name, metric)
	if x.numbers == nil {
		p.X.Tick.Marker = labelTicks(x.labels)
	} else if x.logScale() {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	drawn, shaded := 0, false
	for l, name := range names {
		var mean, lo, hi plotter.XYs
		for k := range x.labels {
			var s, n float64
			mn, mx := math.Inf(1), math.Inf(-1)
			for i, y := range ys {
				if lineOf[i] == l && x.of[i] == k && !math.IsNaN(y) {
					s += y
					n++
					mn, mx = math.Min(mn, y), math.Max(mx, y)
				}
			}
			if n == 0 {
				continue
			}
			mean = append(mean, plotter.XY{X: x.at(k), Y: s / n})
			lo = append(lo, plotter.XY{X: x.at(k), Y: mn})
			hi = append(hi, plotter.XY{X: x.at(k), Y: mx})
		}
		if len(mean) == 0 {
			continue
		}
		c := plotutilColor(l)
		if spread(lo, hi) {
			band := append(slices.Clone(lo), reversed(hi)...)
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return err
			}
			r, g, b, _ := c.RGBA()
			poly.Color = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 35}
			shaded = true
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		line, points, err := plotter.NewLinePoints(mean)
		if err != nil {
			return err
		}
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(name, line, points)
		drawn++
	}
	if drawn == 0 {
		return fmt.Errorf("no point has a finite %s", metric)
	}
	if shaded && !summary {
		p.Title.Text += " (mean over repeats; shaded: their range)"
	}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Draw(dc)
	return nil
}

func restNames(rest []*axisData) string {
	var n []string
	for _, r := range rest {
		n = append(n, r.name)
	}
	if len(n) == 0 {
		return "repeats"
	}
	return strings.Join(n, ", ")
}

func spread(lo, hi plotter.XYs) bool {
	for i := range lo {
		if hi[i].Y > lo[i].Y {
			return true
		}
	}
	return false
}

func reversed(xy plotter.XYs) plotter.XYs {
	out := slices.Clone(xy)
	slices.Reverse(out)
	return out
}

// plotutilColor is line l's colour (a colour-blind-safe cycle).
func plotutilColor(l int) color.Color {
	cycle := []color.NRGBA{{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
		{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 0, 0, 255}, {240, 228, 66, 255}}
	return cycle[l%len(cycle)]
}

// heatGrid is the mean metric per (x, y) value pair, on value indices.
type heatGrid struct {
	z      [][]float64 // [x][y]
	nx, ny int
}

func (g *heatGrid) Dims() (c, r int)   { return g.nx, g.ny }
func (g *heatGrid) Z(c, r int) float64 { return g.z[c][r] }
func (g *heatGrid) X(c int) float64    { return float64(c) }
func (g *heatGrid) Y(r int) float64    { return float64(r) }

// drawHeat draws the metric's mean over the other axes and repeats on the
// grid of axes x and y, and a colour bar beside it.
func drawHeat(dc draw.Canvas, metric string, x, y *axisData, ys []float64) error {
	g := &heatGrid{nx: len(x.labels), ny: len(y.labels)}
	sum := make([][]float64, g.nx)
	n := make([][]float64, g.nx)
	g.z = make([][]float64, g.nx)
	for i := range g.z {
		sum[i], n[i], g.z[i] = make([]float64, g.ny), make([]float64, g.ny), make([]float64, g.ny)
	}
	for i, v := range ys {
		if !math.IsNaN(v) {
			sum[x.of[i]][y.of[i]] += v
			n[x.of[i]][y.of[i]]++
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	missing := false
	for a := range g.z {
		for b := range g.z[a] {
			g.z[a][b] = math.NaN()
			if n[a][b] > 0 {
				g.z[a][b] = sum[a][b] / n[a][b]
				lo, hi = math.Min(lo, g.z[a][b]), math.Max(hi, g.z[a][b])
			} else {
				missing = true
			}
		}
	}
	if lo > hi {
		return fmt.Errorf("no point has a finite %s", metric)
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(lo)
	cm.SetMax(hi)
	hm := plotter.NewHeatMap(g, cm.Palette(255))
	hm.Min, hm.Max = lo, hi
	hm.NaN = color.Gray{200}
	title := metric + " over " + x.name + " × " + y.name + " (mean of the points in a cell)"
	if missing {
		title += "; grey: no finite value"
	}
	p := newPlot(title, x.name, y.name)
	p.Add(hm)
	p.X.Tick.Marker = labelTicks(x.labels)
	p.Y.Tick.Marker = labelTicks(y.labels)
	bar := plot.New()
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.HideX()
	bar.Y.Label.Text = metric
	bar.Y.Label.TextStyle.Font.Size = vg.Points(12)
	bar.Title.Text = " "
	bar.Title.TextStyle.Font.Size = vg.Points(13)
	w := dc.Max.X - dc.Min.X
	split := dc.Min.X + w*0.84
	main := draw.Crop(dc, 0, split-dc.Max.X, 0, 0)
	side := draw.Crop(dc, split-dc.Min.X+vg.Points(10), 0, 0, 0)
	p.Draw(main)
	bar.Draw(side)
	return nil
}
