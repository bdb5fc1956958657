package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The unit kernels (-set unit: cpu/unitstep_amd64.s) are the float32 relu
// unit step of cpu's unitStep32 on a block of units whose normals are
// drawn (zPre, zPost): for each unit j < n, a multiple of the lanes,
//
//	v' = T(decay·v) + T(alpha·x)
//	if pre ≠ 0:  v' = v' + T(pre·zPre)
//	r' = v' if v' > 0, else +0
//	if post ≠ 0: r' = r' + T(post·zPost)
//
// each product rounded by VMULPS and added by a separate VADDPS (no fused
// multiply-add), the two branches on a unit's noise as lane masks (an
// addition that is skipped keeps −0 and the value's bits), so every lane
// has the Go code's bits. When v' or r' of some lane is not finite the
// kernel stores nothing of that vector and returns its first unit (cpu then
// finishes the block in Go, whose NaN payloads are the contract's);
// otherwise it returns n.
//
// The rate kernels rateEuler{S,D}{AVX2,AVX512} are the forward-Euler unit
// part of a rate-form step (backend.RateUnits' Velocity, EulerFinish and
// Finish) on units of one supralinear range without post-activation noise:
// for each unit j < n, a multiple of the lanes,
//
//	a  = min(max(x, floor), ceiling)      (backend.Supra)
//	k  = T(invTau·(a − r))                ((−r) + a: the same sum)
//	r' = r + T(dt·k)
//	r' = +0 if clip and r' < 0
//
// VMAXP and VMINP return their second source when the other is not
// greater (less), which is backend.Supra's value whenever floor and
// ceiling are nonzero (equal operands are then the same bits) and x is not
// NaN; a NaN x passes both as itself, as in Supra. The caller runs the
// kernel only for such ranges. A vector with a non-finite r' is left
// unwritten and its first unit returned (cpu then finishes the range in
// Go); otherwise the kernel returns n.
func unitKernels() {
	for _, s := range plasticISAs {
		unitReLU(s, plasticPrecs[0])
	}
	for _, s := range plasticISAs {
		for _, p := range plasticPrecs {
			rateEuler(s, p)
		}
	}
}

func rateEuler(s pisa, p pprec) {
	lanes := s.bytes / p.size
	name := fmt.Sprintf("rateEuler%s%s", p.suffix, s.name)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(n int, x, r, invTau *%[1]s, floor, ceiling, dt %[1]s, clip int) (at int)", p.name))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s runs the Euler step of supralinear rate units < n (a multiple of %d) "+
		"and returns where it stopped at a non-finite rate, or n (see cpu/internal/asmgen). Requires %s.", name, lanes, s.name))
	q := km{s, p}
	vmax, vmin := VMAXPD, VMINPD
	if p.size == 4 {
		vmax, vmin = VMAXPS, VMINPS
	}
	n := Load(Param("n"), GP64())
	x := Load(Param("x"), GP64())
	r := Load(Param("r"), GP64())
	inv := Load(Param("invTau"), GP64())
	clip := Load(Param("clip"), GP64())
	bcast := func(name string) reg.VecVirtual {
		v := s.vec()
		broadcastParam(p.bcast, name, v)
		return v
	}
	floor, ceiling, dt := bcast("floor"), bcast("ceiling"), bcast("dt")
	zero := s.vec()
	p.xor(zero, zero, zero)
	i := GP64()
	XORQ(i, i)
	loop, done, bail, noclip := name+"_loop", name+"_done", name+"_bail", name+"_noclip"
	TESTQ(n, n)
	JZ(LabelRef(done))
	Label(loop)
	at := func(base reg.Register) Mem { return Mem{Base: base, Index: i, Scale: uint8(p.size)} }
	a, rv, k, d := s.vec(), s.vec(), s.vec(), s.vec()
	vmax(at(x), floor, a) // floor > x ? floor : x
	vmin(a, ceiling, a)   // ceiling < a ? ceiling : a
	p.mov(at(r), rv)
	p.sub(rv, a, k)      // a − r
	p.mul(at(inv), k, k) // invTau·…
	p.mul(dt, k, d)      // dt·k
	p.add(d, rv, rv)     // r + …
	TESTQ(clip, clip)
	JZ(LabelRef(noclip))
	neg := q.cmp(cmpLT, rv, zero) // r' < 0 (−0 and NaN stay)
	q.sel(neg, zero, rv)
	Label(noclip)
	p.sub(rv, rv, d)
	bad := q.cmp(cmpNEQ, d, zero) // r' − r' ≠ 0: ±Inf or NaN
	q.jumpIfAny(bad, bail)
	p.mov(rv, at(r))
	unitLoopEnd(i, n, lanes, loop, done, bail)
}

