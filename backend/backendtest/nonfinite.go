package backendtest

import (
	"errors"
	"math"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// NonFinite is the entry point for non-finite reporting: a run that blows
// up stops with the reference's *backend.NonFiniteError (the same step,
// instance, trial, unit, quantity and value) whether it runs as one
// program, in chunks of steps or as parts of a partition, and a stopped run
// keeps returning that error. (Non-finite weights of plastic programs are
// part of Plasticity.)
func NonFinite(t *testing.T, b backend.Backend) {
	bothPrecisions(t, func(t *testing.T) { testNonFinite[float32](t, b) }, func(t *testing.T) { testNonFinite[float64](t, b) })
}

// explodingProgram is a program whose instance 1 grows without bound
// (every weight large and positive, no decay).
func explodingProgram[T backend.Float]() (*backend.Program[T], []T, int) {
	c := Case{Shape: backend.Shape{Instances: 3, Trials: 4, Units: 17, Inputs: 1, Outputs: 1},
		Activation: backend.Identity, Init: true, Stride: 1, Steps: 400, Seed: 99}
	p := NewProgram[T](c)
	N, rows := p.Units, p.DriveRows()
	for j := 0; j < rows*N; j++ {
		p.Drive[rows*N+j] = 3
	}
	for i := 0; i < N; i++ {
		p.Alpha[N+i], p.Decay[N+i] = 1, 0
	}
	return p, NewInput(p, c.Steps, 7), c.Steps
}

func testNonFinite[T backend.Float](t *testing.T, b backend.Backend) {
	p, in, steps := explodingProgram[T]()
	want := Expect(t, b, p, in, steps, []int{37})
	var nf *backend.NonFiniteError
	if !errors.As(want.Err, &nf) || nf.Instance != 1 {
		t.Fatalf("reference did not stop at instance 1: %v", want.Err)
	}
	if math.IsNaN(nf.Value) {
		t.Logf("stopped at %v", nf)
	}
	// As parts: the error of the part that stops first, at the whole
	// program's indices.
	pt, err := backend.Split(p, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RunPartitioned(b, pt, in, steps, []int{100})
	if err != nil {
		t.Fatal(err)
	}
	if d := Compare(got, want, 1); d != nil {
		t.Fatalf("%s as parts of one instance and ≤ 3 trials vs reference: %s", b.Name(), d)
	}
	// The error sticks.
	run, err := backend.Start(b, p)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	first := run.Advance(steps, in, backend.NewChunkFor(p, 0, steps))
	var again *backend.NonFiniteError
	if err := run.Advance(1, nil, backend.NewChunkFor(p, run.Done(), 1)); !errors.As(err, &again) || first == nil || err.Error() != first.Error() {
		t.Fatalf("Advance after stopping with %v = %v, want the same error", first, err)
	}
}
