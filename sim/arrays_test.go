package sim

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// An input file with the values the constant generator makes, and an
// initial-state file with the spec's init_state, give the same bits as the
// spec alone.
func TestInputAndInitStateFilesMatchTheSpec(t *testing.T) {
	dir := t.TempDir()
	s := smallSpec(t, "input: {type: constant, amplitude: 0.75}\ninit_state: ["+strings.TrimSuffix(strings.Repeat("0.3, ", 20), ", ")+"]\n")
	b, _ := backend.Lookup("reference")
	want, err := Simulate[float32](context.Background(), s, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, s.Trials*s.Steps*2)
	for i := range x {
		x[i] = 0.75
	}
	xf := filepath.Join(dir, "x.npy")
	if err := npz.WriteNPY(xf, npz.Float64, []int{s.Trials, s.Steps, 2}, x); err != nil {
		t.Fatal(err)
	}
	v0 := make([]float32, 20)
	for i := range v0 {
		v0[i] = 0.3
	}
	vf := filepath.Join(dir, "v0.npy")
	if err := npz.WriteNPY(vf, npz.Float32, []int{20}, v0); err != nil {
		t.Fatal(err)
	}
	s2 := smallSpec(t, "input: {type: none}\ntrials: 1\nsteps: 3\n")
	in, err := stimulus.LoadInput(xf)
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyInput(s2, in); err != nil {
		t.Fatal(err)
	}
	init, err := spec.LoadInitState(vf, s2.Trials, 20)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Simulate[float32](context.Background(), s2, b, Options{Input: in, InitState: init, ChunkSteps: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rates) != len(want.Rates) {
		t.Fatalf("got %d rates, want %d", len(got.Rates), len(want.Rates))
	}
	for i := range want.Rates {
		if math.Float32bits(got.Rates[i]) != math.Float32bits(want.Rates[i]) {
			t.Fatalf("rate %d: %v from files, %v from the spec", i, got.Rates[i], want.Rates[i])
		}
	}
}

func TestInputFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad2d := filepath.Join(dir, "flat.npy")
	npz.WriteNPY(bad2d, npz.Float32, []int{4, 2}, make([]float32, 8))
	nan := filepath.Join(dir, "nan.npy")
	npz.WriteNPY(nan, npz.Float64, []int{1, 2, 2}, []float64{0, 1, math.NaN(), 3})
	for _, c := range []struct{ path, want string }{
		{bad2d, "(trials, steps, inputs)"},
		{nan, "[0 1 0]"},
		{filepath.Join(dir, "missing.npy"), "missing.npy"},
	} {
		if _, err := stimulus.LoadInput(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("stimulus.LoadInput(%s) = %v, want an error with %q", filepath.Base(c.path), err, c.want)
		}
	}
	good := filepath.Join(dir, "x.npy")
	npz.WriteNPY(good, npz.Float32, []int{1, 2, 3}, make([]float32, 6))
	in, _ := stimulus.LoadInput(good)
	if err := ApplyInput(smallSpec(t, ""), in); err == nil || !strings.Contains(err.Error(), "2 inputs") {
		t.Errorf("ApplyInput with 3 inputs for a 2-input network: %v", err)
	}
	if _, err := spec.LoadInitState(good, 2, 3); err == nil || !strings.Contains(err.Error(), "want (2, 3)") {
		t.Errorf("LoadInitState with a wrong shape: %v", err)
	}
}
