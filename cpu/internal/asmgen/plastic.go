package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The plastic kernels (-set plastic: cpu/plastic_amd64.s) are the per-synapse
// pass of a plastic update and Oja's summed term, lanes along the
// postsynaptic index, in both precisions and instruction sets.
//
// synapses{S,D}{AVX2,AVX512} is backend.Step.UpdateSynapses on the rows
// j < rows and the columns i < cols (a multiple of the lanes) of one matrix,
// each synapse's operations those of backend.Step.Apply and
// backend.Connection.Project in the same order, each rounded (VMULP, VADDP,
// VSUBP, VDIVP, VSQRTP; never a fused multiply-add), the branches on the
// rule's constants taken once per vector (flags, rowFlags) and those on a
// synapse's own values turned into lane masks (|w|, sign(w), the
// projection, which synapses are written). Its arguments:
//
//	h               row j at j·ldh: the summed terms, or with flag 128
//	                the post factors c (ldh 0)
//	a               with flag 128, the pre factors: h[j][i] = +0 + T(a[j]·c[i])
//	scale, m, v     row j at j·ld (scale, m, v only with their flag)
//	w               row j at j·ldw
//	ok              per column: 1 where the postsynaptic gate is open, else 0
//	rowFlags[j]     1 row closed, 2 negate, 4 Dale sign > 0, 8 Dale sign < 0
//	par             64-byte slots of one constant each (plasticPar in cpu)
//	flags           1 soft bound, 2 L1, 4 L2, 8 bounded, 16 freeze zero,
//	                32 Adam, 64 scale, 128 one trial's outer product
//
// A lane is written when its column's gate is open, its scale is not 0 and,
// with freeze zero, its weight is not ±0; written lanes store the new weight
// (and Adam's m and v), the others store their old bits back. When a written
// lane's new weight is not finite, the kernel stores nothing of that vector
// and returns its position j·cols + i: a NaN's payload may depend on operand
// order, which only the Go code fixes, so cpu finishes the matrix there with
// it. Otherwise it returns rows·cols.
//
// oja{S,D}{AVX2,AVX512} sums Oja's term over nt trials for rows j < rows and
// columns i < cols: h[j·ldh+i] = Σ_x T(q·T(p − T(q·w))) from +0, x ascending,
// with p = pre[x·ldp+j], q = post[x·ldq+i], w = w[j·ldw+i] — the reference's
// order (trials outermost there, innermost here; every element still adds
// its terms in trial order). It reports whether some h is NaN (cpu then
// recomputes them in Go, for the payloads).

// plastic slot indices (cpu's plasticPar has the same).
const (
	parSoft = iota
	parL1
	parL2
	parRate
	parMin
	parMax
	parB1
	parOneMinusB1
	parB2
	parOneMinusB2
	parC1
	parC2
	parEps
	parSignBit
	parAbsMask
	parOne
	parMinusOne
	parInf
	parSlots
)

// vcmp predicates.
const (
	cmpEQ    = 0x00 // EQ_OQ
	cmpLT    = 0x01 // LT_OS
	cmpNLT   = 0x05 // NLT_US: not less, or unordered
	cmpNEQ   = 0x04 // NEQ_UQ
	cmpUNORD = 0x03
)

// pisa is one instruction set of the plastic kernels; masks are opmask
// registers with AVX-512 and all-ones vector lanes with AVX2.
type pisa struct {
	name  string
	bytes int
	vec   func() reg.VecVirtual
	evex  bool
}

// pprec is one precision's instructions.
type pprec struct {
	name, suffix                  string
	size                          int
	mul, add, sub, div, sqrt, mov func(ops ...Op)
	and, andn, xor, cmp, bcast    func(ops ...Op)
	blendm                        func(ops ...Op)
	blendv                        func(xy, mxy, xy1, xy2 Op)
	test                          func(mxy, xy Op)
}

