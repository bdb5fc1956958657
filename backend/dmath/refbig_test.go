package dmath

import (
	"math"
	"math/big"
	"sync"
)

// Ground-truth references in math/big. They are slow (tens of µs) and used
// on a subsample, both to measure the implementation directly and to
// validate the fast double-double references of refdd_test.go that carry the
// bulk of the accuracy tests. Working precision is 192 bits; π and ln 2 are
// computed to 1600 bits so that arguments up to 2^1024 reduce exactly.

const (
	bigPrec   = 192
	constPrec = 1600
)

var bigConsts struct {
	once     sync.Once
	pi, ln2  *big.Float // constPrec bits
	twoOverP *big.Float // 2/π, constPrec bits
	invFact  []*big.Float
}

func bigInt(v int64) *big.Float { return new(big.Float).SetPrec(constPrec).SetInt64(v) }

// bigAtanInv returns atan(1/k) by its Taylor series.
func bigAtanInv(k int64) *big.Float {
	sum := bigInt(0)
	kk := bigInt(k * k)
	pw := new(big.Float).SetPrec(constPrec).Quo(bigInt(1), bigInt(k))
	eps := new(big.Float).SetMantExp(bigInt(1), -constPrec-20)
	for n := int64(0); ; n++ {
		t := new(big.Float).SetPrec(constPrec).Quo(pw, bigInt(2*n+1))
		if n%2 == 0 {
			sum.Add(sum, t)
		} else {
			sum.Sub(sum, t)
		}
		if t.Cmp(eps) < 0 {
			return sum
		}
		pw.Quo(pw, kk)
	}
}

func initBigConsts() {
	bigConsts.once.Do(func() {
		// Machin: π = 16·atan(1/5) − 4·atan(1/239).
		a := bigAtanInv(5)
		a.Mul(a, bigInt(16))
		b := bigAtanInv(239)
		b.Mul(b, bigInt(4))
		bigConsts.pi = a.Sub(a, b)
		// ln 2 = 2·atanh(1/3) = 2·Σ 1/((2n+1)·3^(2n+1)).
		sum := bigInt(0)
		pw := new(big.Float).SetPrec(constPrec).Quo(bigInt(1), bigInt(3))
		eps := new(big.Float).SetMantExp(bigInt(1), -constPrec-20)
		for n := int64(0); ; n++ {
			t := new(big.Float).SetPrec(constPrec).Quo(pw, bigInt(2*n+1))
			sum.Add(sum, t)
			if t.Cmp(eps) < 0 {
				break
			}
			pw.Quo(pw, bigInt(9))
		}
		bigConsts.ln2 = sum.Mul(sum, bigInt(2))
		bigConsts.twoOverP = new(big.Float).SetPrec(constPrec).Quo(bigInt(2), bigConsts.pi)
		f := new(big.Float).SetPrec(bigPrec + 64).SetInt64(1)
		for n := int64(0); n <= 80; n++ {
			if n > 0 {
				f.Quo(f, new(big.Float).SetInt64(n))
			}
			bigConsts.invFact = append(bigConsts.invFact, new(big.Float).Copy(f))
		}
	})
}

func nb() *big.Float                { return new(big.Float).SetPrec(bigPrec + 64) }
func bf(x float64) *big.Float       { return nb().SetFloat64(x) }
func bcopy(x *big.Float) *big.Float { return nb().Set(x) }

// bigExpm1Small returns e^r − 1 for |r| ≤ 2^-10 by Taylor series.
func bigExpm1Small(r *big.Float) *big.Float {
	initBigConsts()
	sum := bcopy(r)
	term := bcopy(r)
	lim := r.MantExp(nil) - bigPrec - 20
	for n := 2; ; n++ {
		term.Mul(term, r)
		t := nb().Mul(term, bigConsts.invFact[n])
		sum.Add(sum, t)
		if t.Sign() == 0 || t.MantExp(nil) < lim {
			return sum
		}
	}
}

