package circuit

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/stretchr/testify/require"
)

// TestSparseDriveIsNewSparseDrive: the sparse form built from W's rows is
// backend.NewSparseDrive of the dense drive, for one instance and several,
// in both precisions — with weights that are −0, and one that is nonzero
// in float64 but 0 in float32 (an entry in one precision only).
func TestSparseDriveIsNewSparseDrive(t *testing.T) {
	n := 13
	rng := rand.New(rand.NewPCG(5, 6))
	W := make([]float64, n*n)
	for e := range W {
		if rng.IntN(4) == 0 {
			W[e] = rng.NormFloat64()
		}
	}
	W[3], W[n+4], W[2*n+1] = math.Copysign(0, -1), 1e-50, 0
	testSparseDrive[float64](t, W, n)
	testSparseDrive[float32](t, W, n)
}

func testSparseDrive[T backend.Float](t *testing.T, W []float64, n int) {
	for _, K := range []int{1, 3} {
		s := backend.Shape{Instances: K, Trials: 1, Units: n, Inputs: n}
		rows := s.DriveRows()
		drive := make([]T, K*rows*n)
		for k := 0; k < K; k++ {
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					drive[(k*rows+j)*n+i] = T(W[i*n+j])
				}
				drive[(k*rows+n+i)*n+i] = 1
			}
		}
		want := backend.NewSparseDrive(s, drive)
		got := sparseDrive[T](W, n, K)
		require.Equal(t, want, got, "K = %d", K)
	}
}
