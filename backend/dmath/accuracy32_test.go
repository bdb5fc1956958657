package dmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
)

// float32 accuracy: ≥ 10^6 inputs per function against a float64 reference
// (Go's math where it is a few float64 ulps accurate, i.e. ~2^-28 float32
// ulps; the double-double refPow for Pow32 because math.Pow loses many
// float64 ulps for large exponents; exact reduction for SinPi/CosPi).

type acc32Case struct {
	name  string
	f     func(x, y float32) float32
	ref   func(x, y float32) float64
	gen   func(r *rand.Rand) (x, y float32)
	edges [][2]float32
	unary bool
}

func f32(v float64) float32 { return float32(v) }

func un32(f func(float32) float32) func(x, y float32) float32 {
	return func(x, _ float32) float32 { return f(x) }
}
func unRef32(f func(float64) float64) func(x, y float32) float64 {
	return func(x, _ float32) float64 { return f(float64(x)) }
}
func unGen32(g func(*rand.Rand) float64) func(*rand.Rand) (float32, float32) {
	return func(r *rand.Rand) (float32, float32) { return float32(g(r)), 0 }
}

var commonEdges32 = []float32{
	0, f32(math.Copysign(0, -1)), 0x1p-149, -0x1p-149, 0x1p-126, -0x1p-126, 0x1p-126 - 0x1p-149,
	1e-30, -1e-30, 0x1p-24, 0x1p-12, 0.5, -0.5, 1, -1, 2, -2, 10, -10, math.MaxFloat32, -math.MaxFloat32,
}

func edges32(xs ...float32) [][2]float32 {
	var e [][2]float32
	for _, x := range append(append([]float32{}, commonEdges32...), xs...) {
		e = append(e, [2]float32{x, 0})
	}
	return e
}

func sigmoidRef64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softplusRef64(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// sinCosPiRef64 reduces x exactly to π·f, |f| ≤ 1/4, before calling math.
func sinCosPiRef64(x float64) (s, c float64) {
	a := math.Abs(x)
	var n int
	var f float64
	if a < 0x1p53 {
		nf := math.Round(2 * a)
		n, f = int(uint64(nf)&3), a-nf/2
	}
	ss, cc := math.Sin(math.Pi*f), math.Cos(math.Pi*f)
	switch n {
	case 1:
		ss, cc = cc, -ss
	case 2:
		ss, cc = -ss, -cc
	case 3:
		ss, cc = -cc, ss
	}
	if x < 0 {
		ss = -ss
	}
	return ss, cc
}

func g32Exp(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return unif(r, -104, 89)
	case 4, 5:
		return unif(r, -1, 1)
	case 6, 7:
		return signed(r, logMag(r, -160, 0))
	}
	t := [...]float64{88.72283935546875, -87.33654022216797, -103.27892303466797, -103.97207641601562}
	return float64(nearby32(r, float32(t[r.IntN(len(t))]), 1<<12))
}

func nearby32(r *rand.Rand, v float32, k int) float32 {
	b := int64(math.Float32bits(float32(math.Abs(float64(v))))) + int64(r.IntN(2*k+1)-k)
	if b < 0 {
		b = 0
	}
	if b > 0x7f7fffff {
		b = 0x7f7fffff
	}
	return float32(math.Copysign(float64(math.Float32frombits(uint32(b))), float64(v)))
}

func randPos32(r *rand.Rand) float64 {
	for {
		v := math.Float32frombits(r.Uint32() >> 1)
		if v <= math.MaxFloat32 && v > 0 {
			return float64(v)
		}
	}
}

func g32Log(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return randPos32(r)
	case 4, 5, 6:
		return 1 + signed(r, logMag(r, -30, -1))
	case 7:
		return unif(r, 0, 10)
	}
	return float64(math.Float32frombits(r.Uint32() & (1<<23 - 1)))
}

func g32Log1p(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2:
		return signed(r, logMag(r, -160, -1))
	case 3, 4, 5:
		return unif(r, -1, 10)
	case 6:
		return -1 + logMag(r, -24, -1)
	}
	return randPos32(r)
}

