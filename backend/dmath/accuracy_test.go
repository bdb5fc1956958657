package dmath

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The accuracy requirement is ≤ 2 ulp for every function. Each float64
// function is run on ≥ 10^6 inputs (bulk) against the double-double
// references of refdd_test.go, and on a subsample (≥ 10^4 per function,
// ≥ 1.2·10^5 in all) against math/big, where the double-double reference is
// itself checked to be accurate to < 2^-20 ulp. Each float32 function is run
// on ≥ 10^6 inputs against a float64 reference. With -short the counts drop
// twentyfold.

const maxULP = 2.0

func bulkCount() int {
	if testing.Short() {
		return 50_000
	}
	return 1_000_000
}

func bigCount() int {
	if testing.Short() {
		return 1_000
	}
	return 10_000
}

type accCase struct {
	name  string
	f     func(x, y float64) float64
	ref   func(x, y float64) (xf, bool) // ok=false: outside the tested domain
	big   func(x, y float64) *big.Float // nil: outside the tested domain
	gen   func(r *rand.Rand) (x, y float64)
	edges [][2]float64
	unary bool
}

func un(f func(float64) float64) func(x, y float64) float64 {
	return func(x, _ float64) float64 { return f(x) }
}
func unRef(f func(float64) xf) func(x, y float64) (xf, bool) {
	return func(x, _ float64) (xf, bool) { return f(x), true }
}
func unBig(f func(float64) *big.Float) func(x, y float64) *big.Float {
	return func(x, _ float64) *big.Float { return f(x) }
}
func unGen(g func(*rand.Rand) float64) func(*rand.Rand) (float64, float64) {
	return func(r *rand.Rand) (float64, float64) { return g(r), 0 }
}
func unEdges(xs ...float64) [][2]float64 {
	var e [][2]float64
	for _, x := range xs {
		e = append(e, [2]float64{x, 0})
	}
	return e
}

// Finite inputs common to all unary functions.
var commonEdges = []float64{
	0, math.Copysign(0, -1), 0x1p-1074, -0x1p-1074, 0x1p-1022 - 0x1p-1074, -(0x1p-1022 - 0x1p-1074),
	0x1p-1022, -0x1p-1022, 0x1p-60, -0x1p-60, 0x1p-54, 0x1p-28, 0x1p-27, 1e-10, -1e-10,
	0.5, -0.5, 1, -1, 2, -2, 10, -10, 0x1p-1,
}

func with(xs ...float64) []float64 { return append(append([]float64{}, commonEdges...), xs...) }

