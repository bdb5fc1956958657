//go:build !amd64

package cpu

// Without amd64 the L5 sliding threshold runs in Go (no kernels).
var (
	l5Square32 [plasticAVX512 + 1]func(float32, []float32, []float32) int
	l5Square64 [plasticAVX512 + 1]func(float64, []float64, []float64) int
	l5Panel32  [plasticAVX512 + 1]func(float32, []float32, []float32, []float32, []float32) int
	l5Panel64  [plasticAVX512 + 1]func(float64, []float64, []float64, []float64, []float64) int
	l5Strips32 [plasticAVX512 + 1]func([]*float32, []float32, []float32, []float32) int
	l5Strips64 [plasticAVX512 + 1]func([]*float64, []float64, []float64, []float64) int
	l5Euler32  [plasticAVX512 + 1]func([]float32, []float32, []float32, []float32, []float32, []float32, float32, float32, float32, float32, int) int
	l5Euler64  [plasticAVX512 + 1]func([]float64, []float64, []float64, []float64, []float64, []float64, float64, float64, float64, float64, int) int
)
