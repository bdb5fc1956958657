package backend

import (
	"math"
	"slices"
	"testing"
)

// TestNonzero: the branch-free counts NewSparseDrive and validate use
// agrees with v != 0 on both zeros, the smallest subnormals, ±1, ±Inf and
// NaN, in both precisions.
func TestNonzero(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
		1, -1, math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64} {
		if got, want := int(nonzero64(v)), b2i(v != 0); got != want {
			t.Errorf("nonzero(%v) = %d, want %d", v, got, want)
		}
		f := float32(v)
		if v == math.SmallestNonzeroFloat64 || v == -math.SmallestNonzeroFloat64 {
			f = float32(math.Copysign(math.SmallestNonzeroFloat32, v))
		}
		if got, want := int(nonzero32(f)), b2i(f != 0); got != want {
			t.Errorf("nonzero(float32 %v) = %d, want %d", f, got, want)
		}
	}
	a := []float32{0, 1, float32(math.Copysign(0, -1)), -2, 0, 3}
	if n := countNonzero(a); n != 3 {
		t.Errorf("countNonzero(%v) = %d, want 3", a, n)
	}
	dst := []int32{5, 5, 5, 5, 5, 5}
	addNonzero(dst, []float64{0, 1, math.Copysign(0, -1), -2, 0, math.NaN()})
	if want := []int32{5, 6, 5, 6, 5, 6}; !slices.Equal(dst, want) {
		t.Errorf("addNonzero = %v, want %v", dst, want)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
