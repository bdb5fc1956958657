package dmath

import (
	"math"
	"math/big"
	"sync"
)

// Fast references in double-double arithmetic (≈ 2^-100 relative), written
// independently of the implementation: TwoProduct uses math.FMA, the
// algorithms differ (argument halving and squaring for exp, Newton or
// atanh series for log, full double-double Taylor series for sin/cos) and
// the constants are derived from math/big at run time. TestDDReference checks
// them against the math/big references; they then serve as the truth for
// the ≥10^6-point bulk runs, where math/big would be far too slow.

type dd struct{ h, l float64 }

// xf is a reference value (h+l)·2^e; the exponent lets results that are
// subnormal or beyond the float64 range keep full relative precision.
type xf struct {
	h, l float64
	e    int
}

func xdd(a dd) xf { return xf{a.h, a.l, 0} }

func norm(h, l float64) dd { s := h + l; return dd{s, l - (s - h)} }

func tsum(a, b float64) dd {
	s := a + b
	v := s - a
	return dd{s, (a - (s - v)) + (b - v)}
}

func tprod(a, b float64) dd {
	p := a * b
	return dd{p, math.FMA(a, b, -p)}
}

func (a dd) add(b dd) dd {
	s := tsum(a.h, b.h)
	t := tsum(a.l, b.l)
	s.l += t.h
	s = norm(s.h, s.l)
	s.l += t.l
	return norm(s.h, s.l)
}

func (a dd) neg() dd           { return dd{-a.h, -a.l} }
func (a dd) sub(b dd) dd       { return a.add(b.neg()) }
func (a dd) addf(b float64) dd { return a.add(dd{b, 0}) }
func (a dd) mul(b dd) dd {
	p := tprod(a.h, b.h)
	p.l += a.h*b.l + a.l*b.h
	return norm(p.h, p.l)
}
func (a dd) mulf(b float64) dd {
	p := tprod(a.h, b)
	p.l += a.l * b
	return norm(p.h, p.l)
}
func (a dd) div(b dd) dd {
	q1 := a.h / b.h
	r := a.sub(b.mulf(q1))
	q2 := r.h / b.h
	r = r.sub(b.mulf(q2))
	q3 := r.h / b.h
	return norm(q1, q2).addf(q3)
}
func (a dd) ldexp(k int) dd { return dd{math.Ldexp(a.h, k), math.Ldexp(a.l, k)} }

var ddc struct {
	once         sync.Once
	ln2          [3]float64 // ln 2 as three non-overlapping float64
	pio2         [3]float64 // π/2 likewise
	pi           dd
	invFact      [32]dd
	invOdd       [32]dd // 1/(2j+1)
	twoOverPiF64 float64
}

// splitBig writes v as n non-overlapping float64 values.
func splitBig(v *big.Float, out []float64) {
	r := new(big.Float).SetPrec(constPrec).Set(v)
	for i := range out {
		out[i], _ = r.Float64()
		r.Sub(r, new(big.Float).SetFloat64(out[i]))
	}
}

func initDD() {
	ddc.once.Do(func() {
		initBigConsts()
		splitBig(bigConsts.ln2, ddc.ln2[:])
		pio2 := new(big.Float).SetPrec(constPrec).Quo(bigConsts.pi, bigInt(2))
		splitBig(pio2, ddc.pio2[:])
		var p [2]float64
		splitBig(bigConsts.pi, p[:])
		ddc.pi = dd{p[0], p[1]}
		f := new(big.Float).SetPrec(constPrec).SetInt64(1)
		for n := range ddc.invFact {
			if n > 0 {
				f.Quo(f, bigInt(int64(n)))
			}
			splitBig(f, p[:])
			ddc.invFact[n] = dd{p[0], p[1]}
		}
		for j := range ddc.invOdd {
			q := new(big.Float).SetPrec(constPrec).Quo(bigInt(1), bigInt(int64(2*j+1)))
			splitBig(q, p[:])
			ddc.invOdd[j] = dd{p[0], p[1]}
		}
		ddc.twoOverPiF64, _ = bigConsts.twoOverP.Float64()
	})
}

