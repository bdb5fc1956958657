package cpu

import "golang.org/x/sys/cpu"

// gatherRow8 and gatherRow16 sum one row of the gathered product for 8 or
// 16 adjacent trials (sparse_amd64.s): acc[l] = Σ_e w[e]·buf[off[e]+l] over
// e = 0 … n−1 in order from +0, each product and sum rounded (VMULPS,
// VADDPS; no FMA). They need AVX.
//
//go:noescape
func gatherRow8(n int, w *float32, off *int32, buf *float32, acc *float32)

//go:noescape
func gatherRow16(n int, w *float32, off *int32, buf *float32, acc *float32)

// hasGatherAVX says that this CPU runs the AVX row kernels (the OS saves
// the wide registers: x/sys/cpu checks that).
var hasGatherAVX = cpu.X86.HasAVX
