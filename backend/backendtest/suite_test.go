package backendtest

import (
	"math"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// The reference passes its own suite (trivially for values; this exercises
// the partition, shard and error paths of the reference itself).
func TestReferencePassesSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the CPU backend's tests run the whole suite")
	}
	Test(t, backend.Reference)
}

// Compare must find a one-ulp change and name where it is.
func TestCompareNamesFirstDifference(t *testing.T) {
	c := Case{Shape: backend.Shape{Instances: 2, Trials: 3, Units: 5, Inputs: 1, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Stride: 2, Steps: 20, Seed: 3}
	p := NewProgram[float32](c)
	in := NewInput(p, c.Steps, 1)
	want, err := RunChunked(backend.Reference, p, in, c.Steps, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := RunChunked(backend.Reference, p, in, c.Steps, []int{3})
	if d := Compare(got, want, 2); d != nil {
		t.Fatalf("identical runs differ: %v", d)
	}
	// Instance 1, trial 2, recorded step index 4 (step 10), unit 3.
	M := want.Recorded
	at := ((1*3+2)*M+4)*5 + 3
	got.Rates[at] = math.Nextafter32(got.Rates[at], 2)
	d := Compare(got, want, 2)
	if d == nil || d.What != "rates" || d.Instance != 1 || d.Trial != 2 || d.Step != 10 || d.Unit != 3 {
		t.Fatalf("Compare = %v, want rates at instance 1, trial 2, step 10, unit 3", d)
	}
	got.Rates[at] = want.Rates[at]
	got.V[7] = -got.V[7]
	if d := Compare(got, want, 2); d == nil || d.What != "final v" {
		t.Fatalf("Compare missed a changed final state: %v", d)
	}
}

// Compare names the first differing weight of a plastic run: its
// connection, instance, trial, step and synapse.
func TestCompareNamesFirstDifferingWeight(t *testing.T) {
	c := PlasticCases(true)[1] // per-trial, input and readout, chosen synapses
	c.Plastic.Snapshot = backend.SnapWhole
	p := NewProgram[float32](c)
	in := NewInput(p, c.Steps, 1)
	want, err := RunChunked(backend.Reference, p, in, c.Steps, nil)
	if err != nil || want.Err != nil {
		t.Fatal(err, want.Err)
	}
	got, _ := RunChunked(backend.Reference, p, in, c.Steps, []int{5})
	if d := Compare(got, want, p.Record.Every()); d != nil {
		t.Fatalf("identical runs differ: %v", d)
	}
	// Instance 2, trial 1, snapshot 3, readout synapse (4, 1).
	s := p.Shape
	width, M, MM := p.WeightWidth(), want.Snapshots, p.Matrices()
	at := ((2*MM+1)*M+3)*width + s.Inputs*s.Units + 4*s.Outputs + 1
	got.Weights[at] = math.Nextafter32(got.Weights[at], 2)
	d := Compare(got, want, p.Record.Every())
	stride := p.Plasticity.Record.Stride
	if d == nil || d.What != "weights" || d.Instance != 2 || d.Trial != 1 || d.Step != 4*stride || d.Layer != "readout" || d.Pre != 4 || d.Unit != 1 {
		t.Fatalf("Compare = %v, want weights at instance 2, trial 1, step %d, readout pre 4, post 1", d, 4*stride)
	}
	got.Weights[at] = want.Weights[at]
	x := (1*MM+2)*p.DriveRows()*s.Units + (s.Units+1)*s.Units + 3
	got.Drive[x] = -got.Drive[x] - 1
	if d := Compare(got, want, p.Record.Every()); d == nil || d.What != "final weights" || d.Layer != "input" || d.Instance != 1 || d.Trial != 2 || d.Pre != 1 || d.Unit != 3 {
		t.Fatalf("Compare = %v, want final input weight at instance 1, trial 2, pre 1, post 3", d)
	}
}
