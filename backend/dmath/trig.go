package dmath

import (
	"math"
	"math/bits"
)

// π/2 in four Cody–Waite parts: pio2a, pio2b, pio2c have at most 33
// significant bits, so n·part is exact for n < 2^20; pio2d is the rounded
// rest. Together they carry about 150 bits of π/2.
const (
	pio2a = 0x1.921fb544p+00
	pio2b = 0x1.0b4611a6p-34
	pio2c = 0x1.3198a2ep-69
	pio2d = 0x1.b839a252049c1p-104

	pio2H     = 0x1.921fb54442d18p+00 // π/2 as a double-double
	pio2L     = 0x1.1a62633145c07p-54
	piH       = 0x1.921fb54442d18p+01 // π as a double-double
	piL       = 0x1.1a62633145c07p-53
	twoOverPi = 0x1.45f306dc9c883p-01 // only picks n
	pio4      = 0x1.921fb54442d18p-01

	// Above this, Cody–Waite would need n ≥ 2^20; use Payne–Hanek.
	trigBig = 0x1p19
)

// twoOverPiBits holds the binary expansion of 2/π: word i (i ≥ 1) is bits
// 64(i−1)+1 … 64i after the binary point, most significant first. Word 0 is
// zero padding so that windows starting before the binary point need no
// special case. 19 words cover the largest float64 exponent plus a 192-bit
// window.
var twoOverPiBits = [20]uint64{
	0x0000000000000000,
	0xa2f9836e4e441529, 0xfc2757d1f534ddc0, 0xdb6295993c439041, 0xfe5163abdebbc561,
	0xb7246e3a424dd2e0, 0x06492eea09d1921c, 0xfe1deb1cb129a73e, 0xe88235f52ebb4484,
	0xe99c7026b45f7e41, 0x3991d639835339f4, 0x9c845f8bbdf9283b, 0x1ff897ffde05980f,
	0xef2f118b5a0a6d1f, 0x6d367ecf27cb09b7, 0x4f463f669e5fea2d, 0x7527bac7ebe5f17b,
	0x3d0739f78a5292ea, 0x6bfb5fb11f8d5d08, 0x56033046fc7b6bab,
}

// trigReduce returns n mod 4 and r = rh+rl with a = n·π/2 + r, |r| ≲ π/4,
// for finite a ≥ 0. r is accurate to far below an ulp of itself even when a
// lies extremely close to a multiple of π/2 (the worst float64 case leaves
// |r| ≈ 2^-61).
func trigReduce(a float64) (n int, rh, rl float64) {
	if a <= pio4 {
		return 0, a, 0
	}
	if a >= trigBig {
		return payneHanek(a)
	}
	nf := math.Floor(float64(a*twoOverPi) + 0.5)
	// Exact: n·pio2a has ≤ 53 bits and is within a factor 2 of a.
	t := a - float64(nf*pio2a)
	t, e := twoSum(t, -float64(nf*pio2b))
	t, e2 := twoSum(t, -float64(nf*pio2c))
	e = (e + e2) - float64(nf*pio2d)
	rh, rl = twoSum(t, e)
	return int(nf) & 3, rh, rl
}

