package spec

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/sim/npz"
)

// LoadInitState reads initial states v₀ from a .npy shaped (B, N) or (N,)
// and returns B×N values ((N,) is repeated for every trial).
func LoadInitState(path string, trials, units int) ([]float64, error) {
	if err := CheckInitState(path, trials, units); err != nil {
		return nil, err
	}
	vals, shape, err := LoadFinite(path)
	if err != nil {
		return nil, err
	}
	return fitInitState(path, vals, shape, trials, units, true)
}

// CheckInitState checks the header of an initial-state .npy file (its
// shape must be (trials, units) or (units,)) without reading its values.
func CheckInitState(path string, trials, units int) error {
	a, err := npz.ReadNPYHeader(path)
	if err != nil {
		return err
	}
	if !shapeIs(a.Shape, units) && !shapeIs(a.Shape, trials, units) {
		return fmt.Errorf("%s: initial state shaped %s, want (%d, %d) (trials, units) or (%d,)", path, npz.FormatShape(a.Shape), trials, units, units)
	}
	return nil
}

// LoadFinite reads a .npy file of any numeric dtype as float64 values and
// its shape, refusing NaN and ±Inf with the index of the first one.
func LoadFinite(path string) ([]float64, []int, error) {
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
