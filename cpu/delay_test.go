package cpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend/backendtest"
)

func TestDelays(t *testing.T) { conformance(t, backendtest.Delays) }
func TestSparse(t *testing.T) { conformance(t, backendtest.Sparse) }

// TestGatheredInGo runs the sparse and delay suites with the gathered
// product's AVX kernels (rows of 8 and 16 trials, pairs) turned off: the
// Go rows alone give the reference's bits too.
func TestGatheredInGo(t *testing.T) {
	if !hasGatherAVX {
		t.Skip("no AVX: the suites above already ran the Go rows")
	}
	hasGatherAVX = false
	defer func() { hasGatherAVX = true }()
	t.Run("sparse", func(t *testing.T) { backendtest.Sparse(t, New()) })
	t.Run("delays", func(t *testing.T) { backendtest.Delays(t, New()) })
}
