package cpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend/backendtest"
)

func TestDelays(t *testing.T) { conformance(t, backendtest.Delays) }
func TestSparse(t *testing.T) { conformance(t, backendtest.Sparse) }
