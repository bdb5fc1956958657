package dmath

import "math"

const third = 0x1.5555555555555p-02 // 1/3 rounded

// Tanh returns the hyperbolic tangent of x, computed as t/(t+2) with
// t = expm1(2|x|) in double-double and a corrected division, so the only
// sizeable error is the final rounding.
func Tanh(x float64) float64 {
	a := math.Abs(x)
	switch {
	case x != x:
		return x
	case a > 22:
		// 1 − tanh(22) < 2^-62: rounds to ±1 (also for ±Inf).
		return math.Copysign(1, x)
	case a < 0x1p-28:
		// tanh x = x(1 − x²/3) rounds to x; keeps −0 and subnormals.
		return x
	}
	k, hi, lo := expm1Parts(float64(2 * a))
	sc := pow2(k)
	th, tl := float64(hi*sc), float64(lo*sc)
	dh, dl := twoSum(2, th)
	dl += tl
	return math.Copysign(ddDiv(th, tl, dh, dl), x)
}

// Sigmoid returns the logistic function 1/(1+e^−x). With E = e^−|x| in
// double-double it is 1/(1+E) for x ≥ 0 and E/(1+E) for x < 0, which never
// overflows and keeps full relative accuracy for very negative x.
func Sigmoid(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > 40:
		// e^−40 < 2^-57: rounds to 1.
		return 1
	case x < -40:
		// σ(x) = e^x·(1 − e^x + …), the correction is below 2^-57.
		return Exp(x)
	}
	eh, el := expDD(-math.Abs(x))
	dh, dl := fastTwoSum(1, eh)
	dl += el
	if x >= 0 {
		return ddDiv(1, 0, dh, dl)
	}
	return ddDiv(eh, el, dh, dl)
}

// Softplus returns log(1+e^x) without overflow: x + log1p(e^−x) for x > 0,
// log1p(e^x) otherwise, with E = e^−|x| as a double-double and log1p(E)
// from its series or from logMid (≈ 2^-58 relative). It returns x itself
// once e^−x is below half an ulp of x (x > 34), and e^x for x < −40, where
// the correction −e^2x/2 is below 2^-57 relative.
func Softplus(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > 34:
		return x
	case x < -40:
		return Exp(x)
	}
	eh, el := expDD(-math.Abs(x))
	var lh, ll float64
	if eh < 0x1p-20 {
		// log1p(E) = E − E²/2 + E³/3 − …; the omitted terms are below
		// 2^-62 relative. (Through logMid, forming 1+E would round away
		// the low part el, which is not negligible next to a tiny E.)
		e2 := float64(eh * eh)
		lh, ll = eh, el+(float64(e2*-0.5)+float64(float64(e2*eh)*third))
	} else {
		uh, ul := fastTwoSum(1, eh)
		lh, ll = logMid(uh, ul+el)
	}
	if x > 0 {
		s, t := twoSum(x, lh)
		return s + (t + ll)
	}
	return lh + ll
}
