package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// normalImpls returns the implementations of normals32 this CPU runs.
func normalImpls() []normalImpl {
	var ps []normalImpl
	for p := normalGo; p <= normalAVX512; p++ {
		if normalAvailable(p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// withNormalPath runs f with normals32 forced onto p.
func withNormalPath(t testing.TB, p normalImpl, f func()) {
	t.Helper()
	old := normalPath.Swap(int32(p))
	defer normalPath.Store(old)
	f()
}

// TestNormalPiecesExhaustive runs the kernels' two transforms on all 2²³
// words that differ above bit 8 (bits 0–8, which the uniform drops, drawn
// at random) and compares them with log32Uniform and cosPi32Uniform, which
// TestNormal32Exhaustive proves equal to dmath's Log32 and CosPi32 there.
func TestNormalPiecesExhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 1 << 23
	w := make([]uint32, n)
	for k := range w {
		w[k] = uint32(k)<<9 | r.Uint32()&511
	}
	logs, coss := make([]float32, n), make([]float32, n)
	for p := normalGo + 1; p <= normalAVX512; p++ {
		if !normalAvailable(p) {
			continue
		}
		t.Run(p.String(), func(t *testing.T) {
			clear(logs)
			clear(coss)
			normalPieces32[p](&w[0], n, &logs[0], &coss[0], &logTable)
			bad := 0
			for k := range uint32(n) {
				if got, want := logs[k], log32Uniform(k); math.Float32bits(got) != math.Float32bits(want) {
					if bad++; bad <= 5 {
						t.Errorf("log of word %#x = %v (%#x), log32Uniform(%d) = %v (%#x)", w[k], got, math.Float32bits(got), k, want, math.Float32bits(want))
					}
				}
				if got, want := coss[k], cosPi32Uniform(k); math.Float32bits(got) != math.Float32bits(want) {
					if bad++; bad <= 5 {
						t.Errorf("cos of word %#x = %v (%#x), cosPi32Uniform(%d) = %v (%#x)", w[k], got, math.Float32bits(got), k, want, math.Float32bits(want))
					}
				}
			}
			if bad > 0 {
				t.Fatalf("%d of 2×2²³ values differ", bad)
			}
		})
	}
}

// TestNormals32Paths compares normals32 on every implementation with
// backend.Normal bit for bit: random coordinates (counters that wrap past
// 2³² included), every length up to normalBlock, z with and without slack
// capacity, and a guard past the capacity that must stay untouched.
func TestNormals32Paths(t *testing.T) {
	for _, p := range normalImpls() {
		t.Run(p.String(), func(t *testing.T) {
			withNormalPath(t, p, func() {
				r := rand.New(rand.NewPCG(13, uint64(p)))
				const guard = 32
				buf := make([]float32, normalBlock+guard)
				for n := 1; n <= normalBlock; n++ {
					for _, slack := range []bool{false, true} {
						key := [2]uint32{r.Uint32(), r.Uint32()}
						inst, trial, step := r.IntN(1<<28), r.IntN(1<<31), r.IntN(1<<31)
						u0 := r.IntN(1 << 31) // mostly not a group of 16: Go's path
						switch n % 3 {
						case 0: // the kernels' start; the block word wraps inside the row
							u0 = 1<<33 - 16*(1+r.IntN(normalBlock/16))
						case 1: // the kernels' start
							u0 = 16 * r.IntN(1<<27)
						}
						pu := backend.Purpose(r.IntN(2))
						c := n
						if slack {
							c = min(normalBlock, n+r.IntN(normalBlock))
						}
						for i := range buf {
							buf[i] = float32(math.NaN())
						}
						normals32(key, inst, trial, step, u0, pu, buf[:n:c])
						for j := range n {
							want := backend.Normal[float32](key, inst, trial, step, u0+j, pu)
							if got := buf[j]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("n %d cap %d: unit %d = %v, backend.Normal = %v", n, c, u0+j, got, want)
							}
						}
						for j := c; j < len(buf); j++ {
							if !math.IsNaN(float64(buf[j])) {
								t.Fatalf("n %d cap %d: wrote z's array at %d, past its capacity", n, c, j)
							}
						}
					}
				}
			})
		})
	}
}

// TestNewNormalPlan checks the plan's precomputed rounds against philox:
// the plan's two rounds in scalar form, then rounds 3 … 10 from its keys.
func TestNewNormalPlan(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	mul := func(a, b uint32) (uint32, uint32) {
		p := uint64(a) * uint64(b)
		return uint32(p >> 32), uint32(p)
	}
	for range 1000 {
		key := [2]uint32{r.Uint32(), r.Uint32()}
		c0, c1, c2, c3 := r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()
		pl := newNormalPlan(key, c0, c1, c2, c3)
		if pl[0] != uint64(c0) {
			t.Fatalf("plan[0] = %#x, want the unit %#x", pl[0], c0)
		}
		h, l := mul(0xD2511F53, c0)
		x2, x3 := h^uint32(pl[1]), l
		h, l = mul(0xCD9E8D57, x2)
		x0, x1 := h^uint32(pl[2]), l
		x2, x3 = x3^uint32(pl[3]), uint32(pl[4])
		for i := range 8 {
			h0, l0 := mul(0xD2511F53, x0)
			h1, l1 := mul(0xCD9E8D57, x2)
			x0, x1, x2, x3 = h1^x1^uint32(pl[5+2*i]), l1, h0^x3^uint32(pl[6+2*i]), l0
		}
		w0, w1 := philox(c0, c1, c2, c3, key)
		if x0 != w0 || x1 != w1 {
			t.Fatalf("plan of %v, %#x %#x %#x %#x gives words %#x %#x, philox %#x %#x", key, c0, c1, c2, c3, x0, x1, w0, w1)
		}
	}
}

// BenchmarkNormals32 measures a block of normalBlock normals on every
// implementation.
func BenchmarkNormals32(b *testing.B) {
	for _, p := range normalImpls() {
		b.Run(p.String(), func(b *testing.B) {
			withNormalPath(b, p, func() {
				var z [normalBlock]float32
				for i := range b.N {
					normals32([2]uint32{1, 2}, 3, 4, i, 0, backend.PurposePreNoise, z[:])
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/normalBlock, "ns/normal")
			})
		})
	}
}
