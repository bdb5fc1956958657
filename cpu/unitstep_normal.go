package cpu

import (
	"math"
	"math/bits"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/dmath"
)

// The float32 noise of the unit step, backend.Normal[float32] with the same
// bits and a quarter of its cost. backend.Normal32 is
//
//	sqrt(−2·Log32(u₁)) · CosPi32(2·u₂),   u = Uniform32(w) = (w>>9 + ½)·2⁻²³,
//
// for the cosine half of a block's pair, and for the sine half the same with
// w₁>>9 shifted by 3·2²¹ mod 2²³ (a quarter turn on u₂'s grid; units u and
// u+8 of an aligned 16 share a block, backend.NormalPair32),
// where Log32 and CosPi32 round backend/dmath's double-double float64
// algorithms (≤ 2⁻⁵⁸ relative) to float32. Their arguments here take only
// 2²³ values each, so a cheaper float64 evaluation (≈ 2⁻⁵⁰ relative) that
// rounds to the same float32 at every one of them is the same function on
// this domain: TestNormal32Exhaustive compares log32Uniform and
// cosPi32Uniform with dmath at all 2²³ points, and normal32 with
// backend.Normal32 on random blocks. Every product below is the direct
// operand of a conversion, so no multiply-add is fused (GOAMD64=v3).

// philox is backend.Philox4x32's words 0 and 1, its ten rounds unrolled
// (the key of round r is key + r·(W0, W1), wrapping).
func philox(c0, c1, c2, c3 uint32, key [2]uint32) (uint32, uint32) {
	k0, k1 := key[0], key[1]
	var hi0, lo0, hi1, lo1 uint32
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0), lo1, hi0^c3^(k1), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0x9E3779B9), lo1, hi0^c3^(k1+0xBB67AE85), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0x3C6EF372), lo1, hi0^c3^(k1+0x76CF5D0A), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0xDAA66D2B), lo1, hi0^c3^(k1+0x32370B8F), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0x78DDE6E4), lo1, hi0^c3^(k1+0xED9EBA14), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0x1715609D), lo1, hi0^c3^(k1+0xA9066899), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0xB54CDA56), lo1, hi0^c3^(k1+0x646E171E), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0x5384540F), lo1, hi0^c3^(k1+0x1FD5C5A3), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0xF1BBCDC8), lo1, hi0^c3^(k1+0xDB3D7428), lo0
	hi0, lo0 = bits.Mul32(0xD2511F53, c0)
	hi1, lo1 = bits.Mul32(0xCD9E8D57, c2)
	c0, c1, c2, c3 = hi1^c1^(k0+0x8FF34781), lo1, hi0^c3^(k1+0x96A522AD), lo0
	return c0, c1
}

// normal32 is backend.Normal[float32](key, instance, trial, step, unit, p).
func normal32(key [2]uint32, instance, trial, step, unit int, p backend.Purpose) float32 {
	block, sine := backend.NormalPair32(unit)
	w0, w1 := philox(uint32(block), uint32(step), uint32(trial), uint32(instance)<<4|uint32(p)&15, key)
	l := log32Uniform(w0>>9) * -2 // exact scaling by −2
	s := float32(math.Sqrt(float64(l)))
	return float32(s * cosPi32Uniform(backend.CosIndex32(w1, sine)))
}

// normalBlock is the width of normals32's batches (a multiple of every
// kernel's width).
const normalBlock = 128

// normals32Go is normals32 in Go, the path of CPUs without the kernels of
// normal_amd64.s and their oracle: it sets z[j] = normal32(key, instance,
// trial, step, u0+j, p) for j < len(z) ≤ normalBlock, computing the same
// values as normal32 one stage at a time over the whole batch: each
// stage's iterations are independent, so the processor overlaps them,
// where one normal after another waits on a single chain of ~200 cycles of
// latency.
func normals32Go(key [2]uint32, instance, trial, step, u0 int, p backend.Purpose, z []float32) {
	var a, c [normalBlock]uint32
	var s [normalBlock]float32
	n := len(z)
	w3 := uint32(instance)<<4 | uint32(p)&15
	// Words 0 and 1 of each unit's block: computed at the first of its two
	// units in z, copied to the second.
	for j := range n {
		if block, sine := backend.NormalPair32(u0 + j); sine && j >= 8 {
			a[j], c[j] = a[j-8], c[j-8] // the block of the cosine's unit, u − 8
		} else {
			a[j], c[j] = philox(uint32(block), uint32(step), uint32(trial), w3, key)
		}
	}
	for j := range n {
		l := log32Uniform(a[j]>>9) * -2
		s[j] = float32(math.Sqrt(float64(l)))
	}
	for j := range n {
		_, sine := backend.NormalPair32(u0 + j)
		z[j] = float32(s[j] * cosPi32Uniform(backend.CosIndex32(c[j], sine)))
	}
}

