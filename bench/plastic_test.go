package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

func TestParsePlastic(t *testing.T) {
	for in, want := range map[string]Plastic{
		"bcm":                      {Kind: backend.BCM},
		"Hebbian-adam":             {Kind: backend.Hebbian, Optimizer: backend.Adam},
		"oja-pertrial":             {Kind: backend.Oja, PerTrial: true},
		"covariance-adam-pertrial": {Kind: backend.Covariance, Optimizer: backend.Adam, PerTrial: true},
	} {
		got, err := ParsePlastic(in)
		if err != nil || got != want {
			t.Errorf("ParsePlastic(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, _ := ParsePlastic(got.String()); back != got {
			t.Errorf("%v does not round-trip through its name %q", got, got.String())
		}
	}
	for _, bad := range []string{"", "stdp", "bcm-sgd", "adam"} {
		if _, err := ParsePlastic(bad); err == nil {
			t.Errorf("ParsePlastic(%q) accepted", bad)
		}
	}
}

// A plastic measurement really learns: the weights after the measured
// steps differ from the static program's, and the result says which rule.
func TestMeasurePlastic(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Reps, cfg.RepTime, cfg.Activation = 1, 0, "tanh"
	for _, pl := range []Plastic{{Kind: backend.Hebbian}, {Kind: backend.BCM, Optimizer: backend.Adam}, {Kind: backend.Covariance, PerTrial: true}} {
		c := cfg
		c.Plastic = &pl
		r, err := Measure(context.Background(), backend.Reference, c, Size{N: 8, B: 2})
		if err != nil {
			t.Fatal(err)
		}
		if r.Plastic != pl.String() || r.MedianUS <= 0 {
			t.Errorf("%v: result %+v", pl, r)
		}
		p := Program[float64](c, Size{N: 8, B: 2})
		run, err := backend.Start(backend.Reference, p)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float64, p.InputLen(20))
		for i := range in {
			in[i] = 0.5
		}
		if err := run.Advance(20, in, backend.NewChunkFor(p, 0, 20)); err != nil {
			t.Fatal(err)
		}
		drive := make([]float64, p.Matrices()*len(p.Drive))
		if err := backend.Weights(run, drive, nil); err != nil {
			t.Fatal(err)
		}
		run.Close()
		moved := 0
		for i := 0; i < 8*8; i++ {
			if drive[i] != p.Drive[i] {
				moved++
			}
		}
		if moved == 0 {
			t.Errorf("%v: no recurrent weight changed in 20 steps", pl)
		}
	}
	var buf bytes.Buffer
	rs := []Result{
		{N: 8, B: 2, MedianUS: 2},
		{N: 8, B: 2, MedianUS: 5, Plastic: "bcm"},
		{N: 8, B: 2, MedianUS: 4},
		{N: 16, B: 2, MedianUS: 1, Plastic: "oja"}, // no static of its size: left out
		{N: 8, B: 2, MedianUS: 12, Plastic: "oja"},
	}
	pairs := PairPlastic(rs)
	if len(pairs) != 2 || pairs[0][0].MedianUS != 2 || pairs[1][0].MedianUS != 4 || pairs[1][1].Plastic != "oja" {
		t.Fatalf("pairs %+v", pairs)
	}
	WritePlasticTable(&buf, pairs)
	if !strings.Contains(buf.String(), "2.50x") || !strings.Contains(buf.String(), "3.00x") {
		t.Errorf("table lacks the ratios:\n%s", buf.String())
	}
}