func unitReLU(s pisa, p pprec) {
	lanes := s.bytes / p.size
	name := "unitReLU32" + s.name
	TEXT(name, NOSPLIT, "func(n int, decay, alpha, pre, post, x, v, r, zPre, zPost *float32) (at int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s runs the relu unit step on units < n (a multiple of %d) with the drawn normals zPre and zPost "+
		"and returns where it stopped at a non-finite value, or n (see cpu/internal/asmgen). Requires %s.", name, lanes, s.name))
	q := km{s, p}
	n := Load(Param("n"), GP64())
	ptrs := map[string]reg.Register{}
	for _, a := range []string{"decay", "alpha", "pre", "post", "x", "v", "r", "zPre", "zPost"} {
		ptrs[a] = Load(Param(a), GP64())
	}
	absMask, inf, zero := s.vec(), s.vec(), s.vec()
	p.xor(zero, zero, zero)
	// All ones, shifted: 0x7fffffff (|x|) and 0x7f800000 (+Inf).
	t := GP32()
	MOVL(U32(0x7fffffff), t)
	if s.evex {
		VPBROADCASTD(t, absMask)
	} else {
		x := XMM()
		VMOVD(t, x) // VEX: no legacy-SSE instruction (see broadcastParam)
		VPBROADCASTD(x, absMask)
	}
	MOVL(U32(0x7f800000), t)
	if s.evex {
		VPBROADCASTD(t, inf)
	} else {
		x := XMM()
		VMOVD(t, x) // VEX: no legacy-SSE instruction (see broadcastParam)
		VPBROADCASTD(x, inf)
	}
	i := GP64()
	XORQ(i, i)
	loop, done, bail := name+"_loop", name+"_done", name+"_bail"
	TESTQ(n, n)
	JZ(LabelRef(done))
	Label(loop)
	at := func(a string) Mem { return Mem{Base: ptrs[a], Index: i, Scale: 4} }
	vi, u := s.vec(), s.vec()
	p.mov(at("decay"), vi)
	p.mul(at("v"), vi, vi) // decay·v
	p.mov(at("alpha"), u)
	p.mul(at("x"), u, u) // alpha·x
	p.add(u, vi, vi)
	noise := func(sigma, z string, dst reg.VecVirtual) {
		sp, prod := s.vec(), s.vec()
		p.mov(at(sigma), sp)
		p.mul(at(z), sp, prod)
		p.add(prod, dst, prod)
		on := q.cmp(cmpNEQ, sp, zero)
		q.sel(on, prod, dst)
	}
	noise("pre", "zPre", vi)
	ri := s.vec()
	p.xor(ri, ri, ri)
	pos := q.cmp(cmpLT, zero, vi)
	q.sel(pos, vi, ri)
	noise("post", "zPost", ri)
	// Stop before a vector with a non-finite v' or r'.
	for _, x := range []reg.VecVirtual{vi, ri} {
		a := s.vec()
		p.and(absMask, x, a)
		nf := q.cmp(cmpNLT, a, inf)
		q.jumpIfAny(nf, bail)
	}
	p.mov(vi, at("v"))
	p.mov(ri, at("r"))
	unitLoopEnd(i, n, lanes, loop, done, bail)
}

// unitLoopEnd closes a unit kernel's loop over i < n by lanes: it returns
// n at done, or i (the vector it stopped before) at bail.
func unitLoopEnd(i, n reg.Register, lanes int, loop, done, bail string) {
	ADDQ(U8(lanes), i)
	CMPQ(i, n)
	JL(LabelRef(loop))
	Label(done)
	Store(n, Return("at"))
	VZEROUPPER()
	RET()
	Label(bail)
	Store(i, Return("at"))
	VZEROUPPER()
	RET()
}
