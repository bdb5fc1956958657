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
