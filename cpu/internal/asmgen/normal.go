package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The normal kernels (-set normal: cpu/normal_amd64.s) compute the float32
// noise of the unit step, cpu's normal32, for a run of consecutive units:
//
//	w0, w1 = words 0 and 1 of Philox4x32-10 of (block, step, trial, inst<<4|p)
//	z = float32(sqrt(−2·log32Uniform(w0>>9)) · cosPi32Uniform(k))
//
// where units 16g + l and 16g + l + 8 (l < 8) share block 8g + l and k is
// w1>>9 for the first and (w1>>9 + 3·2²¹) mod 2²³ for the second (the sine
// of the Box–Muller pair, backend.NormalPair32),
// with every operation of cpu/unitstep_normal.go done in the same order on
// float64 lanes: VMULPD and VADDPD/VSUBPD, each rounded to nearest (never a
// fused multiply-add), VSQRTPD (correctly rounded, as math.Sqrt), the table
// lookups by gather on the Go table logTable (invTable's 1/c by VDIVPD,
// correctly rounded as Go's division), the float32
// roundings by VCVTPD2PS; so each lane has the bits of the Go code, which
// cpu's tests prove against backend.Normal, and prove the two transforms
// against dmath at all 2²³ arguments through normalPieces32*.
//
// Layout: a 32-bit word lives in the low half of a 64-bit lane (8 lanes in a
// ZMM, 4 in a YMM). VPMULUDQ multiplies the low halves into the full 64-bit
// product, whose high half is Philox's hi and whose low half is its lo; the
// high halves of the lanes carry garbage that no multiplication reads (it
// uses the low halves only) and that is masked off before the words become
// numbers. The float64 lanes then line up with the word lanes one to one.
//
// The first round's c1, c2, c3 and the second round's c0 are the same in
// every lane; the Go side (cpu.newNormalPlan) computes what depends on them
// alone, so the kernel multiplies only where a lane's own unit enters:
//
//	plan[0]           the block of lane 0
//	plan[1]           c3 ⊕ k1, XORed into round 1's c2
//	plan[2], plan[3]  round 2's c1 ⊕ k0' and hi(M0·c0) ⊕ k1'
//	plan[4]           round 2's lo(M0·c0), its c3
//	plan[5+2i], [6+2i] the key of round 3+i, i < 8
//
// each in the low half of a uint64.

// visa is one instruction set of the normal kernels.
type visa struct {
	name  string
	lanes int                   // 64-bit lanes per vector
	vec   func() reg.VecVirtual // a full vector
	half  func() reg.VecVirtual // half a vector: float32 results, int32 indices
	evex  bool                  // AVX-512: ternary logic, opmasks, 32 registers
	ways  int                   // independent vectors in flight per iteration of Philox's pass
	lways int                   // the same for the logarithms' pass
	cways int                   // the same for the cosines' pass
}

// AVX2 has 16 registers: Philox and the logarithm (its division and table
// factors) fit two ways, the cosine four (11.4 -> 10.0 ns a normal on a
// 2-core AMD EPYC without AVX-512, BenchmarkNormals32). AVX-512's 32 fit
// four ways in every pass once the logarithm divides instead of gathering
// 1/c (two ways and the gather: 4.8 ns a normal on one Zen 4 core; four
// ways and the division: 3.9–4.0 ns; eight cosines a pass gained under 3 %
// and the gather with four ways does not fit).
var normalISAs = []visa{
	{"AVX2", 4, YMM, XMM, false, 2, 2, 4},
	{"AVX512", 8, ZMM, YMM, true, 4, 4, 4},
}

// The constants: each is a 64-byte slot (a value repeated 8 times, or 8 lane
// values), so that an AVX2 instruction reads the first 32 bytes and an
// AVX-512 one the whole slot as a memory operand.
type constant struct {
	name string
	vals []uint64 // 8 values, or 1 repeated
}

func f64(x float64) uint64 { return math.Float64bits(x) }

