package output

import (
	"bytes"
	"image/png"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/output/plot"
	"github.com/ratesim/ratesim/sim/spec"
)

// record fills a recording of s with sine rates and outputs, and trial 0's
// input, the way a run does, chunk by chunk.
func record(t *testing.T, s *spec.Spec, spill string) *Recording[float32] {
	t.Helper()
	plan, err := s.Record.Plan(s)
	require.NoError(t, err)
	rec, err := NewRecording[float32](plan, s.Dt, spill, Hooks{})
	require.NoError(t, err)
	t.Cleanup(rec.Close)
	B, N, O, I := s.Trials, s.Dims[1], s.Dims[2], s.Dims[0]
	const chunk = 7
	for t0 := 0; t0 < s.Steps; t0 += chunk {
		n := min(chunk, s.Steps-t0)
		m := n // every step is recorded
		rates, outs, in := make([]float32, B*m*N), make([]float32, B*m*O), make([]float32, B*n*I)
		for b := 0; b < B; b++ {
			for j := 0; j < m; j++ {
				step := float64(t0 + j + 1)
				for u := 0; u < N; u++ {
					rates[(b*m+j)*N+u] = float32(math.Sin(step/20 + float64(u+b)))
				}
				for o := 0; o < O; o++ {
					outs[(b*m+j)*O+o] = float32(math.Cos(step/30 + float64(o)))
				}
				for c := 0; c < I; c++ {
					in[(b*n+j)*I+c] = float32(math.Sin(step / 50 * float64(c+1)))
				}
			}
		}
		require.NoError(t, rec.put(t0, n, m, N, O, rates, outs))
		rec.PutInput(t0, n, I, in)
	}
	return rec
}

// put stores a chunk's rates and outputs (every unit recorded).
func (r *Recording[T]) put(t0, n, m, N, O int, rates, outs []T) error {
	for b := 0; b < r.Plan.B; b++ {
		if err := r.rates.put(b, t0, rates[b*m*N:(b+1)*m*N]); err != nil {
			return err
		}
		if err := r.outputs.put(b, t0, outs[b*m*O:(b+1)*m*O]); err != nil {
			return err
		}
	}
	return nil
}

// A run's rates picture is the same whether its recordings were held in
// memory or streamed (read back in blocks), in every format, at its
// documented size; PictureNames cover every format.
func TestRatesPictureStreamedAndFormats(t *testing.T) {
	s, err := spec.Parse("p.yaml", []byte("dims: [3, 30, 2]\ntrials: 2\nsteps: 1234\n"))
	require.NoError(t, err)
	mem, disk := record(t, s, ""), record(t, s, t.TempDir())
	require.True(t, disk.Streamed)
	a, err := drawPictures(s, mem)
	require.NoError(t, err)
	b, err := drawPictures(s, disk)
	require.NoError(t, err)
	require.Len(t, a, 1)
	require.Len(t, b, 1)
	assert.Equal(t, RatesPicture, a[0].Name)
	assert.True(t, bytes.Equal(a[0].Data, b[0].Data), "the streamed recording draws the same picture")
	img, err := png.Decode(bytes.NewReader(a[0].Data))
	require.NoError(t, err)
	assert.Equal(t, plot.RunSize.W, img.Bounds().Dx())
	assert.Equal(t, plot.RunSize.H, img.Bounds().Dy())

	fig, err := runFigure(s, mem)
	require.NoError(t, err)
	assert.Equal(t, 30, fig.Rates.Rows, "one row a unit")
	assert.Equal(t, (1234+2)/3, fig.Rates.Cols, "bins of ⌈1234/500⌉ = 3 steps")
	assert.Len(t, fig.Traces, 4)
	assert.Len(t, fig.Outputs, 2)
	require.Len(t, fig.Inputs, 3)
	assert.InDelta(t, 10*2, fig.Inputs[0].T[0], 1e-9, "the first input bin is steps 1–3, at 2·dt")
	assert.InDelta(t, fig.T1, fig.T0+float64(fig.Rates.Cols*3)*10, 1e-9)

	for _, f := range []string{"svg", "pdf"} {
		mem.PlotFormat = f
		pics, err := drawPictures(s, mem)
		require.NoError(t, err)
		require.Len(t, pics, 1)
		assert.Equal(t, "rates."+f, pics[0].Name)
		assert.Equal(t, "rates."+f, mem.PictureFile(RatesPicture))
		assert.Contains(t, PictureNames, pics[0].Name)
	}
	mem.PlotFormat = "gif"
	_, err = drawPictures(s, mem)
	assert.ErrorContains(t, err, "png, svg or pdf")
	assert.ErrorContains(t, CheckPlotFormat("gif"), "gif")
	assert.NoError(t, CheckPlotFormat(""))
}
