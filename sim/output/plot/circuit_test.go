package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCircuit is a synthetic layer-5 circuit: populations of sizes,
// directions, steps rate samples (stride 1, dt 1 ms) of tuned sine rates,
// block means drifting from their initial values towards targets.
func testCircuit(sizes []int, dirs []float64, steps, weightSteps int) *Circuit {
	names := []string{"CS", "CC", "PV", "SST"}[:len(sizes)]
	P := len(sizes)
	c := &Circuit{Populations: names, Offsets: []int{0}, Directions: dirs, DtMs: 1, Steps: steps, RateStride: 1,
		WeightSteps: weightSteps, WeightStride: 5}
	for _, n := range sizes {
		c.Offsets = append(c.Offsets, c.Offsets[len(c.Offsets)-1]+n)
	}
	N := c.Offsets[P]
	for _, deg := range dirs {
		r := make([]float64, steps*N)
		for s := 0; s < steps; s++ {
			for p := 0; p < P; p++ {
				for u := c.Offsets[p]; u < c.Offsets[p+1]; u++ {
					// Population p's base rate, a preferred direction per
					// unit whose tuning grows as it learns, a wiggle.
					pref := float64(u) * 37
					tuning := (0.5 + 0.5*float64(p)) * math.Cos((deg-pref)*math.Pi/180) * (1 - math.Exp(-float64(s)/300))
					r[s*N+u] = math.Max(0, 1+1.5*float64(p)+tuning+0.3*math.Sin(float64(s*(u+1))*0.1))
				}
			}
		}
		c.Rates = append(c.Rates, r)
	}
	c.InitialBlocks, c.TargetBlocks = make([]float64, P*P), make([]float64, P*P)
	for i := range c.InitialBlocks {
		sign := 1.0
		if i/P >= 2 {
			sign = -1 // inhibitory presynaptic populations
		}
		c.InitialBlocks[i] = sign * (0.2 + 0.05*float64(i%P) + 0.04*float64(i/P))
		c.TargetBlocks[i] = sign * (0.4 - 0.03*float64(i%P) + 0.06*float64(i/P))
	}
	for d := range dirs {
		final := make([]float64, P*P)
		over := make([]float64, weightSteps*P*P)
		for i := range final {
			final[i] = c.TargetBlocks[i] + 0.02*float64(d-1)
			for s := 0; s < weightSteps; s++ {
				a := 1 - math.Exp(-float64(s)/float64(weightSteps/4+1))
				over[s*P*P+i] = c.InitialBlocks[i] + a*(final[i]-c.InitialBlocks[i])
			}
		}
		c.FinalBlocks, c.BlocksOverTime = append(c.FinalBlocks, final), append(c.BlocksOverTime, over)
	}
	for k := range c.Before {
		for _, ix := range []*PopulationIndex{&c.Before[k], &c.After[k]} {
			ix.Mean, ix.Std = make([]float64, P), make([]float64, P)
			for q := 0; q < P; q++ {
				ix.Mean[q], ix.Std[q] = 0.2+0.1*float64(q+k), 0.05
			}
		}
		for q := 0; q < P; q++ {
			c.After[k].Mean[q] += 0.15
		}
	}
	return c
}

// circuitDraws are the circuit pictures' functions and sizes, by name.
var circuitDraws = []struct {
	name string
	draw func(*Circuit, Format) ([]byte, error)
	size Size
}{
	{"l5_weights", DrawCircuitWeights, CircuitWeightsSize},
	{"l5_selectivity", DrawCircuitSelectivity, CircuitSelectivitySize},
	{"l5_activity", DrawCircuitActivity, CircuitActivitySize},
	{"l5_weights_time", DrawCircuitWeightsOverTime, CircuitWeightsTimeSize},
	{"l5_rates", DrawCircuitRates, CircuitRatesSize},
}

// svgText is the text of an SVG picture: gonum writes each string as the
// content of a <text> element, with & < > escaped.
func svgText(data []byte) string {
	var b strings.Builder
	for _, part := range bytes.Split(data, []byte("<text"))[1:] {
		open := bytes.IndexByte(part, '>')
		end := bytes.Index(part, []byte("</text>"))
		if open >= 0 && end > open {
			b.Write(part[open+1 : end])
			b.WriteByte('\n')
		}
	}
	return strings.NewReplacer("&gt;", ">", "&lt;", "<", "&amp;", "&").Replace(b.String())
}

