package dmath

import (
	"fmt"
	"math"
	"testing"
)

var (
	inf  = math.Inf(1)
	nan  = math.NaN()
	negZ = math.Copysign(0, -1)
	sub  = 0x1p-1074 // smallest subnormal
)

// same reports whether a and b are the same value, with NaN equal to NaN
// and +0 distinct from −0.
func same(a, b float64) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

func fmtF(v float64) string {
	if v == 0 && math.Signbit(v) {
		return "-0"
	}
	return fmt.Sprint(v)
}

type special struct {
	x, want float64
}

func TestSpecialValues(t *testing.T) {
	unary := map[string]struct {
		f     func(float64) float64
		cases []special
	}{
		"Exp": {Exp, []special{{nan, nan}, {inf, inf}, {-inf, 0}, {0, 1}, {negZ, 1}, {sub, 1}, {-sub, 1},
			{710, inf}, {709.79, inf}, {-746, 0}, {-745.2, 0}, {math.MaxFloat64, inf}, {-math.MaxFloat64, 0},
			{-745.1332191019411, sub}, {-745.1332191019412, 0}, {1, math.E}}},
		"Expm1": {Expm1, []special{{nan, nan}, {inf, inf}, {-inf, -1}, {0, 0}, {negZ, negZ}, {sub, sub},
			{-sub, -sub}, {0x1p-1022, 0x1p-1022}, {-1000, -1}, {-40, -1}, {710, inf}, {math.MaxFloat64, inf}}},
		"Log": {Log, []special{{nan, nan}, {inf, inf}, {-inf, nan}, {0, -inf}, {negZ, -inf}, {-1, nan},
			{-sub, nan}, {1, 0}, {math.E, 1}}},
		"Log1p": {Log1p, []special{{nan, nan}, {inf, inf}, {-inf, nan}, {-1, -inf}, {-2, nan}, {0, 0},
			{negZ, negZ}, {sub, sub}, {-sub, -sub}, {-1 - 0x1p-52, nan}}},
		"Tanh": {Tanh, []special{{nan, nan}, {inf, 1}, {-inf, -1}, {0, 0}, {negZ, negZ}, {sub, sub},
			{-sub, -sub}, {1000, 1}, {-1000, -1}, {math.MaxFloat64, 1}, {-math.MaxFloat64, -1}}},
		"Sigmoid": {Sigmoid, []special{{nan, nan}, {inf, 1}, {-inf, 0}, {0, 0.5}, {negZ, 0.5}, {sub, 0.5},
			{1000, 1}, {-1000, 0}, {math.MaxFloat64, 1}, {-math.MaxFloat64, 0}}},
		"Softplus": {Softplus, []special{{nan, nan}, {inf, inf}, {-inf, 0}, {0, math.Ln2}, {negZ, math.Ln2},
			{1000, 1000}, {35, 35}, {1e300, 1e300}, {math.MaxFloat64, math.MaxFloat64}, {-1000, 0},
			{-math.MaxFloat64, 0}}},
		"Sin": {Sin, []special{{nan, nan}, {inf, nan}, {-inf, nan}, {0, 0}, {negZ, negZ}, {sub, sub},
			{-sub, -sub}, {0x1p-30, 0x1p-30}}},
		"Cos": {Cos, []special{{nan, nan}, {inf, nan}, {-inf, nan}, {0, 1}, {negZ, 1}, {sub, 1}}},
		"SinPi": {SinPi, []special{{nan, nan}, {inf, nan}, {-inf, nan}, {0, 0}, {negZ, negZ}, {1, 0},
			{-1, negZ}, {2, 0}, {-2, negZ}, {3, 0}, {-3, negZ}, {0.5, 1}, {-0.5, -1}, {1.5, -1}, {-1.5, 1},
			{2.5, 1}, {0.25, math.Sqrt2 / 2}, {0x1p52, 0}, {0x1p52 + 1, 0}, {-0x1p53, negZ}, {0x1p51 + 0.5, 1},
			{1e300, 0}, {-1e300, negZ}, {math.MaxFloat64, 0}}},
		"CosPi": {CosPi, []special{{nan, nan}, {inf, nan}, {-inf, nan}, {0, 1}, {negZ, 1}, {0.5, 0},
			{-0.5, 0}, {1.5, 0}, {-1.5, 0}, {2.5, 0}, {1, -1}, {-1, -1}, {2, 1}, {3, -1}, {0x1p52, 1},
			{0x1p52 + 1, -1}, {0x1p53, 1}, {0x1p51 + 0.5, 0}, {1e300, 1}, {math.MaxFloat64, 1}}},
	}
	for name, u := range unary {
		for _, c := range u.cases {
			if got := u.f(c.x); !same(got, c.want) {
				t.Errorf("%s(%s) = %s, want %s", name, fmtF(c.x), fmtF(got), fmtF(c.want))
			}
		}
	}
}

