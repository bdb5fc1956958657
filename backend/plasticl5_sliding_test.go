package backend

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// l5SlidingTwoPass is the sliding threshold as written first (and as
// sim/circuit/doc.go states it): every y_s stored, then Simpson's basic
// sums over the stored rows. l5Sliding must give its bits.
func l5SlidingTwoPass[T Float](win [][]T, dt, rate T, theta []T) {
	m, n := len(win), len(win[0])
	y := make([][]T, m)
	for q := range m {
		e := l5Exp(T(T(T(q-m+1)*dt) * rate))
		y[q] = make([]T, n)
		for i, a := range win[q] {
			y[q][i] = T(e * T(a*a))
		}
	}
	third := T(dt / 3)
	basic := func(start, stop int, out []T) {
		clear(out)
		for q := start; q < stop; q += 2 {
			for i := range out {
				out[i] = out[i] + (T(y[q][i]+T(4*y[q+1][i])) + y[q+2][i])
			}
		}
		for i := range out {
			out[i] = T(out[i] * third)
		}
	}
	b0, b1 := make([]T, n), make([]T, n)
	if m%2 == 1 {
		basic(0, m-2, b0)
		for i := range n {
			theta[i] = T(rate * b0[i])
		}
		return
	}
	basic(0, m-3, b0)
	basic(1, m-2, b1)
	half := T(0.5 * dt)
	for i := range n {
		val := T(half * (y[m-1][i] + y[m-2][i]))
		val = val + T(half*(y[1][i]+y[0][i]))
		res := (b0[i] + b1[i]) / 2
		theta[i] = T(rate * (res + val/2))
	}
}

func slidingWindow[T Float](rng *rand.Rand, m, n int) [][]T {
	win := make([][]T, m)
	for q := range win {
		win[q] = make([]T, n)
		for i := range win[q] {
			win[q][i] = T(rng.Float64() * 3)
			if rng.IntN(17) == 0 {
				win[q][i] = T([]float64{0, math.Inf(1), math.NaN(), 1e200, -2}[rng.IntN(5)])
			}
		}
	}
	return win
}

func testSlidingIsTwoPass[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 64, 65, 130} {
		s := NewL5Scratch[T](n)
		for m := 1; m <= 45; m++ {
			for _, c := range []struct{ dt, rate T }{{0.01, 0.36}, {0.1, 1.7}, {0.01, 0.0005}} {
				win := slidingWindow[T](rng, m, n)
				want := make([]T, n)
				l5SlidingTwoPass(win, c.dt, c.rate, want)
				l5Sliding(win, c.dt, c.rate, s)
				for i := range want {
					if math.Float64bits(float64(s.theta[i])) != math.Float64bits(float64(want[i])) {
						t.Fatalf("n %d, m %d, dt %v, rate %v: θ[%d] = %v, want %v", n, m, c.dt, c.rate, i, s.theta[i], want[i])
					}
				}
			}
		}
	}
}

// TestL5SlidingIsTwoPass holds the one-pass sliding threshold to the
// two-pass definition bit for bit: windows of odd and even length, unit
// counts around the block size, special rates, rates of change that
// alternate between calls (the age-weight cache).
func TestL5SlidingIsTwoPass(t *testing.T) {
	t.Run("f64", testSlidingIsTwoPass[float64])
	t.Run("f32", testSlidingIsTwoPass[float32])
}

func BenchmarkL5Sliding(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []int{642, 2501} {
		win := slidingWindow[float64](rng, m, 400)
		s := NewL5Scratch[float64](400)
		b.Run("m"+strconv.Itoa(m)+"/onepass", func(b *testing.B) {
			for b.Loop() {
				l5Sliding(win, 0.01, 0.36, s)
			}
		})
		theta := make([]float64, 400)
		b.Run("m"+strconv.Itoa(m)+"/twopass", func(b *testing.B) {
			for b.Loop() {
				l5SlidingTwoPass(win, 0.01, 0.36, theta)
			}
		})
	}
}
