package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
	"github.com/stretchr/testify/require"
)

// gemmRef spells out gemm's contract as plain Go: from +0, l ascending,
// zero factors skipped, every product rounded before it is added.
func gemmRef[T backend.Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc T
			for l := 0; l < k; l++ {
				if f := a[i*lda+l]; f != 0 {
					acc = acc + T(f*b[l*ldb+j])
				}
			}
			c[i*ldc+j] = acc
		}
	}
}

// paths returns the gemm paths this CPU runs.
func paths() []path {
	var ps []path
	for p := pathGonum; p <= pathAVX512; p++ {
		if pathAvailable(p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// withPath runs f with gemm forced onto p.
func withPath(t *testing.T, p path, f func()) {
	t.Helper()
	old := kernelPath.Swap(int32(p))
	defer kernelPath.Store(old)
	f()
}

// fillSpecial sets every element of each slice, in order, to a special
// draw.
func fillSpecial[T backend.Float](r *rand.Rand, pSpecial float64, slices ...[]T) {
	for _, s := range slices {
		for i := range s {
			s[i] = special[T](r, pSpecial)
		}
	}
}

// special draws the operands the kernels must treat as gonum does: zeros of
// both signs (skipped as factors of a), infinities and NaNs of several
// payloads (0·Inf and NaN propagation), subnormals (no flush to zero), and
// ordinary numbers.
func special[T backend.Float](r *rand.Rand, pSpecial float64) T {
	if r.Float64() >= pSpecial {
		if r.IntN(3) == 0 {
			return 0
		}
		return T(r.NormFloat64())
	}
	var z T
	_, f32 := any(z).(float32)
	switch r.IntN(8) {
	case 0:
		return T(math.Copysign(0, -1))
	case 1:
		return T(math.Inf(1))
	case 2:
		return T(math.Inf(-1))
	case 3:
		return T(math.NaN())
	case 4: // a NaN with another payload and the sign bit set
		if f32 {
			return any(math.Float32frombits(0xffc01234)).(T)
		}
		return any(math.Float64frombits(0xfff8000000001234)).(T)
	case 5: // subnormal
		if f32 {
			return any(float32(r.Float64()) * 0x1p-130).(T)
		}
		return any(r.Float64() * 0x1p-1040).(T)
	case 6: // large: products overflow
		return T(math.Copysign(1e30, r.NormFloat64()))
	}
	return 0
}

// TestGemmPaths checks every path against gonum bit for bit, NaN payloads
// included, and against the contract's spelling (gemmRef), on random shapes that cover every tile edge
// (m, n, k from 1 to 70), odd strides, and operands with and without special
// values; the padding between rows of c must stay untouched.
func TestGemmPaths(t *testing.T) {
	t.Run("float32", func(t *testing.T) { testGemmPaths[float32](t) })
	t.Run("float64", func(t *testing.T) { testGemmPaths[float64](t) })
}

func testGemmPaths[T backend.Float](t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const guard = -12345
	type shape struct{ m, n, k int }
	var shapes []shape
	for _, m := range []int{1, 2, 5, 6, 7, 11, 12, 13, 25} {
		for _, n := range []int{1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 70} {
			shapes = append(shapes, shape{m, n, 1 + r.IntN(70)})
		}
	}
	for range 150 {
		shapes = append(shapes, shape{1 + r.IntN(70), 1 + r.IntN(70), 1 + r.IntN(70)})
	}
	shapes = append(shapes, shape{3, 40, 0}, shape{1, 1, 1})
	for _, p := range paths() {
		t.Run(p.String(), func(t *testing.T) {
			for si, s := range shapes {
				pSpecial := []float64{0, 0.002, 0.05}[si%3]
				lda, ldb, ldc := s.k+r.IntN(3)*2+1, s.n+r.IntN(3)*2+1, s.n+r.IntN(3)*2+1
				if s.k == 0 {
					lda = 1
				}
				a := make([]T, max(0, (s.m-1)*lda+s.k))
				b := make([]T, max(0, (s.k-1)*ldb+s.n))
				fillSpecial(r, pSpecial, a, b)
				size := (s.m-1)*ldc + s.n
				got, packed, want, ref := make([]T, size), make([]T, size), make([]T, size), make([]T, size)
				for i := range got {
					got[i], packed[i], want[i], ref[i] = guard, guard, guard, guard
				}
				withPath(t, p, func() {
					gemm(s.m, s.n, s.k, a, lda, b, ldb, got, ldc)
					gemmPacked(s.m, s.n, s.k, a, lda, b, ldb, packB(s.k, s.n, b, ldb), packed, ldc)
				})
				gemmGonum(s.m, s.n, s.k, a, lda, b, ldb, want, ldc)
				gemmRef(s.m, s.n, s.k, a, lda, b, ldb, ref, ldc)
				for i := range got {
					if backendtest.Bits(packed[i]) != backendtest.Bits(want[i]) {
						t.Fatalf("packed b, m=%d n=%d k=%d lda=%d ldb=%d ldc=%d special=%v: c[%d][%d] = %v (%#x), gonum %v (%#x)",
							s.m, s.n, s.k, lda, ldb, ldc, pSpecial, i/ldc, i%ldc,
							packed[i], backendtest.Bits(packed[i]), want[i], backendtest.Bits(want[i]))
					}
					// Bit for bit with gonum, NaN payloads included; with the
					// contract's Go spelling too, except which NaN: Go's
					// scalar code and gonum's SSE propagate different
					// payloads, and the contract does not fix them.
					refOK := backendtest.Bits(ref[i]) == backendtest.Bits(want[i]) || ref[i] != ref[i] && want[i] != want[i]
					if backendtest.Bits(got[i]) != backendtest.Bits(want[i]) || !refOK {
						t.Fatalf("m=%d n=%d k=%d lda=%d ldb=%d ldc=%d special=%v: c[%d][%d] = %v (%#x), gonum %v (%#x), contract %v (%#x)",
							s.m, s.n, s.k, lda, ldb, ldc, pSpecial, i/ldc, i%ldc,
							got[i], backendtest.Bits(got[i]), want[i], backendtest.Bits(want[i]), ref[i], backendtest.Bits(ref[i]))
					}
				}
			}
		})
	}
}

// TestGemmZeroSkip pins the cases that tell skipping from adding: 0·Inf and
// 0·NaN must not reach the sum (gonum skips a zero factor), −0 factors are
// zeros too, a NaN factor is not skipped, and a sum is never −0.
func TestGemmZeroSkip(t *testing.T) {
	inf, nan, negz := float32(math.Inf(1)), float32(math.NaN()), float32(math.Copysign(0, -1))
	for _, c := range []struct {
		name string
		a, b []float32 // a: 1×k, b: k×1
		want float32
	}{
		{"0·Inf skipped", []float32{0, 2}, []float32{inf, 3}, 6},
		{"−0·NaN skipped", []float32{negz, 2}, []float32{nan, 3}, 6},
		{"NaN factor kept", []float32{nan, 0}, []float32{1, 1}, nan},
		{"−0 products sum to +0", []float32{1, 1}, []float32{negz, negz}, 0},
		{"Inf kept", []float32{1, 0}, []float32{inf, inf}, inf},
	} {
		for _, p := range paths() {
			// Row 0 is the case; 20 more rows and 40 columns put it in a full
			// tile with neighbours whose factors are not zero.
			const m, n = 21, 40
			k := len(c.a)
			a, b := make([]float32, m*k), make([]float32, k*n)
			for i := range a {
				a[i] = 1
			}
			copy(a, c.a)
			for l := 0; l < k; l++ {
				for j := 0; j < n; j++ {
					b[l*n+j] = c.b[l]
				}
			}
			got := make([]float32, m*n)
			withPath(t, p, func() { gemm(m, n, k, a, k, b, n, got, n) })
			for j := 0; j < n; j++ {
				g := got[j]
				if !(g == c.want || g != g && c.want != c.want) || math.Signbit(float64(g)) != math.Signbit(float64(c.want)) {
					t.Errorf("%s, %v: c[0][%d] = %v, want %v", c.name, p, j, g, c.want)
					break
				}
			}
		}
	}
}

// TestGemmSplit checks that splitting a product's columns across goroutines
// changes no bit, for part counts from 1 to 5.
func TestGemmSplit(t *testing.T) {
	old := runtime.GOMAXPROCS(5)
	defer runtime.GOMAXPROCS(old)
	defer func(w int) { gemmMinWork = w }(gemmMinWork)
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 7, 300, 50
	a, b := make([]float32, m*k), make([]float32, k*n)
	fillSpecial(r, 0.01, a, b)
	want := make([]float32, m*n)
	gemmGonum(m, n, k, a, k, b, n, want, n)
	for _, p := range paths() {
		for _, work := range []int{m * n * k, m * n * k / 2, m * n * k / 3, m * n * k / 5} {
			gemmMinWork = work
			got, packed := make([]float32, m*n), make([]float32, m*n)
			withPath(t, p, func() {
				gemm(m, n, k, a, k, b, n, got, n)
				gemmPacked(m, n, k, a, k, b, n, packB(k, n, b, n), packed, n)
			})
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(packed[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v, %d parts: c[%d] = %v, packed b %v, want %v", p, m*n*k/work, i, got[i], packed[i], want[i])
				}
			}
		}
	}
}

// TestPackedOtherPath checks that panels packed for one path are not read
// by another (whose tiles have other widths): the product falls back to b
// and keeps its bits.
func TestPackedOtherPath(t *testing.T) {
	ps := paths()
	r := rand.New(rand.NewPCG(7, 8))
	m, n, k := 13, 70, 40
	a, b := make([]float64, m*k), make([]float64, k*n)
	for i := range a {
		a[i] = r.NormFloat64()
	}
	for i := range b {
		b[i] = r.NormFloat64()
	}
	want := make([]float64, m*n)
	gemmGonum(m, n, k, a, k, b, n, want, n)
	for _, packFor := range ps {
		var pb *packedB[float64]
		withPath(t, packFor, func() { pb = packB(k, n, b, n) })
		if (pb == nil) != (packFor == pathGonum) {
			t.Fatalf("packB on %v: packed %v", packFor, pb != nil)
		}
		for _, use := range ps {
			got := make([]float64, m*n)
			withPath(t, use, func() { gemmPacked(m, n, k, a, k, b, n, pb, got, n) })
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("packed for %v, run on %v: c[%d] = %v, want %v", packFor, use, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConformancePaths runs the conformance suite on every gemm path the
// CPU has (the default run, TestDynamics and the others, covers the best).
func TestConformancePaths(t *testing.T) {
	for _, p := range paths() {
		if p == bestPath() {
			continue
		}
		t.Run(p.String(), func(t *testing.T) {
			withPath(t, p, func() {
				for _, e := range []struct {
					name  string
					entry func(*testing.T, backend.Backend)
				}{
					{"Dynamics", backendtest.Dynamics}, {"NonFinite", backendtest.NonFinite},
					{"Partition", backendtest.Partition}, {"Plasticity", backendtest.Plasticity},
				} {
					t.Run(e.name, func(t *testing.T) { e.entry(t, New(Workers(3), TrialBlock(2))) })
				}
			})
		})
	}
}

func BenchmarkGemm(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{1, 2048, 2048}, {32, 1024, 1028}, {64, 2048, 2052}, {256, 256, 256}} {
		for _, v := range benchGemmVariants() {
			p, packed := v.p, v.packed
			b.Run(fmt.Sprintf("f32/%dx%dx%d/%v", s.m, s.n, s.k, v.name), func(b *testing.B) {
				r := rand.New(rand.NewPCG(5, 6))
				a, bb, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
				for i := range a {
					a[i] = float32(r.NormFloat64())
				}
				for i := range bb {
					bb[i] = float32(r.NormFloat64())
				}
				old := kernelPath.Swap(int32(p))
				defer kernelPath.Store(old)
				var pb *packedB[float32]
				if packed {
					pb = packB(s.k, s.n, bb, s.n)
				}
				b.ResetTimer()
				for range b.N {
					gemmPacked(s.m, s.n, s.k, a, s.k, bb, s.n, pb, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// gemmVariant is one kernel path, with b packed once beforehand (as a
// static run's drive is) or not.
type gemmVariant struct {
	name   string
	p      path
	packed bool
}

// benchGemmVariants is every kernel path, and each kernel path again with
// b packed.
func benchGemmVariants() (vs []gemmVariant) {
	for _, p := range paths() {
		vs = append(vs, gemmVariant{p.String(), p, false})
		if p != pathGonum {
			vs = append(vs, gemmVariant{p.String() + "-packed", p, true})
		}
	}
	return vs
}

// TestListColumns checks every path's column list against its definition —
// the l where some row of the block has a[i][l] ≠ ±0, NaN included — on
// blocks whose columns are often all zero (of either sign) or hold a lone
// NaN, subnormal or −0, for every block height and widths around the
// kernels' vectors.
func TestListColumns(t *testing.T) {
	t.Run("float32", func(t *testing.T) { testListColumns[float32](t) })
	t.Run("float64", func(t *testing.T) { testListColumns[float64](t) })
}

func testListColumns[T backend.Float](t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, p := range paths() {
		ks := kernelsFor[T](int32(p))
		if ks == nil {
			continue
		}
		for mr := 1; mr <= len(ks.tiles); mr++ {
			for _, k := range []int{1, ks.lanes - 1, ks.lanes, ks.lanes + 1, 3*ks.lanes + 5, 70} {
				lda := k + r.IntN(3)
				a := make([]T, (mr-1)*lda+k)
				for l := 0; l < k; l++ {
					// A third of the columns ±0 only, a third ±0 but for one
					// row, a third drawn entry by entry.
					kind, lone := r.IntN(3), r.IntN(mr)
					for i := 0; i < mr; i++ {
						x := T(math.Copysign(0, float64(r.IntN(2)*2-1)))
						if kind == 2 || kind == 1 && i == lone {
							x = listOperand[T](r)
						}
						a[i*lda+l] = x
					}
				}
				var want []int
				for l := 0; l < k; l++ {
					for i := 0; i < mr; i++ {
						if a[i*lda+l] != 0 {
							want = append(want, l)
							break
						}
					}
				}
				cols, masks := make([]int, k), make([]uint32, k/ks.lanes)
				got := cols[:listColumns(ks, a, lda, mr, k, cols, masks)]
				if !slices.Equal(got, want) {
					t.Fatalf("%v %T mr=%d k=%d: listed %v, want %v", p, a[0], mr, k, got, want)
				}
			}
		}
	}
}

// listOperand draws NaN, the smallest subnormal, 1, −0 or +0.
func listOperand[T backend.Float](r *rand.Rand) T {
	var z T
	_, single := any(z).(float32)
	switch r.IntN(5) {
	case 0:
		return T(math.NaN())
	case 1:
		if single {
			return T(math.SmallestNonzeroFloat32)
		}
		return T(math.SmallestNonzeroFloat64)
	case 2:
		return 1
	case 3:
		return T(math.Copysign(0, -1))
	}
	return 0
}

// TestGemmAliasedStride runs products whose rows of a are a multiple of
// 4 KiB apart (give or take a line), which gemmBlocked copies at another
// stride first, on every path: the same bits as gonum, specials included.
func TestGemmAliasedStride(t *testing.T) {
	t.Run("float32", func(t *testing.T) { testGemmAliasedStride[float32](t) })
	t.Run("float64", func(t *testing.T) { testGemmAliasedStride[float64](t) })
}

func testGemmAliasedStride[T backend.Float](t *testing.T) {
	var z T
	size := int(sizeOf(z))
	r := rand.New(rand.NewPCG(9, 10))
	for _, bytes := range []int{4096, 4096 + 16, 2*4096 - 64, 3*4096 + 200} {
		lda := bytes / size
		k := lda - r.IntN(5)
		ld := copyStride[T](lda, k)
		require.NotEqual(t, lda, ld, "stride %d bytes: not copied", bytes)
		require.Equal(t, 5*64, ld*size%4096, "copy stride %d", ld)
		require.GreaterOrEqual(t, ld, k)
		const m, n = 25, 40
		a, b := make([]T, (m-1)*lda+k), make([]T, k*n)
		fillSpecial(r, 0.02, a, b)
		want := make([]T, m*n)
		gemmGonum(m, n, k, a, lda, b, n, want, n)
		for _, p := range paths() {
			got := make([]T, m*n)
			withPath(t, p, func() { gemmPacked(m, n, k, a, lda, b, n, packB(k, n, b, n), got, n) })
			for i := range got {
				if backendtest.Bits(got[i]) != backendtest.Bits(want[i]) {
					t.Fatalf("%v, lda %d: c[%d][%d] = %v, gonum %v", p, lda, i/n, i%n, got[i], want[i])
				}
			}
		}
	}
	require.Equal(t, 1100, copyStride[T](1100, 1090), "a stride off the sets' period is kept")
}
