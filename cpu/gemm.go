package cpu

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/ratesim/ratesim/backend"
)

// gemm computes c = a·b for row-major m×k a and k×n b, untransposed, with
// beta = 0: gonum zeroes c and then adds a[i,l]·b[l,:] for l ascending,
// skipping zero a[i,l], with separate multiply and add — the contract's sum.
func gemm[T backend.Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		impl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, lda, any(b).([]float32), ldb, 0, any(c).([]float32), ldc)
	case []float64:
		impl.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, lda, any(b).([]float64), ldb, 0, any(c).([]float64), ldc)
	}
}

var impl gonum.Implementation
