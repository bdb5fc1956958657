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
	gatherPairs("S")
	gatherPairs("D")
	gatherQuads("S")
	gatherQuads("D")
}

// gatherQuads emits gatherQuads{S,D}(m, w, off, buf, acc): gatherPairs for
// four adjacent trials — acc[4r+l] += w_r[e]·buf[off_r[e]+l] for rows
// r < 4, trials l < 4 and e = 0 … m−1 in order, each product and sum
// rounded (VMULP, VADDP; no FMA), the four trials in one XMM (float32) or
// YMM (float64) register. A step is load-bound: each entry is three loads
// (its offset, its weight, the trials' values), which now serve four
// trials instead of two. Requires AVX.
func gatherQuads(prec string) {
	name := "gatherQuads" + prec
	typ, size := "float32", 4
	vec := XMM
	if prec == "D" {
		typ, size, vec = "float64", 8, YMM
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(m int, w *[4]*%[1]s, off *[4]*int32, buf *%[1]s, acc *[16]%[1]s)", typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sums four CSR rows' common length m for four adjacent trials: acc[4r+l] += w[r][e]·buf[off[r][e]+l] "+
		"for e < m in order, each product and sum rounded (no FMA). Requires AVX.", name))
	m := Load(Param("m"), GP64())
	wp := Load(Param("w"), GP64())
	op := Load(Param("off"), GP64())
	buf := Load(Param("buf"), GP64())
	acc := Load(Param("acc"), GP64())
	mov, bcast, mul, add := VMOVUPS, VBROADCASTSS, VMULPS, VADDPS
	if prec == "D" {
		mov, bcast, mul, add = VMOVUPD, VBROADCASTSD, VMULPD, VADDPD
	}
	var ws, os [4]reg.GPVirtual
	sums := make([]reg.VecVirtual, 4)
	for r := range 4 {
		ws[r], os[r] = GP64(), GP64()
		MOVQ(Mem{Base: wp, Disp: 8 * r}, ws[r])
		MOVQ(Mem{Base: op, Disp: 8 * r}, os[r])
		sums[r] = vec()
		mov(Mem{Base: acc, Disp: 4 * size * r}, sums[r])
	}
	done, loop := name+"_done", name+"_loop"
	TESTQ(m, m)
	JZ(LabelRef(done))
	e := GP64() // one entry index, as in gatherPairs
	XORQ(e, e)
	Label(loop)
	for r := range 4 {
		weight, z, at := vec(), vec(), GP64()
		MOVLQSX(Mem{Base: os[r], Index: e, Scale: 4}, at)
		bcast(Mem{Base: ws[r], Index: e, Scale: uint8(size)}, weight)
		mul(Mem{Base: buf, Index: at, Scale: uint8(size)}, weight, z)
		add(z, sums[r], sums[r])
	}
	INCQ(e)
	CMPQ(e, m)
	JNE(LabelRef(loop))
	Label(done)
	for r := range 4 {
		mov(sums[r], Mem{Base: acc, Disp: 4 * size * r})
	}
	VZEROUPPER()
	RET()
}

// gatherPairs emits gatherPairs{S,D}(m, w, off, buf, acc): four CSR rows
// side by side for a pair of adjacent trials — acc[2r+l] += w_r[e]·buf[off_r[e]+l]
// for rows r < 4, trials l < 2 and e = 0 … m−1 in order, each product and
// sum rounded (VMULP, VADDP; no FMA). w and off point at four rows'
// entries: w[r] and off[r] are row r's (an array of 4 pointers each).
// acc holds the rows' running sums (8 values, read and written), so the
// caller adds each row's rest to the same chain. One broadcast of a weight
// feeds both trials (the pair's values are adjacent in the history), and
// four independent chains hide the additions' latency. Requires AVX.
func gatherPairs(prec string) {
	name := "gatherPairs" + prec
	typ, size := "float32", 4
	if prec == "D" {
		typ, size = "float64", 8
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(m int, w *[4]*%[1]s, off *[4]*int32, buf *%[1]s, acc *[8]%[1]s)", typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sums four CSR rows' common length m for two adjacent trials: acc[2r+l] += w[r][e]·buf[off[r][e]+l] "+
		"for e < m in order, each product and sum rounded (no FMA). Requires AVX.", name))
	m := Load(Param("m"), GP64())
	wp := Load(Param("w"), GP64())
	op := Load(Param("off"), GP64())
	buf := Load(Param("buf"), GP64())
	acc := Load(Param("acc"), GP64())
	var ws, os [4]reg.GPVirtual
	sums := make([]reg.VecVirtual, 4)
	for r := range 4 {
		ws[r], os[r] = GP64(), GP64()
		MOVQ(Mem{Base: wp, Disp: 8 * r}, ws[r])
		MOVQ(Mem{Base: op, Disp: 8 * r}, os[r])
		sums[r] = XMM()
		if prec == "D" {
			VMOVUPD(Mem{Base: acc, Disp: 16 * r}, sums[r])
		} else {
			VMOVSD(Mem{Base: acc, Disp: 8 * r}, sums[r]) // two floats, the upper lanes +0
		}
	}
	done, loop := name+"_done", name+"_loop"
	TESTQ(m, m)
	JZ(LabelRef(done))
	// One entry index e for the four rows' weights and offsets (one
	// increment an iteration, not eight: the loop is short of dispatch
	// slots, its four addition chains of one VADDP each are not).
	e := GP64()
	XORQ(e, e)
	Label(loop)
	for r := range 4 {
		weight, z, at := XMM(), XMM(), GP64()
		MOVLQSX(Mem{Base: os[r], Index: e, Scale: 4}, at)
		wr := Mem{Base: ws[r], Index: e, Scale: uint8(size)}
		if prec == "D" {
			VMOVDDUP(wr, weight)
			VMULPD(Mem{Base: buf, Index: at, Scale: uint8(size)}, weight, z)
			VADDPD(z, sums[r], sums[r])
		} else {
			VBROADCASTSS(wr, weight)
			VMOVSD(Mem{Base: buf, Index: at, Scale: uint8(size)}, z) // the pair, upper lanes +0
			VMULPS(z, weight, z)
			VADDPS(z, sums[r], sums[r])
		}
	}
	INCQ(e)
	CMPQ(e, m)
	JNE(LabelRef(loop))
	Label(done)
	for r := range 4 {
		if prec == "D" {
			VMOVUPD(sums[r], Mem{Base: acc, Disp: 16 * r})
		} else {
			VMOVSD(sums[r], Mem{Base: acc, Disp: 8 * r})
		}
	}
	RET()
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
