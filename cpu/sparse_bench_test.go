package cpu

import (
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// BenchmarkSparse compares one step of a drive with a given density run
// dense (Gemm over every weight) and as CSR rows (the gathered product),
// which give the same bits (TestSparse). The zeros are spread uniformly
// over the drive, as a fixed-probability connection makes them. Noise is
// off: it costs the same in both forms (BenchmarkStep measures it), and
// at B = 16 it would take longer than the sparse product itself.
func BenchmarkSparse(b *testing.B) {
	for _, n := range []int{1024, 4096} {
		for _, density := range []float64{0.01, 0.05, 0.2} {
			for _, trials := range []int{1, 16, 32} {
				for _, csr := range []bool{false, true} {
					form := map[bool]string{false: "dense", true: "csr"}[csr]
					b.Run(fmt.Sprintf("f32/N=%d/density=%g/B=%d/%s", n, density, trials, form), func(b *testing.B) {
						p := sparseProgram(n, trials, density, csr)
						benchRun(b, p, n, trials)
					})
				}
			}
		}
	}
}

// BenchmarkDelays measures the cost of synaptic delays: the same sparse
// and dense drives undelayed and with per-synapse delays up to 10 steps
// (the gathered product either way for the sparse drive, so the difference
// is the ring buffer; Gemm vs the gathered product for the dense one).
func BenchmarkDelays(b *testing.B) {
	for _, c := range []struct {
		n       int
		density float64
	}{{4096, 0.05}, {1024, 1}} {
		for _, trials := range []int{1, 32} {
			for _, delayed := range []bool{false, true} {
				name := fmt.Sprintf("f32/N=%d/density=%g/B=%d/delays=%v", c.n, c.density, trials, delayed)
				b.Run(name, func(b *testing.B) {
					p := sparseProgram(c.n, trials, c.density, c.density < 1)
					if delayed {
						dp := backendtest.NewDelayProgram[float32](backendtest.DelayCase{Case: benchCase(c.n, trials), Max: 10})
						p.Delays = dp.Delays
					}
					benchRun(b, p, c.n, trials)
				})
			}
		}
	}
}

func benchCase(n, trials int) backendtest.Case {
	return backendtest.Case{Shape: backend.Shape{Instances: 1, Trials: trials, Units: n, Inputs: 4, Outputs: 2},
		Activation: backend.Tanh, Stride: 1, Seed: 1}
}

// sparseProgram is the benchmark's program with a drive of the given
// density, with its CSR form when csr is set.
func sparseProgram(n, trials int, density float64, csr bool) *backend.Program[float32] {
	p := backendtest.NewSparseProgram[float32](backendtest.SparseCase{Case: benchCase(n, trials), Density: density})
	if !csr {
		p.Sparse = nil
	}
	return p
}

// BenchmarkSparseDrive measures the drive product alone, x = z·Drive for
// one block of trials, dense (gemm) and gathered from CSR rows (with the
// AVX row and pair kernels, and below 8 trials also in Go alone), without
// the unit step that BenchmarkSparse's steps add to both.
func BenchmarkSparseDrive(b *testing.B) {
	const n, density = 4096, 0.05
	for _, trials := range []int{1, 2, 4, 16} {
		p := sparseProgram(n, trials, density, true)
		rows := p.DriveRows()
		z := make([]float32, trials*rows)
		for j := range z {
			z[j] = float32(j%7) * 0.1
		}
		for j := 0; j < trials; j++ {
			z[j*rows+rows-1] = 1
		}
		x := make([]float32, trials*n)
		b.Run(fmt.Sprintf("f32/N=%d/density=%g/B=%d/dense", n, density, trials), func(b *testing.B) {
			for range b.N {
				gemm(trials, n, rows, z, rows, p.Drive, n, x, n)
			}
		})
		b.Run(fmt.Sprintf("f32/N=%d/density=%g/B=%d/csr", n, density, trials), func(b *testing.B) {
			c := newCSRDrive(p, 0)
			h := newHistory(p, z, trials)
			h.begin(1, z, rows)
			b.ResetTimer()
			for range b.N {
				c.product(h, x, n)
			}
		})
		if trials < 8 && hasGatherAVX {
			// The Go rows alone, for the pair kernels' gain.
			b.Run(fmt.Sprintf("f32/N=%d/density=%g/B=%d/csr-go", n, density, trials), func(b *testing.B) {
				c := newCSRDrive(p, 0)
				h := newHistory(p, z, trials)
				h.begin(1, z, rows)
				hasGatherAVX = false
				defer func() { hasGatherAVX = true }()
				b.ResetTimer()
				for range b.N {
					c.product(h, x, n)
				}
			})
		}
	}
}