// bigExp returns e^x; beyond |x| = 2^20 it returns 2^±5000, a stand-in
// far outside the float64 range that keeps math/big fast.
func bigExp(x *big.Float) *big.Float {
	initBigConsts()
	xf, _ := x.Float64()
	if math.Abs(xf) > 0x1p20 {
		return nb().SetMantExp(bf(1), int(math.Copysign(5000, xf)))
	}
	k := math.Round(xf / math.Ln2)
	r := nb().Mul(bigConsts.ln2, bf(k))
	r.Sub(x, r)
	const halvings = 12
	r.SetMantExp(r, -halvings)
	m := bigExpm1Small(r)
	for i := 0; i < halvings; i++ {
		// e^{2r} − 1 = m·(m+2)
		t := nb().Add(m, bf(2))
		m.Mul(m, t)
	}
	m.Add(m, bf(1))
	return m.SetMantExp(m, int(k))
}

// bigExpm1 returns e^x − 1.
func bigExpm1(x *big.Float) *big.Float {
	if x.MantExp(nil) < -9 {
		return bigExpm1Small(x)
	}
	e := bigExp(x)
	return e.Sub(e, bf(1))
}

// bigLog returns log x for x > 0: one Newton step from the float64 value,
// with the correction log1p(t) = t − t²/2 + t³/3 − t⁴/4.
func bigLog(x *big.Float) *big.Float {
	initBigConsts()
	if x.Cmp(bf(1)) == 0 {
		return nb()
	}
	mant := nb()
	e := x.MantExp(mant)
	mf, _ := mant.Float64()
	y0 := math.Log(mf) + float64(e)*math.Ln2
	t := bigExp(bf(-y0))
	t.Mul(t, x)
	t.Sub(t, bf(1))
	return bigAddLog1pSeries(bf(y0), t)
}

// bigAddLog1pSeries returns y + log1p(t) for |t| < 2^-40.
func bigAddLog1pSeries(y, t *big.Float) *big.Float {
	p := bcopy(t)
	for n := int64(1); n <= 5; n++ {
		term := nb().Quo(p, nb().SetInt64(n))
		if n%2 == 1 {
			y.Add(y, term)
		} else {
			y.Sub(y, term)
		}
		p.Mul(p, t)
	}
	return y
}

// bigLog1p returns log(1+x) for x > −1.
func bigLog1p(x *big.Float) *big.Float {
	if x.Sign() == 0 {
		return nb()
	}
	if x.MantExp(nil) < -40 {
		return bigAddLog1pSeries(nb(), x)
	}
	return bigLog(nb().Add(x, bf(1)))
}

// bigSinCosR returns sin and cos of n·π/2 + r for |r| ≲ π/4.
func bigSinCosR(r *big.Float, n int) (s, c *big.Float) {
	initBigConsts()
	z := nb().Mul(r, r)
	// Horner in z over enough terms for 2^-200 at |r| = π/4.
	const terms = 26
	ps := nb()
	pc := nb()
	for j := terms; j >= 0; j-- {
		ps.Mul(ps, z)
		pc.Mul(pc, z)
		cs := bcopy(bigConsts.invFact[2*j+1])
		cc := bcopy(bigConsts.invFact[2*j])
		if j%2 == 1 {
			cs.Neg(cs)
			cc.Neg(cc)
		}
		ps.Add(ps, cs)
		pc.Add(pc, cc)
	}
	ps.Mul(ps, r)
	switch n & 3 {
	case 0:
		return ps, pc
	case 1:
		return pc, ps.Neg(ps)
	case 2:
		return ps.Neg(ps), pc.Neg(pc)
	}
	return pc.Neg(pc), ps
}

