package dmath

import (
	"math"
	"math/big"
	"testing"
)

// TestConstants re-derives every constant of the implementation from
// math/big (π by Machin's formula and ln 2 by the atanh series, both to 1600
// bits) and requires bit equality with the hexadecimal literals in the
// source, so the literals can be transcribed to CUDA without doubt about
// their origin.
func TestConstants(t *testing.T) {
	initBigConsts()
	bp := func() *big.Float { return new(big.Float).SetPrec(constPrec) }
	r53 := func(x *big.Float) float64 { f, _ := x.Float64(); return f }
	trunc := func(x *big.Float, bits uint) float64 {
		f, _ := new(big.Float).SetPrec(bits).SetMode(big.ToZero).Set(x).Float64()
		return f
	}
	minus := func(x *big.Float, f float64) *big.Float { return bp().Sub(x, new(big.Float).SetFloat64(f)) }
	q := func(a, b int64) *big.Float { return bp().Quo(bigInt(a), bigInt(b)) }
	fact := func(n int64) *big.Float {
		f := bigInt(1)
		for i := int64(2); i <= n; i++ {
			f.Mul(f, bigInt(i))
		}
		return bp().Quo(bigInt(1), f)
	}
	signed := func(x *big.Float, neg bool) *big.Float {
		if neg {
			return bp().Neg(x)
		}
		return x
	}

	pi, ln2 := bigConsts.pi, bigConsts.ln2
	pio2 := bp().Quo(pi, bigInt(2))
	l1 := trunc(ln2, 42)
	p1 := trunc(pio2, 33)
	p2 := trunc(minus(pio2, p1), 33)
	p3 := trunc(minus(minus(pio2, p1), p2), 33)
	p4 := r53(minus(minus(minus(pio2, p1), p2), p3))

	want := map[string][2]float64{ // name: {literal, derived}
		"ln2Hi":     {ln2Hi, l1},
		"ln2Lo":     {ln2Lo, r53(minus(ln2, l1))},
		"invLn2":    {invLn2, r53(bp().Quo(bigInt(1), ln2))},
		"pio2a":     {pio2a, p1},
		"pio2b":     {pio2b, p2},
		"pio2c":     {pio2c, p3},
		"pio2d":     {pio2d, p4},
		"pio2H":     {pio2H, r53(pio2)},
		"pio2L":     {pio2L, r53(minus(pio2, r53(pio2)))},
		"piH":       {piH, r53(pi)},
		"piL":       {piL, r53(minus(pi, r53(pi)))},
		"twoOverPi": {twoOverPi, r53(bigConsts.twoOverP)},
		"pio4":      {pio4, r53(bp().Quo(pi, bigInt(4)))},
		"sqrt2":     {sqrt2, math.Sqrt2},
		"ld3l":      {ld3l, r53(minus(q(2, 3), ld3h))},
		"ld5l":      {ld5l, r53(minus(q(2, 5), ld5h))},
	}
	for i, c := range []float64{e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14} {
		want["e"+itoa(i+3)] = [2]float64{c, r53(fact(int64(i + 3)))}
	}
	for i, c := range []float64{s3, s5, s7, s9, s11, s13, s15, s17} {
		n := int64(2*i + 3)
		want["s"+itoa(int(n))] = [2]float64{c, r53(signed(fact(n), i%2 == 0))}
	}
	for i, c := range []float64{c4, c6, c8, c10, c12, c14, c16, c18} {
		n := int64(2*i + 4)
		want["c"+itoa(int(n))] = [2]float64{c, r53(signed(fact(n), i%2 == 1))}
	}
	for i, c := range []float64{ld3h, ld5h, ld7, ld9, ld11, ld13, ld15, ld17, ld19, ld21, ld23, ld25, ld27} {
		want["ld"+itoa(2*i+3)] = [2]float64{c, r53(q(2, int64(2*i+3)))}
	}
	for name, w := range want {
		if math.Float64bits(w[0]) != math.Float64bits(w[1]) {
			t.Errorf("%s = %x, derived %x", name, w[0], w[1])
		}
	}
	// k·ln2Hi and n·pio2{a,b,c} must be exact for the ranges used.
	if b := sigBits(ln2Hi); b > 42 {
		t.Errorf("ln2Hi has %d significant bits", b)
	}
	for _, c := range []float64{pio2a, pio2b, pio2c} {
		if b := sigBits(c); b > 33 {
			t.Errorf("π/2 part %x has %d significant bits", c, b)
		}
	}

	// The 2/π table: word i holds bits 64(i−1)+1 … 64i after the point.
	frac := new(big.Float).SetPrec(constPrec).Set(bigConsts.twoOverP)
	if twoOverPiBits[0] != 0 {
		t.Errorf("twoOverPiBits[0] = %x, want 0 (padding)", twoOverPiBits[0])
	}
	for i := 1; i < len(twoOverPiBits); i++ {
		frac.SetMantExp(frac, 64)
		w, _ := frac.Int(nil)
		if w.Uint64() != twoOverPiBits[i] {
			t.Errorf("twoOverPiBits[%d] = %016x, derived %016x", i, twoOverPiBits[i], w.Uint64())
		}
		frac.Sub(frac, new(big.Float).SetInt(w))
	}
}

func sigBits(f float64) int {
	m := math.Float64bits(f) & fracMask
	if m == 0 {
		return 1
	}
	n := 53
	for m&1 == 0 {
		m >>= 1
		n--
	}
	return n
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
