package sim

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/sim/npz"
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
	vals, shape, err := loadFinite(path)
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

// LoadInitState reads initial states v₀ from a .npy shaped (B, N) or (N,)
// and returns B×N values ((N,) is repeated for every trial).
func LoadInitState(path string, trials, units int) ([]float64, error) {
	vals, shape, err := loadFinite(path)
	if err != nil {
		return nil, err
	}
	return fitInitState(path, vals, shape, trials, units, true)
}

func loadFinite(path string) ([]float64, []int, error) {
	a, err := npz.ReadNPY(path)
	if err != nil {
		return nil, nil, err
	}
	vals, err := a.Float64s()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("%s: value %d (index %v) is %v; inputs and states must be finite", path, i, npz.Unravel(i, a.Shape), v)
		}
	}
	return vals, a.Shape, nil
}

func fillInputArray[T interface{ float32 | float64 }](in *InputArray, t0, n int, dst []T) []T {
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
