//go:build !amd64

package cpu

// Without amd64 kernels every path is gonum's.
var (
	kernels32 [pathAVX512 + 1]*kernelSet[float32]
	kernels64 [pathAVX512 + 1]*kernelSet[float64]
)

func pathAvailable(p path) bool { return p == pathGonum }

func bestPath() path { return pathGonum }
