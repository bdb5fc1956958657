package backend

import (
	"math"
	"testing"
)

// unitStepCase is one row of UnitStep inputs (identity activation) and the
// states it must produce, written down by hand per precision.
type unitStepCase struct {
	decay, alpha, pre, post []float64
	x, v                    []float64
	want32, want64          []float64 // v_t, before noise: the noise terms are added below
}

// TestUnitStepHandComputed checks UnitStep on values whose results are
// known exactly: the products are rounded before the sum (a fused
// multiply-add gives a different, nonzero answer in units 0 and 1), the noise
// has the contract's coordinates and purposes and is scaled after rounding.
func TestUnitStepHandComputed(t *testing.T) {
	const e12, e11, e24 = 0x1p-12, 0x1p-11, 0x1p-24
	const e27, e26 = 0x1p-27, 0x1p-26
	c := unitStepCase{
		// Unit 0: (1+2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴ is exact in float64, a tie
		// rounded to 1 + 2⁻¹¹ in float32; the drive cancels 1 + 2⁻¹¹.
		// Unit 1: (1+2⁻²⁷)² = 1 + 2⁻²⁶ + 2⁻⁵⁴ rounds to 1 + 2⁻²⁶ in float64
		// (the constants are 1 in float32); the drive cancels it.
		// Unit 2: 0.5·3 + 0.25·2 = 2, then pre-noise 0.5·ξ, post-noise 0.25·ξ.
		// Unit 3: 0.5·(−3) + 0.25·2 = −1, no noise.
		decay:  []float64{1 + e12, 1 + e27, 0.5, 0.5},
		v:      []float64{1 + e12, 1 + e27, 3, -3},
		alpha:  []float64{1, 1, 0.25, 0.25},
		x:      []float64{-(1 + e11), -(1 + e26), 2, 2},
		pre:    []float64{0, 0, 0.5, 0},
		post:   []float64{0, 0, 0.25, 0},
		want32: []float64{0, 0, 2, -1},
		want64: []float64{e24, 0, 2, -1},
	}
	t.Run("f32", func(t *testing.T) { testUnitStep[float32](t, c, c.want32) })
	t.Run("f64", func(t *testing.T) { testUnitStep[float64](t, c, c.want64) })
}

func conv[T Float](a []float64) []T {
	out := make([]T, len(a))
	for i, x := range a {
		out[i] = T(x)
	}
	return out
}

func testUnitStep[T Float](t *testing.T, c unitStepCase, want []float64) {
	const instance, trial, step = 3, 5, 7
	key := SeedKey(42)
	u := Units[T]{Activation: Identity, Funcs: FuncsFor[T](), Key: key, Instance: instance,
		Decay: conv[T](c.decay), Alpha: conv[T](c.alpha), PreNoise: conv[T](c.pre), PostNoise: conv[T](c.post)}
	x, v := conv[T](c.x), conv[T](c.v)
	r := make([]T, len(v))
	if !UnitStep(&u, trial, step, x, v, r) {
		t.Fatal("UnitStep reported a non-finite value")
	}
	// Unit 2's noise: ξ at (instance 3, trial 5, step 7, unit 2), pre and
	// post purposes; the scalings by 0.5 and 0.25 are exact.
	xiPre := Normal[T](key, instance, trial, step, 2, PurposePreNoise)
	xiPost := Normal[T](key, instance, trial, step, 2, PurposePostNoise)
	if xiPre == xiPost {
		t.Fatal("the two noise purposes drew the same number")
	}
	wantV, wantR := conv[T](want), conv[T](want)
	wantV[2] = wantV[2] + xiPre/2
	wantR[2] = wantV[2] + xiPost/4
	wantR[3] = wantV[3] // identity: r = v
	for i := range v {
		if v[i] != wantV[i] || math.Signbit(float64(v[i])) != math.Signbit(float64(wantV[i])) {
			t.Errorf("unit %d: v = %v, want %v", i, v[i], wantV[i])
		}
		if r[i] != wantR[i] {
			t.Errorf("unit %d: r = %v, want %v", i, r[i], wantR[i])
		}
	}

	// ReLU and retanh clip a negative state to +0.
	u.Activation = ReLU
	x, v = conv[T](c.x[3:]), conv[T](c.v[3:])
	u.Decay, u.Alpha, u.PreNoise, u.PostNoise = u.Decay[3:], u.Alpha[3:], u.PreNoise[3:], u.PostNoise[3:]
	r = []T{7}
	if !UnitStep(&u, trial, step, x, v, r) || v[0] != -1 || r[0] != 0 || math.Signbit(float64(r[0])) {
		t.Errorf("relu: v, r = %v, %v, want −1, +0", v[0], r[0])
	}
}

// TestUnitStepNonFinite: a state overflowing at unit 3 and, at unit 1, a
// finite state whose rate the post-noise pushes past the largest float: the
// step reports it, and FirstNonFinite names the state (states come before
// rates) and then, with that fixed, the rate.
func TestUnitStepNonFinite(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testUnitStepNonFinite[float32](t, math.MaxFloat32) })
	t.Run("f64", func(t *testing.T) { testUnitStepNonFinite[float64](t, math.MaxFloat64) })
}

func testUnitStepNonFinite[T Float](t *testing.T, maxT float64) {
	key := SeedKey(9)
	const instance, trial, step = 0, 2, 11
	xi := Normal[T](key, instance, trial, step, 1, PurposePostNoise)
	post := T(maxT)
	if xi < 0 {
		post = -post // post·ξ > 0, far beyond half an ulp of the maximum
	}
	u := Units[T]{Activation: Identity, Funcs: FuncsFor[T](), Key: key, Instance: instance,
		Decay: []T{0.5, 1, 0.5, 0.5}, Alpha: []T{0.5, 0, 0.5, 0.5},
		PreNoise: make([]T, 4), PostNoise: []T{0, post, 0, 0}}
	x := []T{1, 0, 1, T(math.Inf(1))}
	v := []T{1, T(maxT), 1, 1}
	r := make([]T, 4)
	if UnitStep(&u, trial, step, x, v, r) {
		t.Fatalf("UnitStep reported finite values: v = %v, r = %v", v, r)
	}
	if !IsFinite(v[1]) || !math.IsInf(float64(r[1]), 1) || !math.IsInf(float64(v[3]), 1) {
		t.Fatalf("v = %v, r = %v: want v[1] finite, r[1] and v[3] +Inf", v, r)
	}
	e := FirstNonFinite(v, r, nil, instance, trial, step)
	if e == nil || e.Quantity != "state" || e.Unit != 3 || e.Trial != trial || e.Step != step || !math.IsInf(e.Value, 1) {
		t.Errorf("FirstNonFinite = %+v, want the state of unit 3", e)
	}
	v[3] = 0
	if e := FirstNonFinite(v, r, nil, instance, trial, step); e == nil || e.Quantity != "rate" || e.Unit != 1 {
		t.Errorf("FirstNonFinite = %+v, want the rate of unit 1", e)
	}
	r[1], r[3] = 0, 0
	y := []T{0, T(math.NaN())}
	if e := FirstNonFinite(v, r, y, instance, trial, step); e == nil || e.Quantity != "output" || e.Unit != 1 || !math.IsNaN(e.Value) {
		t.Errorf("FirstNonFinite = %+v, want output 1 (NaN)", e)
	}
	if e := FirstNonFinite(v, r, y[:1], instance, trial, step); e != nil {
		t.Errorf("FirstNonFinite of finite values = %+v", e)
	}
}