func g32Tanh(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return unif(r, -12, 12)
	case 4, 5:
		return unif(r, -1, 1)
	case 6, 7, 8:
		return signed(r, logMag(r, -160, 0))
	}
	return signed(r, randPos32(r))
}

func g32Act(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1:
		return unif(r, -110, 30)
	case 2, 3, 4, 5:
		return unif(r, -20, 20)
	case 6, 7:
		return signed(r, logMag(r, -160, 0))
	case 8:
		return signed(r, randPos32(r))
	}
	return unif(r, -1, 1)
}

func g32Trig(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return unif(r, -10, 10)
	case 4:
		return signed(r, logMag(r, -160, -10))
	case 5, 6:
		k := float64(r.IntN(1 << 16))
		return signed(r, float64(nearby32(r, float32(k*math.Pi/2), 16)))
	case 7:
		return unif(r, -0x1p20, 0x1p20)
	}
	return signed(r, randPos32(r))
}

func g32TrigPi(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return unif(r, -4, 4)
	case 4, 5:
		return signed(r, float64(nearby32(r, float32(r.IntN(1<<18))/2, 8)))
	case 6:
		return signed(r, logMag(r, -160, -10))
	case 7:
		return unif(r, -0x1p22, 0x1p22)
	}
	return signed(r, randPos32(r))
}

func g32Pow(r *rand.Rand) (float32, float32) {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		x := float32(randPos32(r))
		if x == 1 {
			x = 2
		}
		return x, float32(unif(r, -110, 95) / math.Log(float64(x)))
	case 4, 5:
		return float32(unif(r, 0, 10)), float32(unif(r, -20, 20))
	case 6, 7:
		x := float32(1 + signed(r, float64(r.IntN(1<<12)+1)*0x1p-24))
		if x == 1 {
			x = 1 + 0x1p-23
		}
		return x, float32(unif(r, -100, 88) / math.Log(float64(x)))
	}
	x := float32(signed(r, randPos32(r)))
	m := math.Min(30, 88/math.Abs(math.Log(math.Abs(float64(x)))))
	y := float32(math.Round(unif(r, -m, m)))
	if y == 0 {
		y = 1
	}
	return x, y
}