// refExpParts returns k and m with e^x = 2^k·(1+m), m = expm1(x − k·ln2)
// to ≈ 2^-100 relative: m from a Taylor series on (x − k ln2)/2^10, then ten
// doublings m ← m(m+2), which keep relative precision in m.
func refExpParts(x dd) (int, dd) {
	initDD()
	k := math.Round(x.h / math.Ln2)
	r := x.sub(tprod(k, ddc.ln2[0])).sub(tprod(k, ddc.ln2[1])).sub(dd{k * ddc.ln2[2], 0})
	r = r.ldexp(-10)
	m := ddc.invFact[10]
	for n := 9; n >= 1; n-- {
		m = m.mul(r).add(ddc.invFact[n])
	}
	m = m.mul(r)
	for i := 0; i < 10; i++ {
		m = m.mul(m.addf(2))
	}
	return int(k), m
}

func refExp(x dd) xf {
	k, m := refExpParts(x)
	return xf{1 + m.h, m.l - ((1 + m.h) - 1 - m.h), k}.normed()
}

func (v xf) normed() xf { d := norm(v.h, v.l); return xf{d.h, d.l, v.e} }

func refExpm1(x float64) xf {
	if math.Abs(x) < 0x1p-60 {
		return xf{x, x * x / 2, 0}
	}
	k, m := refExpParts(dd{x, 0})
	switch {
	case k == 0:
		return xdd(m)
	case k > 60:
		return xdd(m.addf(1).addf(-math.Ldexp(1, -k))).withExp(k)
	}
	return xdd(m.addf(1).ldexp(k).addf(-1))
}

func (v xf) withExp(e int) xf { v.e += e; return v }

// refLog1p returns log(1+a) for a > −1 given as a double-double.
func refLog1p(a dd) dd {
	initDD()
	if math.Abs(a.h) < 0x1p-60 {
		// a − a²/2 to far below 2^-106 (and no subnormal division).
		return norm(a.h, a.l-a.h*a.h/2)
	}
	if math.Abs(a.h) < 1.0/16 {
		// 2·atanh(s), s = a/(2+a), |s| < 1/31: 12 terms reach 2^-110.
		s := a.div(a.addf(2))
		z := s.mul(s)
		p := ddc.invOdd[13]
		for j := 12; j >= 0; j-- {
			p = p.mul(z).add(ddc.invOdd[j])
		}
		return p.mul(s).mulf(2)
	}
	// Newton: y = y0 + log1p(t), t = (1+a)·e^{−y0} − 1 ≈ 2^-52.
	u := a.addf(1)
	y0 := log0(u.h + u.l)
	k, m := refExpParts(dd{-y0, 0})
	t := u.ldexp(k).mul(m.addf(1)).addf(-1) // scale first: no under/overflow
	c := t.sub(t.mul(t).mulf(0.5)).add(t.mul(t).mul(t).mul(ddc.invOdd[1]))
	return c.addf(y0)
}

// log0 is a float64 logarithm good to a few ulps for all positive x. (Go's
// math.Log is not used directly: on amd64 it is far off for subnormals.)
func log0(x float64) float64 {
	fr, e := math.Frexp(x)
	return math.Log(fr) + float64(e)*math.Ln2
}

func refLog(x float64) dd { return refLog1p(tsum(x, -1)) }