var normalConstants = func() []constant {
	// 0, 1, …: Philox's pass adds lanes·w + the lane to way w's counters
	// and broadcasts lanes·ways as its step, so iota runs to lanes·(ways+1).
	most := 0
	for _, s := range normalISAs {
		most = max(most, s.lanes*(s.ways+1))
	}
	iota := make([]uint64, (most+7)/8*8)
	for i := range iota {
		iota[i] = uint64(i)
	}
	cs := []constant{
		{"iota", iota},
		{"m0", []uint64{0xD2511F53}},
		{"m1", []uint64{0xCD9E8D57}},
		{"mask24", []uint64{0xFFFFFF}},
		{"odd52", []uint64{0x4330000000000001}}, // 2⁵² + 1: ORs in the 1 of 2k+1
		{"quarter", []uint64{3 << 22}},          // 2k+1 a quarter turn on (the sine's cosine)
		{"bits52", []uint64{0x4330000000000000}},
		{"two52", []uint64{f64(0x1p52)}},
		{"two52p1023", []uint64{f64(0x1p52 + 1023)}},
		{"bit51", []uint64{1 << 51}},
		{"mant", []uint64{1<<52 - 1}},
		{"one", []uint64{f64(1)}},
		{"half", []uint64{f64(0.5)}},
		{"sixtyfour", []uint64{f64(64)}},
		{"c16p5", []uint64{f64(16.5)}},
		{"sixteen", []uint64{f64(16)}},
		{"inv64", []uint64{f64(0x1p-6)}},
		{"twom24", []uint64{f64(0x1p-24)}},
		{"twom23", []uint64{f64(0x1p-23)}},
		{"minus2", []uint64{f64(-2)}},
		{"ln2hi", []uint64{f64(0x1.62e42fefa4p-01)}},
		{"ln2lo", []uint64{f64(-0x1.8432a1b0e2634p-43)}},
		{"abs", []uint64{1<<63 - 1}},
		{"sign", []uint64{1 << 63}},
		{"pi", []uint64{f64(math.Pi)}},
	}
	// log(1+r)'s Horner coefficients, as unitstep_normal.go writes them:
	// q = −1/8, then q = q·r + c for each c.
	for i, c := range []float64{-0x1p-3, 1.0 / 7, -1.0 / 6, 1.0 / 5, -1.0 / 4, 1.0 / 3, -0.5} {
		cs = append(cs, constant{fmt.Sprintf("log%d", i), []uint64{f64(c)}})
	}
	// sin's: q = −1/23!, then q = q·z + c for each c.
	for i, c := range []float64{-1.0 / 25852016738884976640000, 1.0 / 51090942171709440000, -1.0 / 121645100408832000,
		1.0 / 355687428096000, -1.0 / 1307674368000, 1.0 / 6227020800, -1.0 / 39916800,
		1.0 / 362880, -1.0 / 5040, 1.0 / 120, -1.0 / 6} {
		cs = append(cs, constant{fmt.Sprintf("sin%d", i), []uint64{f64(c)}})
	}
	return cs
}()

// normalConsts maps a constant's name to its slot, once emitted.
var normalConsts map[string]Mem

func emitNormalConstants() {
	size := 0
	for _, c := range normalConstants {
		size += 64 * ((len(c.vals) + 7) / 8)
	}
	base := GLOBL("normalconsts", RODATA|NOPTR)
	normalConsts = map[string]Mem{}
	off := 0
	for _, c := range normalConstants {
		normalConsts[c.name] = base.Offset(off)
		vals := c.vals
		if len(vals) == 1 {
			for len(vals) < 8 {
				vals = append(vals, c.vals[0])
			}
		}
		for _, v := range vals {
			DATA(off, U64(v))
			off += 8
		}
	}
	if off != size {
		panic("asmgen: constants misaligned")
	}
}

// k is the memory operand of constant name (lane values at lane offset).
func k(name string) Mem {
	m, ok := normalConsts[name]
	if !ok {
		panic("asmgen: no constant " + name)
	}
	return m
}

func normalKernels() {
	emitNormalConstants()
	for _, s := range normalISAs {
		normalsKernel(s)
	}
	for _, s := range normalISAs {
		piecesKernel(s)
	}
}

// Bitwise operations of s (AVX-512's EVEX forms are VPANDQ …, AVX2's VPAND …).
func (s visa) and(a, b, dst Op) {
	if s.evex {
		VPANDQ(a, b, dst)
	} else {
		VPAND(a, b, dst)
	}
}

func (s visa) or(a, b, dst Op) {
	if s.evex {
		VPORQ(a, b, dst)
	} else {
		VPOR(a, b, dst)
	}
}

