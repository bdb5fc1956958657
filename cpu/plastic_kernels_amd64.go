package cpu

import "golang.org/x/sys/cpu"

// The kernels of plastic_amd64.s and unitstep_amd64.s (cpu/internal/asmgen
// -set plastic, -set unit) by implementation.
var (
	synapseKernels32 = [...]synapseKernel[float32]{plasticAVX2: synapsesSAVX2, plasticAVX512: synapsesSAVX512}
	synapseKernels64 = [...]synapseKernel[float64]{plasticAVX2: synapsesDAVX2, plasticAVX512: synapsesDAVX512}
	ojaKernels32     = [...]ojaKernel[float32]{plasticAVX2: ojaSAVX2, plasticAVX512: ojaSAVX512}
	ojaKernels64     = [...]ojaKernel[float64]{plasticAVX2: ojaDAVX2, plasticAVX512: ojaDAVX512}
	unitKernels      = [...]unitKernel{plasticAVX2: unitReLU32AVX2, plasticAVX512: unitReLU32AVX512}
	rateEuler32      = [...]rateEulerKernel[float32]{plasticAVX2: rateEulerSAVX2, plasticAVX512: rateEulerSAVX512}
	rateEuler64      = [...]rateEulerKernel[float64]{plasticAVX2: rateEulerDAVX2, plasticAVX512: rateEulerDAVX512}
)

// plasticAvailable reports whether this CPU (and its OS, which must save
// the wide registers: x/sys/cpu checks that) runs p. The AVX-512 kernels
// use the EVEX logic instructions of AVX512DQ on ZMM registers.
func plasticAvailable(p plasticImpl) bool {
	switch p {
	case plasticAVX2:
		return cpu.X86.HasAVX2
	case plasticAVX512:
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
	}
	return true
}
