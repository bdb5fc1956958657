package cpu

import "golang.org/x/sys/cpu"

// The kernels of normal_amd64.s by implementation.
var normalKernels32 = [...]normalKernel{
	normalAVX2:   {width: 8, f: normals32AVX2},
	normalAVX512: {width: 16, f: normals32AVX512},
}

// normalAvailable reports whether this CPU (and its OS, which must save the
// wide registers: x/sys/cpu checks that) runs p. The AVX-512 kernel also
// executes VEX instructions on half vectors (AVX2) and may be given EVEX
// ones on YMM registers 16–31 (VL).
func normalAvailable(p normalImpl) bool {
	switch p {
	case normalAVX2:
		return cpu.X86.HasAVX2
	case normalAVX512:
		return cpu.X86.HasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
	}
	return true
}

// normalPieces32 are the kernels' two transforms alone, for the tests.
var normalPieces32 = [...]func(w *uint32, n int, logs, coss *float32, logT, invT *[49]float64){
	normalAVX2:   normalPieces32AVX2,
	normalAVX512: normalPieces32AVX512,
}