// logTable[j] = log(1 + j/64) for j = −16 … 32 at index j+16: the centers
// of the reduction below, from dmath (whose code no compiler fuses).
var logTable = func() (t [49]float64) {
	for j := range t {
		t[j] = dmath.Log1p(float64(j-16) / 64)
	}
	return t
}()

// invTable[j+16] = 1/(1 + j/64), rounded.
var invTable = func() (t [49]float64) {
	for j := range t {
		t[j] = 1 / (1 + float64(j-16)/64)
	}
	return t
}()

// log32Uniform returns dmath.Log32((k + ½)·2⁻²³) for k < 2²³.
func log32Uniform(k uint32) float32 {
	// x = (2k+1)·2⁻²⁴ = 2^e·m with m in [0.75, 1.5): exact. Branch-free
	// (the halving is taken for half the draws, at random): when m ≥ 1.5,
	// bit 51 of x, one less in the exponent field halves m.
	x := float64(2*k+1) * 0x1p-24
	b := math.Float64bits(x)
	half := b >> 51 & 1
	e := int(b>>52) - 1023 + int(half)
	m := math.Float64frombits(b&(1<<52-1) | (1023-half)<<52)
	// m = c·(1+r) with c = 1 + j/64 the nearest center, |m−c| ≤ 1/128:
	// m−c is exact; r = (m−c)·(1/c) rounds twice (no division).
	// (m−1)·64 + 16.5 > 0 (exact), so truncation is the floor.
	j := int(float64((m-1)*64)+16.5) - 16
	c := 1 + float64(j)/64
	r := float64((m - c) * invTable[j+16])
	// log(1+r) = r − r²/2 + r³/3 − …, |r| ≤ 2⁻⁷: eight terms leave < 2⁻⁶⁰.
	r2 := float64(r * r)
	q := -0x1p-3
	q = float64(q*r) + 1.0/7
	q = float64(q*r) - 1.0/6
	q = float64(q*r) + 1.0/5
	q = float64(q*r) - 1.0/4
	q = float64(q*r) + 1.0/3
	q = float64(q*r) - 0.5
	lp := r + float64(r2*q)
	// e·ln2 in two parts: ln2Hi has 32 bits, so e·ln2Hi is exact.
	const ln2Hi, ln2Lo = 0x1.62e42fefa4p-01, -0x1.8432a1b0e2634p-43
	ef := float64(e)
	return float32((float64(ef*ln2Hi) + logTable[j+16]) + (lp + float64(ef*ln2Lo)))
}

// cosPi32Uniform returns dmath.CosPi32(2·(k + ½)·2⁻²³) for k < 2²³.
func cosPi32Uniform(k uint32) float32 {
	// y = 2u = (2k+1)·2⁻²³ in (0, 2), and cos(πy) = −cos(π|1−y|) =
	// −sin(πs) with s = ½ − |1−y| in (−½, ½): both differences are exact
	// (y is a multiple of 2⁻²³), and no branch depends on the draw.
	y := float64(2*k+1) * 0x1p-23
	s := 0.5 - math.Abs(1-y)
	// sin(t), |t| = |πs| < π/2: Taylor to t²³ (< 2⁻⁶⁰).
	t := float64(s * math.Pi)
	z := float64(t * t)
	q := -1.0 / 25852016738884976640000 // −1/23!
	q = float64(q*z) + 1.0/51090942171709440000
	q = float64(q*z) - 1.0/121645100408832000
	q = float64(q*z) + 1.0/355687428096000
	q = float64(q*z) - 1.0/1307674368000
	q = float64(q*z) + 1.0/6227020800
	q = float64(q*z) - 1.0/39916800
	q = float64(q*z) + 1.0/362880
	q = float64(q*z) - 1.0/5040
	q = float64(q*z) + 1.0/120
	q = float64(q*z) - 1.0/6
	v := -(t + float64(t*float64(z*q)))
	return float32(v)
}
