package dmath

import "math"

// ln2 split for Cody–Waite reduction: ln2Hi has 42 significant bits, so
// k·ln2Hi is exact for |k| < 2^11 (all exponents that matter), and
// ln2Hi+ln2Lo equals ln2 to about 2^-96.
const (
	ln2Hi  = 0x1.62e42fefa38p-01
	ln2Lo  = 0x1.ef35793c7673p-45
	invLn2 = 0x1.71547652b82fep+00 // 1/ln2 rounded; only picks k
)

// Beyond these arguments exp overflows or underflows for certain; between
// them and the exact thresholds the normal path rounds to ±Inf/0 itself.
const (
	expHuge = 710.0  // > ln(MaxFloat64) ≈ 709.78
	expTiny = -746.0 // < ln(2^-1075) ≈ -745.13
)

// Taylor coefficients 1/n! (n = 3…14), correctly rounded. With |r| ≤ ln2/2
// the first omitted term r^15/15! is below 2^-61 relative to expm1(r).
const (
	e3  = 0x1.5555555555555p-03
	e4  = 0x1.5555555555555p-05
	e5  = 0x1.1111111111111p-07
	e6  = 0x1.6c16c16c16c17p-10
	e7  = 0x1.a01a01a01a01ap-13
	e8  = 0x1.a01a01a01a01ap-16
	e9  = 0x1.71de3a556c734p-19
	e10 = 0x1.27e4fb7789f5cp-22
	e11 = 0x1.ae64567f544e4p-26
	e12 = 0x1.1eed8eff8d898p-29
	e13 = 0x1.6124613a86d09p-33
	e14 = 0x1.93974a8c07c9dp-37
)

// expCore reduces the double-double xh+xl (|xh| ≤ 746) to
// exp(xh+xl) = 2^k·(1 + eh + el), with eh+el = expm1(r), |r| ≤ ln2/2, to a
// relative error of about 2^-57. The quadratic term r²/2 is formed exactly
// in double-double because it is up to 1/5 of the result; only the cubic
// and higher tail, at most 1/50 of it, is evaluated in plain float64.
func expCore(xh, xl float64) (k int, eh, el float64) {
	kf := math.Floor(float64(xh*invLn2) + 0.5)
	k = int(kf)
	// Exact: k·ln2Hi has ≤ 53 bits and is within a factor 2 of xh (Sterbenz).
	t := xh - float64(kf*ln2Hi)
	rh, rl := twoSum(t, -float64(kf*ln2Lo))
	rh, rl = twoSum(rh, rl+xl)

	zh, zl := twoProd(rh, rh)
	// r²/2 = zh/2 + (zl/2 + rh·rl), the last term from (rh+rl)².
	hh := float64(zh * 0.5)
	hl := float64(zl*0.5) + float64(rh*rl)

	p := e14
	p = float64(p*rh) + e13
	p = float64(p*rh) + e12
	p = float64(p*rh) + e11
	p = float64(p*rh) + e10
	p = float64(p*rh) + e9
	p = float64(p*rh) + e8
	p = float64(p*rh) + e7
	p = float64(p*rh) + e6
	p = float64(p*rh) + e5
	p = float64(p*rh) + e4
	p = float64(p*rh) + e3
	tail := float64(float64(zh*rh) * p)

	s, e := twoSum(rh, hh)
	lo := e + (rl + (hl + tail))
	eh, el = fastTwoSum(s, lo)
	return k, eh, el
}

// expDD returns exp(x) as a double-double for -60 ≤ x ≤ 60 (no over- or
// underflow of either part).
func expDD(x float64) (float64, float64) {
	k, eh, el := expCore(x, 0)
	s, t := fastTwoSum(1, eh)
	sc := pow2(k)
	return float64(s * sc), float64((t + el) * sc)
}

// Exp returns e^x.
func Exp(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > expHuge:
		return math.Inf(1)
	case x < expTiny:
		return 0
	}
	k, eh, el := expCore(x, 0)
	s, t := fastTwoSum(1, eh)
	return ldexp(s+(t+el), k)
}

// expm1Parts returns k, hi, lo with expm1(x) = 2^k·(hi+lo) to about 2^-57
// relative, for -40 ≤ x ≤ 710. The "−1" is folded in before rounding:
// 2^k(1+e) − 1 = 2^k((1 − 2^-k) + e) for k > 0 and (2^k − 1) + 2^k·e for
// k < 0, where 1 − 2^-k and 2^k − 1 are exact while |k| ≤ 53.
func expm1Parts(x float64) (k int, hi, lo float64) {
	k, eh, el := expCore(x, 0)
	switch {
	case k == 0:
		return 0, eh, el
	case k > 0 && k <= 53:
		s, t := twoSum(1-pow2(-k), eh)
		return k, s, t + el
	case k > 53:
		s, t := twoSum(1, eh)
		lo = t + el
		if k < 120 {
			// beyond that 2^-k is below 2^-119 of the result
			lo -= pow2(-k)
		}
		return k, s, lo
	case k >= -53:
		sc := pow2(k)
		s, t := twoSum(sc-1, float64(eh*sc))
		return 0, s, t + float64(el*sc)
	}
	// 2^k(1+e) is below 2^-53: only its rounding effect on −1 matters.
	return 0, -1, float64(pow2(k) * (1 + eh))
}

// Expm1 returns e^x − 1, accurate also for x near 0.
func Expm1(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > expHuge:
		return math.Inf(1)
	case x < -40:
		// e^x < 2^-57: e^x − 1 rounds to −1 (also for x = −Inf).
		return -1
	case math.Abs(x) < 0x1p-54:
		// x²/2 is below half an ulp of x; this also keeps −0 and subnormals.
		return x
	}
	k, hi, lo := expm1Parts(x)
	return ldexp(hi+lo, k)
}
