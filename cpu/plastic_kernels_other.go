//go:build !amd64

package cpu

// Without amd64 kernels the plastic pass is Go's.
var (
	synapseKernels32 [plasticAVX512 + 1]synapseKernel[float32]
	synapseKernels64 [plasticAVX512 + 1]synapseKernel[float64]
	ojaKernels32     [plasticAVX512 + 1]ojaKernel[float32]
	ojaKernels64     [plasticAVX512 + 1]ojaKernel[float64]
	unitKernels      [plasticAVX512 + 1]unitKernel
	rateEuler32      [plasticAVX512 + 1]rateEulerKernel[float32]
	rateEuler64      [plasticAVX512 + 1]rateEulerKernel[float64]
)

func plasticAvailable(p plasticImpl) bool { return p == plasticGo }
