package cpu

import "golang.org/x/sys/cpu"

// normalWidth[p] is the multiple of units p's kernel computes (0: none).
var normalWidth = [...]int{normalAVX2: 16, normalAVX512: 64}

// normalKernel32 runs p's kernel of normal_amd64.s (cpu/internal/asmgen) on
// z, len(z) a multiple of normalWidth[p] up to normalBlock: z[j] = normal32
// of unit plan[0]+j and the plan's other counters and key. The calls are
// direct, so that escape analysis sees the kernels' noescape and the
// buffers stay on the stack.
func normalKernel32(p normalImpl, z []float32, plan *[21]uint64) {
	var scratch [2 * normalBlock]float64
	switch p {
	case normalAVX2:
		normals32AVX2(&z[0], len(z), plan, &logTable, &scratch)
	case normalAVX512:
		normals32AVX512(&z[0], len(z), plan, &logTable, &scratch)
	}
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
var normalPieces32 = [...]func(w *uint32, n int, logs, coss *float32, logT *[49]float64){
	normalAVX2:   normalPieces32AVX2,
	normalAVX512: normalPieces32AVX512,
}
