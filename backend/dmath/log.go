package dmath

import "math"

const (
	sqrt2     = 0x1.6a09e667f3bcdp+00
	fracMask  = 1<<52 - 1
	oneBits   = 0x3ff << 52
	minNormal = 0x1p-1022
)

// Coefficients 2/(2j+1), j = 1…10, of 2·atanh(s) = 2s + s·R(s²). For
// |s| ≤ 3−2√2 ≈ 0.1716 the first omitted term is below 2^-60 of the result.
const (
	lg1  = 0x1.5555555555555p-01 // 2/3
	lg2  = 0x1.999999999999ap-02 // 2/5
	lg3  = 0x1.2492492492492p-02 // 2/7
	lg4  = 0x1.c71c71c71c71cp-03 // 2/9
	lg5  = 0x1.745d1745d1746p-03 // 2/11
	lg6  = 0x1.3b13b13b13b14p-03 // 2/13
	lg7  = 0x1.1111111111111p-03 // 2/15
	lg8  = 0x1.e1e1e1e1e1e1ep-04 // 2/17
	lg9  = 0x1.af286bca1af28p-04 // 2/19
	lg10 = 0x1.8618618618618p-04 // 2/21
)

// logReduce writes x (finite, > 0) as 2^e·(1+f) with 1+f in [√2/2, √2],
// so |log(1+f)| ≤ ln2/2 never cancels against e·ln2 by more than half.
// f = m−1 is exact.
func logReduce(x float64) (e int, f float64) {
	if x < minNormal {
		x = float64(x * 0x1p54)
		e = -54
	}
	b := math.Float64bits(x)
	e += int(b>>52) - 1023
	m := math.Float64frombits(b&fracMask | oneBits)
	if m > sqrt2 {
		m = float64(m * 0.5)
		e++
	}
	return e, m - 1
}

// logKernel returns e·ln2 + log(1+f) + c for f from logReduce (or any f
// with 1+f in [√2/2, √2]) and a small correction c. It uses
// log(1+f) = f − f²/2 + s·(f²/2 + R(s²)), s = f/(2+f): the leading f is exact
// and the rounding errors of s and R only touch the smaller terms.
func logKernel(e int, f, c float64) float64 {
	s := f / (2 + f)
	z := float64(s * s)
	r := lg10
	r = float64(r*z) + lg9
	r = float64(r*z) + lg8
	r = float64(r*z) + lg7
	r = float64(r*z) + lg6
	r = float64(r*z) + lg5
	r = float64(r*z) + lg4
	r = float64(r*z) + lg3
	r = float64(r*z) + lg2
	r = float64(r*z) + lg1
	r = float64(r * z)
	hfsq := float64(float64(0.5*f) * f)
	ek := float64(e)
	return float64(ek*ln2Hi) - ((hfsq - (float64(s*(hfsq+r)) + (float64(ek*ln2Lo) + c))) - f)
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
	e, f := logReduce(x)
	return logKernel(e, f, 0)
}

// Log1p returns log(1+x), accurate also for x near 0.
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
	case x > sqrt2/2-1 && x < sqrt2-1:
		// 1+x already lies in the kernel's interval: f = x exactly.
		return logKernel(0, x, 0)
	}
	// u+c = 1+x exactly; log(u+c) = log(u) + c/u to far below an ulp.
	u, c := twoSum(1, x)
	e, f := logReduce(u)
	return logKernel(e, f, c/u)
}

// Coefficients for logDD. 2/3 and 2/5 are double-doubles; the rest of the
// series (2/7 … 2/27) is plain float64 because those terms are at most
// 2^-11 of the result. Truncating after s^27 leaves < 2^-71 relative.
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

// logDD returns log(xh+xl) as a double-double with a relative error of about
// 2^-70 (absolute about 2^-84 from the ln2 split), for finite xh > 0 and
// |xl| ≤ ulp(xh). Pow needs this: an error δ in log x becomes y·δ in the
// exponent, and |y·log x| reaches 745.
func logDD(xh, xl float64) (float64, float64) {
	e := 0
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

	// s = F/(2+F) in double-double: one quotient and one exact-remainder
	// correction.
	dh, dl := twoSum(2, fh)
	dl += fl
	sh := fh / dh
	p, pe := twoProd(sh, dh)
	sl := ((((fh - p) - pe) + fl) - float64(sh*dl)) / dh
	sh, sl = fastTwoSum(sh, sl)

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