func (s visa) xor(a, b, dst Op) {
	if s.evex {
		VPXORQ(a, b, dst)
	} else {
		VPXOR(a, b, dst)
	}
}

// andOr sets x = x&m | o.
func (s visa) andOr(m, o Mem, x reg.VecVirtual) {
	if s.evex {
		t := s.vec()
		VMOVDQU64(m, t)
		VPTERNLOGQ(U8(0xEA), o, t, x) // A&B | C with A = x, B = t, C = o
		return
	}
	VPAND(m, x, x)
	VPOR(o, x, x)
}

// cvtToSingle rounds the float64 lanes of x to float32 (round to nearest).
func (s visa) cvtToSingle(x reg.VecVirtual) reg.VecVirtual {
	h := s.half()
	if s.evex {
		VCVTPD2PS(x, h)
	} else {
		VCVTPD2PSY(x, h)
	}
	return h
}

// truncIndex truncates the float64 lanes of x to int32 lanes.
func (s visa) truncIndex(x reg.VecVirtual) reg.VecVirtual {
	h := s.half()
	if s.evex {
		VCVTTPD2DQ(x, h)
	} else {
		VCVTTPD2DQY(x, h)
	}
	return h
}

// gather returns the float64 lanes table[idx] (idx int32 lanes).
func (s visa) gather(table reg.Register, idx reg.VecVirtual) reg.VecVirtual {
	dst := s.vec()
	s.xor(dst, dst, dst) // defined before the gather merges into it
	mem := Mem{Base: table, Index: idx, Scale: 8}
	if s.evex {
		m := K()
		KXNORW(m, m, m)
		VGATHERDPD(mem, m, dst)
	} else {
		m := s.vec()
		VPCMPEQQ(m, m, m)
		VGATHERDPD(m, mem, dst)
	}
	return dst
}

// each runs f for every way w.
func each[T any](xs []T, f func(w int, x T)) {
	for w, x := range xs {
		f(w, x)
	}
}

func vecs(s visa, n int) []reg.VecVirtual {
	v := make([]reg.VecVirtual, n)
	for i := range v {
		v[i] = s.vec()
	}
	return v
}

// philox returns words 0 and 1 of Philox4x32-10 for the counters (c0[w],
// plan's c1 … c3), c0[w] holding a unit in each lane (see the file comment
// on the plan). The ways are interleaved instruction by instruction.
func philox(s visa, plan reg.Register, c0 []reg.VecVirtual) (w0, w1 []reg.VecVirtual) {
	n := len(c0)
	pm := func(i int) Mem { return Mem{Base: plan, Disp: 8 * i} }
	m0, m1 := s.vec(), s.vec()
	VMOVDQU64orU(s, k("m0"), m0)
	VMOVDQU64orU(s, k("m1"), m1)
	// xorKey sets x ^= y ^ plan[i].
	var bc reg.VecVirtual
	broadcast := func(i int) {
		if !s.evex {
			bc = s.vec()
			VPBROADCASTQ(pm(i), bc)
		}
	}
	xorKey := func(x, y reg.VecVirtual, i int) {
		if s.evex {
			VPTERNLOGQ_BCST(U8(0x96), pm(i), y, x)
			return
		}
		VPXOR(y, x, x)
		VPXOR(bc, x, x)
	}
	xorPlan := func(x reg.VecVirtual, i int) {
		if s.evex {
			VPXORQ_BCST(pm(i), x, x)
			return
		}
		VPXOR(bc, x, x)
	}
	c1, c2, c3 := vecs(s, n), vecs(s, n), vecs(s, n)
	// Round 1: c2 = hi(M0·c0) ⊕ c3 ⊕ k1, c3 = lo(M0·c0); c0, c1 are the plan's.
	broadcast(1)
	each(c0, func(w int, x reg.VecVirtual) {
		VPMULUDQ(m0, x, c3[w])
		VPSRLQ(U8(32), c3[w], c2[w])
		xorPlan(c2[w], 1)
	})
	// Round 2: c0 = hi(M1·c2) ⊕ plan[2], c1 = lo(M1·c2), c2 = c3 ⊕ plan[3],
	// c3 = plan[4].
	broadcast(2)
	each(c2, func(w int, x reg.VecVirtual) {
		VPMULUDQ(m1, x, c1[w])
		VPSRLQ(U8(32), c1[w], c0[w])
		xorPlan(c0[w], 2)
	})
	broadcast(3)
	each(c3, func(w int, x reg.VecVirtual) {
		c2[w] = s.vec()
		if s.evex {
			VPXORQ_BCST(pm(3), x, c2[w])
		} else {
			VPXOR(bc, x, c2[w])
		}
	})
	s3 := s.vec()
	VPBROADCASTQ(pm(4), s3)
	for w := range c3 {
		c3[w] = s3
	}
	// Rounds 3 … 10 with the plan's keys.
	for r := 0; r < 8; r++ {
		last := r == 7
		p0, p1 := vecs(s, n), vecs(s, n)
		for w := range c0 {
			if !last { // round 10 needs no c2, c3
				VPMULUDQ(m0, c0[w], p0[w])
			}
			VPMULUDQ(m1, c2[w], p1[w])
		}
		// c0 = hi1 ⊕ c1 ⊕ k0, c1 = lo1, c2 = hi0 ⊕ c3 ⊕ k1, c3 = lo0.
		h := vecs(s, n)
		broadcast(5 + 2*r)
		for w := range c0 {
			VPSRLQ(U8(32), p1[w], h[w])
			xorKey(h[w], c1[w], 5+2*r)
		}
		if !last {
			g := vecs(s, n)
			broadcast(6 + 2*r)
			for w := range c0 {
				VPSRLQ(U8(32), p0[w], g[w])
				xorKey(g[w], c3[w], 6+2*r)
			}
			c2, c3 = g, p0
		}
		c0, c1 = h, p1
	}
	return c0, c1
}

