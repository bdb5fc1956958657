package cpu

import (
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// withL5Path runs f with the sliding threshold's kernels forced onto p.
func withL5Path(t testing.TB, p plasticImpl, f func()) {
	t.Helper()
	old := l5Path.Swap(int32(p))
	defer l5Path.Store(old)
	f()
}

// l5Operand draws one of the L5 kernel tests' operands: +0, +Inf, a
// subnormal in float32 (tiny in float64), 1e30, or an ordinary value in
// [0, 5) — NaN-free (a block with a NaN threshold is recomputed in Go).
func l5Operand[T backend.Float](rng *rand.Rand) T {
	switch rng.IntN(12) {
	case 0:
		return 0
	case 1:
		return T(math.Inf(1))
	case 2:
		return T(rng.Float64() * 1e-39)
	case 3:
		return T(1e30)
	}
	return T(rng.Float64() * 5)
}

// testL5KernelLoops holds the kernels' element loops to the Go loops of
// backend's l5Sliding for every length up to a few vectors, on ordinary,
// zero, subnormal, huge and infinite operands (NaN-free: a block with a
// NaN threshold is recomputed in Go).
func testL5KernelLoops[T backend.Float](t *testing.T, square []func(T, []T, []T) int, panel []func(T, []T, []T, []T, []T) int) {
	rng := rand.New(rand.NewPCG(3, 4))
	draw := func() T { return l5Operand[T](rng) }
	vec := func(n int) []T {
		v := make([]T, n)
		for i := range v {
			v[i] = draw()
		}
		return v
	}
	for _, impl := range plasticImpls() {
		if impl == plasticGo {
			continue
		}
		for n := 0; n <= 70; n++ {
			a, e := vec(n), T(rng.Float64())
			got, want := make([]T, n), make([]T, n)
			for l := square[impl](e, a, got); l < n; l++ {
				got[l] = T(e * T(a[l]*a[l]))
			}
			for l := range want {
				want[l] = T(e * T(a[l]*a[l]))
			}
			for l := range want {
				if math.Float64bits(float64(got[l])) != math.Float64bits(float64(want[l])) {
					t.Fatalf("%v square n %d: y[%d] = %v, want %v", impl, n, l, got[l], want[l])
				}
			}
			y0, y1, y2, acc := vec(n), vec(n), vec(n), vec(n)
			ref := append([]T(nil), acc...)
			for l := panel[impl](4, acc, y0, y1, y2); l < n; l++ {
				acc[l] = acc[l] + (T(y0[l]+T(4*y1[l])) + y2[l])
			}
			for l := range ref {
				ref[l] = ref[l] + (T(y0[l]+T(4*y1[l])) + y2[l])
				if math.Float64bits(float64(acc[l])) != math.Float64bits(float64(ref[l])) {
					t.Fatalf("%v panel n %d: acc[%d] = %v, want %v", impl, n, l, acc[l], ref[l])
				}
			}
		}
	}
}

func TestL5KernelLoops(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testL5KernelLoops(t, l5Square32[:], l5Panel32[:]) })
	t.Run("f64", func(t *testing.T) { testL5KernelLoops(t, l5Square64[:], l5Panel64[:]) })
}

// TestL5KernelPaths runs the suite's L5 programs whose update is the
// one-pass Euler step (BCM, sliding BCM, covariance), and wide ones that
// fill every kernel's lanes (masks, phases, clip, signs, structural and
// dense, and weights that blow up), with the kernels forced onto each
// implementation: the reference's bits on every path.
func TestL5KernelPaths(t *testing.T) {
	b := New()
	bcm, slide, cov := backend.L5BCM, backend.L5SlidingBCM, backend.L5Covariance
	wide := []backendtest.L5Case{
		{Rule: slide, Integrator: backend.L5Euler, Window: 30, Masks: true, PerTrial: true, K: 1, B: 2, N: 45, Steps: 50, Seed: 77},
		{Rule: bcm, Integrator: backend.L5Euler, Window: 9, Masks: true, Signs: true, Structural: true, Clip: true, PerTrial: true, K: 2, B: 1, N: 37, Steps: 40, Seed: 78},
		{Rule: cov, Integrator: backend.L5Euler, Window: 5, Phases: true, Signs: true, PerTrial: true, K: 1, B: 2, N: 40, Steps: 40, Seed: 79},
		{Rule: slide, Integrator: backend.L5Euler, Window: 0, Structural: true, Masks: true, PerInstance: true, PerTrial: true, K: 2, B: 2, N: 33, Steps: 30, Seed: 80},
		{Rule: slide, Integrator: backend.L5Euler, Window: 0, Identity: true, Rate: true, RateInteg: backend.Euler, Masks: true,
			PerTrial: true, K: 1, B: 2, N: 75, Steps: 30, Seed: 81},
		{Rule: bcm, Integrator: backend.L5Euler, Window: 7, Identity: true, Structural: true, Signs: true, Clip: true, PerTrial: true, K: 1, B: 2, N: 70, Steps: 25, Seed: 82},
	}
	run := func(t *testing.T, c backendtest.L5Case, huge bool) {
		t.Run("f64", func(t *testing.T) {
			p := backendtest.NewL5Program[float64](c)
			if huge {
				p.Plasticity.L5.Eta = 1e300
			}
			backendtest.Expect(t, b, p, backendtest.L5Input(p, c), c.Steps, []int{7, 100})
		})
		t.Run("f32", func(t *testing.T) {
			p := backendtest.NewL5Program[float32](c)
			if huge {
				p.Plasticity.L5.Eta = 1e30
			}
			backendtest.Expect(t, b, p, backendtest.L5Input(p, c), c.Steps, []int{7, 100})
		})
	}
	for _, impl := range plasticImpls() {
		withL5Path(t, impl, func() {
			for _, c := range append(backendtest.L5Cases(), wide...) {
				if c.Integrator != backend.L5Euler || (c.Rule != bcm && c.Rule != slide && c.Rule != cov) {
					continue
				}
				t.Run(impl.String()+"/"+c.String(), func(t *testing.T) { run(t, c, false) })
			}
			t.Run(impl.String()+"/nonfinite", func(t *testing.T) { run(t, wide[1], true) })
		})
	}
}

