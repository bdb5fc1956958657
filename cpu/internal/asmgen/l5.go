package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The L5 kernels (-set l5: cpu/l5_amd64.s) are the two element-wise loops
// of the layer-5 model's sliding threshold (backend's l5Sliding), over n
// elements, n a multiple of the lanes (the caller runs the rest in Go):
//
//	l5Square{S,D}{AVX2,AVX512}(n, e, a, y):        y[l] = e·(a[l]·a[l])
//	l5Panel{S,D}{AVX2,AVX512}(n, four, acc, y0, y1, y2):
//	        acc[l] = acc[l] + ((y0[l] + four·y1[l]) + y2[l])
//
// each operation one rounded VMULP or VADDP in the Go code's order (never a
// fused multiply-add), so each lane has the bits of the Go loop. four is
// passed (4) rather than built, so the kernel multiplies by exactly what
// the Go code does.
func l5Kernels() {
	for _, isa := range []struct {
		name  string
		bytes int
		vec   func() reg.VecVirtual
	}{{"AVX2", 32, YMM}, {"AVX512", 64, ZMM}} {
		for _, prec := range []struct {
			name, typ string
			size      int
		}{{"S", "float32", 4}, {"D", "float64", 8}} {
			lanes := isa.bytes / prec.size
			l5Square(isa.name, prec.name, prec.typ, lanes, isa.vec)
			l5Panel(isa.name, prec.name, prec.typ, lanes, isa.vec)
		}
	}
}

// l5Ops are a precision's instructions.
type l5Ops struct {
	mul, add  func(ops ...Op)
	load      func(ops ...Op) // unaligned vector load/store
	broadcast func(ops ...Op)
}

func l5OpsFor(prec string) l5Ops {
	if prec == "S" {
		return l5Ops{VMULPS, VADDPS, VMOVUPS, VBROADCASTSS}
	}
	return l5Ops{VMULPD, VADDPD, VMOVUPD, VBROADCASTSD}
}

func l5Square(isa, prec, typ string, lanes int, vec func() reg.VecVirtual) {
	name := "l5Square" + prec + isa
	TEXT(name, NOSPLIT, fmt.Sprintf("func(n int, e %s, a *%s, y *%s)", typ, typ, typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets y[l] = e·(a[l]·a[l]) for l < n (n a multiple of %d), each product rounded (no FMA).", name, lanes))
	ops := l5OpsFor(prec)
	n := Load(Param("n"), GP64())
	a := Load(Param("a"), GP64())
	y := Load(Param("y"), GP64())
	ex := Load(Param("e"), XMM())
	e := vec()
	ops.broadcast(ex, e)
	step := lanes * sizeOf(prec)
	loop, done := name+"_loop", name+"_done"
	SHRQ(U8(log2(lanes)), n)
	JZ(LabelRef(done))
	Label(loop)
	x := vec()
	ops.load(Mem{Base: a}, x)
	ops.mul(x, x, x)
	ops.mul(x, e, x)
	ops.load(x, Mem{Base: y})
	ADDQ(U32(step), a)
	ADDQ(U32(step), y)
	DECQ(n)
	JNZ(LabelRef(loop))
	Label(done)
	VZEROUPPER()
	RET()
}

func l5Panel(isa, prec, typ string, lanes int, vec func() reg.VecVirtual) {
	name := "l5Panel" + prec + isa
	TEXT(name, NOSPLIT, fmt.Sprintf("func(n int, four %s, acc *%s, y0 *%s, y1 *%s, y2 *%s)", typ, typ, typ, typ, typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets acc[l] = acc[l] + ((y0[l] + four·y1[l]) + y2[l]) for l < n (n a multiple of %d), each operation rounded (no FMA).", name, lanes))
	ops := l5OpsFor(prec)
	n := Load(Param("n"), GP64())
	acc := Load(Param("acc"), GP64())
	y0 := Load(Param("y0"), GP64())
	y1 := Load(Param("y1"), GP64())
	y2 := Load(Param("y2"), GP64())
	fx := Load(Param("four"), XMM())
	four := vec()
	ops.broadcast(fx, four)
	step := lanes * sizeOf(prec)
	loop, done := name+"_loop", name+"_done"
	SHRQ(U8(log2(lanes)), n)
	JZ(LabelRef(done))
	Label(loop)
	p, s := vec(), vec()
	ops.load(Mem{Base: y1}, p)
	ops.mul(p, four, p)          // four·y1
	ops.add(Mem{Base: y0}, p, p) // y0 + four·y1 (operands in the Go order)
	ops.add(Mem{Base: y2}, p, p) // (…) + y2
	ops.load(Mem{Base: acc}, s)
	ops.add(p, s, s) // acc + (…)
	ops.load(s, Mem{Base: acc})
	for _, r := range []reg.Register{acc, y0, y1, y2} {
		ADDQ(U32(step), r)
	}
	DECQ(n)
	JNZ(LabelRef(loop))
	Label(done)
	VZEROUPPER()
	RET()
}

func sizeOf(prec string) int {
	if prec == "S" {
		return 4
	}
	return 8
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}
