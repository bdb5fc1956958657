package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
	"github.com/ratesim/ratesim/backend/dmath"
)

// TestNormal32Exhaustive proves log32Uniform and cosPi32Uniform equal
// dmath's Log32 and CosPi32 on their whole domain — the 2²³ values the
// uniform transform yields — so normal32 is backend.Normal32 for every
// Philox block; random blocks check the assembly of the pieces.
func TestNormal32Exhaustive(t *testing.T) {
	bad := 0
	for k := uint32(0); k < 1<<23; k++ {
		u := backend.Uniform32(k << 9)
		if got, want := log32Uniform(k), dmath.Log32(u); math.Float32bits(got) != math.Float32bits(want) {
			if bad++; bad <= 5 {
				t.Errorf("log32Uniform(%d) = %v (%#x), dmath.Log32(%v) = %v (%#x)", k, got, math.Float32bits(got), u, want, math.Float32bits(want))
			}
		}
		if got, want := cosPi32Uniform(k), dmath.CosPi32(2*u); math.Float32bits(got) != math.Float32bits(want) {
			if bad++; bad <= 5 {
				t.Errorf("cosPi32Uniform(%d) = %v (%#x), dmath.CosPi32(%v) = %v (%#x)", k, got, math.Float32bits(got), 2*u, want, math.Float32bits(want))
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of 2×2²³ values differ", bad)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 1 << 16 {
		key := [2]uint32{r.Uint32(), r.Uint32()}
		inst, trial, step, unit := r.IntN(1<<28), r.IntN(1<<20), r.IntN(1<<30), r.IntN(1<<20)
		p := backend.Purpose(r.IntN(2))
		got, want := normal32(key, inst, trial, step, unit, p), backend.Normal[float32](key, inst, trial, step, unit, p)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("normal32(%v, %d, %d, %d, %d, %d) = %v, backend.Normal = %v", key, inst, trial, step, unit, p, got, want)
		}
	}
	// normals32, the batched form, block by block.
	for range 64 {
		key := [2]uint32{r.Uint32(), r.Uint32()}
		inst, trial, step, u0 := r.IntN(1<<28), r.IntN(1<<20), r.IntN(1<<30), r.IntN(1<<20)
		z := make([]float32, 1+r.IntN(normalBlock))
		normals32(key, inst, trial, step, u0, backend.PurposePostNoise, z)
		for j, got := range z {
			if want := backend.Normal[float32](key, inst, trial, step, u0+j, backend.PurposePostNoise); math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("normals32: unit %d = %v, backend.Normal = %v", u0+j, got, want)
			}
		}
	}
}

// TestUnitStep compares unitStep with backend.UnitStep bit for bit for every
// activation, both precisions, noise off, pre only, post only and both, and
// rows with non-finite and signed-zero drives and states.
// The float32 relu step runs on every implementation of unitPath.
func TestUnitStep(t *testing.T) {
	forUnitPaths(t, func(t *testing.T) {
		t.Run("float32", func(t *testing.T) { testUnitStep[float32](t) })
		t.Run("float64", func(t *testing.T) { testUnitStep[float64](t) })
	})
}

// forUnitPaths runs f as a subtest on every implementation of unitPath
// this CPU has, with unitPath forced onto it.
func forUnitPaths(t *testing.T, f func(t *testing.T)) {
	for _, p := range plasticImpls() {
		t.Run(p.String(), func(t *testing.T) {
			old := unitPath.Swap(int32(p))
			defer unitPath.Store(old)
			f(t)
		})
	}
}

func testUnitStep[T backend.Float](t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n = 300
	vals := func(scale float64, special bool) []T {
		s := make([]T, n)
		for i := range s {
			s[i] = T(r.NormFloat64() * scale)
			if special && i%37 == 5 {
				s[i] = T([]float64{math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 0, 1e38}[i%6])
			}
		}
		return s
	}
	for _, act := range []backend.Activation{backend.ReLU, backend.Tanh, backend.Sigmoid, backend.ReTanh, backend.Softplus, backend.Identity} {
		for _, noise := range []struct {
			name      string
			pre, post bool
		}{{"off", false, false}, {"pre", true, false}, {"post", false, true}, {"both", true, true}} {
			for _, special := range []bool{false, true} {
				u := backend.Units[T]{Activation: act, Funcs: backend.FuncsFor[T](), Key: [2]uint32{r.Uint32(), r.Uint32()}, Instance: r.IntN(1000),
					Decay: vals(1, false), Alpha: vals(1, false), PreNoise: make([]T, n), PostNoise: make([]T, n)}
				for i := range n {
					// Some units without noise even when it is on.
					if noise.pre && i%5 != 0 {
						u.PreNoise[i] = T(r.Float64())
					}
					if noise.post && i%7 != 0 {
						u.PostNoise[i] = T(r.Float64())
					}
				}
				x, v := vals(3, special), vals(3, special)
				trial, step := r.IntN(100), 1+r.IntN(1000)
				v1, r1 := append([]T(nil), v...), make([]T, n)
				v2, r2 := append([]T(nil), v...), make([]T, n)
				ok1 := unitStep(&u, trial, step, x, v1, r1)
				ok2 := backend.UnitStep(&u, trial, step, x, v2, r2)
				if ok1 != ok2 {
					t.Fatalf("%v noise %s special %v: finite %v, backend.UnitStep %v", act, noise.name, special, ok1, ok2)
				}
				for i := range n {
					if backendtest.Bits(v1[i]) != backendtest.Bits(v2[i]) || backendtest.Bits(r1[i]) != backendtest.Bits(r2[i]) {
						t.Fatalf("%v noise %s special %v unit %d: v, r = %v, %v; backend.UnitStep %v, %v",
							act, noise.name, special, i, v1[i], r1[i], v2[i], r2[i])
					}
				}
			}
		}
	}
}

// BenchmarkUnitStep measures one row of 1024 noisy units (pre and post
// noise), the CPU's unitStep against backend.UnitStep.
func BenchmarkUnitStep(b *testing.B) {
	for _, act := range []backend.Activation{backend.ReLU, backend.Tanh} {
		for _, impl := range []struct {
			name string
			f    func(*backend.Units[float32], int, int, []float32, []float32, []float32) bool
		}{{"cpu", unitStep[float32]}, {"backend", backend.UnitStep[float32]}} {
			b.Run(act.String()+"/"+impl.name, func(b *testing.B) {
				const n = 1024
				u := backend.Units[float32]{Activation: act, Funcs: backend.FuncsFor[float32](), Key: [2]uint32{1, 2},
					Decay: make([]float32, n), Alpha: make([]float32, n), PreNoise: make([]float32, n), PostNoise: make([]float32, n)}
				x, v, r := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range n {
					u.Decay[i], u.Alpha[i], u.PreNoise[i], u.PostNoise[i] = 0.9, 0.1, 0.05, 0.05
					x[i] = float32(i%17) - 8
				}
				for i := range b.N {
					impl.f(&u, 0, i+1, x, v, r)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/unit")
			})
		}
	}
}
