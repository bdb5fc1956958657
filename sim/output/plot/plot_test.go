package plot

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// colours counts the distinct colours of a PNG and returns its size.
func colours(t *testing.T, data []byte) (image.Rectangle, int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return b, len(seen)
}

func TestRatesPicture(t *testing.T) {
	const steps, units, outs = 50, 10, 2
	rates, outputs := make([]float32, steps*units), make([]float32, steps*outs)
	for i := range rates {
		rates[i] = float32(i%7) - 3
	}
	for i := range outputs {
		outputs[i] = float32(i % 5)
	}
	data, err := Rates(rates, outputs, steps, units, outs)
	require.NoError(t, err)
	size, n := colours(t, data)
	assert.Equal(t, image.Rect(0, 0, steps, units*2+8+120), size, "raster rows of 2 px, a gap, the trace band")
	assert.Greater(t, n, 4, "the picture is not blank")
}

func TestWeightsPicture(t *testing.T) {
	const S, W = 3, 6
	snaps := make([]float64, S*W)
	for i := range snaps {
		snaps[i] = float64(i%4) - 1.5
	}
	assert.Nil(t, Weights[float64](nil, 0, W, true, nil), "no snapshots, no picture")
	data := Weights(snaps, S, W, true, []Matrix{{Offset: 0, Rows: 2, Cols: 3}})
	require.NotNil(t, data)
	size, n := colours(t, data)
	assert.Equal(t, 600, size.Dx(), "the trace band sets the width")
	assert.Greater(t, n, 4, "the picture is not blank")
}