// colourPixels counts the pixels of img of colour col.
func colourPixels(img image.Image, col color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == col {
				n++
			}
		}
	}
	return n
}

func TestCircuitPictures(t *testing.T) {
	c := testCircuit([]int{12, 10, 6, 5}, []float64{0, 90, 180, 270}, 400, 60)
	for _, d := range circuitDraws {
		for _, f := range Formats {
			data, err := d.draw(c, f)
			require.NoError(t, err, d.name)
			checkPicture(t, d.name, data, f, d.size)
		}
	}
	// Every population is drawn in its colour in each picture, more than
	// its legend entry would take.
	pngs, err := CircuitPictures(c, PNG)
	require.NoError(t, err)
	// A legend entry takes under 100 pixels of the colour; each picture's
	// data far more (lines across panels: thousands).
	least := map[string]int{"l5_weights": 200, "l5_selectivity": 200, "l5_activity": 1500, "l5_weights_time": 1500, "l5_rates": 200}
	for _, d := range circuitDraws {
		img, err := png.Decode(bytes.NewReader(pngs[d.name]))
		require.NoError(t, err)
		for q, n := range c.Populations {
			assert.Greater(t, colourPixels(img, c.popColour(q)), least[d.name], "%s: %s drawn in its colour", d.name, n)
		}
	}
	all, err := CircuitPictures(c, SVG)
	require.NoError(t, err)
	require.Len(t, all, len(circuitDraws), "every picture has data")
	pair := func(pre, post string) string { return pre + "→" + post }
	names := c.Populations
	dirs := []string{"0°", "90°", "180°", "270°"}
	// What each picture promises to write: axis labels, names, legend entries.
	want := map[string][]string{
		"l5_weights":      {"population pair (pre → post)", "mean weight", "initial", "final: mean ± std over 4 directions", "target", "final, from CS", "final, from SST"},
		"l5_selectivity":  {"OS", "DS", "OS_p", "population", "before learning", "after learning"},
		"l5_activity":     {"time (ms)", "rate", "direction 0°", "direction 90°", "direction 180°", "direction 270°", "shaded: ± std over units"},
		"l5_weights_time": {"time (ms)", "mean weight", "mean over the directions", "target", "to CS", "to CC", "to PV", "to SST"},
		"l5_rates":        {"direction", "mean rate", "300–400 ms"},
	}
	for _, n := range names {
		want["l5_selectivity"] = append(want["l5_selectivity"], n)
		want["l5_activity"] = append(want["l5_activity"], n)
		want["l5_rates"] = append(want["l5_rates"], n)
		for _, m := range names {
			want["l5_weights"] = append(want["l5_weights"], pair(n, m))
			want["l5_weights_time"] = append(want["l5_weights_time"], pair(n, m))
		}
	}
	want["l5_rates"] = append(want["l5_rates"], dirs...)
	for name, ws := range want {
		text := svgText(all[name])
		for _, w := range ws {
			assert.Contains(t, text, w, "%s: the SVG writes %q", name, w)
		}
	}
	// The activity legend has one entry per population, not more.
	assert.Equal(t, 1, strings.Count(svgText(all["l5_activity"]), "\nSST\n"), "SST once, in the legend")

	// PDF text is spelled in ASCII, nothing replaced by "?".
	assert.Equal(t, "mean +/- std, 90 deg, CS->PV", pdfText(circuitSpelling.Replace("mean ± std, 90°, CS→PV")))
}

