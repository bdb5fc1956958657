package backendtest

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// The reference passes its own suite, entry point by entry point (trivially
// for values; this exercises the chunk, partition, error and refusal paths
// of the reference itself and of the partitioner).
func TestReferenceDynamics(t *testing.T)   { long(t); Dynamics(t, backend.Reference) }
func TestReferenceNonFinite(t *testing.T)  { NonFinite(t, backend.Reference) }
func TestReferencePartition(t *testing.T)  { Partition(t, backend.Reference) }
func TestReferencePlasticity(t *testing.T) { long(t); Plasticity(t, backend.Reference) }
func TestReferenceMisuse(t *testing.T)     { Misuse(t, backend.Reference) }

// A backend that declares no plasticity (here the reference behind the
// bare interface, which hides its SupportsPlasticity) passes Plasticity by
// refusing plastic programs; one that declares it with Supports runs them.
func TestPlasticityRefused(t *testing.T) {
	bare := struct{ backend.Backend }{backend.Reference}
	if backend.Supports(bare, backend.FeaturePlasticity) {
		t.Fatal("the bare reference declares plasticity")
	}
	Plasticity(t, bare)
	Misuse(t, bare)
}

// featured declares its features with Supports only.
type featured struct {
	backend.Backend
	fs []backend.Feature
}

func (f featured) Supports(x backend.Feature) bool { return slices.Contains(f.fs, x) }

func TestSupports(t *testing.T) {
	if !backend.Supports(backend.Reference, backend.FeaturePlasticity) {
		t.Error("the reference (PlasticityCapable) does not support plasticity")
	}
	none := featured{Backend: backend.Reference}
	if backend.Supports(none, backend.FeaturePlasticity) {
		t.Error("Supports overridden to say no still says yes")
	}
	p := NewProgram[float32](PlasticCases(true)[0])
	if _, err := backend.Start(none, p); err == nil || err.Error() != backend.ErrNoPlasticity("reference").Error() {
		t.Errorf("Start of a plastic program on a backend without the feature = %v", err)
	}
	yes := featured{Backend: struct{ backend.Backend }{backend.Reference}, fs: []backend.Feature{backend.FeaturePlasticity}}
	r, err := backend.Start(yes, p)
	if err != nil {
		t.Fatalf("Start of a plastic program on a backend that declares it with Supports: %v", err)
	}
	r.Close()
	for _, f := range backend.Features() {
		if strings.HasPrefix(f.String(), "Feature(") {
			t.Errorf("feature %d has no name", f)
		}
	}
}

// Every entry point has its test here.
func TestEntryPointsCovered(t *testing.T) {
	Covers(t, TestReferenceDynamics, TestReferenceNonFinite, TestReferencePartition, TestReferencePlasticity, TestReferenceMisuse,
		TestReferenceDelays, TestReferenceSparse, TestReferenceRateForm)
}

// Test runs every entry point, each once, under its own name.
func TestEntryPoints(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range EntryPoints() {
		if e.Name == "" || e.Test == nil || seen[e.Name] {
			t.Errorf("entry point %q: empty, without a test or listed twice", e.Name)
		}
		seen[e.Name] = true
	}
	if len(seen) < 5 {
		t.Errorf("%d entry points, want at least Dynamics, NonFinite, Partition, Plasticity, Misuse", len(seen))
	}
}

// long skips t in short mode: the CPU backend's tests run the whole suite.
func long(t *testing.T) {
	if testing.Short() {
		t.Skip("the CPU backend's tests run the whole suite")
	}
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
