package dmath

import "math"

const (
	sqrt2     = 0x1.6a09e667f3bcdp+00
	fracMask  = 1<<52 - 1
	oneBits   = 0x3ff << 52
	minNormal = 0x1p-1022
)

// Coefficients 2/k of 2·atanh(s) = 2s + 2s³/3 + 2s⁵/5 + …, k odd.
// 2/3 and 2/5 also come as double-doubles for logDD.
const (
	ld3h = 0x1.5555555555555p-01
	ld3l = 0x1.5555555555555p-55
	ld5h = 0x1.999999999999ap-02
	ld5l = -0x1.999999999999ap-56
	ld7  = 0x1.2492492492492p-02
	ld9  = 0x1.c71c71c71c71cp-03
	ld11 = 0x1.745d1745d1746p-03
	ld13 = 0x1.3b13b13b13b14p-03
	ld15 = 0x1.1111111111111p-03
	ld17 = 0x1.e1e1e1e1e1e1ep-04
	ld19 = 0x1.af286bca1af28p-04
	ld21 = 0x1.8618618618618p-04
	ld23 = 0x1.642c8590b2164p-04
	ld25 = 0x1.47ae147ae147bp-04
	ld27 = 0x1.2f684bda12f68p-04
)

// logReduce writes the double-double xh+xl (xh finite and > 0, |xl| ≤
// ulp(xh)) as 2^e·(1+F) with 1+F in [√2/2, √2], and returns e and
// s = F/(2+F) as a double-double, so that log(xh+xl) = e·ln2 + 2·atanh(s)
// with |s| ≤ 3−2√2 ≈ 0.1716. F itself is exact (m−1 is exact by Sterbenz);
// s gets a first approximation and one correction from the exact remainder.
func logReduce(xh, xl float64) (e int, sh, sl float64) {
	if xh < minNormal {
		xh = float64(xh * 0x1p54)
		xl = float64(xl * 0x1p54)
		e = -54
	}
	b := math.Float64bits(xh)
	ex := int(b>>52) - 1023
	e += ex
	m := math.Float64frombits(b&fracMask | oneBits)
	ml := ldexp(xl, -ex)
	if m > sqrt2 {
		m = float64(m * 0.5)
		ml = float64(ml * 0.5)
		e++
	}
	fh, fl := twoSum(m-1, ml)
	dh, dl := twoSum(2, fh)
	dl += fl
	// One division: sh need not be the correctly rounded quotient, since
	// the exact remainder fh+fl − sh·(dh+dl) repairs it in sl.
	inv := 1 / dh
	sh = float64(fh * inv)
	p, pe := twoProd(sh, dh)
	sl = float64(((((fh - p) - pe) + fl) - float64(sh*dl)) * inv)
	sh, sl = fastTwoSum(sh, sl)
	return e, sh, sl
}

// logMid returns log(xh+xl) as a double-double with a relative error of
// about 2^-58: 2s is exact in double-double and the series tail s·z·Q(z),
// z = s², which is at most 1% of the result, is evaluated in float64. The
// series is cut after s^21, leaving < 2^-60 relative.
func logMid(xh, xl float64) (float64, float64) {
	e, sh, sl := logReduce(xh, xl)
	z := float64(sh * sh)
	q := ld21
	q = float64(q*z) + ld19
	q = float64(q*z) + ld17
	q = float64(q*z) + ld15
	q = float64(q*z) + ld13
	q = float64(q*z) + ld11
	q = float64(q*z) + ld9
	q = float64(q*z) + ld7
	q = float64(q*z) + ld5h
	q = float64(q*z) + ld3h
	tail := float64(float64(sh*z) * q)
	lh, ll := fastTwoSum(float64(2*sh), float64(2*sl)+tail)
	// e·ln2Hi is exact; e·ln2Lo is below 2^-32 and rounds harmlessly.
	ek := float64(e)
	s, t := twoSum(float64(ek*ln2Hi), lh)
	return fastTwoSum(s, t+(ll+float64(ek*ln2Lo)))
}

// Log returns the natural logarithm of x.
func Log(x float64) float64 {
	switch {
	case x != x || x == math.Inf(1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	h, l := logMid(x, 0)
	return h + l
}

// Log1p returns log(1+x), accurate also for x near 0: 1+x is formed exactly
// as a double-double, whose low part reaches logMid intact.
func Log1p(x float64) float64 {
	switch {
	case x != x || x == math.Inf(1):
		return x
	case x < -1:
		return math.NaN()
	case x == -1:
		return math.Inf(-1)
	case math.Abs(x) < 0x1p-54:
		// x²/2 is below half an ulp of x; keeps −0 and subnormals.
		return x
	}
	u, c := twoSum(1, x)
	h, l := logMid(u, c)
	return h + l
}

// logDD returns log(xh+xl) as a double-double with a relative error of about
// 2^-70 (absolute about 2^-84 from the ln2 split). Pow needs this: an error
// δ in log x becomes y·δ in the exponent, and |y·log x| reaches 745. Here
// the terms 2/3 and 2/5 of the series are carried in double-double and only
// the part from 2/7 on (at most 2^-11 of the result) in float64; the series
// is cut after s^27 (< 2^-71 relative).
func logDD(xh, xl float64) (float64, float64) {
	e, sh, sl := logReduce(xh, xl)
	zh, zl := twoProd(sh, sh)
	zl += float64(float64(2*sh) * sl)
	zh, zl = fastTwoSum(zh, zl)

	t := ld27
	t = float64(t*zh) + ld25
	t = float64(t*zh) + ld23
	t = float64(t*zh) + ld21
	t = float64(t*zh) + ld19
	t = float64(t*zh) + ld17
	t = float64(t*zh) + ld15
	t = float64(t*zh) + ld13
	t = float64(t*zh) + ld11
	t = float64(t*zh) + ld9
	a := float64(t*zh) + ld7
	bh, bl := ddMulD(zh, zl, a)
	bh, bl = ddAdd(ld5h, ld5l, bh, bl)
	qh, ql := ddMul(zh, zl, bh, bl)
	qh, ql = ddAdd(ld3h, ld3l, qh, ql)
	qh, ql = ddMul(zh, zl, qh, ql)
	qh, ql = ddMul(sh, sl, qh, ql)
	lh, ll := ddAdd(float64(2*sh), float64(2*sl), qh, ql)

	ek := float64(e)
	return ddAdd(float64(ek*ln2Hi), float64(ek*ln2Lo), lh, ll)
}