func acc32Cases() []acc32Case {
	sinPi := func(x float64) float64 { s, _ := sinCosPiRef64(x); return s }
	cosPi := func(x float64) float64 { _, c := sinCosPiRef64(x); return c }
	return []acc32Case{
		{name: "Exp32", f: un32(Exp32), ref: unRef32(math.Exp), gen: unGen32(g32Exp), unary: true,
			edges: edges32(88.72283, 88.72284, -87.33655, -103.27893, -103.97208, -103.972084, -150)},
		{name: "Expm1_32", f: un32(Expm1_32), ref: unRef32(math.Expm1), gen: unGen32(g32Exp), unary: true,
			edges: edges32(88.72283, 88.72284, -17, -17.5, -20, 0.35, -0.35)},
		{name: "Log32", f: un32(Log32), ref: unRef32(math.Log), gen: unGen32(g32Log), unary: true,
			edges: edges32(1.0000001, 0.99999994, 1.4142135, 0.70710677)},
		{name: "Log1p32", f: un32(Log1p32), ref: unRef32(math.Log1p), gen: unGen32(g32Log1p), unary: true,
			edges: edges32(-0.99999994, 0.41421357, -0.29289323)},
		{name: "Tanh32", f: un32(Tanh32), ref: unRef32(math.Tanh), gen: unGen32(g32Tanh), unary: true,
			edges: edges32(9.01, -9.01, 22, 0.54930615)},
		{name: "Sigmoid32", f: un32(Sigmoid32), ref: unRef32(sigmoidRef64), gen: unGen32(g32Act), unary: true,
			edges: edges32(17, -17, -87.33655, -103.27893, -103.97208, -104, 40, -40)},
		{name: "Softplus32", f: un32(Softplus32), ref: unRef32(softplusRef64), gen: unGen32(g32Act), unary: true,
			edges: edges32(17, -17, -87.33655, -103.27893, -103.97208, -104, 34, 16.6)},
		{name: "Sin32", f: un32(Sin32), ref: unRef32(math.Sin), gen: unGen32(g32Trig), unary: true,
			edges: edges32(3.1415927, 1.5707964, 1e20, 0x1p19, 0x1p24, 0x1p30)},
		{name: "Cos32", f: un32(Cos32), ref: unRef32(math.Cos), gen: unGen32(g32Trig), unary: true,
			edges: edges32(3.1415927, 1.5707964, 1e20, 0x1p19, 0x1p24, 0x1p30)},
		{name: "SinPi32", f: un32(SinPi32), ref: unRef32(sinPi), gen: unGen32(g32TrigPi), unary: true,
			edges: edges32(0.25, 0.75, 1.5, 0x1p23, 0x1p23+1, 0x1p24, 0x1p22+0.5, 1.0/3)},
		{name: "CosPi32", f: un32(CosPi32), ref: unRef32(cosPi), gen: unGen32(g32TrigPi), unary: true,
			edges: edges32(0.25, 0.75, 1.5, 0x1p23, 0x1p23+1, 0x1p24, 0x1p22+0.5, 1.0/3)},
		{name: "Pow32", f: Pow32, gen: g32Pow,
			ref: func(x, y float32) float64 { v, _ := refPow(float64(x), float64(y)); return v.f64() },
			edges: [][2]float32{{2, 127}, {2, 128}, {2, -149}, {2, -150}, {2, -126}, {10, 38}, {10, -45}, {-2, 3},
				{-2, -149}, {1.0000001, 1e9}, {0.99999994, 1e9}, {3, 0.5}, {1e-45, 0.5}, {math.MaxFloat32, 0.999}}},
	}
}

type acc32Result struct {
	name  string
	n     int
	max   float64
	arg   [2]float32
	exact int
}

var acc32Summary struct {
	sync.Mutex
	rows []acc32Result
}

func TestAccuracy32(t *testing.T) {
	initDD()
	t.Cleanup(func() {
		acc32Summary.Lock()
		defer acc32Summary.Unlock()
		rows := acc32Summary.rows
		sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
		var b strings.Builder
		total := 0
		fmt.Fprintf(&b, "%-11s %10s %9s %14s\n", "function", "points", "max ulp", "correctly rnd.")
		for _, r := range rows {
			fmt.Fprintf(&b, "%-11s %10d %9.4f %13.5f%%\n", r.name, r.n, r.max, 100*float64(r.exact)/float64(r.n))
			total += r.n
		}
		fmt.Fprintf(&b, "total %d points", total)
		t.Logf("float32 summary:\n%s", b.String())
	})
	for _, c := range acc32Cases() {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRand("acc32/" + c.name)
			res := acc32Result{name: c.name}
			check := func(x, y float32) {
				got := c.f(x, y)
				ref := c.ref(x, y)
				e := errULP32(got, ref)
				res.n++
				if e <= 0.5 {
					res.exact++
				}
				if e > res.max || e != e {
					res.max, res.arg = e, [2]float32{x, y}
				}
				if e > maxULP {
					t.Errorf("%s(%v, %v) = %v: %.3f ulp (ref %v)", c.name, x, y, got, e, ref)
				}
			}
			for _, e := range c.edges {
				check(e[0], e[1])
			}
			for i := 0; i < bulkCount(); i++ {
				check(c.gen(r))
			}
			t.Logf("%-10s %8d pts max %.4f ulp at (%v, %v); %.4f%% within 0.5 ulp", c.name, res.n, res.max,
				res.arg[0], res.arg[1], 100*float64(res.exact)/float64(res.n))
			acc32Summary.Lock()
			acc32Summary.rows = append(acc32Summary.rows, res)
			acc32Summary.Unlock()
		})
	}
}