func TestSpecialPow(t *testing.T) {
	cases := []struct{ x, y, want float64 }{
		// Pow(x, ±0) = 1 for any x; Pow(1, y) = 1 for any y
		{nan, 0, 1}, {nan, negZ, 1}, {inf, 0, 1}, {-3, negZ, 1}, {0, 0, 1},
		{1, nan, 1}, {1, inf, 1}, {1, -inf, 1}, {1, 1e300, 1},
		{nan, 2, nan}, {2, nan, nan}, {nan, 1, nan}, {-1, nan, nan},
		{math.Pi, 1, math.Pi}, {-sub, 1, -sub},
		// zeros
		{0, -3, inf}, {negZ, -3, -inf}, {0, -2, inf}, {negZ, -2, inf}, {negZ, -0.5, inf}, {negZ, -inf, inf},
		{0, -inf, inf}, {0, 3, 0}, {negZ, 3, negZ}, {negZ, 2, 0}, {negZ, 0.5, 0}, {negZ, inf, 0}, {0, inf, 0},
		{negZ, 1e300, 0}, {negZ, -1e300, inf},
		// infinite exponents
		{-1, inf, 1}, {-1, -inf, 1}, {0.5, inf, 0}, {-0.5, inf, 0}, {2, inf, inf}, {-2, inf, inf},
		{0.5, -inf, inf}, {-0.5, -inf, inf}, {2, -inf, 0}, {-2, -inf, 0}, {inf, inf, inf}, {inf, -inf, 0},
		{-inf, inf, inf}, {-inf, -inf, 0}, {sub, inf, 0}, {sub, -inf, inf},
		// infinite bases
		{inf, 0.5, inf}, {inf, -0.5, 0}, {inf, 3, inf}, {inf, -3, 0},
		{-inf, 3, -inf}, {-inf, 2, inf}, {-inf, 0.5, inf}, {-inf, -3, negZ}, {-inf, -2, 0}, {-inf, -0.5, 0},
		// negative bases
		{-2, 0.5, nan}, {-8, 1.0 / 3, nan}, {-1, 0.5, nan}, {-2, 3, -8}, {-2, 2, 4}, {-2, -1, -0.5},
		{-1, 3, -1}, {-1, 0x1p80, 1}, {-1, 0x1p53 + 2, 1}, {-2, 1025, -inf}, {-2, -1075, negZ}, {-2, 1024, inf},
		{-2, -1076, 0}, {-0.5, 1075, negZ},
		// exact and boundary results
		{2, 10, 1024}, {3, 3, 27}, {10, 15, 1e15}, {5, -2, 0.04}, {0.5, 1074, sub}, {2, -1074, sub},
		{2, -1075, 0}, {2, 1023, 0x1p1023}, {2, 1024, inf}, {4, 0.5, 2}, {0.25, -0.5, 2},
		{1 + 0x1p-52, 0x1p80, inf}, {1 - 0x1p-53, 0x1p80, 0}, {1 + 0x1p-52, -0x1p80, 0}, {1e300, 1e300, inf},
		{1e-300, 1e300, 0}, {1e300, -1e300, 0}, {math.MaxFloat64, 2, inf}, {sub, 2, 0}, {sub, -1, inf},
	}
	for _, c := range cases {
		if got := Pow(c.x, c.y); !same(got, c.want) {
			t.Errorf("Pow(%s, %s) = %s, want %s", fmtF(c.x), fmtF(c.y), fmtF(got), fmtF(c.want))
		}
		// The float32 entry point has the same special cases wherever both
		// operands and the result are float32-exact.
		x32, y32, w32 := float32(c.x), float32(c.y), float32(c.want)
		if float64(x32) == c.x && float64(y32) == c.y && (float64(w32) == c.want || c.want != c.want) &&
			!(c.x != c.x || c.y != c.y) {
			if got := Pow32(x32, y32); !same(float64(got), float64(w32)) {
				t.Errorf("Pow32(%s, %s) = %s, want %s", fmtF(c.x), fmtF(c.y), fmtF(float64(got)), fmtF(float64(w32)))
			}
		}
	}
}