var plasticISAs = []pisa{{"AVX2", 32, YMM, false}, {"AVX512", 64, ZMM, true}}

var plasticPrecs = []pprec{
	{"float32", "S", 4, VMULPS, VADDPS, VSUBPS, VDIVPS, VSQRTPS, VMOVUPS, VANDPS, VANDNPS, VXORPS, VCMPPS, VBROADCASTSS, VBLENDMPS, VBLENDVPS, VTESTPS},
	{"float64", "D", 8, VMULPD, VADDPD, VSUBPD, VDIVPD, VSQRTPD, VMOVUPD, VANDPD, VANDNPD, VXORPD, VCMPPD, VBROADCASTSD, VBLENDMPD, VBLENDVPD, VTESTPD},
}

func plasticKernels() {
	for _, s := range plasticISAs {
		for _, p := range plasticPrecs {
			synapsesKernel(s, p)
		}
	}
	for _, s := range plasticISAs {
		for _, p := range plasticPrecs {
			ojaKernel(s, p)
		}
	}
}

// km is a lane mask of one kernel: an opmask register or a vector.
type km struct {
	s pisa
	p pprec
}

func (q km) new() reg.Register {
	if q.s.evex {
		return K()
	}
	return q.s.vec()
}

// cmp returns the mask of lanes where a pred b.
func (q km) cmp(pred int, a, b Op) reg.Register {
	m := q.new()
	q.p.cmp(U8(pred), b, a, m)
	return m
}

// and sets dst = dst & m.
func (q km) and(m, dst reg.Register) {
	if q.s.evex {
		KANDW(m, dst, dst)
	} else {
		q.p.and(m, dst, dst)
	}
}

// andNot sets dst = dst & ^m.
func (q km) andNot(m, dst reg.Register) {
	if q.s.evex {
		KANDNW(dst, m, dst)
	} else {
		q.p.andn(dst, m, dst)
	}
}

// sel sets dst = m ? t : dst.
func (q km) sel(m reg.Register, t Op, dst reg.Register) {
	if q.s.evex {
		q.p.blendm(t, dst, m, dst)
	} else {
		q.p.blendv(m, t, dst, dst)
	}
}

// jumpIfAny jumps to l when some lane of m is set.
func (q km) jumpIfAny(m reg.Register, l string) {
	if q.s.evex {
		KORTESTW(m, m)
	} else {
		q.p.test(m, m)
	}
	JNZ(LabelRef(l))
}

