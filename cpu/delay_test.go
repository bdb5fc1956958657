package cpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend/backendtest"
)

func TestDelays(t *testing.T) { conformance(t, backendtest.Delays) }
func TestSparse(t *testing.T) { conformance(t, backendtest.Sparse) }

// TestGatheredInGo runs the sparse, delay and rate-form suites with the
// gathered product's kernels turned off a level at a time: first the
// AVX-512 rows (gatherQuadPacked, which the suites above run where the CPU
// has AVX-512; the AVX2 rows gatherQuadRows instead, the rate form's
// circuit cases on their input-fused variant), then the AVX2 rows too
// (four rows at a time on gatherQuads), then all of them (rows of 8 and
// 16 trials, fours, pairs): each level gives the reference's bits too.
func TestGatheredInGo(t *testing.T) {
	if !hasGatherAVX {
		t.Skip("no AVX: the suites above already ran the Go rows")
	}
	avx2, avx512 := hasGatherAVX2, hasGatherAVX512
	defer func() { hasGatherAVX, hasGatherAVX2, hasGatherAVX512 = true, avx2, avx512 }()
	for _, level := range []string{"avx2", "avx", "go"} {
		if level == "avx2" && !(avx2 && avx512) {
			continue // the suites above ran the AVX2 rows, or there are none
		}
		hasGatherAVX, hasGatherAVX2, hasGatherAVX512 = level != "go", level == "avx2", false
		t.Run(level+"/sparse", func(t *testing.T) { backendtest.Sparse(t, New()) })
		t.Run(level+"/delays", func(t *testing.T) { backendtest.Delays(t, New()) })
		if level == "avx2" {
			t.Run(level+"/rateform", func(t *testing.T) { backendtest.RateForm(t, New()) })
		}
	}
}

// TestInterleave holds the history's layout, dst[(j−c0)·nb+b] =
// z[b·rows+j], on every trial count and column range, on the kernels
// (four trials) and in Go.
func TestInterleave(t *testing.T) {
	avx2 := hasGatherAVX2
	defer func() { hasGatherAVX2 = avx2 }()
	for _, kernels := range []bool{false, avx2} {
		hasGatherAVX2 = kernels
		for nb := 1; nb <= 6; nb++ {
			for _, cols := range [][2]int{{0, 0}, {0, 1}, {0, 13}, {3, 21}, {5, 9}, {2, 26}} {
				const rows = 27
				z := make([]float64, nb*rows)
				for i := range z {
					z[i] = float64(i) + 0.5
				}
				c0, c1 := cols[0], cols[1]
				dst := make([]float64, (c1-c0)*nb+3)
				dst[len(dst)-1] = -1 // past the range: left alone
				interleave(dst, z, nb, rows, c0, c1)
				for j := c0; j < c1; j++ {
					for b := range nb {
						if got, want := dst[(j-c0)*nb+b], z[b*rows+j]; got != want {
							t.Fatalf("kernels %v nb %d cols %v: dst[%d] = %v, want %v", kernels, nb, cols, (j-c0)*nb+b, got, want)
						}
					}
				}
				if dst[len(dst)-1] != -1 {
					t.Fatalf("kernels %v nb %d cols %v: wrote past the range", kernels, nb, cols)
				}
			}
		}
	}
	var z32 [4 * 8]float32
	for i := range z32 {
		z32[i] = float32(i)
	}
	d32 := make([]float32, 32)
	interleave(d32, z32[:], 4, 8, 0, 8)
	for j := range 8 {
		for b := range 4 {
			if d32[4*j+b] != z32[b*8+j] {
				t.Fatalf("float32: dst[%d] = %v, want %v", 4*j+b, d32[4*j+b], z32[b*8+j])
			}
		}
	}
}
