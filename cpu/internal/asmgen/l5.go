package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The L5 kernels (-set l5: cpu/l5_amd64.s) are the two element-wise loops
// of the layer-5 model's sliding threshold (backend's l5Sliding) and its
// Euler step on a row of W (l5EulerKernel, below). The loops run over n
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
	for _, s := range plasticISAs {
		for _, p := range plasticPrecs {
			l5EulerKernel(s, p)
			for _, v := range slideStrips(s) {
				l5SlideKernel(s, p, v)
			}
		}
	}
}

// slideStrips are the strip widths, in vectors, of an instruction set's
// l5Slide kernels: the widest that keeps the strip's sums and four rows of
// y in registers (4·V + 3 of 32 ZMM, 16 YMM), and one vector for the rest.
func slideStrips(s pisa) []int {
	if s.evex {
		return []int{4, 1}
	}
	return []int{2, 1}
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
	e := vec()
	broadcastParam(ops.broadcast, "e", e)
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
	four := vec()
	broadcastParam(ops.broadcast, "four", four)
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

// l5Euler{S,D}{AVX2,AVX512}(n, w, a, theta, live, w0, acc, bj, eta, dt,
// negZero, rj, flags) (at int) is the L5 rules' one-pass Euler step (backend's
// eulerOuter) on one row j of W, lanes along the postsynaptic index i <
// n (a multiple of the lanes):
//
//	g = T(a[i]·bj), then g / theta[i]   with flag 1 (BCM; not covariance)
//	g = −g                              with flag 2 (an inhibitory column of a flipping rule)
//	g = +0 where live[i] == 0, or everywhere with flag 64 (the column is masked)
//	v = w[i] + T(dt·T(eta·g))
//	v = +0 where v < 0                  with flag 4 (clip) or 8 (sign > 0)
//	v = +0 where v > 0                  with flag 16 (sign < 0)
//	w[i] = v, except where w0[i] == ±0  with flag 32 (structural: kept bits)
//	acc[i] = acc[i] + T(rj·w[i])        with flag 128 (the next product's sum, w[i] as stored)
//
// each operation rounded (never a fused multiply-add). When a written
// lane's v is not finite, it stores nothing of that vector and returns its
// first index (the Go code finishes the row from there: a NaN's payload
// may depend on operand order, which only the Go code fixes); otherwise it
// returns n.
func l5EulerKernel(s pisa, p pprec) {
	lanes := s.bytes / p.size
	name := fmt.Sprintf("l5Euler%s%s", p.suffix, s.name)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(n int, w, a, theta, live, w0, acc *%[1]s, bj, eta, dt, negZero, rj %[1]s, flags int) (at int)", p.name))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the L5 rules' Euler step on one row of W, columns < n (a multiple of %d); it returns where it stopped at a non-finite weight, or n (see cpu/internal/asmgen). Requires %s.", name, lanes, s.name))
	q := km{s, p}
	n := Load(Param("n"), GP64())
	w := Load(Param("w"), GP64())
	a := Load(Param("a"), GP64())
	theta := Load(Param("theta"), GP64())
	live := Load(Param("live"), GP64())
	w0 := Load(Param("w0"), GP64())
	acc := Load(Param("acc"), GP64())
	flags := Load(Param("flags"), GP64())
	bcast := func(name string) reg.VecVirtual {
		v := s.vec()
		broadcastParam(p.bcast, name, v)
		return v
	}
	bj, eta, dt, neg, rj := bcast("bj"), bcast("eta"), bcast("dt"), bcast("negZero"), bcast("rj")
	zero := s.vec()
	p.xor(zero, zero, zero)
	i := GP64()
	XORQ(i, i)
	loop, done, bail := name+"_loop", name+"_done", name+"_bail"
	skip := func(flag int, label string) {
		TESTQ(U32(flag), flags)
		JZ(LabelRef(label))
	}
	Label(loop)
	CMPQ(i, n)
	JGE(LabelRef(done))
	at := func(base reg.Register) Mem { return Mem{Base: base, Index: i, Scale: uint8(p.size)} }
	g := s.vec()
	p.mov(at(a), g)
	p.mul(bj, g, g) // T(a[i]·bj)
	skip(1, name+"_nodiv")
	p.div(at(theta), g, g) // / theta[i]
	Label(name + "_nodiv")
	skip(2, name+"_noflip")
	p.xor(neg, g, g) // −g
	Label(name + "_noflip")
	dead := q.cmp(cmpEQ, zero, at(live)) // live[i] == 0
	q.sel(dead, zero, g)
	skip(64, name+"_open")
	p.mov(zero, g)
	Label(name + "_open")
	p.mul(eta, g, g) // T(eta·g)
	p.mul(dt, g, g)  // T(dt·…)
	old, v := s.vec(), s.vec()
	p.mov(at(w), old)
	p.add(g, old, v) // w[i] + …
	TESTQ(U32(4|8), flags)
	JZ(LabelRef(name + "_nolow"))
	neg0 := q.cmp(cmpLT, v, zero) // v < 0 (ordered: NaN stays)
	q.sel(neg0, zero, v)
	Label(name + "_nolow")
	skip(16, name+"_nohigh")
	pos := q.cmp(cmpLT, zero, v) // 0 < v
	q.sel(pos, zero, v)
	Label(name + "_nohigh")
	d := s.vec()
	p.sub(v, v, d)
	bad := q.cmp(cmpNEQ, d, zero) // v − v ≠ 0: ±Inf or NaN
	skip(32, name+"_dense")
	absent := q.cmp(cmpEQ, zero, at(w0)) // W0 = ±0: never written
	q.andNot(absent, bad)
	q.sel(absent, old, v)
	Label(name + "_dense")
	q.jumpIfAny(bad, bail)
	p.mov(v, at(w))
	skip(128, name+"_nosum")
	p.mul(rj, v, v)      // T(rj·w[i]) (v is what w[i] now holds)
	p.add(at(acc), v, v) // acc[i] + …
	p.mov(v, at(acc))
	Label(name + "_nosum")
	ADDQ(U8(lanes), i)
	JMP(LabelRef(loop))
	Label(bail)
	Store(i, ReturnIndex(0))
	VZEROUPPER()
	RET()
	Label(done)
	Store(n, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// slideAhead is how many rows ahead l5Slide prefetches: the rows array
// is readable that far past the window (backend.L5StripsAhead; cpu's
// TestL5SlidePrefetchDistance checks the generated kernels against it).
const slideAhead = 32

// l5Slide{S,D}{AVX2,AVX512}x{V}(pairs, rows, off, e, four, acc0, acc1,
// flags) is the sliding threshold's whole window on one strip of V
// vectors of units (backend's l5Sliding, L5Scratch.Strips): the two
// Simpson sums of the strip, its y_q and panels in registers, in one pass
// over the window's m = 2 + 2·pairs + (flags&2)/2 rows. rows[q] is row q's
// first element (off bytes to the strip), e points at row 0's weight
// (e_q for the rows q descend from it, one element apart), and
//
//	y_q = T(e_q·T(a_q·a_q))
//	acc0 = acc0 + ((y_st + four·y_st+1) + y_st+2)   for even st ≤ m − 3
//	acc1 = acc1 + ((y_st + four·y_st+1) + y_st+2)   for odd st ≤ m − 3, with flag 1 (m even)
//
// from +0, st ascending, each operation rounded in the Go code's order
// (never a fused multiply-add). One pass instead of Square's and Panel's
// per row: their stores and reloads were the threshold's bound (about
// seven cycles a vector and row on Zen 4). The register roles rotate by
// unrolling two pairs of rows a loop.
func l5SlideKernel(s pisa, p pprec, V int) {
	lanes := s.bytes / p.size
	name := fmt.Sprintf("l5Slide%s%sx%d", p.suffix, s.name, V)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(pairs int, rows **%[1]s, off int, e *%[1]s, four %[1]s, acc0, acc1 *%[1]s, flags int)", p.name))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the sliding threshold's two Simpson sums over the window for one strip of %d units (see cpu/internal/asmgen). Requires %s.", name, V*lanes, s.name))
	pairs := Load(Param("pairs"), GP64())
	rows := Load(Param("rows"), GP64())
	off := Load(Param("off"), GP64())
	e := Load(Param("e"), GP64())
	flags := Load(Param("flags"), GP64())
	four := s.vec()
	broadcastParam(p.bcast, "four", four)
	vecs := func() []reg.VecVirtual {
		v := make([]reg.VecVirtual, V)
		for i := range v {
			v[i] = s.vec()
		}
		return v
	}
	acc0, acc1 := vecs(), vecs()
	for v := range V {
		p.xor(acc0[v], acc0[v], acc0[v]) // +0
		p.xor(acc1[v], acc1[v], acc1[v])
	}
	y := [4][]reg.VecVirtual{vecs(), vecs(), vecs(), vecs()}
	ptr, eq := GP64(), s.vec()
	pf := GP64()
	row := func(yq []reg.VecVirtual) { // the next row's y_q
		// Prefetch the strip of the row slideAhead rows on: the rows are
		// a window's ring, 8·N bytes apart, a stride no hardware
		// prefetcher follows, so each row missed the cache.
		MOVQ(Mem{Base: rows, Disp: 8 * slideAhead}, pf)
		ADDQ(off, pf)
		for b := 0; b < V*s.bytes; b += 64 {
			PREFETCHT0(Mem{Base: pf, Disp: b})
		}
		PREFETCHT0(Mem{Base: pf, Disp: V*s.bytes - 1}) // the strip need not start a line
		MOVQ(Mem{Base: rows}, ptr)
		ADDQ(off, ptr)
		p.bcast(Mem{Base: e}, eq)
		for v := range yq {
			p.mov(Mem{Base: ptr, Disp: v * s.bytes}, yq[v])
			p.mul(yq[v], yq[v], yq[v]) // T(a·a)
			p.mul(yq[v], eq, yq[v])    // T(e_q·…)
		}
		ADDQ(U8(8), rows)
		SUBQ(U8(p.size), e)
	}
	t := s.vec()
	panel := func(acc, y0, y1, y2 []reg.VecVirtual) {
		for v := range acc {
			p.mul(y1[v], four, t) // four·y1
			p.add(t, y0[v], t)    // y0 + …
			p.add(y2[v], t, t)    // (…) + y2
			p.add(t, acc[v], acc[v])
		}
	}
	label := func(s string) string { return name + "_" + s }
	n := 0
	pair := func(ya, yb, yc, yd []reg.VecVirtual) { // rows st+2, st+3 with st even
		row(yc)
		panel(acc0, ya, yb, yc)
		row(yd)
		n++
		odd := label(fmt.Sprintf("odd%d", n))
		TESTQ(U32(1), flags)
		JZ(LabelRef(odd))
		panel(acc1, yb, yc, yd)
		Label(odd)
	}
	last := func(ya, yb, yc []reg.VecVirtual) { // row m−1 when m is odd
		TESTQ(U32(2), flags)
		JZ(LabelRef(label("store")))
		row(yc)
		panel(acc0, ya, yb, yc)
		JMP(LabelRef(label("store")))
	}
	row(y[0])
	row(y[1])
	Label(label("loop"))
	CMPQ(pairs, U8(2))
	JL(LabelRef(label("tail")))
	pair(y[0], y[1], y[2], y[3])
	pair(y[2], y[3], y[0], y[1])
	SUBQ(U8(2), pairs)
	JMP(LabelRef(label("loop")))
	Label(label("tail"))
	TESTQ(pairs, pairs)
	JZ(LabelRef(label("even")))
	pair(y[0], y[1], y[2], y[3])
	last(y[2], y[3], y[0])
	Label(label("even"))
	last(y[0], y[1], y[2])
	Label(label("store"))
	a0, a1 := Load(Param("acc0"), GP64()), Load(Param("acc1"), GP64())
	for v := range V {
		p.mov(acc0[v], Mem{Base: a0, Disp: v * s.bytes})
		p.mov(acc1[v], Mem{Base: a1, Disp: v * s.bytes})
	}
	VZEROUPPER()
	RET()
}
