package cpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// The rate form and per-unit activations on every configuration (one
// goroutine, many with odd trial blocks), bit for bit with the reference.
func TestRateForm(t *testing.T) { conformance(t, backendtest.RateForm) }

// BenchmarkRateVelocity compares the rate form's activations laid out as
// population ranges (one tight loop per range, what Velocity runs) with
// the same activations looked up per unit (a range pointer per unit), on
// 1024 units in four populations of supralinear and integer power-law
// units (a non-integer power's dmath.Pow dominates either layout).
func BenchmarkRateVelocity(b *testing.B) {
	const n = 1024
	type ar = backend.ActivationRange[float32]
	ranges := []ar{
		{Start: 0, End: 400, Activation: backend.Supralinear, Floor: 0.01, Ceiling: 500},
		{Start: 400, End: 800, Activation: backend.PowerLaw, Gain: 1, Power: 2},
		{Start: 800, End: 912, Activation: backend.Supralinear, Floor: 0.01, Ceiling: 500},
		{Start: 912, End: n, Activation: backend.PowerLaw, Gain: 0.5, Power: 3},
	}
	u := backend.RateUnits[float32]{Ranges: ranges, Funcs: backend.FuncsFor[float32](), InvTau: make([]float32, n), Dt: 0.1}
	x, r, k := make([]float32, n), make([]float32, n), make([]float32, n)
	perUnit := make([]*ar, n)
	for i := range n {
		u.InvTau[i], x[i], r[i] = 0.1, float32(i%17)-8, 0.5
		for ri := range ranges {
			if i >= ranges[ri].Start && i < ranges[ri].End {
				perUnit[i] = &ranges[ri]
			}
		}
	}
	b.Run("ranges", func(b *testing.B) {
		for range b.N {
			u.Velocity(x, r, k)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/unit")
	})
	b.Run("per-unit", func(b *testing.B) {
		f := u.Funcs
		for range b.N {
			for i := range k {
				k[i] = float32(u.InvTau[i] * ((-r[i]) + backend.ActivateIn(perUnit[i], x[i], f)))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/unit")
	})
}
