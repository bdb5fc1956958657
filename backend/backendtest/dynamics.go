package backendtest

import (
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// edges are sizes around the block edges kernels tile by.
var edges = []int{1, 2, 31, 32, 33, 127, 128, 129}

// Cases returns the suite's programs. short trims the largest ones.
func Cases(short bool) []Case {
	var cs []Case
	acts := backend.Activations()
	trials := []int{1, 2, 31, 32, 33}
	seed := uint64(1)
	add := func(c Case) {
		c.Seed = seed
		seed++
		cs = append(cs, c)
	}
	// Every size edge, cycling through everything else.
	for i, n := range edges {
		steps := 200
		if n >= 127 {
			steps = 60
		}
		if short && n >= 127 {
			steps = 12
		}
		add(Case{
			Shape:      backend.Shape{Instances: 1 + i%3, Trials: trials[i%len(trials)], Units: n, Inputs: []int{0, 1, 3, 33}[i%4], Outputs: []int{2, 1, 0, 3}[i%4]},
			Activation: acts[i%len(acts)], Noise: i%2 == 0, Init: i%3 != 1, Shared: i%2 == 1, Sparse: i%4 == 3,
			Stride: 1 + i%3, Steps: steps,
		})
	}
	// Every activation with noise, both ways of sharing input.
	for i, a := range acts {
		add(Case{Shape: backend.Shape{Instances: 2, Trials: 5, Units: 33, Inputs: 2, Outputs: 2},
			Activation: a, Noise: true, Init: true, Shared: i%2 == 0, Sparse: i%3 == 0, Stride: 1, Steps: 300})
	}
	// Trials and inputs around block edges at a middle width.
	for i, b := range []int{31, 32, 33, 64, 65} {
		add(Case{Shape: backend.Shape{Instances: 1, Trials: b, Units: 64, Inputs: edges[i%len(edges)], Outputs: 1},
			Activation: acts[(i+2)%len(acts)], Noise: true, Init: i%2 == 0, Stride: 1, Steps: 40})
	}
	// Instances and outputs around block edges, on small networks.
	for i, k := range []int{31, 32, 33, 129} {
		add(Case{Shape: backend.Shape{Instances: k, Trials: 1 + i%2, Units: 1 + i, Inputs: i % 2, Outputs: edges[(i+3)%len(edges)]},
			Activation: acts[(i+4)%len(acts)], Noise: i%2 == 1, Init: true, Shared: i%3 == 0, Stride: 1, Steps: 50})
	}
	if !short {
		add(Case{Shape: backend.Shape{Instances: 1, Trials: 3, Units: 257, Inputs: 4, Outputs: 2},
			Activation: backend.Tanh, Noise: true, Init: true, Stride: 1, Steps: 20})
	}
	return cs
}

func (c Case) String() string {
	s := c.Shape
	str := fmt.Sprintf("K%d_B%d_N%d_I%d_O%d_%v_noise%v_init%v_shared%v_sparse%v_stride%d_T%d",
		s.Instances, s.Trials, s.Units, s.Inputs, s.Outputs, c.Activation, c.Noise, c.Init, c.Shared, c.Sparse, c.Stride, c.Steps)
	if c.Plastic != nil {
		str += "_" + c.Plastic.String()
	}
	return str
}

// Dynamics is the entry point for the step itself: the random programs of
// Cases (sizes around block edges, every activation, noise on and off,
// given and zero initial states, shared and per-instance input, sparse
// weights, recording strides), in both precisions, each run as one Advance
// call and compared with the reference bit for bit.
func Dynamics(t *testing.T, b backend.Backend) {
	for _, c := range Cases(testing.Short()) {
		t.Run("f32/"+c.String(), func(t *testing.T) { testCase[float32](t, b, c) })
		t.Run("f64/"+c.String(), func(t *testing.T) { testCase[float64](t, b, c) })
	}
}

func testCase[T backend.Float](t *testing.T, b backend.Backend, c Case) {
	p := NewProgram[T](c)
	in := NewInput(p, c.Steps, c.Seed)
	want := Expect(t, b, p, in, c.Steps, nil)
	if want.Err != nil {
		t.Fatalf("the reference run failed: %v (the case's weights are too large)", want.Err)
	}
	// A useful case moves: rates must vary over time and not all be zero.
	if c.Steps > 2 && allEqual(want.Rates) {
		t.Fatalf("degenerate case: every recorded rate equals %v", want.Rates[0])
	}
}

func allEqual[T backend.Float](a []T) bool {
	for _, x := range a {
		if Bits(x) != Bits(a[0]) {
			return false
		}
	}
	return true
}
