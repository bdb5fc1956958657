package cpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// The conformance suite, one test per entry point, each on the default
// backend, on one goroutine, and on many with odd trial blocks: the same
// bits however the work is spread.
func TestDynamics(t *testing.T)   { conformance(t, backendtest.Dynamics) }
func TestNonFinite(t *testing.T)  { conformance(t, backendtest.NonFinite) }
func TestPartition(t *testing.T)  { conformance(t, backendtest.Partition) }
func TestPlasticity(t *testing.T) { conformance(t, backendtest.Plasticity) }
func TestMisuse(t *testing.T)     { conformance(t, backendtest.Misuse) }

// Every entry point of the suite has its test above.
func TestEntryPoints(t *testing.T) {
	backendtest.Covers(t, TestDynamics, TestNonFinite, TestPartition, TestPlasticity, TestMisuse, TestDelays, TestSparse, TestRateForm)
}

// conformance runs one entry point of the suite on every configuration.
func conformance(t *testing.T, entry func(*testing.T, backend.Backend)) {
	for _, c := range []struct {
		name string
		b    *Backend
	}{
		{"default", New()},
		{"one-worker", New(Workers(1))},
		{"many-workers", New(Workers(7), TrialBlock(3))},
	} {
		t.Run(c.name, func(t *testing.T) { entry(t, c.b) })
	}
}

func TestRegistered(t *testing.T) {
	b, err := backend.Lookup("cpu")
	if err != nil || b.Name() != "cpu" {
		t.Fatalf("Lookup(cpu) = %v, %v", b, err)
	}
	if a, err := backend.Lookup("auto"); err != nil || a == nil {
		t.Fatalf("Lookup(auto) = %v, %v", a, err)
	}
}