// refSinCosR returns sin and cos of n·π/2 + r for |r| ≲ π/4 + tiny.
func refSinCosR(r dd, n int) (s, c dd) {
	initDD()
	// Σ (−1)^j z^j/(2j+1)! and Σ (−1)^j z^j/(2j)! for j ≤ 14: the first
	// omitted term at |r| = π/4 is below 2^-110.
	z := r.mul(r)
	var ps, pc dd
	for j := 14; j >= 0; j-- {
		cs, cc := ddc.invFact[2*j+1], ddc.invFact[2*j]
		if j%2 == 1 {
			cs, cc = cs.neg(), cc.neg()
		}
		ps = ps.mul(z).add(cs)
		pc = pc.mul(z).add(cc)
	}
	ps = ps.mul(r)
	switch n & 3 {
	case 0:
		return ps, pc
	case 1:
		return pc, ps.neg()
	case 2:
		return ps.neg(), pc.neg()
	}
	return pc.neg(), ps
}

// refSinCos returns sin x and cos x. |x| < 2^20 reduces by a three-part π/2
// in double-double; beyond that the reduction is done in math/big.
func refSinCos(x float64) (s, c dd) {
	initDD()
	if math.Abs(x) < 0x1p-40 {
		// sin x = x − x³/6, cos x = 1 − x²/2 to far below 2^-106.
		return dd{x, -x * x * x / 6}, norm(1, -x*x/2)
	}
	if math.Abs(x) >= 0x1p20 {
		return refSinCosBig(x)
	}
	n := math.Round(x * ddc.twoOverPiF64)
	r := dd{x, 0}.sub(tprod(n, ddc.pio2[0])).sub(tprod(n, ddc.pio2[1])).sub(tprod(n, ddc.pio2[2]))
	return refSinCosR(r, int(int64(n)&3))
}

// refSinCosBig reduces exactly in math/big and evaluates in double-double.
func refSinCosBig(x float64) (s, c dd) {
	q := new(big.Float).SetPrec(constPrec).SetFloat64(x)
	q.Mul(q, bigConsts.twoOverP)
	fl := new(big.Float).SetPrec(constPrec).Set(q)
	ni, _ := fl.Int(nil) // truncates; fix up to round-to-nearest
	nf := new(big.Float).SetPrec(constPrec).SetInt(ni)
	q.Sub(q, nf)
	if q.Cmp(new(big.Float).SetFloat64(0.5)) > 0 {
		q.Sub(q, new(big.Float).SetFloat64(1))
		ni.Add(ni, big.NewInt(1))
	} else if q.Cmp(new(big.Float).SetFloat64(-0.5)) < 0 {
		q.Add(q, new(big.Float).SetFloat64(1))
		ni.Sub(ni, big.NewInt(1))
	}
	var p [2]float64
	splitBig(q, p[:])
	r := dd{p[0], p[1]}.mul(dd{ddc.pio2[0], ddc.pio2[1]})
	return refSinCosR(r, int(new(big.Int).And(ni, big.NewInt(3)).Int64()))
}

// refSinCosPi returns sin(πx) and cos(πx); tiny x keeps a scaled result.
func refSinCosPi(x float64) (s, c xf) {
	initDD()
	if math.Abs(x) < 0x1p-40 {
		// πx − (πx)³/6, scaled by 2^200 so that subnormal results keep
		// full relative precision.
		y := x * 0x1p200
		p := ddc.pi.mulf(y)
		w := (math.Pi * x) * (math.Pi * x)
		p = p.add(dd{-p.h * w / 6, 0})
		return xf{p.h, p.l, -200}, xdd(norm(1, -w/2))
	}
	a := math.Abs(x)
	var n int
	var f float64
	if a < 0x1p53 {
		nf := math.Round(2 * a)
		n, f = int(uint64(nf)&3), a-nf/2
	}
	sd, cd := refSinCosR(ddc.pi.mulf(f), n)
	if x < 0 {
		sd = sd.neg()
	}
	return xdd(sd), xdd(cd)
}

func refTanh(x float64) xf {
	if math.Abs(x) < 0x1p-40 {
		return xf{x, -x * x * x / 3, 0}
	}
	if math.Abs(x) > 40 {
		return xf{math.Copysign(1, x), 0, 0}
	}
	t := refExpm1(2 * x)
	td := dd{t.h, t.l}.ldexp(t.e)
	return xdd(td.div(td.addf(2)))
}

