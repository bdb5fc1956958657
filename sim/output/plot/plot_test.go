package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CheckPicture checks that data is a picture in format f of the given size
// that is not blank: a PNG of size's pixels with many colours, or an SVG or
// PDF of its size in points. With RATESIM_PLOT_DIR set, the picture is also
// written there as NAME.EXT, to be looked at.
func checkPicture(t *testing.T, name string, data []byte, f Format, size Size) {
	t.Helper()
	if dir := os.Getenv("RATESIM_PLOT_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+f.Ext()), data, 0o644))
	}
	w, h := size.Points()
	switch f {
	case PNG:
		img, err := png.Decode(bytes.NewReader(data))
		require.NoError(t, err)
		assert.Equal(t, image.Rect(0, 0, size.W, size.H), img.Bounds(), "%s: the documented size", name)
		assert.Greater(t, colours(img), 64, "%s: not blank", name)
	case SVG:
		require.True(t, bytes.HasPrefix(data, []byte("<?xml")), "%s: an SVG", name)
		m := regexp.MustCompile(`<svg[^>]*width="([0-9.]+)pt"[^>]*height="([0-9.]+)pt"`).FindSubmatch(data)
		require.NotNil(t, m, "%s: an <svg> with its size in points", name)
		gw, _ := strconv.ParseFloat(string(m[1]), 64)
		gh, _ := strconv.ParseFloat(string(m[2]), 64)
		assert.InDelta(t, w, gw, 0.01, name)
		assert.InDelta(t, h, gh, 0.01, name)
		assert.Greater(t, bytes.Count(data, []byte("<path")), 20, "%s: something is drawn", name)
	case PDF:
		require.True(t, bytes.HasPrefix(data, []byte("%PDF-")), "%s: a PDF", name)
		m := regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`).FindSubmatch(data)
		require.NotNil(t, m, "%s: a page size", name)
		gw, _ := strconv.ParseFloat(string(m[1]), 64)
		gh, _ := strconv.ParseFloat(string(m[2]), 64)
		assert.InDelta(t, w, gw, 0.01, name)
		assert.InDelta(t, h, gh, 0.01, name)
		assert.Greater(t, len(data), 10000, "%s: something is drawn", name)
	}
}

// colours counts the distinct colours of img.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// testRun is a run of steps recorded steps of units units at dt ms: sine
// rates with a phase per unit, aggregated as the output package does.
func testRun(steps, units, outs, ins int, dt float64) *Run {
	heat := NewBins(steps, units, MaxBins, 300, false)
	tr := NewBins(steps, 3, MaxBins, 3, true)
	ob := NewBins(steps, outs, MaxBins, outs, true)
	ib := NewBins(steps, ins, MaxBins, ins, true)
	row, o, in := make([]float64, units), make([]float64, outs), make([]float64, ins)
	for m := 0; m < steps; m++ {
		t := float64(m+1) * dt
		for u := range row {
			row[u] = math.Tanh(2 * math.Sin(t/300+float64(u)/7))
			if u%9 == 0 {
				row[u] += 0.3 * math.Sin(float64(m)*1.7) // fast wiggles: an envelope
			}
		}
		for k := range o {
			o[k] = math.Sin(t/500+float64(k)) + 0.2*math.Sin(float64(m)*2.3)
		}
		for k := range in {
			in[k] = math.Sin(t / (400 + 200*float64(k)))
		}
		Add(heat, m, t, row)
		Add(tr, m, t, []float64{row[0], row[9%units], row[13%units]})
		Add(ob, m, t, o)
		Add(ib, m, float64(m+1), in)
	}
	g := heat.Grid()
	g.X0, g.X1, g.Y0, g.Y1 = dt/2, dt/2+float64(heat.Count*heat.Per)*dt, -0.5, float64(units)-0.5
	r := &Run{Title: "test — trial 0", Rates: g, RatesTitle: "rates", TracesTitle: "units", OutputsTitle: "outputs", InputsTitle: "input",
		T0: g.X0, T1: g.X1}
	for k, u := range []int{0, 9, 13} {
		r.Traces = append(r.Traces, tr.Series(k, fmt.Sprintf("unit %d", u), 1))
	}
	for k := 0; k < outs; k++ {
		r.Outputs = append(r.Outputs, ob.Series(k, fmt.Sprintf("output %d", k), 1))
	}
	for k := 0; k < ins; k++ {
		r.Inputs = append(r.Inputs, ib.Series(k, fmt.Sprintf("input %d", k), dt))
	}
	return r
}

func TestRunPicture(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps int
	}{{"run-50", 50}, {"run-5000", 5000}} {
		for _, f := range Formats {
			data, err := DrawRun(testRun(c.steps, 120, 3, 2, 10), f)
			require.NoError(t, err)
			checkPicture(t, c.name, data, f, RunSize)
		}
	}
	// Rates alone, a selection of units, one recorded step.
	r := testRun(1, 5, 0, 0, 10)
	r.Units = []int{3, 8, 40, 41, 90}
	r.Traces = nil
	data, err := DrawRun(r, PNG)
	require.NoError(t, err)
	checkPicture(t, "run-1", data, PNG, RunSize)
}

func TestBins(t *testing.T) {
	b := NewBins(10, 4, 3, 2, true)
	assert.Equal(t, 4, b.Per, "⌈10/3⌉ rows a bin")
	assert.Equal(t, 3, b.Count)
	for i := 0; i < 10; i++ {
		Add(b, i, float64(i), []float32{float32(i), 0, 1, float32(-i)})
	}
	s := b.Series(0, "g0", 2)
	assert.Equal(t, []float64{3, 11, 17}, s.T, "mean row times × 2")
	assert.Equal(t, []float64{0.75, 2.75, 4.25}, s.Mean, "values 0 and i, averaged")
	assert.Equal(t, []float64{0, 0, 0}, s.Lo)
	assert.Equal(t, []float64{3, 7, 9}, s.Hi)
	g := b.Grid()
	assert.Equal(t, 2, g.Rows)
	assert.Equal(t, 3, g.Cols)
	assert.InDelta(t, (1-1.5)/2, g.Z[1*3+0], 1e-12, "group 1 of bin 0: values 1 and −i")
	assert.Equal(t, 2, b.GroupStart(1))

	p := Pool([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3, 2)
	assert.Equal(t, 2, p.Rows)
	assert.Equal(t, []float64{(1 + 2 + 4 + 5) / 4.0, (3 + 6) / 2.0, (7 + 8) / 2.0, 9}, p.Z)
	assert.Equal(t, 2.5, p.X1, "the extent stays the matrix's")
}

func TestNiceTicks(t *testing.T) {
	var labels []string
	for _, tk := range (niceTicks{n: 8}).Ticks(0, 10000) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	assert.Equal(t, []string{"0", "2000", "4000", "6000", "8000", "10000"}, labels)
	labels = nil
	for _, tk := range (niceTicks{n: 4}).Ticks(-0.3, 0.3) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	assert.Equal(t, []string{"-0.2", "0", "0.2"}, labels)
	for _, tk := range (niceTicks{n: 6, integer: true}).Ticks(-0.5, 2.5) {
		assert.Equal(t, math.Round(tk.Value), tk.Value, "whole numbers only")
	}
}

func testMatrix(rows, cols int, scale float64) *Grid {
	m := make([]float64, rows*cols)
	for i := range m {
		m[i] = scale * math.Sin(float64(i)*0.37)
	}
	return Pool(m, rows, cols, 300)
}

func TestWeightsPicture(t *testing.T) {
	var tr, means []Series
	tm := make([]float64, 101)
	for k := range tm {
		tm[k] = float64(k) * 200
	}
	for q := 0; q < 8; q++ {
		y := make([]float64, len(tm))
		for k := range y {
			y[k] = math.Tanh(float64(k)/30) * math.Sin(float64(q))
		}
		tr = append(tr, Points(fmt.Sprintf("input %d → %d", q%2, q), tm, y))
	}
	for _, n := range []string{"E → E", "I → E", "E → I", "I → I"} {
		y := make([]float64, len(tm))
		for k := range y {
			y[k] = float64(len(n)) * 0.01 * float64(k)
		}
		means = append(means, Points(n, tm, y))
	}
	w := &Weights{Title: "test weights", TracesTitle: "weights", MeansTitle: "means", Traces: tr, Means: means, T0: 0, T1: 20000,
		Pairs: []MatrixPair{
			{Initial: testMatrix(32, 2, 0.5), Final: testMatrix(32, 2, 1), InitialTitle: "input: initial", FinalTitle: "input: final", XLabel: "input", YLabel: "unit"},
			{Initial: testMatrix(2, 2, 0.1), Final: testMatrix(2, 2, 0.3), InitialTitle: "recurrent block means: initial", FinalTitle: "final",
				XNames: []string{"E", "I"}, YNames: []string{"E", "I"}},
		}}
	for _, f := range Formats {
		data, err := DrawWeights(w, f)
		require.NoError(t, err)
		checkPicture(t, "weights", data, f, WeightsSize)
	}
	// Traces only (synapses recorded), one snapshot.
	data, err := DrawWeights(&Weights{Title: "traces only", Traces: []Series{Points("w", []float64{0}, []float64{0.5})}, TracesTitle: "weights"}, PNG)
	require.NoError(t, err)
	checkPicture(t, "weights-traces", data, PNG, WeightsSize)
}

func TestStructurePicture(t *testing.T) {
	const N = 200
	w := make([]float64, N*N)
	for i := 0; i < N; i++ {
		for j := 0; j < N; j++ {
			if (i*7+j*13)%5 == 0 {
				w[i*N+j] = 0.1
				if j%100 >= 80 {
					w[i*N+j] = -0.4
				}
			}
		}
	}
	var eig []complex128
	rho := 0.0
	for k := 0; k < N; k++ {
		z := cmplx.Rect(0.9*math.Sqrt(float64(k)/N), float64(k)*2.4)
		eig = append(eig, z)
		rho = math.Max(rho, cmplx.Abs(z))
	}
	s := &Structure{Title: "test structure", W: Pool(w, N, N, 400), N: N,
		Areas: []Area{{"V1", 0, 100}, {"PFC", 100, 200}}, EI: []int{80, 180}, Eigenvalues: eig, Radius: rho}
	for _, f := range Formats {
		data, err := DrawStructure(s, f)
		require.NoError(t, err)
		checkPicture(t, "structure", data, f, StructureSize)
	}
	s.Eigenvalues, s.Note, s.Areas, s.EI = nil, "not computed for more than 4096 units", nil, nil
	data, err := DrawStructure(s, PNG)
	require.NoError(t, err)
	checkPicture(t, "structure-noeig", data, PNG, StructureSize)
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": PNG, "png": PNG, "SVG": SVG, "pdf": PDF} {
		f, err := ParseFormat(in)
		require.NoError(t, err)
		assert.Equal(t, want, f)
	}
	_, err := ParseFormat("jpg")
	assert.ErrorContains(t, err, "png, svg or pdf")
}
