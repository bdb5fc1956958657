package cpu

import (
	"math"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
)

// The L5 sliding threshold's element loops on the kernels of l5_amd64.s
// (cpu/internal/asmgen -set l5), wrapped as backend.L5Scratch's Square and
// Panel: each runs the largest multiple of its lanes and leaves the rest
// to the Go loop.

func squareOf[T any](lanes int, k func(int, T, *T, *T)) func(T, []T, []T) int {
	return func(e T, a, y []T) int {
		n := len(y) - len(y)%lanes
		if n > 0 {
			k(n, e, &a[0], &y[0])
		}
		return n
	}
}

func panelOf[T any](lanes int, k func(int, T, *T, *T, *T, *T)) func(T, []T, []T, []T, []T) int {
	return func(four T, acc, y0, y1, y2 []T) int {
		n := len(acc) - len(acc)%lanes
		if n > 0 {
			_, _, _ = y0[n-1], y1[n-1], y2[n-1]
			k(n, four, &acc[0], &y0[0], &y1[0], &y2[0])
		}
		return n
	}
}

func eulerRowOf[T float32 | float64](lanes int, k func(int, *T, *T, *T, *T, *T, *T, T, T, T, T, T, int) int) func([]T, []T, []T, []T, []T, []T, T, T, T, T, int) int {
	negZero := T(math.Copysign(0, -1))
	return func(w, a, theta, live, w0, acc []T, bj, eta, dt, rj T, flags int) int {
		n := len(w) - len(w)%lanes
		if n == 0 {
			return 0
		}
		_, _, _, _ = a[n-1], theta[n-1], live[n-1], w0[n-1]
		pacc := &w[0] // not read without flag 128
		if flags&128 != 0 {
			_ = acc[n-1]
			pacc = &acc[0]
		}
		return k(n, &w[0], &a[0], &theta[0], &live[0], &w0[0], pacc, bj, eta, dt, negZero, rj, flags)
	}
}

// stripsOf wraps a strip kernel pair (V vectors, and one) as
// backend.L5Scratch's Strips.
func stripsOf[T float32 | float64](lanes, V int, wide, one func(int, **T, int, *T, T, *T, *T, int)) func([]*T, []T, []T, []T) int {
	return func(rows []*T, e, acc0, acc1 []T) int {
		m := len(rows)
		n := len(acc0) - len(acc0)%lanes
		if m < 2 || n == 0 {
			return 0
		}
		_, _ = e[m-1], acc1[n-1]
		_ = rows[:m+backend.L5StripsAhead] // the kernels read the pointers ahead (prefetch)
		flags := 2                         // odd m: row m−1 closes a panel of acc0
		if m%2 == 0 {
			flags = 1 // even m: acc1's panels too
		}
		pairs := (m - 2) / 2
		var z T
		size := int(unsafe.Sizeof(z))
		i := 0
		for ; i+V*lanes <= n; i += V * lanes {
			wide(pairs, &rows[0], i*size, &e[m-1], 4, &acc0[i], &acc1[i], flags)
		}
		for ; i < n; i += lanes {
			one(pairs, &rows[0], i*size, &e[m-1], 4, &acc0[i], &acc1[i], flags)
		}
		return n
	}
}

var (
	l5Strips32 = [...]func([]*float32, []float32, []float32, []float32) int{
		plasticAVX2: stripsOf(8, 2, l5SlideSAVX2x2, l5SlideSAVX2x1), plasticAVX512: stripsOf(16, 4, l5SlideSAVX512x4, l5SlideSAVX512x1)}
	l5Strips64 = [...]func([]*float64, []float64, []float64, []float64) int{
		plasticAVX2: stripsOf(4, 2, l5SlideDAVX2x2, l5SlideDAVX2x1), plasticAVX512: stripsOf(8, 4, l5SlideDAVX512x4, l5SlideDAVX512x1)}
	l5Euler32 = [...]func([]float32, []float32, []float32, []float32, []float32, []float32, float32, float32, float32, float32, int) int{
		plasticAVX2: eulerRowOf(8, l5EulerSAVX2), plasticAVX512: eulerRowOf(16, l5EulerSAVX512)}
	l5Euler64 = [...]func([]float64, []float64, []float64, []float64, []float64, []float64, float64, float64, float64, float64, int) int{
		plasticAVX2: eulerRowOf(4, l5EulerDAVX2), plasticAVX512: eulerRowOf(8, l5EulerDAVX512)}
	l5Square32 = [...]func(float32, []float32, []float32) int{plasticAVX2: squareOf(8, l5SquareSAVX2), plasticAVX512: squareOf(16, l5SquareSAVX512)}
	l5Square64 = [...]func(float64, []float64, []float64) int{plasticAVX2: squareOf(4, l5SquareDAVX2), plasticAVX512: squareOf(8, l5SquareDAVX512)}
	l5Panel32  = [...]func(float32, []float32, []float32, []float32, []float32) int{plasticAVX2: panelOf(8, l5PanelSAVX2), plasticAVX512: panelOf(16, l5PanelSAVX512)}
	l5Panel64  = [...]func(float64, []float64, []float64, []float64, []float64) int{plasticAVX2: panelOf(4, l5PanelDAVX2), plasticAVX512: panelOf(8, l5PanelDAVX512)}
)