// payneHanek reduces a ≥ 2^19 with integer arithmetic. Writing
// a = m·2^q (m a 53-bit integer), only the bits of 2/π from position q−1 on
// matter for a·2/π mod 4; 192 of them, multiplied by m, give the quadrant in
// the top two bits and the fraction to 2^-137.
func payneHanek(a float64) (n int, rh, rl float64) {
	b := math.Float64bits(a)
	q := int(b>>52) - 1075
	m := b&fracMask | 1<<52
	// Bit i after the binary point sits at position i+63 of the table.
	g := q + 62
	w := g >> 6
	sh := uint(g & 63)
	// (x>>1)>>(63−sh) instead of x>>(64−sh): no shift by 64 when sh = 0
	// (undefined in C).
	w0 := twoOverPiBits[w]<<sh | (twoOverPiBits[w+1]>>1)>>(63-sh)
	w1 := twoOverPiBits[w+1]<<sh | (twoOverPiBits[w+2]>>1)>>(63-sh)
	w2 := twoOverPiBits[w+2]<<sh | (twoOverPiBits[w+3]>>1)>>(63-sh)

	// z0:z1:z2 = m·(w0:w1:w2) mod 2^192.
	h2, z2 := bits.Mul64(m, w2)
	h1, l1 := bits.Mul64(m, w1)
	_, l0 := bits.Mul64(m, w0)
	z1, c := bits.Add64(l1, h2, 0)
	z0 := l0 + h1 + c

	n = int(z0 >> 62)
	z0 &= 1<<62 - 1
	neg := false
	if z0 >= 1<<61 {
		// Fraction ≥ 1/2: round to the next quadrant, r = −(1 − fraction).
		n = (n + 1) & 3
		var br uint64
		z2, br = bits.Sub64(0, z2, 0)
		z1, br = bits.Sub64(0, z1, br)
		z0, _ = bits.Sub64(0, z0, br)
		z0 &= 1<<62 - 1
		neg = true
	}

	// Normalise the 190-bit fraction so its leading 1 is bit 63 of z0.
	s := 0
	if z0 == 0 {
		z0, z1, z2 = z1, z2, 0
		s += 64
	}
	if z0 == 0 {
		z0, z1 = z1, z2
		s += 64
	}
	if z0 == 0 {
		return n, 0, 0
	}
	lz := uint(bits.LeadingZeros64(z0))
	if lz > 0 {
		z0 = z0<<lz | z1>>(64-lz)
		z1 = z1<<lz | z2>>(64-lz)
	}
	s += int(lz)

	// The fraction, in quarter periods, is (z0:z1:z2)·2^(−190−s); its top
	// 106 bits become two exactly representable float64 halves.
	hi := z0 >> 11
	lo := (z0&(1<<11-1))<<42 | z1>>22
	fh := float64(float64(hi) * pow2(-51-s))
	fl := float64(float64(lo) * pow2(-104-s))

	rh, rl = twoProd(fh, pio2H)
	rl += float64(fh*pio2L) + float64(fl*pio2H)
	rh, rl = fastTwoSum(rh, rl)
	if neg {
		rh, rl = -rh, -rl
	}
	return n, rh, rl
}

// Taylor coefficients (−1)^j/(2j+1)! for sin, j = 1…8, and (−1)^j/(2j)! for
// cos, j = 2…9. On |r| ≤ π/4 the omitted terms are below 2^-62 relative.
const (
	s3  = -0x1.5555555555555p-03
	s5  = 0x1.1111111111111p-07
	s7  = -0x1.a01a01a01a01ap-13
	s9  = 0x1.71de3a556c734p-19
	s11 = -0x1.ae64567f544e4p-26
	s13 = 0x1.6124613a86d09p-33
	s15 = -0x1.ae7f3e733b81fp-41
	s17 = 0x1.952c77030ad4ap-49

	c4  = 0x1.5555555555555p-05
	c6  = -0x1.6c16c16c16c17p-10
	c8  = 0x1.a01a01a01a01ap-16
	c10 = -0x1.27e4fb7789f5cp-22
	c12 = 0x1.1eed8eff8d898p-29
	c14 = -0x1.93974a8c07c9dp-37
	c16 = 0x1.ae7f3e733b81fp-45
	c18 = -0x1.6827863b97d97p-53
)

// sinKernel returns sin(rh+rl) for |rh| ≤ π/4 + tiny, |rl| ≤ ulp(rh):
// rh + (rh³·S(rh²) + rl·cos(rh)), where the bracket is at most 1/9 of the
// result, so its rounding errors stay well below an ulp.
func sinKernel(rh, rl float64) float64 {
	z := float64(rh * rh)
	p := s17
	p = float64(p*z) + s15
	p = float64(p*z) + s13
	p = float64(p*z) + s11
	p = float64(p*z) + s9
	p = float64(p*z) + s7
	p = float64(p*z) + s5
	p = float64(p*z) + s3
	v := float64(z * rh)
	return rh + (float64(v*p) + float64(rl*(1-float64(0.5*z))))
}

