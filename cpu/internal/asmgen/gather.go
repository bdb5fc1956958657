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
	gatherQuadRows("S", false)
	gatherQuadRows("D", false)
	gatherQuadRows("S", true)
	gatherQuadRows("D", true)
	for _, input := range []bool{false, true} {
		gatherQuadPacked("S", input)
		gatherQuadPacked("D", input)
	}
	interleave4("S")
	interleave4("D")
}

// interleave4 emits interleave4{S,D}(n, z, ldz, dst): the history's
// layout of four trials, dst[4j+l] = z[l·ldz+j] for columns j < n (a
// multiple of 4) — four columns of the four trials loaded, transposed as
// gatherQuadRows transposes its sums, and stored. Requires AVX2.
func interleave4(prec string) {
	name := "interleave4" + prec
	typ, size, vec := quadRegs(prec)
	TEXT(name, NOSPLIT, fmt.Sprintf("func(n int, z *%[1]s, ldz int, dst *%[1]s)", typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[4j+l] = z[l·ldz+j] for trials l < 4 and columns j < n, a multiple of 4 (see cpu/internal/asmgen). Requires AVX2.", name))
	n := Load(Param("n"), GP64())
	z := Load(Param("z"), GP64())
	ld := Load(Param("ldz"), GP64())
	dst := Load(Param("dst"), GP64())
	SHLQ(U8(map[int]uint8{4: 2, 8: 3}[size]), ld)
	ld3 := GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	mov := VMOVUPS
	if prec == "D" {
		mov = VMOVUPD
	}
	done, loop := name+"_done", name+"_loop"
	TESTQ(n, n)
	JZ(LabelRef(done))
	Label(loop)
	a := [4]reg.VecVirtual{vec(), vec(), vec(), vec()}
	mov(Mem{Base: z}, a[0])
	mov(Mem{Base: z, Index: ld, Scale: 1}, a[1])
	mov(Mem{Base: z, Index: ld, Scale: 2}, a[2])
	mov(Mem{Base: z, Index: ld3, Scale: 1}, a[3])
	out := transpose4(prec, a)
	for i, o := range out {
		mov(o, Mem{Base: dst, Disp: 4 * size * i})
	}
	ADDQ(U8(4*size), z)
	ADDQ(U8(16*size), dst)
	SUBQ(U8(4), n)
	JNZ(LabelRef(loop))
	Label(done)
	VZEROUPPER()
	RET()
}

// transpose4 returns the columns of the 4 × 4 matrix whose rows are a:
// out[c][r] = a[r][c].
func transpose4(prec string, a [4]reg.VecVirtual) [4]reg.VecVirtual {
	if prec == "D" {
		u := [4]reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
		out := [4]reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}
		VUNPCKLPD(a[1], a[0], u[0]) // a00 a10 a02 a12
		VUNPCKHPD(a[1], a[0], u[1]) // a01 a11 a03 a13
		VUNPCKLPD(a[3], a[2], u[2]) // a20 a30 a22 a32
		VUNPCKHPD(a[3], a[2], u[3]) // a21 a31 a23 a33
		VPERM2F128(U8(0x20), u[2], u[0], out[0])
		VPERM2F128(U8(0x20), u[3], u[1], out[1])
		VPERM2F128(U8(0x31), u[2], u[0], out[2])
		VPERM2F128(U8(0x31), u[3], u[1], out[3])
		return out
	}
	u := [4]reg.VecVirtual{XMM(), XMM(), XMM(), XMM()}
	out := [4]reg.VecVirtual{XMM(), XMM(), XMM(), XMM()}
	VUNPCKLPS(a[1], a[0], u[0]) // a00 a10 a01 a11
	VUNPCKHPS(a[1], a[0], u[1]) // a02 a12 a03 a13
	VUNPCKLPS(a[3], a[2], u[2]) // a20 a30 a21 a31
	VUNPCKHPS(a[3], a[2], u[3]) // a22 a32 a23 a33
	VMOVLHPS(u[2], u[0], out[0])
	VMOVHLPS(u[0], u[2], out[1])
	VMOVLHPS(u[3], u[1], out[2])
	VMOVHLPS(u[1], u[3], out[3])
	return out
}

// gatherQuadRows emits gatherQuadRows{S,D}(groups, rs, off, w, buf, x, ldx):
// the whole gathered product of four adjacent trials over rows
// 0 … 4·groups−1 — for each row i and trial l < 4,
// x[l·ldx+i] = Σ_e w[e]·buf[off[e]+l] over the row's entries
// e = rs[i] … rs[i+1]−1 in order from +0, each product and sum rounded
// (VMULP, VADDP; no FMA): gatheredQuad's sums, with its Go loop over the
// rows moved in. Rows go four at a time as four addition chains over
// their common length, then each row's rest; the four sums of a row are
// one register, transposed to the trials' rows of x at the end of a group.
//
// The loop is load-bound (an entry is its offset, its weight and the
// trials' values), so the common part takes its entries in pairs: one
// 8-byte load holds two offsets (split by MOVL and SHRQ; offsets are
// below 2³¹), five loads for two entries instead of six. Requires AVX2.
//
// With input set it emits gatherQuadRowsIn{S,D}(groups, rs, off, w, buf,
// x, ldx, u, ldu) for rows whose last entry is their own input with weight
// 1 (backend's identity input, as a circuit's stimulus enters): each row's
// sum runs over its other entries and then adds u[l·ldu+i], the input
// itself — the same sum, since 1·u_i is u_i exactly, read where the input
// chunk holds it instead of from the history (which then need not hold
// the inputs at all).
func gatherQuadRows(prec string, input bool) {
	name := quadText("gatherQuadRows", prec, input,
		"groups int, rs *int32, off *int32, w *%[1]s, buf *%[1]s, x *%[1]s, ldx int",
		"", "rows whose last entry is their input with weight 1", "row i's sum without it", "AVX2")
	_, size, vec := quadRegs(prec)
	bcast, mul, add, xor := VBROADCASTSS, VMULPS, VADDPS, VXORPS
	if prec == "D" {
		bcast, mul, add, xor = VBROADCASTSD, VMULPD, VADDPD, VXORPD
	}
	sc := uint8(size)
	g := Load(Param("groups"), GP64())
	rsp := Load(Param("rs"), GP64())
	offp := Load(Param("off"), GP64())
	wp := Load(Param("w"), GP64())
	bufp := Load(Param("buf"), GP64())
	xp := Load(Param("x"), GP64())
	done, group := name+"_done", name+"_group"
	TESTQ(g, g)
	JZ(LabelRef(done))
	Label(group)
	var idx [4]reg.GPVirtual
	for r := range 4 {
		idx[r] = GP64()
		MOVLQSX(Mem{Base: rsp, Disp: 4 * r}, idx[r])
	}
	// cnt = the four rows' common length.
	cnt, t := GP64(), GP64()
	MOVLQSX(Mem{Base: rsp, Disp: 4}, cnt)
	SUBQ(idx[0], cnt)
	for r := 1; r < 4; r++ {
		MOVLQSX(Mem{Base: rsp, Disp: 4 * (r + 1)}, t)
		SUBQ(idx[r], t)
		CMPQ(t, cnt)
		CMOVQLT(t, cnt)
	}
	if input {
		DECQ(cnt) // the rows' input entries are not summed here
	}
	acc := make([]reg.VecVirtual, 4)
	for r := range acc {
		acc[r] = vec()
		xor(acc[r], acc[r], acc[r]) // +0
	}
	one := func(r int) { // entry idx[r] of row r
		a, wv, p := GP64(), vec(), vec()
		MOVLQSX(Mem{Base: offp, Index: idx[r], Scale: 4}, a)
		bcast(Mem{Base: wp, Index: idx[r], Scale: sc}, wv)
		mul(Mem{Base: bufp, Index: a, Scale: sc}, wv, p)
		add(p, acc[r], acc[r])
		INCQ(idx[r])
	}
	pairs, pairsDone, odd := name+"_pairs", name+"_pairsdone", name+"_odd"
	Label(pairs)
	CMPQ(cnt, U8(2))
	JL(LabelRef(pairsDone))
	for r := range 4 {
		a, two := GP64(), GP64()
		MOVQ(Mem{Base: offp, Index: idx[r], Scale: 4}, two)
		MOVL(two.As32(), a.As32()) // the first offset, zero-extended
		SHRQ(U8(32), two)          // the second
		// Each weight broadcast straight from memory: a load-port
		// operation, where one load of the pair broadcast from the register
		// took two shuffles on the port the additions share (8–13 % slower
		// on an Emerald Rapids core, the layer-5 static drive).
		w0, w1, p := vec(), vec(), vec()
		bcast(Mem{Base: wp, Index: idx[r], Scale: sc}, w0)
		bcast(Mem{Base: wp, Index: idx[r], Scale: sc, Disp: size}, w1)
		mul(Mem{Base: bufp, Index: a, Scale: sc}, w0, p)
		add(p, acc[r], acc[r])
		mul(Mem{Base: bufp, Index: two, Scale: sc}, w1, p)
		add(p, acc[r], acc[r])
		ADDQ(U8(2), idx[r])
	}
	SUBQ(U8(2), cnt)
	JMP(LabelRef(pairs))
	Label(pairsDone)
	TESTQ(cnt, cnt)
	JZ(LabelRef(odd))
	for r := range 4 {
		one(r)
	}
	Label(odd)
	// Each row's rest, continuing its chain.
	for r := range 4 {
		loop, next := fmt.Sprintf("%s_rest%d", name, r), fmt.Sprintf("%s_next%d", name, r)
		end := GP64()
		MOVLQSX(Mem{Base: rsp, Disp: 4 * (r + 1)}, end)
		if input {
			DECQ(end)
		}
		Label(loop)
		CMPQ(idx[r], end)
		JGE(LabelRef(next))
		one(r)
		JMP(LabelRef(loop))
		Label(next)
	}
	storeGroup(prec, acc, xp, input)
	ADDQ(U8(16), rsp)
	ADDQ(U8(4*size), xp)
	DECQ(g)
	JNZ(LabelRef(group))
	Label(done)
	VZEROUPPER()
	RET()
}

// gatherQuadPacked emits gatherQuadPacked{S,D}(groups, meta, rec, buf, x,
// ldx) and, with input set, gatherQuadPackedIn{S,D}(…, u, ldu): the sums
// of gatherQuadRows{,In}{S,D} — the same products and additions in the
// same order — over rows packed for AVX-512's embedded broadcast. Row i's
// entries (without the input entry of the In variant) are records of two:
// the two weights, then the two 32-bit offsets (24 bytes in float64, 16
// in float32), the last record of an odd row holding one entry;
// meta[2i] is the row's first record's byte offset in rec and meta[2i+1]
// its number of entries.
//
// Why: gatherQuadRows is short of issue slots, not of loads (about six
// slots an entry on an Emerald Rapids core, where it runs at one cycle an
// entry): its multiplies read the trials' values by an indexed address,
// which Intel cores split in two, beside a separate broadcast of the
// weight. Here the values are loaded (one slot) and multiplied by the
// weight broadcast from the record by a plain address (VMULPD.BCST, one
// fused slot): five slots an entry for the same 2.5 loads. Requires
// AVX-512F and AVX-512VL (the registers are YMM and XMM).
func gatherQuadPacked(prec string, input bool) {
	name := quadText("gatherQuadPacked", prec, input,
		"groups int, meta *int32, rec *uint64, buf *%[1]s, x *%[1]s, ldx int",
		", from packed rows", "rows packed without their input entry (weight 1)", "row i's packed sum", "AVX-512F and AVX-512VL")
	_, size, vec := quadRegs(prec)
	mulB, add, xor, mov := VMULPS_BCST, VADDPS, VXORPS, VMOVUPS
	if prec == "D" {
		mulB, add, xor, mov = VMULPD_BCST, VADDPD, VXORPD, VMOVUPD
	}
	sc := uint8(size)
	rb := 2*size + 8 // a record's bytes
	offs := 2 * size // the offsets' place in a record
	g := Load(Param("groups"), GP64())
	mp := Load(Param("meta"), GP64())
	bufp := Load(Param("buf"), GP64())
	done, group := name+"_done", name+"_group"
	TESTQ(g, g)
	JZ(LabelRef(done))
	Label(group)
	// p[r] = row r's first record; common = the four rows' common number
	// of whole records.
	recp := Load(Param("rec"), GP64())
	var p [4]reg.GPVirtual
	common, t := GP64(), GP64()
	for r := range 4 {
		p[r] = GP64()
		MOVLQSX(Mem{Base: mp, Disp: 8 * r}, p[r])
		ADDQ(recp, p[r])
		if r == 0 {
			MOVLQSX(Mem{Base: mp, Disp: 4}, common)
			SHRQ(U8(1), common)
			continue
		}
		MOVLQSX(Mem{Base: mp, Disp: 8*r + 4}, t)
		SHRQ(U8(1), t)
		CMPQ(t, common)
		CMOVQLT(t, common)
	}
	acc := make([]reg.VecVirtual, 4)
	for r := range acc {
		acc[r] = vec()
		xor(acc[r], acc[r], acc[r]) // +0
	}
	// entry adds record entry k (0 or 1) at p to acc.
	entry := func(p reg.GPVirtual, acc reg.VecVirtual, at reg.GPVirtual, k int) {
		v := vec()
		mov(Mem{Base: bufp, Index: at, Scale: sc}, v)
		mulB(Mem{Base: p, Disp: k * size}, v, v)
		add(v, acc, acc)
	}
	// record adds p's whole record to acc and moves p to the next.
	record := func(p reg.GPVirtual, acc reg.VecVirtual) {
		a, two := GP64(), GP64()
		MOVQ(Mem{Base: p, Disp: offs}, two) // both offsets (below 2³¹)
		MOVL(two.As32(), a.As32())          // the first, zero-extended
		SHRQ(U8(32), two)                   // the second
		entry(p, acc, a, 0)
		entry(p, acc, two, 1)
		ADDQ(U8(rb), p)
	}
	n := GP64()
	MOVQ(common, n)
	pairs, pairsDone := name+"_pairs", name+"_pairsdone"
	TESTQ(n, n)
	JZ(LabelRef(pairsDone))
	Label(pairs)
	for r := range 4 {
		record(p[r], acc[r])
	}
	DECQ(n)
	JNZ(LabelRef(pairs))
	Label(pairsDone)
	// Each row's rest, continuing its chain: its other whole records, then
	// the single entry of an odd row.
	for r := range 4 {
		loop, single, next := fmt.Sprintf("%s_rest%d", name, r), fmt.Sprintf("%s_single%d", name, r), fmt.Sprintf("%s_next%d", name, r)
		left := GP64()
		MOVLQSX(Mem{Base: mp, Disp: 8*r + 4}, left)
		SHRQ(U8(1), left)
		SUBQ(common, left)
		JZ(LabelRef(single))
		Label(loop)
		record(p[r], acc[r])
		DECQ(left)
		JNZ(LabelRef(loop))
		Label(single)
		TESTL(U32(1), Mem{Base: mp, Disp: 8*r + 4})
		JZ(LabelRef(next))
		a := GP64()
		MOVLQSX(Mem{Base: p[r], Disp: offs}, a)
		entry(p[r], acc[r], a, 0)
		Label(next)
	}
	// x's pointer advances a group at a time in its parameter's slot (no
	// register is left for it beside the loop's).
	xp := Load(Param("x"), GP64())
	storeGroup(prec, acc, xp, input)
	ADDQ(U8(4*size), xp)
	Store(xp, Param("x"))
	ADDQ(U8(32), mp)
	DECQ(g)
	JNZ(LabelRef(group))
	Label(done)
	VZEROUPPER()
	RET()
}

// quadText begins the four-trial row kernel base+prec (base+"In"+prec
// with input, which takes the inputs u and ldu as well): its TEXT with
// params (%[1]s the precision's Go type), noescape, and its doc — the sum
// it sets (the plain kernel's doc ending in more; the input variant's
// rows and the sum it adds u to) and what it requires. It returns the
// kernel's name.
func quadText(base, prec string, input bool, params, more, inRows, inSum, requires string) string {
	typ, _, _ := quadRegs(prec)
	name := base + prec
	doc := fmt.Sprintf("%s sets x[l·ldx+i] to row i's gathered sum for four adjacent trials l, rows i < 4·groups%s", name, more)
	if input {
		name = base + "In" + prec
		params += ", u *%[1]s, ldu int"
		doc = fmt.Sprintf("%s is %s%s for %s: x[l·ldx+i] = (%s) + u[l·ldu+i]", name, base, prec, inRows, inSum)
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func("+params+")", typ))
	Pragma("noescape")
	Doc(doc + " (see cpu/internal/asmgen). Requires " + requires + ".")
	return name
}

// storeGroup emits the end of a group of four rows in gatherQuadRows and
// gatherQuadPacked: acc[r] holds row r's four trials, transposed to x's
// rows of trials at xp (x's stride from the parameter ldx); with input set,
// the group's inputs u[l·ldu+i] are added first (u's pointer advances a
// group at a time in the parameter's own slot, off the loop's registers).
func storeGroup(prec string, acc []reg.VecVirtual, xp reg.Register, input bool) {
	_, size, _ := quadRegs(prec)
	add, mov := VADDPS, VMOVUPS
	if prec == "D" {
		add, mov = VADDPD, VMOVUPD
	}
	ld := Load(Param("ldx"), GP64())
	SHLQ(U8(map[int]uint8{4: 2, 8: 3}[size]), ld)
	ld3 := GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	out := transpose4(prec, [4]reg.VecVirtual(acc))
	if input {
		up := Load(Param("u"), GP64())
		lu := Load(Param("ldu"), GP64())
		SHLQ(U8(map[int]uint8{4: 2, 8: 3}[size]), lu)
		for l, at := range []Mem{{Base: up}, {Base: up, Index: lu, Scale: 1}, {Base: up, Index: lu, Scale: 2}} {
			add(at, out[l], out[l])
		}
		LEAQ(Mem{Base: lu, Index: lu, Scale: 2}, lu)
		add(Mem{Base: up, Index: lu, Scale: 1}, out[3], out[3])
		ADDQ(U8(4*size), up)
		Store(up, Param("u"))
	}
	mov(out[0], Mem{Base: xp})
	mov(out[1], Mem{Base: xp, Index: ld, Scale: 1})
	mov(out[2], Mem{Base: xp, Index: ld, Scale: 2})
	mov(out[3], Mem{Base: xp, Index: ld3, Scale: 1})
}

// gatherPairs and gatherQuads emit gather{Pairs,Quads}{S,D}(m, w, off,
// buf, acc): four CSR rows side by side for t = 2 or 4 adjacent trials —
// acc[t·r+l] += w_r[e]·buf[off_r[e]+l] for rows r < 4, trials l < t and
// e = 0 … m−1 in order, each product and sum rounded (VMULP, VADDP; no
// FMA). w and off point at four rows' entries: w[r] and off[r] are row r's
// (an array of 4 pointers each). acc holds the rows' running sums (4·t
// values, read and written), so the caller adds each row's rest to the
// same chain. One broadcast of a weight feeds the t trials (their values
// are adjacent in the history), and four independent chains hide the
// additions' latency. A step is load-bound: each entry is three loads (its
// offset, its weight, the trials' values), which serve four trials in
// gatherQuads (an XMM of float32, a YMM of float64). Requires AVX.
func gatherPairs(prec string) { gatherSideBySide(prec, 2) }
func gatherQuads(prec string) { gatherSideBySide(prec, 4) }

func gatherSideBySide(prec string, trials int) {
	name := map[int]string{2: "gatherPairs", 4: "gatherQuads"}[trials] + prec
	typ, size, vec := quadRegs(prec)
	if trials == 2 {
		vec = XMM
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(m int, w *[4]*%[1]s, off *[4]*int32, buf *%[1]s, acc *[%[2]d]%[1]s)", typ, 4*trials))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sums four CSR rows' common length m for %s adjacent trials: acc[%dr+l] += w[r][e]·buf[off[r][e]+l] "+
		"for e < m in order, each product and sum rounded (no FMA). Requires AVX.", name, map[int]string{2: "two", 4: "four"}[trials], trials))
	m := Load(Param("m"), GP64())
	wp := Load(Param("w"), GP64())
	op := Load(Param("off"), GP64())
	buf := Load(Param("buf"), GP64())
	acc := Load(Param("acc"), GP64())
	mov, bcast, mul, add := VMOVUPS, VBROADCASTSS, VMULPS, VADDPS
	if prec == "D" {
		mov, bcast, mul, add = VMOVUPD, VBROADCASTSD, VMULPD, VADDPD
	}
	row := trials * size // bytes of a row's sums
	if row == 8 {
		mov = VMOVSD // two floats, the upper lanes +0
	}
	if trials == 2 && prec == "D" {
		bcast = VMOVDDUP // VBROADCASTSD has no XMM form
	}
	var ws, os [4]reg.GPVirtual
	sums := make([]reg.VecVirtual, 4)
	for r := range 4 {
		ws[r], os[r] = GP64(), GP64()
		MOVQ(Mem{Base: wp, Disp: 8 * r}, ws[r])
		MOVQ(Mem{Base: op, Disp: 8 * r}, os[r])
		sums[r] = vec()
		mov(Mem{Base: acc, Disp: row * r}, sums[r])
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
		weight, z, at := vec(), vec(), GP64()
		MOVLQSX(Mem{Base: os[r], Index: e, Scale: 4}, at)
		bcast(Mem{Base: ws[r], Index: e, Scale: uint8(size)}, weight)
		values := Mem{Base: buf, Index: at, Scale: uint8(size)}
		if row == 8 {
			VMOVSD(values, z) // the pair, upper lanes +0
			mul(z, weight, z)
		} else {
			mul(values, weight, z)
		}
		add(z, sums[r], sums[r])
	}
	INCQ(e)
	CMPQ(e, m)
	JNE(LabelRef(loop))
	Label(done)
	for r := range 4 {
		mov(sums[r], Mem{Base: acc, Disp: row * r})
	}
	if trials == 4 {
		VZEROUPPER()
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

// quadRegs is a precision's Go type, element size and the register that
// holds four of its elements (XMM for float32, YMM for float64).
func quadRegs(prec string) (typ string, size int, vec func() reg.VecVirtual) {
	if prec == "D" {
		return "float64", 8, YMM
	}
	return "float32", 4, XMM
}
