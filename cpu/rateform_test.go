package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

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

// TestEulerUnits holds eulerUnits, on every implementation of unitPath, to
// the reference's Velocity, EulerFinish and Finish bit for bit: ranges of
// every length up to a few vectors, supralinear (the kernels') beside a
// power law, a zero floor and post noise (the reference's), clip on and
// off, drives and rates with NaN, ±Inf, ±0, subnormals and values equal to
// the floor and the ceiling; the finite report and the first non-finite
// rate must agree too.
func TestEulerUnits(t *testing.T) {
	forUnitPaths(t, func(t *testing.T) {
		t.Run("f32", func(t *testing.T) { testEulerUnits[float32](t) })
		t.Run("f64", func(t *testing.T) { testEulerUnits[float64](t) })
	})
}

func testEulerUnits[T backend.Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	type ar = backend.ActivationRange[T]
	layouts := map[string]func(a, b int) []ar{
		"supra": func(a, b int) []ar {
			return []ar{{Start: 0, End: a, Activation: backend.Supralinear, Floor: 0.01, Ceiling: 5},
				{Start: a, End: a + b, Activation: backend.Supralinear, Floor: -2, Ceiling: 0.5}}
		},
		"power": func(a, b int) []ar {
			return []ar{{Start: 0, End: a, Activation: backend.Supralinear, Floor: 0.01, Ceiling: 5},
				{Start: a, End: a + b, Activation: backend.PowerLaw, Gain: 0.5, Power: 2}}
		},
		"zero floor": func(a, b int) []ar {
			return []ar{{Start: 0, End: a, Activation: backend.Supralinear, Floor: 0, Ceiling: 5},
				{Start: a, End: a + b, Activation: backend.Supralinear, Floor: 0.01, Ceiling: 5}}
		},
	}
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1e-40, -1e-310, 0.01, 5, -2, 0.5, 1e300}
	draw := func(n int, odd bool) []T {
		v := make([]T, n)
		for i := range v {
			v[i] = T(rng.NormFloat64() * 3)
			if odd && rng.IntN(9) == 0 {
				v[i] = T(special[rng.IntN(len(special))])
			}
		}
		return v
	}
	for name, layout := range layouts {
		for _, noise := range []bool{false, true} {
			for _, clip := range []bool{false, true} {
				for a := 0; a <= 40; a += 1 + a/8 {
					for _, b := range []int{0, 3, 17, 33} {
						n := a + b
						if n == 0 {
							continue
						}
						for _, odd := range []bool{false, true} {
							u := backend.RateUnits[T]{Ranges: layout(a, b), Funcs: backend.FuncsFor[T](), Key: [2]uint32{7, 8},
								Instance: 3, Integrator: backend.Euler, Dt: T(0.01 + rng.Float64()), Clip: clip,
								InvTau: draw(n, false), PostNoise: make([]T, n)}
							if noise {
								u.PostNoise[n-1] = 0.25
							}
							x, r := draw(n, odd), draw(n, odd)
							want, k := append([]T(nil), r...), make([]T, n)
							u.Velocity(x, want, k)
							u.EulerFinish(want, k)
							wantOK := u.Finish(5, 9, want)
							got := append([]T(nil), r...)
							rb := &rateBuffers[T]{}
							gotOK := eulerUnits(&u, rb, 5, 9, x, got, make([]T, n))
							where := fmt.Sprintf("%s noise %v clip %v a %d b %d odd %v", name, noise, clip, a, b, odd)
							require.Equal(t, wantOK, gotOK, where)
							for i := range want {
								if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) {
									t.Fatalf("%s: r[%d] = %v, want %v (x %v, r %v)", where, i, got[i], want[i], x[i], r[i])
								}
							}
							if wantKernels := name == "supra" && !noise; (rb.kernels == 1) != wantKernels {
								t.Fatalf("%s: kernels %d, want on %v", where, rb.kernels, wantKernels)
							}
						}
					}
				}
			}
		}
	}
}