func TestCircuitPicturesOmitWhatIsMissing(t *testing.T) {
	c := testCircuit([]int{4, 4}, []float64{90}, 20, 3)
	c.BlocksOverTime, c.TargetBlocks = nil, nil
	c.Before = [3]PopulationIndex{}
	c.After[1] = PopulationIndex{}
	c.After[0].Mean[1] = math.NaN()
	all, err := CircuitPictures(c, SVG)
	require.NoError(t, err)
	assert.NotContains(t, all, "l5_weights_time", "no snapshots")
	assert.Contains(t, all, "l5_selectivity")
	_, err = DrawCircuitWeightsOverTime(c, PNG)
	assert.ErrorContains(t, err, "BlocksOverTime is nil")
	text := svgText(all["l5_selectivity"])
	assert.Contains(t, text, "(no reliable unit: CC after; not computed before)", "OS: the NaN population is named")
	assert.Contains(t, text, "(not computed before or after)", "DS")
	assert.Contains(t, svgText(all["l5_weights"]), "final: direction 90°", "one direction: its value")
	assert.NotContains(t, svgText(all["l5_weights"]), "target")
	for name, data := range all {
		for _, d := range circuitDraws {
			if d.name == name {
				checkPicture(t, name+"-small", data, SVG, d.size)
			}
		}
	}
	c.Rates, c.InitialBlocks, c.FinalBlocks, c.After = nil, nil, nil, [3]PopulationIndex{}
	all, err = CircuitPictures(c, PNG)
	require.NoError(t, err)
	assert.Empty(t, all, "nothing to draw")
	_, err = DrawCircuitRates(c, PNG)
	assert.ErrorContains(t, err, "Rates is nil")
}

func TestCircuitValidation(t *testing.T) {
	for _, m := range []struct {
		field  string
		break_ func(c *Circuit)
	}{
		{"Populations", func(c *Circuit) { c.Populations = nil }},
		{"Directions", func(c *Circuit) { c.Directions = nil }},
		{"Offsets", func(c *Circuit) { c.Offsets = c.Offsets[:2] }},
		{"Offsets[2]", func(c *Circuit) { c.Offsets[2] = c.Offsets[1] }},
		{"DtMs", func(c *Circuit) { c.DtMs = 0 }},
		{"Rates has", func(c *Circuit) { c.Rates = c.Rates[:1] }},
		{"Rates[1]", func(c *Circuit) { c.Rates[1] = c.Rates[1][1:] }},
		{"RateStride", func(c *Circuit) { c.RateStride = 0 }},
		{"InitialBlocks", func(c *Circuit) { c.InitialBlocks = c.InitialBlocks[1:] }},
		{"TargetBlocks", func(c *Circuit) { c.TargetBlocks = append(c.TargetBlocks, 0) }},
		{"FinalBlocks[0]", func(c *Circuit) { c.FinalBlocks[0] = nil }},
		{"BlocksOverTime[1]", func(c *Circuit) { c.BlocksOverTime[1] = c.BlocksOverTime[1][:5] }},
		{"WeightStride", func(c *Circuit) { c.WeightStride = 0 }},
		{"After[2] (OS_p).Mean", func(c *Circuit) { c.After[2].Mean = c.After[2].Mean[1:] }},
		{"Before[0] (OS).Std", func(c *Circuit) { c.Before[0].Std = []float64{1} }},
		{"WindowTo", func(c *Circuit) { c.WindowFrom, c.WindowTo = 5, 3 }},
	} {
		c := testCircuit([]int{3, 2, 2}, []float64{0, 180}, 10, 4)
		m.break_(c)
		for _, d := range circuitDraws {
			_, err := d.draw(c, PNG)
			assert.ErrorContains(t, err, m.field, "%s: %s", d.name, m.field)
		}
		_, err := CircuitPictures(c, PNG)
		assert.ErrorContains(t, err, m.field)
	}
}

