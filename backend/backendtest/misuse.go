package backendtest

import (
	"errors"
	"math"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// Misuse is the entry point for errors: bad programs, bad Advance
// arguments and calls on a closed run are reported, not silently
// accepted.
func Misuse(t *testing.T, b backend.Backend) {
	c := Case{Shape: backend.Shape{Instances: 1, Trials: 2, Units: 4, Inputs: 2, Outputs: 1}, Activation: backend.ReLU, Stride: 1, Steps: 3, Seed: 5}
	p := NewProgram[float32](c)
	bad := *p
	bad.Drive = bad.Drive[:3]
	if _, err := backend.Start(b, &bad); err == nil {
		t.Error("Start accepted a program with a short Drive")
	}
	nan := *p
	nan.Alpha = append([]float32(nil), p.Alpha...)
	nan.Alpha[2] = float32(math.NaN())
	if _, err := backend.Start(b, &nan); err == nil {
		t.Error("Start accepted a NaN alpha")
	}
	run, err := backend.Start(b, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Advance(-1, nil, backend.NewChunk(p, 0)); err == nil {
		t.Error("Advance accepted a negative step count")
	}
	if err := run.Advance(2, make([]float32, 3), backend.NewChunk(p, 2)); err == nil {
		t.Error("Advance accepted an input chunk of the wrong length")
	}
	if err := run.Advance(2, nil, backend.NewChunk(p, 1)); err == nil {
		t.Error("Advance accepted a chunk too small for the recorded steps")
	}
	if run.Done() != 0 {
		t.Errorf("Done() = %d after refused calls, want 0", run.Done())
	}
	run.Close()
	if err := run.Advance(1, nil, backend.NewChunk(p, 1)); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Advance after Close = %v, want %v", err, backend.ErrClosed)
	}
	if err := run.State(make([]float32, 8), nil); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("State after Close = %v, want %v", err, backend.ErrClosed)
	}
	if err := run.Close(); err != nil {
		t.Errorf("a second Close = %v, want nil", err)
	}
}
