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
