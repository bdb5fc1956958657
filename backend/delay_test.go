package backend_test

import (
	"math"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// selfLoop is one identity unit with v_t = x_t = w·r_{t-1-d} and r_0 = 1.
func selfLoop(w float64, d int) *backend.Program[float64] {
	p := &backend.Program[float64]{Shape: backend.Shape{Instances: 1, Trials: 1, Units: 1},
		Activation: backend.Identity, Drive: []float64{w, 0}, Decay: []float64{0}, Alpha: []float64{1},
		PreNoise: []float64{0}, PostNoise: []float64{0}, Init: []float64{1}, Record: backend.Record{Rates: true}}
	if d >= 0 {
		p.Delays = &backend.Delays{Max: max(d, 1), Steps: []uint16{uint16(d)}}
	}
	return p
}

// A unit that doubles its own rate d steps late: r_t = 2·r_{t-1-d} with
// r_s = r_0 = 1 for s ≤ 0, so r_t = 2^⌈t/(d+1)⌉. A delay of 0 is the
// undelayed loop 2^t (not SPAIC's maximal lag), and a delay counts whole
// steps (an off-by-one shifts the powers).
func TestReferenceDelayKnownAnswer(t *testing.T) {
	for _, d := range []int{0, 1, 2, 5} {
		p := selfLoop(2, d)
		res, err := backendtest.RunChunked(backend.Reference, p, nil, 20, []int{3})
		if err != nil || res.Err != nil {
			t.Fatal(err, res.Err)
		}
		for s := 1; s <= 20; s++ {
			want := math.Pow(2, math.Ceil(float64(s)/float64(d+1)))
			if got := res.Rates[s-1]; got != want {
				t.Fatalf("delay %d: r_%d = %v, want %v", d, s, got, want)
			}
		}
	}
}

// Delays of 0 everywhere give the bits of the program without delays, and
// a larger Max changes nothing.
func TestReferenceZeroDelaysAreNoDelays(t *testing.T) {
	c := backendtest.Case{Shape: backend.Shape{Instances: 2, Trials: 3, Units: 17, Inputs: 2, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Init: true, Stride: 1, Steps: 30, Seed: 9}
	p := backendtest.NewProgram[float32](c)
	in := backendtest.NewInput(p, c.Steps, 1)
	want, err := backendtest.RunChunked(backend.Reference, p, in, c.Steps, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := *p
	q.Delays = &backend.Delays{Max: 7, Steps: make([]uint16, 2*17*17)}
	got, err := backendtest.RunChunked(backend.Reference, &q, in, c.Steps, []int{4})
	if err != nil {
		t.Fatal(err)
	}
	if d := backendtest.Compare(got, want, 1); d != nil {
		t.Fatal(d)
	}
}

func TestDelaysValidate(t *testing.T) {
	p := selfLoop(2, 3)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		d    *backend.Delays
		want string
	}{
		{"max 0", &backend.Delays{Max: 0, Steps: []uint16{0}}, "Delays.Max"},
		{"short", &backend.Delays{Max: 3, Steps: nil}, "Delays.Steps has 0"},
		{"above max", &backend.Delays{Max: 3, Steps: []uint16{4}}, "exceeds Delays.Max"},
	} {
		q := *p
		q.Delays = c.d
		if err := q.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want an error about %q", c.name, err, c.want)
		}
	}
	pc := backendtest.PlasticCases(true)[0]
	q := backendtest.NewProgram[float32](pc)
	N := q.Units
	q.Delays = &backend.Delays{Max: 1, Steps: make([]uint16, q.Instances*N*N)}
	if err := q.Validate(); err == nil || !strings.Contains(err.Error(), "Plasticity cannot be combined") {
		t.Errorf("a plastic program with delays: Validate = %v", err)
	}
}

func TestHistorySlot(t *testing.T) {
	for s := -9; s < 20; s++ {
		got := backend.HistorySlot(s, 4)
		if got < 0 || got >= 4 || (s-got)%4 != 0 {
			t.Errorf("HistorySlot(%d, 4) = %d", s, got)
		}
	}
}
