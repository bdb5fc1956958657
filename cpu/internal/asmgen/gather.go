package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// gatherKernels emits the gathered product's row kernels
// (cpu/sparse_amd64.s): gatherRow8 and gatherRow16 sum one CSR row for 8
// or 16 adjacent trials, acc[l] = Σ_e w[e]·buf[off[e]+l] over e = 0 … n−1
// in order from +0, each entry one broadcast of its weight, one rounded
// VMULPS per 8 lanes and one rounded VADDPS (no FMA): the contract's sum
// over the row's entries, eight trials to a YMM register. They need AVX
// only (x/sys/cpu's HasAVX), so they run on every AVX2 and AVX-512 machine.
func gatherKernels() {
	for _, regs := range []int{1, 2} {
		gatherRow(8 * regs)
	}
}

func gatherRow(lanes int) {
	name := fmt.Sprintf("gatherRow%d", lanes)
	TEXT(name, NOSPLIT, "func(n int, w *float32, off *int32, buf *float32, acc *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sums one row of the gathered product for %d adjacent trials: acc[l] = Σ_e w[e]·buf[off[e]+l] over e = 0 … n−1 in order from +0, "+
		"each product and sum rounded (VMULPS, VADDPS; no FMA). Requires AVX.", name, lanes))
	n := Load(Param("n"), GP64())
	w := Load(Param("w"), GP64())
	off := Load(Param("off"), GP64())
	buf := Load(Param("buf"), GP64())
	acc := Load(Param("acc"), GP64())
	sums := make([]reg.VecVirtual, lanes/8)
	for i := range sums {
		sums[i] = YMM()
		VXORPS(sums[i], sums[i], sums[i]) // +0
	}
	done, loop := name+"_done", name+"_loop"
	TESTQ(n, n)
	JZ(LabelRef(done))
	Label(loop)
	weight, at := YMM(), GP64()
	VBROADCASTSS(Mem{Base: w}, weight)
	MOVLQSX(Mem{Base: off}, at)
	for i, s := range sums {
		p := YMM()
		VMULPS(Mem{Base: buf, Index: at, Scale: 4, Disp: 32 * i}, weight, p)
		VADDPS(p, s, s)
	}
	ADDQ(U8(4), w)
	ADDQ(U8(4), off)
	DECQ(n)
	JNZ(LabelRef(loop))
	Label(done)
	for i, s := range sums {
		VMOVUPS(s, Mem{Base: acc, Disp: 32 * i})
	}
	VZEROUPPER()
	RET()
}
