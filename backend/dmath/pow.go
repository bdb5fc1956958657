package dmath

import "math"

// isOddInt reports whether y is an odd integer. Every float64 of magnitude
// ≥ 2^53 is even.
func isOddInt(y float64) bool {
	if math.Abs(y) >= 0x1p53 {
		return false
	}
	t := math.Trunc(y)
	return t == y && int64(t)&1 == 1
}

// Pow returns x**y, with the special cases of C99 Annex F:
//
//	Pow(x, ±0) = 1 for any x (even NaN)
//	Pow(1, y) = 1 for any y (even NaN)
//	Pow(x, 1) = x
//	Pow(NaN, y) = Pow(x, NaN) = NaN otherwise
//	Pow(±0, y) = ±Inf for y an odd integer < 0
//	Pow(±0, y) = +Inf for finite y < 0 not an odd integer, and for y = −Inf
//	Pow(±0, y) = ±0 for y an odd integer > 0
//	Pow(±0, y) = +0 for finite y > 0 not an odd integer, and for y = +Inf
//	Pow(−1, ±Inf) = 1
//	Pow(x, +Inf) = +Inf for |x| > 1, +0 for |x| < 1
//	Pow(x, −Inf) = +0 for |x| > 1, +Inf for |x| < 1
//	Pow(+Inf, y) = +Inf for y > 0, +0 for y < 0
//	Pow(−Inf, y) = Pow(−0, −y)
//	Pow(x, y) = NaN for finite x < 0 and finite non-integer y
//
// Otherwise it computes exp(y·log|x|) with a double-double log (relative
// error ≈ 2^-70) and a double-double product, so the exponent is known to
// ≈ 2^-60 absolute and the final rounding dominates (max error measured:
// 0.75 ulp, see ACCURACY.md).
func Pow(x, y float64) float64 {
	switch {
	case y == 0 || x == 1:
		return 1
	case y != y || x != x:
		return math.NaN()
	case y == 1:
		return x
	case x == 0:
		switch {
		case y < 0:
			if isOddInt(y) {
				return math.Copysign(math.Inf(1), x)
			}
			return math.Inf(1)
		default:
			if isOddInt(y) {
				return x
			}
			return 0
		}
	case math.IsInf(y, 0):
		switch {
		case x == -1:
			return 1
		case (math.Abs(x) < 1) == (y > 0):
			return 0
		}
		return math.Inf(1)
	case math.IsInf(x, 0):
		if x > 0 {
			if y > 0 {
				return math.Inf(1)
			}
			return 0
		}
		// −Inf: as Pow(−0, −y).
		odd := isOddInt(y)
		switch {
		case y > 0 && odd:
			return math.Inf(-1)
		case y > 0:
			return math.Inf(1)
		case odd:
			return math.Copysign(0, -1)
		}
		return 0
	}

	// Finite nonzero x and y.
	neg := false
	if x < 0 {
		if math.Trunc(y) != y {
			return math.NaN()
		}
		neg = isOddInt(y)
		x = -x
	}
	if math.Abs(y) >= 0x1p64 {
		// |log x| ≥ 2^-54 for x ≠ 1, so |y·log x| > 2^10: certain overflow
		// or underflow. Such y are even, so the sign is +.
		switch {
		case x == 1:
			return 1
		case (x > 1) == (y > 0):
			return math.Inf(1)
		}
		return 0
	}

	lh, ll := logDD(x, 0)
	ph, pe := twoProd(y, lh)
	ph, pl := fastTwoSum(ph, pe+float64(y*ll))
	var r float64
	switch {
	case ph > expHuge:
		r = math.Inf(1)
	case ph < expTiny:
		r = 0
	default:
		k, eh, el := expCore(ph, pl)
		s, t := fastTwoSum(1, eh)
		r = ldexp(s+(t+el), k)
	}
	if neg {
		r = -r
	}
	return r
}