func TestSpecialValues32(t *testing.T) {
	inf32 := float32(inf)
	nan32 := float32(nan)
	negZ32 := float32(negZ)
	sub32 := float32(0x1p-149)
	type c32 struct{ x, want float32 }
	unary := map[string]struct {
		f     func(float32) float32
		cases []c32
	}{
		"Exp32": {Exp32, []c32{{nan32, nan32}, {inf32, inf32}, {-inf32, 0}, {0, 1}, {negZ32, 1},
			{89, inf32}, {88.72284, inf32}, {-104, 0}, {-103.972084, 0}, {-103.97208, sub32}, {math.MaxFloat32, inf32}}},
		"Expm1_32": {Expm1_32, []c32{{nan32, nan32}, {inf32, inf32}, {-inf32, -1}, {0, 0}, {negZ32, negZ32},
			{sub32, sub32}, {-sub32, -sub32}, {-20, -1}, {89, inf32}}},
		"Log32": {Log32, []c32{{nan32, nan32}, {inf32, inf32}, {-inf32, nan32}, {0, -inf32}, {negZ32, -inf32},
			{-1, nan32}, {1, 0}, {sub32, -103.27893}}},
		"Log1p32": {Log1p32, []c32{{nan32, nan32}, {inf32, inf32}, {-1, -inf32}, {-2, nan32}, {0, 0},
			{negZ32, negZ32}, {sub32, sub32}, {-sub32, -sub32}}},
		"Tanh32": {Tanh32, []c32{{nan32, nan32}, {inf32, 1}, {-inf32, -1}, {0, 0}, {negZ32, negZ32},
			{sub32, sub32}, {10, 1}, {-10, -1}}},
		"Sigmoid32": {Sigmoid32, []c32{{nan32, nan32}, {inf32, 1}, {-inf32, 0}, {0, 0.5}, {negZ32, 0.5},
			{20, 1}, {-104, 0}, {-103.97208, sub32}}},
		"Softplus32": {Softplus32, []c32{{nan32, nan32}, {inf32, inf32}, {-inf32, 0}, {20, 20},
			{math.MaxFloat32, math.MaxFloat32}, {-104, 0}, {-103.97208, sub32}}},
		"Sin32": {Sin32, []c32{{nan32, nan32}, {inf32, nan32}, {-inf32, nan32}, {0, 0}, {negZ32, negZ32},
			{sub32, sub32}}},
		"Cos32": {Cos32, []c32{{nan32, nan32}, {inf32, nan32}, {0, 1}, {negZ32, 1}}},
		"SinPi32": {SinPi32, []c32{{nan32, nan32}, {inf32, nan32}, {0, 0}, {negZ32, negZ32}, {1, 0},
			{-1, negZ32}, {0.5, 1}, {-0.5, -1}, {0x1p24, 0}, {-0x1p24, negZ32}, {0x1p22 + 0.5, 1}}},
		"CosPi32": {CosPi32, []c32{{nan32, nan32}, {inf32, nan32}, {0, 1}, {0.5, 0}, {-0.5, 0}, {1, -1},
			{0x1p23 + 1, -1}, {0x1p22 + 0.5, 0}}},
	}
	for name, u := range unary {
		for _, c := range u.cases {
			if got := u.f(c.x); !same(float64(got), float64(c.want)) {
				t.Errorf("%s(%s) = %s, want %s", name, fmtF(float64(c.x)), fmtF(float64(got)), fmtF(float64(c.want)))
			}
		}
	}
}
