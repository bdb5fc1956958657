package backendtest

import (
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

func TestReferenceRateForm(t *testing.T) { RateForm(t, backend.Reference) }

// vformOnly hides the reference's capabilities, as a backend written
// before the rate form would: RateForm must check that it refuses.
type vformOnly struct{ backend.Backend }

func (v vformOnly) Start32(p *backend.Program[float32]) (backend.Run[float32], error) {
	if p.NeedsRateForm() {
		return nil, backend.ErrNoRateForm("vform-only")
	}
	return v.Backend.Start32(p)
}

func (v vformOnly) Start64(p *backend.Program[float64]) (backend.Run[float64], error) {
	if p.NeedsRateForm() {
		return nil, backend.ErrNoRateForm("vform-only")
	}
	return v.Backend.Start64(p)
}

// A backend that does not declare the rate form passes RateForm only by
// refusing its programs; one that silently runs them as v-form programs
// fails it.
func TestRateFormRefusal(t *testing.T) {
	bothPrecisions(t, func(t *testing.T) { testNoRateForm[float32](t, vformOnly{backend.Reference}) },
		func(t *testing.T) { testNoRateForm[float64](t, vformOnly{backend.Reference}) })
}

// The rate form's RK4 is not Euler, the clip changes rates, and the
// per-unit activations change the run: the suite's cases are sensitive to
// the features they claim to test.
func TestRateCasesAreSensitive(t *testing.T) {
	c := RateCases(true)[0]
	run := func(edit func(p *backend.Program[float64])) []float64 {
		p := NewRateProgram[float64](c)
		edit(p)
		res, err := RunChunked(backend.Reference, p, NewInput(p, c.Steps, c.Seed), c.Steps, nil)
		if err != nil || res.Err != nil {
			t.Fatal(err, res.Err)
		}
		return res.Rates
	}
	base := run(func(*backend.Program[float64]) {})
	for name, edit := range map[string]func(p *backend.Program[float64]){
		"rk4":   func(p *backend.Program[float64]) { p.Rate.Integrator = backend.RK4 },
		"clip":  func(p *backend.Program[float64]) { p.Rate.ClipAtZero = true },
		"power": func(p *backend.Program[float64]) { p.UnitActivations = rateRanges[float64]("power", p.Units) },
		"supra": func(p *backend.Program[float64]) { p.UnitActivations = rateRanges[float64]("supra", p.Units) },
	} {
		other := run(edit)
		same := true
		for i := range base {
			same = same && Bits(base[i]) == Bits(other[i])
		}
		if same {
			t.Errorf("%s: the run's rates did not change (case %v)", name, c)
		}
	}
	if !strings.HasPrefix(c.String(), "euler_clipfalse") {
		t.Fatalf("the first rate case is %v, want Euler without the clip", c)
	}
}