// cosKernel returns cos(rh+rl) for |rh| ≤ π/4 + tiny. 1 − r²/2 is formed
// from an exact r² and its rounding error recovered, so only the r⁴ tail
// (at most 1/40 of the result) carries plain float64 rounding.
func cosKernel(rh, rl float64) float64 {
	zh, zl := twoProd(rh, rh)
	hz := float64(0.5 * zh)
	w := 1 - hz
	p := c18
	p = float64(p*zh) + c16
	p = float64(p*zh) + c14
	p = float64(p*zh) + c12
	p = float64(p*zh) + c10
	p = float64(p*zh) + c8
	p = float64(p*zh) + c6
	p = float64(p*zh) + c4
	tail := float64(float64(zh*zh) * p)
	corr := ((1 - w) - hz) + (tail - (float64(0.5*zl) + float64(rh*rl)))
	return w + corr
}

// sinCosQuadrant evaluates sin (wantCos false) or cos of n·π/2 + r.
func sinCosQuadrant(n int, rh, rl float64, wantCos bool) float64 {
	if wantCos {
		n++
	}
	switch n & 3 {
	case 0:
		return sinKernel(rh, rl)
	case 1:
		return cosKernel(rh, rl)
	case 2:
		return -sinKernel(rh, rl)
	}
	return -cosKernel(rh, rl)
}

// Sin returns the sine of x (radians). Arguments of any size are reduced
// exactly, so Sin(1e300) is as accurate as Sin(1).
func Sin(x float64) float64 {
	a := math.Abs(x)
	switch {
	case a < 0x1p-27:
		// sin x = x(1 − x²/6) rounds to x; keeps −0 and subnormals.
		return x
	case !(a <= math.MaxFloat64):
		return math.NaN()
	}
	n, rh, rl := trigReduce(a)
	r := sinCosQuadrant(n, rh, rl, false)
	if x < 0 {
		r = -r
	}
	return r
}

// Cos returns the cosine of x (radians).
func Cos(x float64) float64 {
	a := math.Abs(x)
	switch {
	case a < 0x1p-27:
		return 1
	case !(a <= math.MaxFloat64):
		return math.NaN()
	}
	n, rh, rl := trigReduce(a)
	return sinCosQuadrant(n, rh, rl, true)
}

// halfReduce writes a ≥ 0 as n/2 + f with |f| ≤ 1/4, exactly.
func halfReduce(a float64) (n int, f float64) {
	switch {
	case a >= 0x1p53:
		// Even integer: n = 2a ≡ 0 mod 4.
		return 0, 0
	case a >= 0x1p51:
		// A multiple of 1/2, so 2a is an integer below 2^54.
		return int(uint64(float64(2*a)) & 3), 0
	}
	nf := math.Floor(float64(2*a) + 0.5)
	return int(uint64(nf) & 3), a - float64(0.5*nf)
}

// SinPi returns sin(π·x), with the reduction done exactly in x.
func SinPi(x float64) float64 {
	a := math.Abs(x)
	switch {
	case !(a <= math.MaxFloat64):
		return math.NaN()
	case a == 0:
		return x // keeps −0
	case a < 0x1p-30:
		// sin(πx) = πx to within 2^-59; scaled so that x·piL never
		// underflows and only the final scaling rounds into subnormals.
		y := float64(x * 0x1p200)
		p, e := twoProd(y, piH)
		return float64((p + (e + float64(y*piL))) * 0x1p-200)
	}
	n, f := halfReduce(a)
	if f == 0 && n&1 == 0 {
		// sin(kπ) is exactly zero, +0 for positive k (IEEE 754-2019).
		return math.Copysign(0, x)
	}
	rh, rl := twoProd(f, piH)
	rl += float64(f * piL)
	r := sinCosQuadrant(n, rh, rl, false)
	if x < 0 {
		r = -r
	}
	return r
}

// CosPi returns cos(π·x), with the reduction done exactly in x.
func CosPi(x float64) float64 {
	a := math.Abs(x)
	if !(a <= math.MaxFloat64) {
		return math.NaN()
	}
	n, f := halfReduce(a)
	if f == 0 && n&1 == 1 {
		// cos((k+½)π) is exactly zero, always +0 (IEEE 754-2019).
		return 0
	}
	rh, rl := twoProd(f, piH)
	rl += float64(f * piL)
	return sinCosQuadrant(n, rh, rl, true)
}