func synapsesKernel(s pisa, p pprec) {
	lanes := s.bytes / p.size
	name := fmt.Sprintf("synapses%s%s", p.suffix, s.name)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(rows, cols int, h *%[1]s, ldh int, a *%[1]s, ld int, w *%[1]s, ldw int, scale, m, v, ok *%[1]s, rowFlags *uint8, par *%[1]s, flags int) (at int)", p.name))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s runs the per-synapse pass of a plastic update on rows < rows and columns < cols (a multiple of %d) "+
		"and returns where it stopped at a non-finite weight, or rows·cols (see cpu/internal/asmgen). Requires %s.", name, lanes, s.name))
	q := km{s, p}
	slot := func(par reg.Register, i int) Mem { return Mem{Base: par, Disp: i * 64} }

	cols := Load(Param("cols"), GP64())
	par := Load(Param("par"), GP64())
	ok := Load(Param("ok"), GP64())
	j := GP64()
	XORQ(j, j)
	zero := s.vec()
	p.xor(zero, zero, zero)
	rowLoop, nextRow, done, bail := name+"_row", name+"_next", name+"_done", name+"_bail"
	Label(rowLoop)
	{
		rows := Load(Param("rows"), GP64())
		CMPQ(j, rows)
		JGE(LabelRef(done))
	}
	// f = flags | rowFlags[j]<<8: every branch of the row on one register.
	f := GP64()
	{
		rf := Load(Param("rowFlags"), GP64())
		MOVBQZX(Mem{Base: rf, Index: j, Scale: 1}, f)
		TESTQ(U32(1), f)
		JNZ(LabelRef(nextRow))
		SHLQ(U8(8), f)
		fl := Load(Param("flags"), GP64())
		ORQ(fl, f)
	}
	// Row pointers.
	rowPtr := func(param, ldParam string) reg.Register {
		b := Load(Param(param), GP64())
		ld := Load(Param(ldParam), GP64())
		IMULQ(j, ld)
		SHLQ(U8(map[int]int{4: 2, 8: 3}[p.size]), ld)
		ADDQ(ld, b)
		return b
	}
	hp := rowPtr("h", "ldh")
	// With the outer flag, h is the post factors c (ldh 0) and a[j] the
	// row's pre factor.
	af := s.vec()
	TESTQ(U32(128), f)
	JZ(LabelRef(name + "_inner"))
	{
		ap := Load(Param("a"), GP64())
		p.bcast(Mem{Base: ap, Index: j, Scale: uint8(p.size)}, af)
	}
	Label(name + "_inner")
	wp := rowPtr("w", "ldw")
	sp := rowPtr("scale", "ld")
	mp := rowPtr("m", "ld")
	vp := rowPtr("v", "ld")
	i := GP64()
	XORQ(i, i)
	colLoop := name + "_col"
	Label(colLoop)
	at := func(b reg.Register) Mem { return Mem{Base: b, Index: i, Scale: uint8(p.size)} }
	label := func(what string) string { return fmt.Sprintf("%s_%s", name, what) }
	skipIf := func(bit int, l string) { // jump to l unless flag bit is set
		TESTQ(U32(bit), f)
		JZ(LabelRef(l))
	}

	wv := s.vec()
	p.mov(at(wp), wv)
	d := s.vec()
	TESTQ(U32(128), f)
	JNZ(LabelRef(label("outer")))
	p.mov(at(hp), d)
	JMP(LabelRef(label("term")))
	Label(label("outer"))
	p.mul(at(hp), af, d) // T(a·c), then +0 + it (the sum of one trial)
	p.add(zero, d, d)
	Label(label("term"))
	// Soft bound: d = d·(SoftBound − |w|), |w| as the Go code takes it
	// (−w where w < 0, so −0 and NaNs keep their sign).
	skipIf(1, label("nosoft"))
	{
		aw := s.vec()
		p.xor(slot(par, parSignBit), wv, aw)
		neg := q.cmp(cmpLT, wv, zero)
		t := s.vec()
		p.mov(wv, t)
		q.sel(neg, aw, t)
		sb := s.vec()
		p.mov(slot(par, parSoft), sb)
		p.sub(t, sb, sb) // SoftBound − |w|
		p.mul(sb, d, d)
	}
	Label(label("nosoft"))
	// L1: d = d − L1·sign(w), sign(±0) = sign(NaN) = +0.
	skipIf(2, label("nol1"))
	{
		sg := s.vec()
		p.xor(sg, sg, sg)
		pos := q.cmp(cmpLT, zero, wv)
		q.sel(pos, slot(par, parOne), sg)
		neg := q.cmp(cmpLT, wv, zero)
		q.sel(neg, slot(par, parMinusOne), sg)
		p.mul(slot(par, parL1), sg, sg)
		p.sub(sg, d, d)
	}
	Label(label("nol1"))
	// L2: d = d − L2·w.
	skipIf(4, label("nol2"))
	{
		t := s.vec()
		p.mul(slot(par, parL2), wv, t)
		p.sub(t, d, d)
	}
	Label(label("nol2"))
	skipIf(2<<8, label("noneg"))
	p.xor(slot(par, parSignBit), d, d)
	Label(label("noneg"))
	// g = scale·d (d itself without a scale: 1·d = d).
	var sc reg.VecVirtual
	skipIf(64, label("noscale"))
	sc = s.vec()
	p.mov(at(sp), sc)
	p.mul(sc, d, d)
	Label(label("noscale"))
	nw := s.vec()
	var mm, vv reg.VecVirtual
	mm, vv = s.vec(), s.vec()
	TESTQ(U32(32), f)
	JNZ(LabelRef(label("adam")))
	{
		t := s.vec()
		p.mul(slot(par, parRate), d, t)
		p.add(t, wv, nw)
		JMP(LabelRef(label("project")))
	}
	Label(label("adam"))
	{
		// m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·(g·g);
		// W + Rate·((m/c1) / (sqrt(v/c2) + ε)).
		t, u := s.vec(), s.vec()
		p.mov(at(mp), mm)
		p.mul(slot(par, parB1), mm, mm)
		p.mul(slot(par, parOneMinusB1), d, t)
		p.add(t, mm, mm)
		p.mov(at(vp), vv)
		p.mul(slot(par, parB2), vv, vv)
		p.mul(d, d, u)
		p.mul(slot(par, parOneMinusB2), u, u)
		p.add(u, vv, vv)
		p.div(slot(par, parC1), mm, t)
		p.div(slot(par, parC2), vv, u)
		p.sqrt(u, u)
		p.add(slot(par, parEps), u, u)
		p.div(u, t, t)
		p.mul(slot(par, parRate), t, t)
		p.add(t, wv, nw)
	}
	Label(label("project"))
	skipIf(4<<8, label("nopos"))
	{
		neg := q.cmp(cmpLT, nw, zero)
		q.sel(neg, zero, nw)
	}
	Label(label("nopos"))
	skipIf(8<<8, label("noneg2"))
	{
		pos := q.cmp(cmpLT, zero, nw)
		q.sel(pos, zero, nw)
	}
	Label(label("noneg2"))
	skipIf(8, label("nobound"))
	{
		lo := s.vec()
		p.mov(slot(par, parMin), lo)
		below := q.cmp(cmpLT, nw, lo)
		q.sel(below, lo, nw)
		hi := s.vec()
		p.mov(slot(par, parMax), hi)
		above := q.cmp(cmpLT, hi, nw)
		q.sel(above, hi, nw)
	}
	Label(label("nobound"))
	// Which lanes are written.
	okv := s.vec()
	p.mov(at(ok), okv)
	write := q.cmp(cmpNEQ, okv, zero)
	skipIf(64, label("nozeroscale"))
	{
		sc2 := s.vec()
		p.mov(at(sp), sc2)
		nz := q.cmp(cmpNEQ, sc2, zero)
		q.and(nz, write)
	}
	Label(label("nozeroscale"))
	skipIf(16, label("nofreeze"))
	{
		z := q.cmp(cmpEQ, wv, zero)
		q.andNot(z, write)
	}
	Label(label("nofreeze"))
	{
		a := s.vec()
		p.and(slot(par, parAbsMask), nw, a)
		inf := s.vec()
		p.mov(slot(par, parInf), inf)
		nf := q.cmp(cmpNLT, a, inf)
		q.and(write, nf)
		q.jumpIfAny(nf, bail)
	}
	q.sel(write, nw, wv)
	p.mov(wv, at(wp))
	skipIf(32, label("nostate"))
	{
		old := s.vec()
		p.mov(at(mp), old)
		q.sel(write, mm, old)
		p.mov(old, at(mp))
		p.mov(at(vp), old)
		q.sel(write, vv, old)
		p.mov(old, at(vp))
	}
	Label(label("nostate"))
	ADDQ(U8(lanes), i)
	CMPQ(i, cols)
	JL(LabelRef(colLoop))
	Label(nextRow)
	INCQ(j)
	JMP(LabelRef(rowLoop))

	Label(bail)
	IMULQ(cols, j)
	ADDQ(i, j)
	Store(j, Return("at"))
	VZEROUPPER()
	RET()

	Label(done)
	rows := Load(Param("rows"), GP64())
	IMULQ(cols, rows)
	Store(rows, Return("at"))
	VZEROUPPER()
	RET()
}