// VMOVDQU64orU loads a full vector.
func VMOVDQU64orU(s visa, m Mem, x reg.VecVirtual) {
	if s.evex {
		VMOVDQU64(m, x)
	} else {
		VMOVDQU(m, x)
	}
}

// uniformOdd returns the float64 lanes 2k+1, k = (low half of w)>>9,
// exactly: (2⁵² + 2k+1) − 2⁵² from its bits.
func uniformOdd(s visa, w []reg.VecVirtual) []reg.VecVirtual { return uniformOddTurned(s, w, false) }

// uniformOddTurned is uniformOdd, or with quarter (2k+1 + 3·2²²) mod 2²⁴:
// the cosine's argument that is the sine of 2k+1 (backend.CosArg32).
func uniformOddTurned(s visa, w []reg.VecVirtual, quarter bool) []reg.VecVirtual {
	d := vecs(s, len(w))
	each(w, func(i int, x reg.VecVirtual) {
		VPSRLD(U8(8), x, d[i]) // (w>>9)<<1 in bits 1 … 23, garbage above bit 31
		if quarter {
			VPADDD(k("quarter"), d[i], d[i]) // carries past bit 23 are masked off
		}
		s.andOr(k("mask24"), k("odd52"), d[i])
	})
	each(d, func(i int, x reg.VecVirtual) { VSUBPD(k("two52"), x, x) })
	return d
}

