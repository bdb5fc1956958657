package backend

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestL5EulerOuterIsGeneral holds Update's one-pass Euler step (eulerOuter)
// to its general path (G and k1 stored whole, then the write), bit for bit,
// over random weights with absent synapses, rates, inputs and every option
// the fast path reads: the three outer-product rules, structural or dense,
// signs kept or free, clip, neuron masks, phases with Rest rows, flips.
func TestL5EulerOuterIsGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for c := 0; c < 300; c++ {
		n := 1 + rng.IntN(9)
		ld := n + rng.IntN(3)
		mask := func(p float64) []bool {
			if rng.IntN(3) == 0 {
				return nil
			}
			m := make([]bool, n)
			for i := range m {
				m[i] = rng.Float64() < p
			}
			return m
		}
		l := &L5Plasticity[float64]{Rule: []L5Rule{L5BCM, L5SlidingBCM, L5Covariance}[c%3], Window: rng.IntN(4),
			Dt: 0.01, Eta: 1 / 7.0, ThetaRate: 1 / 3.0, ClipAtZero: rng.IntN(2) == 0, Structural: rng.IntN(2) == 0,
			Inhibitory: mask(0.4), Pre: mask(0.8), Post: mask(0.8)}
		if rng.IntN(2) == 0 {
			l.Sign = make([]int8, n)
			for j := range l.Sign {
				l.Sign[j] = int8(rng.IntN(3) - 1)
			}
		}
		if rng.IntN(2) == 0 {
			l.Phases = []L5Phase{{Post: mask(0.5)}, {}}
		}
		W0 := make([]float64, n*ld)
		for x := range W0 {
			if rng.Float64() < 0.6 {
				W0[x] = rng.NormFloat64()
			}
		}
		win := make([][]float64, 1+rng.IntN(6))
		for q := range win {
			win[q] = make([]float64, n)
			for i := range win[q] {
				win[q][i] = rng.Float64() * 3
			}
		}
		in := make([]float64, n)
		for j := range in {
			in[j] = rng.NormFloat64()
		}
		t0 := 1 + rng.IntN(5)
		run := func(generic bool) []float64 {
			l5GenericEuler = generic
			defer func() { l5GenericEuler = false }()
			W := append([]float64(nil), W0...)
			l.Update(NewL5Scratch[float64](n), W, ld, W0, win, in, t0)
			return W
		}
		fast, general := run(false), run(true)
		for x := range fast {
			if math.Float64bits(fast[x]) != math.Float64bits(general[x]) {
				t.Fatalf("case %d (%v, n %d, structural %v, clip %v): W[%d] = %v one-pass, %v general", c, l.Rule, n, l.Structural, l.ClipAtZero, x, fast[x], general[x])
			}
		}
	}
}
