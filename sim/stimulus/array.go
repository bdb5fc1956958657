package stimulus

import (
	"fmt"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

// InputArray is an input read from a file: nn4n's batch-first (B, T, I).
type InputArray struct {
	File          string
	Trials, Steps int
	Inputs        int
	// ItemSize is the bytes per value in the file (4 for float32).
	ItemSize int
	Values   []float64 // B × T × I; nil until Load
}

// OpenInput reads the header of a (B, T, I) .npy file and checks its shape
// without reading the values (Load does), so that what they will take in
// memory is known first: Bytes.
func OpenInput(path string) (*InputArray, error) {
	a, err := npz.ReadNPYHeader(path)
	if err != nil {
		return nil, err
	}
	shape := a.Shape
	if len(shape) != 3 {
		return nil, fmt.Errorf("%s: input must be shaped (trials, steps, inputs), batch-first as nn4n takes it; got shape %s", path, npz.FormatShape(shape))
	}
	if shape[0] < 1 || shape[1] < 1 {
		return nil, fmt.Errorf("%s: input shape %s has no trials or no steps", path, npz.FormatShape(shape))
	}
	return &InputArray{File: path, Trials: shape[0], Steps: shape[1], Inputs: shape[2], ItemSize: a.DType.ItemSize()}, nil
}

// Bytes is the memory loading the values takes at its peak: the file's
// data and the float64 values.
func (in *InputArray) Bytes() int64 {
	n := float64(in.Trials) * float64(in.Steps) * float64(in.Inputs)
	return int64(min(n*float64(8+in.ItemSize), 1<<62))
}

// Load reads the values (once) and checks that every one is finite.
func (in *InputArray) Load() error {
	if in.Values != nil {
		return nil
	}
	vals, shape, err := spec.LoadFinite(in.File)
	if err != nil {
		return err
	}
	if len(shape) != 3 || shape[0] != in.Trials || shape[1] != in.Steps || shape[2] != in.Inputs {
		return fmt.Errorf("%s changed while it was read: now shaped %s", in.File, npz.FormatShape(shape))
	}
	in.Values = vals
	return nil
}

// LoadInput reads a (B, T, I) .npy file (float32 or float64, or any
// numeric dtype) and checks that every value is finite.
func LoadInput(path string) (*InputArray, error) {
	in, err := OpenInput(path)
	if err != nil {
		return nil, err
	}
	if err := in.Load(); err != nil {
		return nil, err
	}
	return in, nil
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
