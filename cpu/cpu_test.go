package cpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

func TestConformance(t *testing.T) { backendtest.Test(t, New()) }

// The same bits on one goroutine, on many, and with odd trial blocks.
func TestConformanceOneWorker(t *testing.T)   { backendtest.Test(t, New(Workers(1))) }
func TestConformanceManyWorkers(t *testing.T) { backendtest.Test(t, New(Workers(7), TrialBlock(3))) }

func TestRegistered(t *testing.T) {
	b, err := backend.Lookup("cpu")
	if err != nil || b.Name() != "cpu" {
		t.Fatalf("Lookup(cpu) = %v, %v", b, err)
	}
	if a, err := backend.Lookup("auto"); err != nil || a == nil {
		t.Fatalf("Lookup(auto) = %v, %v", a, err)
	}
}
