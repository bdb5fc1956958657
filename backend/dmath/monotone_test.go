package dmath

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// Monotonicity over sampled sweeps: a uniform grid over the interesting
// range, sorted random inputs from the accuracy generators, and runs of
// consecutive floating-point numbers (where a sub-ulp error could most
// easily break monotonicity). All these functions are non-decreasing.

type monoCase struct {
	name   string
	f      func(float64) float64
	lo, hi float64
	gen    func(*rand.Rand) float64
}

func monoCases() []monoCase {
	return []monoCase{
		{"Exp", Exp, -750, 712, genExp},
		{"Expm1", Expm1, -50, 712, genExpm1},
		{"Log", Log, 0, 1e6, genLog},
		{"Log1p", Log1p, -1, 1e6, genLog1p},
		{"Tanh", Tanh, -25, 25, genTanh},
		{"Sigmoid", Sigmoid, -760, 50, genSigmoid},
		{"Softplus", Softplus, -760, 50, genSoftplus},
	}
}

func monoCount(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

func checkMono(t *testing.T, name string, xs []float64, f func(float64) float64) {
	t.Helper()
	prev, px := math.Inf(-1), math.Inf(-1)
	bad := 0
	for _, x := range xs {
		y := f(x)
		if y < prev {
			if bad++; bad <= 3 {
				t.Errorf("%s not monotone: f(%v) = %v > f(%v) = %v", name, px, prev, x, y)
			}
		}
		prev, px = y, x
	}
}

func TestMonotone(t *testing.T) {
	for _, c := range monoCases() {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRand("mono/" + c.name)
			n := monoCount(400_000)
			xs := make([]float64, 0, n)
			for i := 0; i <= n; i++ {
				xs = append(xs, c.lo+(c.hi-c.lo)*float64(i)/float64(n))
			}
			checkMono(t, c.name+" grid", xs, c.f)

			xs = xs[:0]
			for i := 0; i < n; i++ {
				if x := c.gen(r); x > c.lo {
					xs = append(xs, x)
				}
			}
			sort.Float64s(xs)
			checkMono(t, c.name+" sorted random", xs, c.f)

			for run := 0; run < monoCount(400); run++ {
				x := c.gen(r)
				if !(x > c.lo) {
					continue
				}
				xs = xs[:0]
				for i := 0; i < 1000; i++ {
					xs = append(xs, x)
					x = math.Nextafter(x, math.Inf(1))
				}
				checkMono(t, c.name+" consecutive", xs, c.f)
			}
		})
	}
}

func TestMonotone32(t *testing.T) {
	cases := []struct {
		name string
		f    func(float32) float32
		gen  func(*rand.Rand) float64
		lo   float32
	}{
		{"Exp32", Exp32, g32Exp, -200}, {"Expm1_32", Expm1_32, g32Exp, -200}, {"Log32", Log32, g32Log, 0},
		{"Log1p32", Log1p32, g32Log1p, -1}, {"Tanh32", Tanh32, g32Tanh, -inf32()},
		{"Sigmoid32", Sigmoid32, g32Act, -inf32()}, {"Softplus32", Softplus32, g32Act, -inf32()},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRand("mono32/" + c.name)
			f := func(x float64) float64 { return float64(c.f(float32(x))) }
			for run := 0; run < monoCount(200); run++ {
				x := float32(c.gen(r))
				if !(x > c.lo) {
					continue
				}
				xs := make([]float64, 0, 5000)
				for i := 0; i < 5000 && !math.IsInf(float64(x), 0); i++ {
					xs = append(xs, float64(x))
					x = math.Nextafter32(x, float32(math.Inf(1)))
				}
				checkMono(t, c.name+" consecutive", xs, f)
			}
		})
	}
}

func inf32() float32 { return float32(math.Inf(1)) }
