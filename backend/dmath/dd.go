package dmath

import "math"

// Error-free transformations and double-double helpers. A double-double
// (hi, lo) represents hi+lo with |lo| ≤ ulp(hi)/2 after normalisation, about
// 106 significant bits. None of these may use an FMA: TwoProduct relies on
// Veltkamp splitting instead, so every product is wrapped in float64(...).

// twoSum returns s = fl(a+b) and e with s+e = a+b exactly, for any a, b
// (Knuth). Six additions, no branch, so it transcribes to CUDA unchanged.
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// fastTwoSum is twoSum for callers that know |a| ≥ |b| (or a = 0).
func fastTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return s, e
}

// splitter is 2^27+1: multiplying by it and cancelling splits a float64 into
// two halves of at most 26 significant bits each, whose pairwise products
// are exact. Valid for |a| < 2^996.
const splitter = 0x1p27 + 1

func split(a float64) (hi, lo float64) {
	c := float64(splitter * a)
	hi = c - (c - a)
	lo = a - hi
	return hi, lo
}

// twoProd returns p = fl(a·b) and e with p+e = a·b exactly (Dekker), barring
// underflow of e. Without an FMA this needs the split halves.
func twoProd(a, b float64) (p, e float64) {
	p = float64(a * b)
	ah, al := split(a)
	bh, bl := split(b)
	e = ((float64(ah*bh) - p) + float64(ah*bl) + float64(al*bh)) + float64(al*bl)
	return p, e
}

// ddMul multiplies two double-doubles (the al·bl term is below the result's
// precision and dropped).
func ddMul(ah, al, bh, bl float64) (float64, float64) {
	p, e := twoProd(ah, bh)
	e += float64(ah*bl) + float64(al*bh)
	return fastTwoSum(p, e)
}

// ddMulD multiplies a double-double by a double.
func ddMulD(ah, al, b float64) (float64, float64) {
	p, e := twoProd(ah, b)
	e += float64(al * b)
	return fastTwoSum(p, e)
}

// ddAdd adds two double-doubles. It is the "sloppy" variant: exact in the
// high parts, plain in the low parts, which suffices wherever it is used
// here because the operands never cancel by more than a factor of two.
func ddAdd(ah, al, bh, bl float64) (float64, float64) {
	s, e := twoSum(ah, bh)
	e += al + bl
	return fastTwoSum(s, e)
}

// ddDiv returns (nh+nl)/(dh+dl) rounded to float64: one quotient, then one
// correction computed from the exact remainder, so the result is within
// 0.5 ulp plus a few 2^-100 relative of the true quotient.
func ddDiv(nh, nl, dh, dl float64) float64 {
	q := nh / dh
	p, pe := twoProd(q, dh)
	r := (((nh - p) - pe) + nl) - float64(q*dl)
	return q + r/dh
}

// pow2 returns 2^k for -1022 ≤ k ≤ 1023, built from its bit pattern.
func pow2(k int) float64 {
	return math.Float64frombits(uint64(k+1023) << 52)
}

// ldexp returns y·2^k for y near 1 and -1086 ≤ k ≤ 2046 with a single
// rounding: the first multiplication is exact, only the last one can round
// (into the subnormal range) or overflow to ±Inf.
func ldexp(y float64, k int) float64 {
	if k > 1023 {
		return float64(float64(y*0x1p1023) * pow2(k-1023))
	}
	if k < -1022 {
		return float64(float64(y*pow2(k+64)) * 0x1p-64)
	}
	return float64(y * pow2(k))
}