// refSigmoid: 1/(1+E) for x ≥ 0 and E/(1+E) for x < 0, E = e^−|x|.
func refSigmoid(x float64) xf {
	switch {
	case x > 800:
		return xf{1, 0, 0}
	case x < -800:
		return xf{1, 0, -5000} // far below every float64
	}
	k, m := refExpParts(dd{-math.Abs(x), 0})
	e := m.addf(1) // E = e·2^k
	d := e.ldexp(k).addf(1)
	if k < -1000 {
		d = dd{1, 0} // E is far below 2^-106
	}
	if x >= 0 {
		return xdd(dd{1, 0}.div(d))
	}
	q := e.div(d)
	return xf{q.h, q.l, k}
}

// refSoftplus: x + log1p(e^−x) for x > 0, log1p(e^x) otherwise.
func refSoftplus(x float64) xf {
	switch {
	case x > 800:
		return xf{x, 0, 0}
	case x < -800:
		return xf{1, 0, -5000}
	}
	k, m := refExpParts(dd{-math.Abs(x), 0})
	e := m.addf(1)
	if k < -200 {
		// log1p(E) = E·(1 − E/2 + …) with E < 2^-199.
		if x > 0 {
			return xdd(dd{x, 0})
		}
		return xf{e.h, e.l, k}
	}
	l := refLog1p(e.ldexp(k))
	if x > 0 {
		l = l.addf(x)
	}
	return xdd(l)
}

// refPow returns x**y for finite nonzero x (integer y if x < 0).
func refPow(x, y float64) (v xf, ok bool) {
	l := refLog(math.Abs(x)).mulf(y)
	switch {
	case l.h > 720:
		v = xf{1, 0, 5000} // certain overflow
	case l.h < -760:
		v = xf{1, 0, -5000} // certain underflow to zero
	default:
		v = refExp(l)
	}
	if x < 0 && isOddInt(y) {
		v.h, v.l = -v.h, -v.l
	}
	return v, true
}

// float64 value of a reference (rounded; used for float32 checks).
func (v xf) f64() float64 {
	return math.Ldexp(v.h, v.e) + math.Ldexp(v.l, v.e)
}

// errULP returns |got − ref| in ulps of float64 at ref.
func errULP(got float64, ref xf) float64 {
	if ref.h == 0 {
		if got == 0 {
			return 0
		}
		return math.Inf(1)
	}
	fr, e := math.Frexp(ref.h)
	e += ref.e
	if e > 1024 || (e == 1024 && math.Abs(fr) >= 1-0x1p-54) {
		if math.IsInf(got, int(math.Copysign(1, ref.h))) {
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
	gs := math.Ldexp(got, -ue)
	hs := math.Ldexp(ref.h, ref.e-ue)
	ls := math.Ldexp(ref.l, ref.e-ue)
	return math.Abs((gs - hs) - ls)
}

// errULP32 returns |got − ref| in ulps of float32 at ref, for a float64
// reference ref (whose own error is ~2^-29 float32 ulps).
func errULP32(got float32, ref float64) float64 {
	if ref == 0 {
		if got == 0 {
			return 0
		}
		return math.Inf(1)
	}
	if math.IsNaN(ref) {
		if got != got {
			return 0
		}
		return math.Inf(1)
	}
	// float32 overflow threshold: MaxFloat32 + half an ulp = 2^128 − 2^103.
	if math.Abs(ref) >= 0x1p128-0x1p103 {
		if math.IsInf(float64(got), int(math.Copysign(1, ref))) {
			return 0
		}
		return math.Inf(1)
	}
	g := float64(got)
	if math.IsInf(g, 0) || math.IsNaN(g) {
		return math.Inf(1)
	}
	_, e := math.Frexp(ref)
	ue := e - 24
	if ue < -149 {
		ue = -149
	}
	return math.Abs(g-ref) / math.Ldexp(1, ue)
}
