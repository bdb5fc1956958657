package cpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend/backendtest"
)

func TestDelays(t *testing.T) { conformance(t, backendtest.Delays) }
func TestSparse(t *testing.T) { conformance(t, backendtest.Sparse) }

// TestGatheredInGo runs the sparse and delay suites with the gathered
// product's AVX kernels turned off: first only the AVX2 rows of four
// trials (gatherQuadRows; four rows at a time on gatherQuads instead),
// then all of them (rows of 8 and 16 trials, fours, pairs): the Go rows
// alone give the reference's bits too.
func TestGatheredInGo(t *testing.T) {
	if !hasGatherAVX {
		t.Skip("no AVX: the suites above already ran the Go rows")
	}
	avx2 := hasGatherAVX2
	defer func() { hasGatherAVX, hasGatherAVX2 = true, avx2 }()
	for _, level := range []string{"avx", "go"} {
		hasGatherAVX, hasGatherAVX2 = level == "avx", false
		t.Run(level+"/sparse", func(t *testing.T) { backendtest.Sparse(t, New()) })
		t.Run(level+"/delays", func(t *testing.T) { backendtest.Delays(t, New()) })
	}
}
