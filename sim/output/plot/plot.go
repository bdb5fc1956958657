package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/ratesim/ratesim/backend"
)

// Rates draws trial 0 of a run as a PNG: a raster of rates (units down,
// time across; red positive, blue negative, white zero, scaled to the largest
// |r|) above the output traces. It is a first look, not a figure for a paper.
func Rates[T backend.Float](rates []T, outputs []T, steps, units, outs int) ([]byte, error) {
	const maxW, rowH, traceH = 1000, 2, 120
	w := min(steps, maxW)
	uh := min(units, 300)
	h := uh*rowH + 8
	if outs > 0 {
		h += traceH
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	var scale float64
	for _, r := range rates[:steps*units] {
		scale = math.Max(scale, math.Abs(float64(r)))
	}
	if scale == 0 {
		scale = 1
	}
	for x := 0; x < w; x++ {
		t := x * steps / w
		for y := 0; y < uh; y++ {
			u := y * units / uh
			v := float64(rates[t*units+u]) / scale
			c := color.RGBA{255, 255, 255, 255}
			k := uint8(255 * (1 - math.Min(1, math.Abs(v))))
			if v > 0 {
				c.G, c.B = k, k
			} else {
				c.R, c.G = k, k
			}
			for dy := 0; dy < rowH; dy++ {
				img.Set(x, y*rowH+dy, c)
			}
		}
	}
	if outs > 0 {
		top := uh*rowH + 8
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, y := range outputs[:steps*outs] {
			lo, hi = math.Min(lo, float64(y)), math.Max(hi, float64(y))
		}
		drawTraces(img, top, traceH, w, outs, lo, hi, func(o, x int) float64 { return float64(outputs[x*steps/w*outs+o]) })
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tracePalette colours line traces in turn.
var tracePalette = []color.RGBA{{0, 0, 0, 255}, {230, 120, 0, 255}, {0, 140, 60, 255}, {120, 0, 160, 255}, {0, 90, 200, 255}, {200, 0, 60, 255}}

// drawTraces draws n line traces across width pixels of img, in the band of
// height pixels from top: trace q has value at(q, x) at pixel x, scaled so
// that hi is the band's top and lo its bottom (widened by 1 when flat).
func drawTraces(img *image.RGBA, top, height, width, n int, lo, hi float64, at func(q, x int) float64) {
	if hi == lo {
		hi, lo = hi+1, lo-1
	}
	for q := 0; q < n; q++ {
		prev := -1
		for x := 0; x < width; x++ {
			y := top + int(float64(height-1)*(hi-at(q, x))/(hi-lo))
			if prev < 0 {
				prev = y
			}
			for yy := min(prev, y); yy <= max(prev, y); yy++ {
				img.Set(x, yy, tracePalette[q%len(tracePalette)])
			}
			prev = y
		}
	}
}

// Matrix locates one connection's (rows, cols) matrix inside a weight
// snapshot row, at Offset.
type Matrix struct {
	Offset, Rows, Cols int
}

// Weights draws weights.png from snapshots, S rows of W values each (the
// shared weights, or trial 0's): with whole snapshots (whole true, the
// matrices located by mats), each plastic connection's matrix (out
// down, in across) at the first snapshot (the initial weights) beside the
// last (red positive, blue negative, white zero, scaled to the largest |w|
// of the pair); below, the traces of up to 64 recorded values over time
// (every value of small matrices, block means, chosen synapses). It
// returns nil when no snapshots were recorded.
func Weights[T backend.Float](snapshots []T, S, W int, whole bool, mats []Matrix) []byte {
	if S == 0 || W == 0 {
		return nil
	}
	snap := func(s int) []T { return snapshots[s*W : (s+1)*W] }
	const maxPanel, gap, traceH, traceW = 240, 8, 160, 600
	type panel struct {
		seg    Matrix
		h, w   int
		rows   int
		cols   int
		top    int
		scaleV float64
	}
	var panels []panel
	top := 0
	wide := traceW
	if whole {
		for _, sg := range mats {
			rows, cols := sg.Rows, sg.Cols
			ch, cw := max(1, min(16, maxPanel/rows)), max(1, min(48, maxPanel/cols))
			ph, pw := min(rows*ch, maxPanel), min(cols*cw, maxPanel)
			var sc float64
			for _, s := range []int{0, S - 1} {
				for _, v := range snap(s)[sg.Offset : sg.Offset+rows*cols] {
					sc = math.Max(sc, math.Abs(float64(v)))
				}
			}
			if sc == 0 {
				sc = 1
			}
			panels = append(panels, panel{seg: sg, h: ph, w: pw, rows: rows, cols: cols, top: top, scaleV: sc})
			top += ph + gap
			wide = max(wide, 2*pw+3*gap)
		}
	}
	traces := min(W, 64)
	if whole && W > 256 {
		traces = 0
	}
	h := top
	if traces > 0 {
		h += traceH
	}
	img := image.NewRGBA(image.Rect(0, 0, wide, max(h, 1)))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, p := range panels {
		for side, s := range []int{0, S - 1} {
			x0 := side * (p.w + 3*gap)
			vals := snap(s)[p.seg.Offset:]
			for y := 0; y < p.h; y++ {
				r := y * p.rows / p.h
				for x := 0; x < p.w; x++ {
					c := x * p.cols / p.w
					v := float64(vals[r*p.cols+c]) / p.scaleV
					k := uint8(255 * (1 - math.Min(1, math.Abs(v))))
					col := color.RGBA{255, 255, 255, 255}
					if v > 0 {
						col.G, col.B = k, k
					} else if v < 0 {
						col.R, col.G = k, k
					}
					img.Set(x0+x, p.top+y, col)
				}
			}
		}
	}
	if traces > 0 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for s := 0; s < S; s++ {
			for _, v := range snap(s)[:traces] {
				lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
			}
		}
		drawTraces(img, top, traceH, wide, traces, lo, hi, func(q, x int) float64 { return float64(snap(x * S / wide)[q]) })
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil
	}
	return buf.Bytes()
}
