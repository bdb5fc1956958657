package stimulus

import (
	"fmt"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/spec"
)

// InputArray is an input read from a file: nn4n's batch-first (B, T, I).
type InputArray struct {
	File          string
	Trials, Steps int
	Inputs        int
	Values        []float64 // B × T × I
}

// LoadInput reads a (B, T, I) .npy file (float32 or float64, or any
// numeric dtype) and checks that every value is finite.
func LoadInput(path string) (*InputArray, error) {
	vals, shape, err := spec.LoadFinite(path)
	if err != nil {
		return nil, err
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("%s: input must be shaped (trials, steps, inputs), batch-first as nn4n takes it; got shape %v", path, shape)
	}
	if shape[0] < 1 || shape[1] < 1 {
		return nil, fmt.Errorf("%s: input shape %v has no trials or no steps", path, shape)
	}
	return &InputArray{File: path, Trials: shape[0], Steps: shape[1], Inputs: shape[2], Values: vals}, nil
}

// FillArray writes the input of steps t0+1 … t0+n of in into dst[:B·n·I]
// and returns that slice.
func FillArray[T backend.Float](in *InputArray, t0, n int, dst []T) []T {
	I := in.Inputs
	dst = dst[:in.Trials*n*I]
	for b := 0; b < in.Trials; b++ {
		src := in.Values[(b*in.Steps+t0)*I : (b*in.Steps+t0+n)*I]
		out := dst[b*n*I : (b+1)*n*I]
		for i, v := range src {
			out[i] = T(v)
		}
	}
	return dst
}
