//go:build cuda

package gpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// Programs with delays, and sparse ones below the density threshold, run
// on the gathered kernel whatever kernel is asked for; denser sparse
// programs on the tiles (the conformance suite checks the bits of both).
func TestGatherPlanned(t *testing.T) {
	needDevice(t)
	c := backendtest.Case{Shape: backend.Shape{Instances: 2, Trials: 3, Units: 40, Inputs: 2, Outputs: 1},
		Activation: backend.Tanh, Steps: 1, Seed: 3}
	for _, x := range []struct {
		name   string
		p      *backend.Program[float32]
		gather bool
	}{
		{"delays", backendtest.NewDelayProgram[float32](backendtest.DelayCase{Case: c, Max: 4}), true},
		{"sparse 0.05", backendtest.NewSparseProgram[float32](backendtest.SparseCase{Case: c, Density: 0.05}), true},
		{"sparse 0.5", backendtest.NewSparseProgram[float32](backendtest.SparseCase{Case: c, Density: 0.5}), false},
		{"dense", backendtest.NewProgram[float32](c), false},
	} {
		for _, k := range []Kernel{Auto, Step, Persistent} {
			r, err := start(New(UseKernel(k)), x.p)
			if err != nil {
				t.Fatalf("%s, %v: %v", x.name, k, err)
			}
			if r.pl.gather != x.gather || (r.gd != nil) != x.gather {
				t.Errorf("%s, %v: plan %s", x.name, k, r.pl.describe())
			}
			r.Close()
		}
	}
}
