package cpu

import "golang.org/x/sys/cpu"

// The tile kernels of gemm_amd64.s by path, each set indexed by rows − 1.
var (
	kernels32 = [...]*kernelSet[float32]{
		pathAVX2: {nr: 16, lanes: 8, nonzero: nonzeroSAVX2, tiles: []tileKernel[float32]{
			gemmSAVX2_1x16, gemmSAVX2_2x16, gemmSAVX2_3x16, gemmSAVX2_4x16, gemmSAVX2_5x16, gemmSAVX2_6x16}},
		pathAVX512: {nr: 32, lanes: 16, nonzero: nonzeroSAVX512, tiles: []tileKernel[float32]{
			gemmSAVX512_1x32, gemmSAVX512_2x32, gemmSAVX512_3x32, gemmSAVX512_4x32, gemmSAVX512_5x32, gemmSAVX512_6x32,
			gemmSAVX512_7x32, gemmSAVX512_8x32, gemmSAVX512_9x32, gemmSAVX512_10x32, gemmSAVX512_11x32, gemmSAVX512_12x32}},
	}
	kernels64 = [...]*kernelSet[float64]{
		pathAVX2: {nr: 8, lanes: 4, nonzero: nonzeroDAVX2, tiles: []tileKernel[float64]{
			gemmDAVX2_1x8, gemmDAVX2_2x8, gemmDAVX2_3x8, gemmDAVX2_4x8, gemmDAVX2_5x8, gemmDAVX2_6x8}},
		pathAVX512: {nr: 16, lanes: 8, nonzero: nonzeroDAVX512, tiles: []tileKernel[float64]{
			gemmDAVX512_1x16, gemmDAVX512_2x16, gemmDAVX512_3x16, gemmDAVX512_4x16, gemmDAVX512_5x16, gemmDAVX512_6x16,
			gemmDAVX512_7x16, gemmDAVX512_8x16, gemmDAVX512_9x16, gemmDAVX512_10x16, gemmDAVX512_11x16, gemmDAVX512_12x16}},
	}
)

// pathAvailable reports whether this CPU (and its OS, which must save the
// wide registers: x/sys/cpu checks that) runs p.
func pathAvailable(p path) bool {
	switch p {
	case pathAVX2:
		return cpu.X86.HasAVX2
	case pathAVX512:
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
	}
	return true
}

// bestPath is the fastest path this CPU runs.
func bestPath() path {
	for p := pathAVX512; p > pathGonum; p-- {
		if pathAvailable(p) {
			return p
		}
	}
	return pathGonum
}