// bigSinCos returns sin x and cos x with an exact reduction modulo π/2.
func bigSinCos(x float64) (s, c *big.Float) {
	initBigConsts()
	q := new(big.Float).SetPrec(constPrec).SetFloat64(x)
	q.Mul(q, bigConsts.twoOverP)
	q.Add(q, new(big.Float).SetFloat64(0.5))
	ni, _ := q.Int(nil)
	if q.Sign() < 0 && new(big.Float).SetInt(ni).Cmp(q) != 0 {
		ni.Sub(ni, big.NewInt(1)) // floor for negative q
	}
	nq := new(big.Float).SetPrec(constPrec).SetInt(ni)
	q.Sub(q, new(big.Float).SetFloat64(0.5))
	q.Sub(q, nq) // fraction in [−1/2, 1/2)
	q.Mul(q, bigConsts.pi)
	q.Quo(q, new(big.Float).SetInt64(2))
	r := nb().Set(q)
	n4 := new(big.Int).And(ni, big.NewInt(3)).Int64()
	return bigSinCosR(r, int(n4))
}

// bigSinCosPi returns sin(πx) and cos(πx) with an exact reduction modulo ½.
func bigSinCosPi(x float64) (s, c *big.Float) {
	initBigConsts()
	a := math.Abs(x)
	var n int
	var f float64
	if a >= 0x1p53 {
		n, f = 0, 0
	} else {
		nf := math.Round(2 * a)
		n, f = int(uint64(nf)&3), a-nf/2
	}
	r := nb().Mul(bf(f), bigConsts.pi)
	s, c = bigSinCosR(r, n)
	if x < 0 {
		s.Neg(s)
	}
	return s, c
}

func bigTanh(x float64) *big.Float {
	t := bigExpm1(bf(2 * x))
	d := nb().Add(t, bf(2))
	return t.Quo(t, d)
}

func bigSigmoid(x float64) *big.Float {
	if x > 1e4 {
		return bf(1) // 1 − e^−x, with e^−x far below any ulp
	}
	e := bigExp(bf(-x))
	e.Add(e, bf(1))
	return e.Quo(bf(1), e)
}

func bigSoftplus(x float64) *big.Float {
	if x > 1e4 {
		return bf(x)
	}
	if x > 0 {
		l := bigLog1p(bigExp(bf(-x)))
		return l.Add(l, bf(x))
	}
	return bigLog1p(bigExp(bf(x)))
}

// bigPow returns x**y for finite x ≠ 0 (an integer y when x < 0); results
// far outside the float64 range are replaced by 2^±5000.
func bigPow(x, y float64) *big.Float {
	l := bigLog(bf(math.Abs(x)))
	l.Mul(l, bf(y))
	var r *big.Float
	switch lf, _ := l.Float64(); {
	case lf > 720:
		r = nb().SetMantExp(bf(1), 5000)
	case lf < -760:
		r = nb().SetMantExp(bf(1), -5000)
	default:
		r = bigExp(l)
	}
	if x < 0 && isOddInt(y) {
		r.Neg(r)
	}
	return r
}

// overflowBig is MaxFloat64 plus half an ulp, 2^1024 − 2^970.
func overflowBig() *big.Float {
	return nb().Sub(nb().SetMantExp(bf(1), 1024), nb().SetMantExp(bf(1), 970))
}

// bigErrULP returns |got − ref| in ulps of ref's float64 precision
// (subnormal spacing below 2^-1022). A reference beyond the overflow
// threshold expects ±Inf; anything else non-finite is an infinite error.
func bigErrULP(got float64, ref *big.Float) float64 {
	if ref.Sign() == 0 {
		if got == 0 {
			return 0
		}
		return math.Inf(1)
	}
	e := ref.MantExp(nil) // |ref| in [2^(e−1), 2^e)
	if e > 1024 || (e == 1024 && new(big.Float).Abs(ref).Cmp(overflowBig()) >= 0) {
		if math.IsInf(got, ref.Sign()) {
			return 0
		}
		return math.Inf(1)
	}
	if math.IsInf(got, 0) || math.IsNaN(got) {
		return math.Inf(1)
	}
	ue := e - 53
	if ue < -1074 {
		ue = -1074
	}
	d := nb().Sub(bf(got), ref)
	d.SetMantExp(d, -ue)
	v, _ := d.Float64()
	return math.Abs(v)
}

// bigErrULP32 is bigErrULP in float32 ulps.
func bigErrULP32(got float32, ref *big.Float) float64 {
	return errULP32(got, func() float64 { v, _ := ref.Float64(); return v }())
}