// testL5Strips holds the whole-window kernels (Strips) to the Simpson sums'
// definition, summed in Go from +0 in the rows' order, for windows of 2 …
// 13 rows and two longer ones (both parities: acc1 only for even m, the
// last row alone for odd m) and unit counts that use the wide strips, the
// one-vector strips and a rest left to Go, on the operands of
// testL5KernelLoops.
func testL5Strips[T backend.Float](t *testing.T, strips []func([]*T, []T, []T, []T) int, lanes []int) {
	rng := rand.New(rand.NewPCG(5, 6))
	draw := func() T { return l5Operand[T](rng) }
	for _, impl := range plasticImpls() {
		if impl == plasticGo {
			continue
		}
		for _, m := range []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 40, 41} {
			for _, n := range []int{1, 7, 8, 16, 33, 70, 129} {
				win := make([][]T, m)
				rows := make([]*T, m, m+backend.L5StripsAhead) // Strips' contract: readable ahead
				for q := range win {
					win[q] = make([]T, n)
					for i := range win[q] {
						win[q][i] = draw()
					}
					rows[q] = &win[q][0]
				}
				for range backend.L5StripsAhead {
					rows = append(rows, rows[m-1])
				}
				rows = rows[:m]
				e := make([]T, m)
				for d := range e {
					e[d] = T(rng.Float64())
				}
				acc0, acc1 := make([]T, n), make([]T, n)
				done := strips[impl](rows, e, acc0, acc1)
				if want := n - n%lanes[impl]; done != want {
					t.Fatalf("%v m %d n %d: done %d, want %d", impl, m, n, done, want)
				}
				for i := range done {
					y := func(q int) T { return T(e[m-1-q] * T(win[q][i]*win[q][i])) }
					var s0, s1 T
					for st := 0; st <= m-3; st++ {
						p := T(y(st)+T(4*y(st+1))) + y(st+2)
						if st%2 == 0 {
							s0 = s0 + p
						} else if m%2 == 0 {
							s1 = s1 + p
						}
					}
					for _, c := range []struct {
						name      string
						got, want T
					}{{"acc0", acc0[i], s0}, {"acc1", acc1[i], s1}} {
						if math.Float64bits(float64(c.got)) != math.Float64bits(float64(c.want)) {
							t.Fatalf("%v m %d n %d: %s[%d] = %v, want %v", impl, m, n, c.name, i, c.got, c.want)
						}
					}
				}
			}
		}
	}
}

func TestL5Strips(t *testing.T) {
	lanes := func(avx2, avx512 int) []int {
		l := make([]int, plasticAVX512+1)
		l[plasticAVX2], l[plasticAVX512] = avx2, avx512
		return l
	}
	t.Run("f32", func(t *testing.T) { testL5Strips(t, l5Strips32[:], lanes(8, 16)) })
	t.Run("f64", func(t *testing.T) { testL5Strips(t, l5Strips64[:], lanes(4, 8)) })
}

// TestL5SlidePrefetchDistance holds the strip kernels' look-ahead to
// Strips' contract: every row pointer they load for a prefetch (the MOVQ
// right before a PREFETCHT0's ADDQ) lies at most backend.L5StripsAhead
// rows past the current one, the padding l5Sliding provides.
func TestL5SlidePrefetchDistance(t *testing.T) {
	src, err := os.ReadFile("l5_amd64.s")
	require.NoError(t, err)
	load := regexp.MustCompile(`MOVQ\s+(\d+)\(\w+\), \w+\n\s+ADDQ\s+\w+, \w+\n\s+PREFETCHT0`)
	found := load.FindAllSubmatch(src, -1)
	require.NotEmpty(t, found, "no prefetch found in l5_amd64.s")
	for _, m := range found {
		disp, err := strconv.Atoi(string(m[1]))
		require.NoError(t, err)
		require.Positive(t, disp)
		require.LessOrEqual(t, disp, 8*backend.L5StripsAhead, "a strip kernel reads the row pointer %d rows ahead", disp/8)
	}
}
