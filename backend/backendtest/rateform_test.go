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

// plantedRate is a rate-form backend with a planted bug: the reference
// run on the program edit makes of each program it is given.
type plantedRate struct {
	name string
	edit func(p *backend.Program[float32])
}

func (b plantedRate) Name() string                       { return b.name }
func (b plantedRate) Devices() ([]backend.Device, error) { return backend.Reference.Devices() }
func (b plantedRate) SupportsRateForm() bool             { return true }
func (b plantedRate) SupportsDelays() bool               { return true }
func (b plantedRate) Start32(p *backend.Program[float32]) (backend.Run[float32], error) {
	q := *p
	if q.Rate != nil {
		r := *q.Rate
		q.Rate = &r
	}
	q.UnitActivations = append([]backend.ActivationRange[float32](nil), p.UnitActivations...)
	b.edit(&q)
	return backend.Reference.Start32(&q)
}
func (b plantedRate) Start64(p *backend.Program[float64]) (backend.Run[float64], error) {
	return backend.Reference.Start64(p)
}

// The rate cases fail on a backend that runs RK4 as Euler, one that
// forgets the clip, one that puts a range boundary one unit late, and one
// that computes integer powers with Pow of a power slightly off.
func TestRateFormCatchesPlantedBugs(t *testing.T) {
	var rk4, clip, ranges, power RateCase
	for _, c := range RateCases(true) {
		switch {
		case c.Integrator == backend.RK4 && !c.VForm && rk4.Steps == 0:
			rk4 = c
		case c.Clip && c.Integrator == backend.Euler && c.Ranges == "" && clip.Steps == 0:
			clip = c
		case c.Ranges == "mixed" && !c.VForm && ranges.Steps == 0:
			ranges = c
		case c.Ranges == "power" && !c.VForm && power.Steps == 0:
			power = c
		}
	}
	for _, tc := range []struct {
		b plantedRate
		c RateCase
	}{
		{plantedRate{"rk4-as-euler", func(p *backend.Program[float32]) { p.Rate.Integrator = backend.Euler }}, rk4},
		{plantedRate{"no-clip", func(p *backend.Program[float32]) { p.Rate.ClipAtZero = false }}, clip},
		{plantedRate{"late-boundary", func(p *backend.Program[float32]) {
			p.UnitActivations[0].End++
			p.UnitActivations[1].Start++
		}}, ranges},
		{plantedRate{"pow-for-integers", func(p *backend.Program[float32]) {
			for i := range p.UnitActivations {
				if pw := p.UnitActivations[i].Power; pw == 2 || pw == 3 {
					p.UnitActivations[i].Power = pw + 1.0/(1<<20) // Pow instead of repeated products, of a power 2^-20 off
				}
			}
		}}, power},
	} {
		if tc.c.Steps == 0 {
			t.Fatalf("%s: no suitable case in RateCases", tc.b.name)
		}
		if err := CheckRateCase[float32](tc.b, tc.c); err == nil {
			t.Errorf("%s passed %v", tc.b.name, tc.c)
		} else {
			t.Logf("%s: %v", tc.b.name, err)
		}
	}
}