// log32 returns log32Uniform(k) as float32 lanes (a half vector each) for
// the float64 lanes x = 2k+1 (overwritten).
func log32(s visa, logT reg.Register, x []reg.VecVirtual) []reg.VecVirtual {
	n := len(x)
	// x = (2k+1)·2⁻²⁴; b = its bits.
	each(x, func(i int, x reg.VecVirtual) { VMULPD(k("twom24"), x, x) })
	// hs = half<<52 = (b & 1<<51) << 1.
	hs := vecs(s, n)
	each(x, func(i int, x reg.VecVirtual) {
		s.and(k("bit51"), x, hs[i])
		VPSLLQ(U8(1), hs[i], hs[i])
	})
	// ef = float64(e), e = (b + hs)>>52 − 1023: via (2⁵² + (b+hs)>>52) − (2⁵² + 1023).
	ef := vecs(s, n)
	each(x, func(i int, x reg.VecVirtual) {
		VPADDQ(hs[i], x, ef[i])
		VPSRLQ(U8(52), ef[i], ef[i])
		s.or(k("bits52"), ef[i], ef[i])
		VSUBPD(k("two52p1023"), ef[i], ef[i])
	})
	// m = b&mant | (1023−half)<<52 = (b&mant | 1.0) − hs, in place of x.
	m := x
	each(m, func(i int, x reg.VecVirtual) {
		s.andOr(k("mant"), k("one"), x)
		VPSUBQ(hs[i], x, x)
	})
	// j+16 = trunc((m−1)·64 + 16.5); c = 1 + j/64.
	idx, c := make([]reg.VecVirtual, n), vecs(s, n)
	each(m, func(i int, x reg.VecVirtual) {
		y := c[i]
		VSUBPD(k("one"), x, y)
		VMULPD(k("sixtyfour"), y, y)
		VADDPD(k("c16p5"), y, y)
		idx[i] = s.truncIndex(y)
	})
	each(idx, func(i int, j reg.VecVirtual) {
		VCVTDQ2PD(j, c[i])
		VSUBPD(k("sixteen"), c[i], c[i])
		VMULPD(k("inv64"), c[i], c[i])
		VADDPD(k("one"), c[i], c[i])
	})
	inv, lt := make([]reg.VecVirtual, n), make([]reg.VecVirtual, n)
	each(idx, func(i int, j reg.VecVirtual) {
		// 1/c correctly rounded, as invTable holds it (c = 1 + j/64 is
		// exact): one division costs less than a gather from the table
		// (AVX2: 10.5 -> 8.9 ns a normal on a 2-core AMD EPYC) and needs no
		// index and mask registers, which lets AVX-512 run four ways.
		inv[i] = s.vec()
		VMOVUPD(k("one"), inv[i])
		VDIVPD(c[i], inv[i], inv[i])
		lt[i] = s.gather(logT, j)
	})
	// r = (m − c)·inv, r2 = r·r.
	r, r2 := c, vecs(s, n)
	each(m, func(i int, x reg.VecVirtual) {
		VSUBPD(c[i], x, r[i])
		VMULPD(inv[i], r[i], r[i])
		VMULPD(r[i], r[i], r2[i])
	})
	// q = −1/8; q = q·r + c … (the adds of negative constants as written).
	q := inv
	each(r, func(i int, x reg.VecVirtual) { VMULPD(k("log0"), x, q[i]) })
	for j := 1; j < 7; j++ {
		each(q, func(i int, x reg.VecVirtual) { VADDPD(k(fmt.Sprintf("log%d", j)), x, x) })
		if j < 6 {
			each(q, func(i int, x reg.VecVirtual) { VMULPD(r[i], x, x) })
		}
	}
	// lp = r + r2·q; result (ef·ln2Hi + logT) + (lp + ef·ln2Lo).
	out := make([]reg.VecVirtual, n)
	each(q, func(i int, x reg.VecVirtual) {
		VMULPD(r2[i], x, x)
		VADDPD(r[i], x, x) // lp
		lo := r2[i]
		VMULPD(k("ln2lo"), ef[i], lo)
		VADDPD(lo, x, x)
		VMULPD(k("ln2hi"), ef[i], ef[i])
		VADDPD(lt[i], ef[i], ef[i])
		VADDPD(x, ef[i], ef[i])
		out[i] = s.cvtToSingle(ef[i])
	})
	return out
}

// cos32 returns cosPi32Uniform(k) as float32 lanes for the float64 lanes
// y = 2k+1 (overwritten).
func cos32(s visa, y []reg.VecVirtual) []reg.VecVirtual {
	n := len(y)
	// y = (2k+1)·2⁻²³; t = π·(½ − |1 − y|); z = t·t.
	t, z := vecs(s, n), vecs(s, n)
	each(y, func(i int, x reg.VecVirtual) {
		VMULPD(k("twom23"), x, x)
		VMOVDQU64orU(s, k("one"), t[i])
		VSUBPD(x, t[i], t[i])
		s.and(k("abs"), t[i], t[i])
		VMOVDQU64orU(s, k("half"), x)
		VSUBPD(t[i], x, x)
		VMULPD(k("pi"), x, t[i])
		VMULPD(t[i], t[i], z[i])
	})
	q := y
	each(z, func(i int, x reg.VecVirtual) { VMULPD(k("sin0"), x, q[i]) })
	for j := 1; j < 11; j++ {
		each(q, func(i int, x reg.VecVirtual) { VADDPD(k(fmt.Sprintf("sin%d", j)), x, x) })
		if j < 10 {
			each(q, func(i int, x reg.VecVirtual) { VMULPD(z[i], x, x) })
		}
	}
	// v = −(t + t·(z·q)).
	out := make([]reg.VecVirtual, n)
	each(q, func(i int, x reg.VecVirtual) {
		VMULPD(z[i], x, x)
		VMULPD(t[i], x, x)
		VADDPD(t[i], x, x)
		s.xor(k("sign"), x, x)
		out[i] = s.cvtToSingle(x)
	})
	return out
}

