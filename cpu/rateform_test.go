package cpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend/backendtest"
)

// The rate form and per-unit activations on every configuration (one
// goroutine, many with odd trial blocks), bit for bit with the reference.
func TestRateForm(t *testing.T) { conformance(t, backendtest.RateForm) }
