package circuit

import (
	"fmt"
	"math"
	"slices"

	"github.com/ratesim/ratesim/sim/npz"
)

// LoadNetwork reads a network of p from an .npz file (spec.CircuitNetwork):
// w0 (n × n, post × pre), r0, x and y (n each), n = p.Units(), every value
// finite. The errors name the file and the array.
func (p L5Params) LoadNetwork(path string) (*L5Network, error) {
	n := p.Units()
	a, err := npz.Open(path)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	read := func(name string, shape ...int) ([]float64, error) {
		arr, err := a.Array(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !slices.Equal(arr.Shape, shape) {
			return nil, fmt.Errorf("%s: %s has shape %v, want %v (%d units)", path, name, arr.Shape, shape, n)
		}
		v, err := arr.Float64s()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%s: %s[%d] = %v: values must be finite", path, name, i, x)
			}
		}
		return v, nil
	}
	net := &L5Network{Scale: 1, Offsets: []int{0}}
	for _, q := range p.Populations {
		net.Offsets = append(net.Offsets, net.Offsets[len(net.Offsets)-1]+q.Size)
	}
	if net.W, err = read("w0", n, n); err != nil {
		return nil, err
	}
	if net.R0, err = read("r0", n); err != nil {
		return nil, err
	}
	if net.X, err = read("x", n); err != nil {
		return nil, err
	}
	if net.Y, err = read("y", n); err != nil {
		return nil, err
	}
	return net, nil
}