func TestCircuitNaNs(t *testing.T) {
	c := testCircuit([]int{3, 3, 2, 2}, []float64{0, 90}, 30, 5)
	// A population whose rates are NaN, and a NaN block mean.
	N := c.Offsets[4]
	for s := 0; s < c.Steps; s++ {
		for u := c.Offsets[3]; u < N; u++ {
			c.Rates[1][s*N+u] = math.NaN()
		}
	}
	c.FinalBlocks[0][5] = math.NaN() // [pre][post]: CC→CC
	c.TargetBlocks[3] = math.NaN()
	c.After[0].Mean[2], c.Before[1].Std[3] = math.NaN(), math.NaN()
	for _, d := range circuitDraws {
		data, err := d.draw(c, PNG)
		require.NoError(t, err, d.name)
		checkPicture(t, d.name+"-nan", data, PNG, d.size)
	}
	for k := 0; k < c.WeightSteps*4*4; k += 4 * 4 {
		c.BlocksOverTime[0][k+1], c.BlocksOverTime[1][k+1] = math.NaN(), math.NaN() // CS→CC
	}
	data, err := DrawCircuitRates(c, SVG)
	require.NoError(t, err)
	assert.Contains(t, svgText(data), "SST\n(no finite rate: 90°)")
	data, err = DrawCircuitActivity(c, SVG)
	require.NoError(t, err)
	assert.Contains(t, svgText(data), "direction 90°\n(no finite rate: SST)\n")
	assert.Contains(t, svgText(data), "\nSST\n", "SST stays in the legend")
	data, err = DrawCircuitWeights(c, SVG)
	require.NoError(t, err)
	assert.Contains(t, svgText(data), "final CC→CC in 1 of 2 directions")
	assert.Contains(t, svgText(data), "target CS→SST", "index 3 of [pre][post] is CS→SST")
	data, err = DrawCircuitWeightsOverTime(c, SVG)
	require.NoError(t, err)
	assert.Contains(t, svgText(data), "CS→CC (not finite)")
}

// TestCircuitWindow checks the analysis window: a step in the rates shows
// in the box plots only when the window holds it.
func TestCircuitWindow(t *testing.T) {
	c := testCircuit([]int{2, 2}, []float64{0}, 40, 2)
	c.WindowFrom, c.WindowTo = 10, 20
	from, to := c.window()
	assert.Equal(t, [2]int{10, 20}, [2]int{from, to})
	c.WindowFrom, c.WindowTo = 0, 0
	from, to = c.window()
	assert.Equal(t, [2]int{30, 40}, [2]int{from, to}, "the last quarter")
	c.Steps, c.Rates = 2, [][]float64{c.Rates[0][:2*4]}
	from, to = c.window()
	assert.Equal(t, [2]int{1, 2}, [2]int{from, to}, "at least one sample")
}

// TestCircuitPopulationStats checks the activity's per-population mean and
// std against values computed here.
func TestCircuitPopulationStats(t *testing.T) {
	c := &Circuit{Populations: []string{"A", "B"}, Offsets: []int{0, 2, 5}, Directions: []float64{0}, DtMs: 0.5, Steps: 2, RateStride: 4,
		Rates: [][]float64{{1, 3, 0, 0, 6, 2, 2, 5, 5, 5}}}
	b := c.populationStats(0)
	a0, sa0 := b.Series(0, "", 1), b.Series(1, "", 1)
	b1, sb1 := b.Series(2, "", 1), b.Series(3, "", 1)
	assert.Equal(t, []float64{2, 4}, a0.T, "sample s at (s+1)·stride·dt")
	assert.Equal(t, []float64{2, 2}, a0.Mean)
	assert.Equal(t, []float64{1, 0}, sa0.Mean)
	assert.InDelta(t, 2.0, b1.Mean[0], 1e-12)
	assert.InDelta(t, math.Sqrt(8), sb1.Mean[0], 1e-12)
	assert.Equal(t, 5.0, b1.Mean[1])
	assert.Equal(t, 0.0, sb1.Mean[1])
}

// TestCircuitLargeRun draws the full-size model (2 500 steps × 400 units ×
// 4 directions) to check that the binning keeps the pictures' content fixed
// in size; it reports the time taken, which is not asserted.
func TestCircuitLargeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("large run")
	}
	c := testCircuit([]int{160, 160, 40, 40}, []float64{0, 90, 180, 270}, 2500, 500)
	start := time.Now()
	all, err := CircuitPictures(c, PNG)
	require.NoError(t, err)
	t.Logf("2500 steps × 400 units × 4 directions: %v", time.Since(start))
	for _, d := range circuitDraws {
		checkPicture(t, d.name+"-large", all[d.name], PNG, d.size)
	}
	svg, err := DrawCircuitActivity(c, SVG)
	require.NoError(t, err)
	assert.Less(t, len(svg), 3<<20, "at most MaxBins points a line")
}
