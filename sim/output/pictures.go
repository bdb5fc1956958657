package output

import (
	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/output/plot"
	"github.com/ratesim/ratesim/sim/spec"
)

// The pictures a run may write into its output directory.
const (
	RatesPicture   = "rates.png"
	WeightsPicture = "weights.png"
)

// PictureNames are every picture a run may write; Write removes an earlier
// run's picture that the new run does not draw.
var PictureNames = []string{RatesPicture, WeightsPicture}

// Picture is one picture of a run: its file name in the output directory
// and its encoded bytes.
type Picture struct {
	Name string
	Data []byte
}

// drawPictures draws the pictures of spec s's run from its recording:
// rates.png when rates were recorded, weights.png when a plastic run
// recorded weight snapshots.
func drawPictures[T backend.Float](s *spec.Spec, res *Recording[T]) ([]Picture, error) {
	var pics []Picture
	img, err := plotImage(res)
	if err != nil {
		return nil, err
	}
	if img != nil {
		pics = append(pics, Picture{RatesPicture, img})
	}
	if res.Weights != nil {
		if img := plotWeights(res.Weights); img != nil {
			pics = append(pics, Picture{WeightsPicture, img})
		}
	}
	return pics, nil
}

// plotImage draws rates.png from trial 0, reading at most 1000 recorded
// steps × 300 units (what the picture shows), so streamed runs need not fit
// in memory. It returns nil when no rates were recorded.
func plotImage[T backend.Float](res *Recording[T]) ([]byte, error) {
	M := res.Plan.M
	if res.rates == nil || M == 0 {
		return nil, nil
	}
	U, O := res.rates.width, 0
	if res.outputs != nil {
		O = res.outputs.width
	}
	w, uh := min(M, 1000), min(U, 300)
	rates, outs := make([]T, w*uh), make([]T, w*O)
	row := make([]T, U)
	for x := 0; x < w; x++ {
		t := x * M / w
		if err := res.rates.row(0, t, row); err != nil {
			return nil, err
		}
		for y := 0; y < uh; y++ {
			rates[x*uh+y] = row[y*U/uh]
		}
		if O > 0 {
			if err := res.outputs.row(0, t, outs[x*O:(x+1)*O]); err != nil {
				return nil, err
			}
		}
	}
	return plot.Rates(rates, outs, w, uh, O)
}

// plotWeights draws weights.png of w, or returns nil when it recorded no
// snapshots.
func plotWeights[T backend.Float](w *Weights[T]) []byte {
	var mats []plot.Matrix
	for _, sg := range w.segs {
		if len(sg.Shape) == 2 {
			mats = append(mats, plot.Matrix{Offset: sg.Offset, Rows: sg.Shape[0], Cols: sg.Shape[1]})
		}
	}
	return plot.Weights(w.snapshots, w.snaps, w.width, w.plan.Record.What == backend.SnapWhole, mats)
}