func filter(xs []float64, ok func(float64) bool) []float64 {
	var out []float64
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

func accCases() []accCase {
	refSin := func(x float64) xf { s, _ := refSinCos(x); return xdd(s) }
	refCos := func(x float64) xf { _, c := refSinCos(x); return xdd(c) }
	refSinPi := func(x float64) xf { s, _ := refSinCosPi(x); return s }
	refCosPi := func(x float64) xf { _, c := refSinCosPi(x); return c }
	bigSin := func(x float64) *big.Float { s, _ := bigSinCos(x); return s }
	bigCos := func(x float64) *big.Float { _, c := bigSinCos(x); return c }
	bigSinPi := func(x float64) *big.Float { s, _ := bigSinCosPi(x); return s }
	bigCosPi := func(x float64) *big.Float { _, c := bigSinCosPi(x); return c }
	trigEdges := with(math.Pi/4, math.Nextafter(math.Pi/4, 1), math.Pi/2, math.Pi, 3*math.Pi/2, 2*math.Pi,
		0x1p19, math.Nextafter(0x1p19, 0), 0x1p20, 1e22, 1e300, -1e300, math.MaxFloat64, -math.MaxFloat64,
		0x1.6ac5b262ca1ffp+849, // 6381956970095103·2^797, the float64 closest to a multiple of π/2
		0x1.8a5e9b1bd0f27p+9, 0x1.921fb54442d18p+1000, 5.319372648326541e+255, 1.0e15, 3.0e9)
	piEdges := with(0.25, 0.75, 1.5, 2.5, 1.0/3, 0x1p52-0.5, 0x1p52, 0x1p52+1, 0x1p53, 0x1p53+2, 0x1p51+0.5,
		0x1p-30, math.Nextafter(0x1p-30, 0), 1e300, -1e300, 123456.75, -7.25)
	return []accCase{
		{name: "Exp", f: un(Exp), ref: unRef(func(x float64) xf { return refExp(dd{x, 0}) }),
			big: unBig(func(x float64) *big.Float { return bigExp(bf(x)) }), gen: unGen(genExp), unary: true,
			edges: unEdges(with(709.782712893384, math.Nextafter(709.782712893384, 1000), 709.7, -708.3964185322641,
				-708.39641853226408, -745.1332191019411, -745.1332191019412, -744.4400719213812, -745.0, math.Ln2, -math.Ln2)...)},
		{name: "Expm1", f: un(Expm1), ref: unRef(refExpm1),
			big: unBig(func(x float64) *big.Float { return bigExpm1(bf(x)) }), gen: unGen(genExpm1), unary: true,
			edges: unEdges(with(709.782712893384, -37.42994775023705, -36.7, -37.5, -40, -38, math.Ln2/2, -math.Ln2/2, 0.35, -0.35)...)},
		{name: "Log", f: un(Log), ref: unRef(func(x float64) xf { return xdd(refLog(x)) }),
			big: unBig(func(x float64) *big.Float { return bigLog(bf(x)) }), gen: unGen(genLog), unary: true,
			edges: unEdges(filter(with(math.MaxFloat64, math.Sqrt2, math.Nextafter(math.Sqrt2, 2), math.Sqrt2/2,
				math.Nextafter(1, 2), math.Nextafter(1, 0), math.E, 0.1, 1e300, 1e-300), func(x float64) bool { return x > 0 })...)},
		{name: "Log1p", f: un(Log1p), ref: unRef(func(x float64) xf { return xdd(refLog1p(dd{x, 0})) }),
			big: unBig(func(x float64) *big.Float { return bigLog1p(bf(x)) }), gen: unGen(genLog1p), unary: true,
			edges: unEdges(filter(with(math.MaxFloat64, math.Sqrt2-1, math.Sqrt2/2-1, math.Nextafter(-1, 0), -0.999,
				math.Nextafter(math.Sqrt2-1, 1), 0x1p53, 1e300), func(x float64) bool { return x > -1 })...)},
		{name: "Tanh", f: un(Tanh), ref: unRef(refTanh), big: unBig(bigTanh), gen: unGen(genTanh), unary: true,
			edges: unEdges(with(22, -22, math.Nextafter(22, 0), 19.06, 0.5493061443340549, math.MaxFloat64, -math.MaxFloat64)...)},
		{name: "Sigmoid", f: un(Sigmoid), ref: unRef(refSigmoid), big: unBig(bigSigmoid), gen: unGen(genSigmoid), unary: true,
			edges: unEdges(with(40, -40, 36.7, -36.7, -708.39641853226408, -745.1332191019411, -745.2, -750, 1e300, -1e300)...)},
		{name: "Softplus", f: un(Softplus), ref: unRef(refSoftplus), big: unBig(bigSoftplus), gen: unGen(genSoftplus), unary: true,
			edges: unEdges(with(34, -40, 33.27, 36.7, -708.39641853226408, -745.1332191019411, -745.2, 1e300, -1e300, math.MaxFloat64)...)},
		{name: "Sin", f: un(Sin), ref: unRef(refSin), big: unBig(bigSin), gen: unGen(genTrig), unary: true, edges: unEdges(trigEdges...)},
		{name: "Cos", f: un(Cos), ref: unRef(refCos), big: unBig(bigCos), gen: unGen(genTrig), unary: true, edges: unEdges(trigEdges...)},
		{name: "SinPi", f: un(SinPi), ref: unRef(refSinPi), big: unBig(bigSinPi), gen: unGen(genTrigPi), unary: true, edges: unEdges(piEdges...)},
		{name: "CosPi", f: un(CosPi), ref: unRef(refCosPi), big: unBig(bigCosPi), gen: unGen(genTrigPi), unary: true, edges: unEdges(piEdges...)},
		{name: "Pow", f: Pow, ref: refPow, big: bigPow, gen: genPow, edges: powEdges},
	}
}

var powEdges = [][2]float64{
	{2, 1023}, {2, -1022}, {2, -1074}, {2, -1075}, {2, 1024}, {2, 0.5}, {2, -0.5}, {10, 308}, {10, -323},
	{0.5, 1074}, {-2, 3}, {-2, -1075}, {-2, 1023}, {-0.5, 3}, {3, 0.5}, {1e308, 1.0001}, {1e-308, 0.5},
	{1 + 0x1p-52, 0x1p62}, {1 - 0x1p-53, 0x1p62}, {1 + 0x1p-52, -0x1p62}, {1 + 0x1p-52, 0x1p55},
	{0x1p-1074, 0.5}, {0x1p-1074, -0.5}, {0x1p-1074, 1.0 / 1074}, {math.MaxFloat64, 0.999}, {math.MaxFloat64, -1},
	{1.0000001, 9.981255811655853e+08}, {9.856943544717112e-05, 2.5}, {-1 - 0x1p-52, 0x1p52 + 1},
	{2.718281828459045, 709.78}, {7, 364.7}, {0.1, 323.3}, {0.1, 324}, {-3, 41}, {1.5, 1750.5},
}

type accResult struct {
	name            string
	bulkN, bigN     int
	bulkMax, bigMax float64
	bulkArg, bigArg [2]float64
	refErr          float64
	over            int
}

var accSummary struct {
	sync.Mutex
	rows []accResult
}

func fmtArg(c *accCase, a [2]float64) string {
	if c.unary {
		return fmt.Sprintf("%v (%x)", a[0], a[0])
	}
	return fmt.Sprintf("(%v, %v)", a[0], a[1])
}

// ddRefErrULP returns the error of a double-double reference in float64
// ulps of the math/big truth.
func ddRefErrULP(ref xf, truth *big.Float) float64 {
	if truth.Sign() == 0 {
		return math.Abs(ref.h)
	}
	v := nb().Add(nb().SetMantExp(bf(ref.h), ref.e), nb().SetMantExp(bf(ref.l), ref.e))
	e := truth.MantExp(nil)
	ue := e - 53
	if ue < -1074 {
		ue = -1074
	}
	d := v.Sub(v, truth)
	d.SetMantExp(d, -ue)
	f, _ := d.Float64()
	return math.Abs(f)
}

func TestAccuracy64(t *testing.T) {
	initDD()
	t.Cleanup(func() { logSummary(t) })
	for _, c := range accCases() {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := accResult{name: c.name}
			r := newRand("acc64/" + c.name)
			// math/big subsample (and the edges), validating the dd reference too.
			check := func(x, y float64) {
				truth := c.big(x, y)
				if truth == nil {
					return
				}
				got := c.f(x, y)
				e := bigErrULP(got, truth)
				res.bigN++
				if e > res.bigMax || e != e {
					res.bigMax, res.bigArg = e, [2]float64{x, y}
				}
				if e > maxULP {
					res.over++
					if res.over <= 5 {
						t.Errorf("%s%s = %x: %.3f ulp from math/big", c.name, fmtArg(&c, [2]float64{x, y}), got, e)
					}
				}
				if ref, ok := c.ref(x, y); ok {
					re := ddRefErrULP(ref, truth)
					if re > res.refErr {
						res.refErr = re
					}
					if re > 0x1p-20 {
						t.Errorf("dd reference for %s%s is off by %.3g ulp", c.name, fmtArg(&c, [2]float64{x, y}), re)
					}
				}
			}
			for _, e := range c.edges {
				check(e[0], e[1])
			}
			for i := 0; i < bigCount(); i++ {
				check(c.gen(r))
			}
			// Bulk against the double-double reference.
			for i := 0; i < bulkCount(); i++ {
				x, y := c.gen(r)
				ref, ok := c.ref(x, y)
				if !ok {
					continue
				}
				got := c.f(x, y)
				e := errULP(got, ref)
				res.bulkN++
				if e > res.bulkMax || e != e {
					res.bulkMax, res.bulkArg = e, [2]float64{x, y}
				}
				if e > maxULP {
					res.over++
					if res.over <= 5 {
						t.Errorf("%s%s = %x: %.3f ulp", c.name, fmtArg(&c, [2]float64{x, y}), got, e)
					}
				}
			}
			t.Logf("%-8s bulk %8d pts max %.3f ulp at %s; math/big %6d pts max %.3f ulp at %s; dd ref err ≤ %.1e ulp",
				c.name, res.bulkN, res.bulkMax, fmtArg(&c, res.bulkArg), res.bigN, res.bigMax, fmtArg(&c, res.bigArg), res.refErr)
			if res.bulkN < bulkCount()*9/10 {
				t.Errorf("only %d bulk points in the tested domain", res.bulkN)
			}
			accSummary.Lock()
			accSummary.rows = append(accSummary.rows, res)
			accSummary.Unlock()
		})
	}
}

func logSummary(t *testing.T) {
	accSummary.Lock()
	defer accSummary.Unlock()
	sort.Slice(accSummary.rows, func(i, j int) bool { return accSummary.rows[i].name < accSummary.rows[j].name })
	var b strings.Builder
	total := 0
	fmt.Fprintf(&b, "%-10s %10s %10s %10s\n", "function", "points", "max ulp", "(math/big)")
	for _, r := range accSummary.rows {
		fmt.Fprintf(&b, "%-10s %10d %10.3f %10.3f\n", r.name, r.bulkN+r.bigN, math.Max(r.bulkMax, r.bigMax), r.bigMax)
		total += r.bulkN + r.bigN
	}
	fmt.Fprintf(&b, "total %d points", total)
	t.Logf("float64 summary:\n%s", b.String())
}
