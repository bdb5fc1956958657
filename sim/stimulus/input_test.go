package stimulus

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/spec"
)

// smallSpec is a two-input network with extra appended to its spec (a
// sine input when extra is empty).
func smallSpec(t *testing.T, extra string) *spec.Spec {
	t.Helper()
	if extra == "" {
		extra = "input: {type: sine, amplitude: 1, period: 300}\n"
	}
	s, err := spec.Parse("test.yaml", []byte("dims: [2, 20, 3]\ntrials: 4\nsteps: 50\n"+extra))
	require.NoError(t, err)
	return s
}

func TestInputGenerators(t *testing.T) {
	s := smallSpec(t, "input: {type: pulses, amplitude: 2, period: 100, width: 30, onset: 50}\n")
	g := NewGenerator(s)
	// dt = 10 ms: steps 1–4 are before the onset; pulses at 50–80, 150–180 ms.
	for step, want := range map[int]float64{1: 0, 4: 0, 5: 2, 7: 2, 8: 0, 14: 0, 15: 2, 18: 0} {
		if got := g.Value(0, step, 0); got != want {
			t.Errorf("pulse input at step %d = %v, want %v", step, got, want)
		}
	}
	s = smallSpec(t, "")
	g = NewGenerator(s)
	// Two sine channels are half a period apart.
	for step := 1; step < 30; step++ {
		if a, b := g.Value(0, step, 0), g.Value(0, step, 1); math.Abs(a+b) > 1e-12 {
			t.Fatalf("step %d: channels %v and %v are not in antiphase", step, a, b)
		}
	}
}
