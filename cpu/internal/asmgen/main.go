package main

import (
	"flag"
	"fmt"
	"log"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isa is one instruction set's register file.
type isa struct {
	name  string
	bytes int // vector register width in bytes
	vec   func() reg.VecVirtual
	mrMax int  // rows of the largest tile
	mask  bool // comparisons write opmask registers (AVX-512)
	// unroll is the rows of b per loop iteration. AVX2's 6×16 tile issues
	// 24 floating-point operations a row of b, four pipes' worth for 6
	// cycles, and 7 others (the row's index and its loop): two rows an
	// iteration leave fewer of those to dispatch beside them.
	unroll int
}

// prec is one precision's instructions.
type prec struct {
	name     string // Go type
	size     int    // bytes per element
	bcast    func(ops ...Op)
	mul, add func(ops ...Op)
	mov      func(ops ...Op)
	xor      func(ops ...Op)
	cmp, or  func(ops ...Op)
	// mulBcst multiplies by a memory operand broadcast to every lane
	// (AVX-512's embedded broadcast). AVX-512 tiles use it instead of a
	// broadcast into a register and a multiply: on a Zen 4 core the
	// separate broadcasts took issue slots from the multiplies, and one
	// core's 64×2048×2052 packed product went from 73 to 108 GFLOP/s
	// (BenchmarkGemm, -cpu 1). The product is the same rounded one.
	mulBcst func(ops ...Op)
	movmsk  func(xy, r Op) // AVX2's sign bits of a comparison into a general register
}

// letter is the precision's letter in kernel names, as in BLAS: S or D.
func (p prec) letter() string { return map[string]string{"float32": "S", "float64": "D"}[p.name] }

const vectors = 2 // vector registers per tile row: nr = vectors · lanes

// set selects the kernels one run writes: each set has its own output
// files (see the go:generate lines in cpu/gemm.go and cpu/normal.go).
var set = flag.String("set", "gemm", "kernels to generate: gemm (cpu/gemm_amd64.s), normal (cpu/normal_amd64.s), gather (cpu/sparse_amd64.s), plastic (cpu/plastic_amd64.s), unit (cpu/unitstep_amd64.s) or l5 (cpu/l5_amd64.s)")

func main() {
	flag.Parse()
	switch *set {
	case "gemm":
		gemmKernels()
	case "normal":
		normalKernels()
	case "gather":
		gatherKernels()
	case "plastic":
		plasticKernels()
	case "unit":
		unitKernels()
	case "l5":
		l5Kernels()
	default:
		log.Fatalf("asmgen: unknown -set %q", *set)
	}
	Generate()
}

// gemmKernels emits the tile kernels of every instruction set and precision.
func gemmKernels() {
	isas := []isa{
		// 16 YMM registers: 6×2 accumulators, 2 rows of b, the broadcast
		// factor and one product.
		{"AVX2", 32, YMM, 6, false, 2},
		// 32 ZMM registers: 12×2 accumulators leave room to spare.
		{"AVX512", 64, ZMM, 12, true, 1},
	}
	precs := []prec{
		{"float32", 4, VBROADCASTSS, VMULPS, VADDPS, VMOVUPS, VXORPS, VCMPPS, VORPS, VMULPS_BCST, VMOVMSKPS},
		{"float64", 8, VBROADCASTSD, VMULPD, VADDPD, VMOVUPD, VXORPD, VCMPPD, VORPD, VMULPD_BCST, VMOVMSKPD},
	}
	for _, s := range isas {
		for _, p := range precs {
			for mr := 1; mr <= s.mrMax; mr++ {
				kernel(s, p, mr)
			}
			nonzeroKernel(s, p)
		}
	}
}

// kernel emits the mr-row tile kernel of s and p.
func kernel(s isa, p prec, mr int) {
	lanes := s.bytes / p.size
	name := fmt.Sprintf("gemm%s%s_%dx%d", p.letter(), s.name, mr, vectors*lanes)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(k int, a *%[1]s, lda int, rows *int, b *%[1]s, ldb int, c *%[1]s, ldc int) (nan bool)", p.name))
	Doc(fmt.Sprintf("%s computes the %d×%d tile c = a·b over the k columns l of a (%d rows, stride lda) listed in rows, "+
		"and the same rows l of b, and reports whether the tile holds a NaN. Requires %s.",
		name, mr, vectors*lanes, mr, s.name))
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	rows := Load(Param("rows"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	shift := U8(map[int]int{4: 2, 8: 3}[p.size])
	SHLQ(shift, ldb)
	SHLQ(shift, ldc)
	// Row i of a is at a + i·lda: rows come in groups of four, each group
	// from its own base, at 0, lda, 2·lda and 3·lda from it.
	SHLQ(shift, lda)
	var lda3 reg.GPVirtual
	if mr > 3 {
		lda3 = GP64()
		LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	}
	rowOf := func(base reg.Register, j int) Mem {
		switch j {
		case 0:
			return Mem{Base: base}
		case 3:
			return Mem{Base: base, Index: lda3, Scale: 1}
		}
		return Mem{Base: base, Index: lda, Scale: uint8(j)}
	}

	acc := make([][vectors]reg.VecVirtual, mr)
	for i := range acc {
		for v := range acc[i] {
			acc[i][v] = s.vec()
			p.xor(acc[i][v], acc[i][v], acc[i][v]) // +0
		}
	}
	loop, store := name+"_loop", name+"_store"
	// step adds the products of the u-th next listed row of b.
	step := func(u int) {
		// Column l of a, and row l of b: l times the stride.
		off := GP64()
		MOVQ(Mem{Base: rows, Disp: 8 * u}, off)
		bases := []reg.Register{GP64()}
		LEAQ(Mem{Base: a, Index: off, Scale: uint8(p.size)}, bases[0])
		for g := 1; g < (mr+3)/4; g++ {
			bases = append(bases, GP64())
			LEAQ(Mem{Base: bases[g-1], Index: lda, Scale: 4}, bases[g])
		}
		IMULQ(ldb, off)
		var row [vectors]reg.VecVirtual
		for v := range row {
			row[v] = s.vec()
			p.mov(Mem{Base: b, Index: off, Scale: 1, Disp: v * s.bytes}, row[v])
		}
		for i := 0; i < mr; i++ {
			fa := rowOf(bases[i/4], i%4)
			if s.mask {
				for v := range row {
					prod := s.vec()
					p.mulBcst(fa, row[v], prod)
					p.add(prod, acc[i][v], acc[i][v])
				}
				continue
			}
			f := s.vec()
			p.bcast(fa, f)
			for v := range row {
				prod := s.vec()
				p.mul(row[v], f, prod)            // the rounded product,
				p.add(prod, acc[i][v], acc[i][v]) // then the sum, in row order
			}
		}
	}
	TESTQ(k, k)
	JZ(LabelRef(store))
	if s.unroll > 1 {
		// The first k mod unroll rows one at a time, then unroll a loop.
		peel, rest := name+"_peel", name+"_rest"
		Label(peel)
		TESTQ(U32(s.unroll-1), k)
		JZ(LabelRef(rest))
		step(0)
		ADDQ(U32(8), rows)
		DECQ(k)
		JMP(LabelRef(peel))
		Label(rest)
		TESTQ(k, k)
		JZ(LabelRef(store))
	}
	Label(loop)
	for u := 0; u < s.unroll; u++ {
		step(u)
	}
	ADDQ(U32(8*s.unroll), rows)
	if s.unroll == 1 {
		DECQ(k)
	} else {
		SUBQ(U32(s.unroll), k)
	}
	JNZ(LabelRef(loop))
	Label(store)
	for i := 0; i < mr; i++ {
		for v := range acc[i] {
			p.mov(acc[i][v], Mem{Base: c, Disp: v * s.bytes})
		}
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
	// nan = some accumulator is unordered with itself.
	nan := GP8()
	if s.mask {
		any := K()
		KXORW(any, any, any)
		for i := range acc {
			for v := range acc[i] {
				m := K()
				p.cmp(U8(3), acc[i][v], acc[i][v], m) // UNORD_Q
				KORW(m, any, any)
			}
		}
		KORTESTW(any, any)
	} else {
		any := s.vec()
		p.xor(any, any, any)
		for i := range acc {
			for v := range acc[i] {
				m := s.vec()
				p.cmp(U8(3), acc[i][v], acc[i][v], m) // UNORD_Q: all ones where NaN
				p.or(m, any, any)
			}
		}
		VPTEST(any, any)
	}
	SETNE(nan)
	Store(nan, Return("nan"))
	VZEROUPPER()
	RET()
}

// nonzeroKernel emits the kernel that marks the columns of a row block
// that hold a factor ≠ ±0 (NaN included), a vector of columns at a time:
// the list of columns the tile kernels sum over (cpu's listColumns).
func nonzeroKernel(s isa, p prec) {
	lanes := s.bytes / p.size
	name := fmt.Sprintf("nonzero%s%s", p.letter(), s.name)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(a *%s, lda, mr, groups int, masks *uint32)", p.name))
	Doc(fmt.Sprintf("%s sets bit b of masks[g] when a[i][g·%d+b] ≠ ±0 (or is NaN) for some row i < mr ≥ 1 of a "+
		"(stride lda), for g < groups. Requires %s.", name, lanes, s.name))
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	mr := Load(Param("mr"), GP64())
	groups := Load(Param("groups"), GP64())
	masks := Load(Param("masks"), GP64())
	SHLQ(U8(map[int]int{4: 2, 8: 3}[p.size]), lda)
	zero := s.vec()
	p.xor(zero, zero, zero)
	done := name + "_done"
	TESTQ(groups, groups)
	JZ(LabelRef(done))
	Label(name + "_group")
	acc, at, cnt := GP32(), GP64(), GP64()
	XORL(acc, acc)
	MOVQ(a, at)
	MOVQ(mr, cnt)
	Label(name + "_row")
	v, bits := s.vec(), GP32()
	p.mov(Mem{Base: at}, v)
	if s.mask {
		m := K()
		p.cmp(U8(4), zero, v, m) // NEQ_UQ: ≠ 0 or NaN; −0 equals 0
		KMOVW(m, bits)
	} else {
		m := s.vec()
		p.cmp(U8(4), zero, v, m)
		p.movmsk(m, bits)
	}
	ORL(bits, acc)
	ADDQ(lda, at)
	DECQ(cnt)
	JNZ(LabelRef(name + "_row"))
	MOVL(acc, Mem{Base: masks})
	ADDQ(U32(4), masks)
	ADDQ(U32(s.bytes), a)
	DECQ(groups)
	JNZ(LabelRef(name + "_group"))
	Label(done)
	VZEROUPPER()
	RET()
}

// broadcastParam broadcasts the float parameter name into v straight from
// its argument slot (VBROADCASTSS/SD m32/m64, a VEX instruction), where
// avo's Load would read it with the legacy-SSE MOVSS/MOVSD first. On an
// Intel Xeon (Emerald Rapids, a VM) that one SSE load at a kernel's entry
// cost ~0.8 µs a call — a 400-column row kernel ran 2.4 ns an element
// instead of 0.9 — while the VEX broadcast costs nothing extra: the
// kernels carry no legacy-SSE instruction.
func broadcastParam(bcast func(ops ...Op), name string, v Op) {
	b, err := Param(name).Resolve()
	if err != nil {
		log.Fatalf("parameter %s: %v", name, err)
	}
	bcast(b.Addr, v)
}