func ojaKernel(s pisa, p pprec) {
	lanes := s.bytes / p.size
	name := fmt.Sprintf("oja%s%s", p.suffix, s.name)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(rows, cols, nt int, h *%[1]s, ldh int, w *%[1]s, ldw int, pre *%[1]s, ldp int, post *%[1]s, ldq int) (nan bool)", p.name))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sums Oja's term over nt trials for rows < rows and columns < cols (a multiple of %d) "+
		"and reports whether some sum is NaN (see cpu/internal/asmgen). Requires %s.", name, lanes, s.name))
	q := km{s, p}
	shift := U8(map[int]int{4: 2, 8: 3}[p.size])
	cols := Load(Param("cols"), GP64())
	nanAcc := q.new()
	if s.evex {
		KXORW(nanAcc, nanAcc, nanAcc)
	} else {
		p.xor(nanAcc, nanAcc, nanAcc)
	}
	j := GP64()
	XORQ(j, j)
	rowLoop, done := name+"_row", name+"_done"
	Label(rowLoop)
	{
		rows := Load(Param("rows"), GP64())
		CMPQ(j, rows)
		JGE(LabelRef(done))
	}
	rowPtr := func(param, ldParam string) reg.Register {
		b := Load(Param(param), GP64())
		ld := Load(Param(ldParam), GP64())
		IMULQ(j, ld)
		SHLQ(shift, ld)
		ADDQ(ld, b)
		return b
	}
	hp := rowPtr("h", "ldh")
	wp := rowPtr("w", "ldw")
	i := GP64()
	XORQ(i, i)
	colLoop, trialLoop, store := name+"_col", name+"_trial", name+"_store"
	Label(colLoop)
	wv, acc := s.vec(), s.vec()
	p.mov(Mem{Base: wp, Index: i, Scale: uint8(p.size)}, wv)
	p.xor(acc, acc, acc) // +0
	pre := Load(Param("pre"), GP64())
	post := Load(Param("post"), GP64())
	ldp := Load(Param("ldp"), GP64())
	ldq := Load(Param("ldq"), GP64())
	SHLQ(shift, ldp)
	SHLQ(shift, ldq)
	LEAQ(Mem{Base: pre, Index: j, Scale: uint8(p.size)}, pre)
	LEAQ(Mem{Base: post, Index: i, Scale: uint8(p.size)}, post)
	nt := Load(Param("nt"), GP64())
	TESTQ(nt, nt)
	JZ(LabelRef(store))
	Label(trialLoop)
	{
		qv, pv, t := s.vec(), s.vec(), s.vec()
		p.mov(Mem{Base: post}, qv)
		p.bcast(Mem{Base: pre}, pv)
		p.mul(wv, qv, t) // post·w
		p.sub(t, pv, t)  // pre − post·w
		p.mul(t, qv, t)  // post·(…)
		p.add(t, acc, acc)
		ADDQ(ldp, pre)
		ADDQ(ldq, post)
		DECQ(nt)
		JNZ(LabelRef(trialLoop))
	}
	Label(store)
	p.mov(acc, Mem{Base: hp, Index: i, Scale: uint8(p.size)})
	{
		n := q.cmp(cmpUNORD, acc, acc)
		if s.evex {
			KORW(n, nanAcc, nanAcc)
		} else {
			VORPS(n, nanAcc, nanAcc)
		}
	}
	ADDQ(U8(lanes), i)
	CMPQ(i, cols)
	JL(LabelRef(colLoop))
	INCQ(j)
	JMP(LabelRef(rowLoop))
	Label(done)
	nan := GP8()
	if s.evex {
		KORTESTW(nanAcc, nanAcc)
	} else {
		VPTEST(nanAcc, nanAcc)
	}
	SETNE(nan)
	Store(nan, Return("nan"))
	VZEROUPPER()
	RET()
}