// normalsKernel emits normals32<ISA>, in three passes over the units, each
// of whose iterations are independent, so the processor overlaps several
// of them (one pass would be a single chain of ~250 cycles per vector):
// Philox of each block and the odd numbers 2k+1 into scratch (one for the
// block's logarithm, two for its units' cosines), then the square roots
// into z (each at both units of its block), then the cosines times the
// roots into z. The units' blocks (backend.NormalPair32): units 16g + l and
// 16g + l + 8, l < 8, share block 8g + l, so consecutive blocks fill whole
// vectors of units: a vector of blocks 8g + l0 … covers units 16g + l0 …
// (cosines) and 16g + l0 + 8 … (sines).
func normalsKernel(s visa) {
	name := "normals32" + s.name
	width := max(2*s.lanes*max(s.ways, s.lways), s.lanes*s.cways)
	pwidth, lwidth, cwidth := s.lanes*s.ways, s.lanes*s.lways, s.lanes*s.cways
	if pwidth%8 != 0 || lwidth%8 != 0 {
		panic("asmgen: a pass of the normals must cover whole groups of 8 blocks")
	}
	TEXT(name, NOSPLIT, "func(z *float32, n int, plan *[21]uint64, logT *[49]float64, scratch *[256]float64)")
	Pragma("noescape") // so that the callers' buffers stay on their stacks
	Doc(fmt.Sprintf("%s sets z[j] to normal32 of unit 2·plan[0]+j (plan[0] the first unit's block, a multiple of 8; "+
		"the counters and key in plan, see cpu/internal/asmgen) for j < n, "+
		"a multiple of %d up to 128, with scratch space for 3n/2 float64. Requires %s.", name, width, s.name))
	z := Load(Param("z"), GP64())
	n := Load(Param("n"), GP64())
	plan := Load(Param("plan"), GP64())
	logT := Load(Param("logT"), GP64())
	scratch := Load(Param("scratch"), GP64())
	done := name + "_done"
	TESTQ(n, n)
	JZ(LabelRef(done))
	const odd1 = 128 * 8 // the units' cosines' 2k+1 in scratch; the blocks' logarithms' below
	// unitOf is the unit, within a pass's iteration, of lane 0 of the w-th
	// vector of blocks (its cosine; its sine is 8 units on).
	unitOf := func(w int) int { q := s.lanes * w; return q/8*16 + q%8 }
	blocks := GP64() // n/2
	MOVQ(n, blocks)
	SHRQ(U8(1), blocks)

	// Pass 1: the words of Philox, as 2k+1 for log (scratch[q], block q)
	// and cos (scratch[128+j], unit j).
	base, step := s.vec(), s.vec()
	VPBROADCASTQ(Mem{Base: plan}, base)
	VPBROADCASTQ(k("iota").Offset(8*pwidth), step) // pwidth in every lane
	p, pc, cnt := GP64(), GP64(), GP64()
	MOVQ(scratch, p)
	LEAQ(Mem{Base: scratch, Disp: odd1}, pc)
	MOVQ(blocks, cnt)
	Label(name + "_philox")
	c0 := vecs(s, s.ways)
	each(c0, func(w int, x reg.VecVirtual) { VPADDD(k("iota").Offset(8*s.lanes*w), base, x) })
	w0, w1 := philox(s, plan, c0)
	each(uniformOdd(s, w0), func(w int, x reg.VecVirtual) { VMOVUPD(x, Mem{Base: p, Disp: 8 * s.lanes * w}) })
	each(uniformOdd(s, w1), func(w int, x reg.VecVirtual) {
		VMOVUPD(x, Mem{Base: pc, Disp: 8 * unitOf(w)})
	})
	each(uniformOddTurned(s, w1, true), func(w int, x reg.VecVirtual) {
		VMOVUPD(x, Mem{Base: pc, Disp: 8 * (unitOf(w) + 8)})
	})
	VPADDD(step, base, base)
	ADDQ(U32(8*pwidth), p)
	ADDQ(U32(8*2*pwidth), pc)
	SUBQ(U32(pwidth), cnt)
	JNZ(LabelRef(name + "_philox"))

	// Pass 2: z[j] = float32(sqrt(float64(l·−2))) for l = log32Uniform of
	// j's block, at both of its units: the scaling is exact.
	zp := GP64()
	MOVQ(scratch, p)
	MOVQ(z, zp)
	MOVQ(blocks, cnt)
	Label(name + "_log")
	x := vecs(s, s.lways)
	each(x, func(w int, x reg.VecVirtual) { VMOVUPD(Mem{Base: p, Disp: 8 * s.lanes * w}, x) })
	l := log32(s, logT, x)
	each(l, func(w int, x reg.VecVirtual) {
		d := s.vec()
		VCVTPS2PD(x, d)
		VMULPD(k("minus2"), d, d)
		VSQRTPD(d, d)
		r := s.cvtToSingle(d)
		VMOVUPS(r, Mem{Base: zp, Disp: 4 * unitOf(w)})
		VMOVUPS(r, Mem{Base: zp, Disp: 4 * (unitOf(w) + 8)})
	})
	ADDQ(U32(8*lwidth), p)
	ADDQ(U32(4*2*lwidth), zp)
	SUBQ(U32(lwidth), cnt)
	JNZ(LabelRef(name + "_log"))

	// Pass 3: z[j] = float32(z[j] · cosPi32Uniform).
	MOVQ(scratch, p)
	MOVQ(z, zp)
	MOVQ(n, cnt)
	Label(name + "_cos")
	y := vecs(s, s.cways)
	each(y, func(w int, x reg.VecVirtual) { VMOVUPD(Mem{Base: p, Disp: odd1 + 8*s.lanes*w}, x) })
	c := cos32(s, y)
	each(c, func(w int, x reg.VecVirtual) {
		m := Mem{Base: zp, Disp: 4 * s.lanes * w}
		VMULPS(m, x, x)
		VMOVUPS(x, m)
	})
	ADDQ(U32(8*cwidth), p)
	ADDQ(U32(4*cwidth), zp)
	SUBQ(U32(cwidth), cnt)
	JNZ(LabelRef(name + "_cos"))
	Label(done)
	VZEROUPPER()
	RET()
}

// piecesKernel emits normalPieces32<ISA>, the two transforms alone, for
// the exhaustive tests.
func piecesKernel(s visa) {
	name := "normalPieces32" + s.name
	TEXT(name, NOSPLIT, "func(w *uint32, n int, logs, coss *float32, logT *[49]float64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets logs[j] = log32Uniform(w[j]>>9) and coss[j] = cosPi32Uniform(w[j]>>9) for j < n, "+
		"a multiple of %d, with the instructions of normals32%s. Requires %s.", name, s.lanes, s.name, s.name))
	w := Load(Param("w"), GP64())
	cnt := Load(Param("n"), GP64())
	logs := Load(Param("logs"), GP64())
	coss := Load(Param("coss"), GP64())
	logT := Load(Param("logT"), GP64())
	loop, done := name+"_loop", name+"_done"
	TESTQ(cnt, cnt)
	JZ(LabelRef(done))
	Label(loop)
	x := s.vec()
	VPMOVZXDQ(Mem{Base: w}, x)
	l := log32(s, logT, uniformOdd(s, []reg.VecVirtual{x}))
	VMOVUPS(l[0], Mem{Base: logs})
	c := cos32(s, uniformOdd(s, []reg.VecVirtual{x}))
	VMOVUPS(c[0], Mem{Base: coss})
	ADDQ(U32(4*s.lanes), w)
	ADDQ(U32(4*s.lanes), logs)
	ADDQ(U32(4*s.lanes), coss)
	SUBQ(U32(s.lanes), cnt)
	JNZ(LabelRef(loop))
	Label(done)
	VZEROUPPER()
	RET()
}
