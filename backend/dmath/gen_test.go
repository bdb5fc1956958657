package dmath

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Input generators for the accuracy tests. Every test draws from a PCG with
// a fixed seed derived from its name, so any failure reproduces exactly.

func newRand(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))
}

func unif(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }

// logMag returns a magnitude 2^e·(1+u) with e uniform in [lo, hi); exponents
// below −1022 give subnormals (and below −1074 zero).
func logMag(r *rand.Rand, lo, hi int) float64 {
	return math.Ldexp(1+r.Float64(), lo+r.IntN(hi-lo))
}

func signed(r *rand.Rand, v float64) float64 {
	if r.IntN(2) == 0 {
		return -v
	}
	return v
}

// randPos returns a uniformly random positive finite bit pattern (all
// exponents equally likely, subnormals included).
func randPos(r *rand.Rand) float64 {
	for {
		v := math.Float64frombits(r.Uint64() >> 1)
		if v <= math.MaxFloat64 && v > 0 {
			return v
		}
	}
}

// nearby returns v moved by up to ±k representable steps (staying on the
// same side of zero).
func nearby(r *rand.Rand, v float64, k int) float64 {
	if v == 0 {
		return v
	}
	b := int64(math.Float64bits(math.Abs(v))) + int64(r.IntN(2*k+1)-k)
	if b < 0 {
		b = 0
	}
	w := math.Float64frombits(uint64(b))
	if w > math.MaxFloat64 {
		w = math.MaxFloat64
	}
	return math.Copysign(w, v)
}

func genExp(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return unif(r, -746, 710)
	case 4, 5:
		return unif(r, -1, 1)
	case 6, 7:
		return signed(r, logMag(r, -1080, 0))
	case 8:
		// overflow, subnormal and underflow thresholds
		t := [...]float64{709.782712893384, -708.3964185322641, -745.1332191019411, -744.4400719213812}
		return nearby(r, t[r.IntN(len(t))], 1<<20)
	}
	// boundaries of the reduction, (k+½)·ln2
	return nearby(r, (float64(r.IntN(2148)-1074)+0.5)*math.Ln2, 1000)
}

func genExpm1(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2:
		return unif(r, -45, 710)
	case 3, 4, 5:
		return unif(r, -1, 1)
	case 6, 7:
		return signed(r, logMag(r, -1080, -1))
	case 8:
		return nearby(r, (float64(r.IntN(120)-60)+0.5)*math.Ln2, 1000)
	}
	return nearby(r, 709.782712893384, 1<<30)
}

func genLog(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2:
		return randPos(r)
	case 3, 4, 5:
		return 1 + signed(r, logMag(r, -60, -1))
	case 6:
		return unif(r, 0, 10)
	case 7, 8:
		base := 1.0
		if r.IntN(2) == 0 {
			base = math.Sqrt2
		}
		return nearby(r, math.Ldexp(base, r.IntN(2046)-1022), 1000)
	}
	return math.Float64frombits(r.Uint64() & (1<<52 - 1)) // subnormal
}

func genLog1p(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2:
		return signed(r, logMag(r, -1080, -1))
	case 3, 4:
		return unif(r, -1, 10)
	case 5:
		return -1 + logMag(r, -53, -1)
	case 6, 7:
		return randPos(r)
	case 8:
		t := [...]float64{math.Sqrt2 - 1, math.Sqrt2/2 - 1, 2*math.Sqrt2 - 1}
		return nearby(r, t[r.IntN(len(t))], 1<<16)
	}
	return unif(r, -0.5, 0.5)
}

func genTanh(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return unif(r, -25, 25)
	case 4, 5:
		return unif(r, -1, 1)
	case 6, 7, 8:
		return signed(r, logMag(r, -1080, 0))
	}
	t := [...]float64{22, math.Ln2 / 4, 3 * math.Ln2 / 4, 0x1p-28, 0.5493061443340549}
	return signed(r, nearby(r, t[r.IntN(len(t))], 1<<16))
}

func genSigmoid(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1:
		return unif(r, -760, 50)
	case 2, 3, 4, 5:
		return unif(r, -50, 50)
	case 6, 7:
		return signed(r, logMag(r, -1080, 0))
	case 8:
		return signed(r, nearby(r, 40, 1<<30))
	}
	return unif(r, -1, 1)
}

func genSoftplus(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1:
		return unif(r, -760, 50)
	case 2, 3, 4, 5:
		return unif(r, -50, 50)
	case 6, 7:
		return signed(r, logMag(r, -1080, 0))
	case 8:
		t := [...]float64{34, -40, 33.27, 36.7}
		return nearby(r, t[r.IntN(len(t))], 1<<30)
	}
	return unif(r, -2, 2)
}

func genTrig(r *rand.Rand) float64 {
	switch r.IntN(20) {
	case 0, 1, 2, 3, 4, 5:
		return unif(r, -10, 10)
	case 6, 7:
		return signed(r, logMag(r, -1080, -20))
	case 8, 9, 10:
		// next to multiples of π/2, where the reduction cancels most
		k := float64(r.IntN(1 << 19))
		return signed(r, nearby(r, k*math.Pi/2, 100))
	case 11, 12:
		return unif(r, -0x1p19, 0x1p19)
	case 13, 14, 15, 16:
		return signed(r, logMag(r, 19, 1024))
	case 17:
		return signed(r, nearby(r, 0x1p19, 1<<20))
	case 18:
		return unif(r, -0x1p30, 0x1p30)
	}
	return signed(r, nearby(r, math.Pi/4, 1<<20))
}

func genTrigPi(r *rand.Rand) float64 {
	switch r.IntN(10) {
	case 0, 1, 2:
		return unif(r, -4, 4)
	case 3, 4:
		n := float64(r.IntN(1<<21)) / 2
		return signed(r, nearby(r, n, 8))
	case 5:
		return signed(r, logMag(r, 0, 60))
	case 6:
		return signed(r, logMag(r, -1080, -1))
	case 7:
		n := float64(r.IntN(1<<20)) + 0.25
		return signed(r, nearby(r, n, 1<<20))
	case 8:
		return unif(r, -0x1p30, 0x1p30)
	}
	return signed(r, nearby(r, 0x1p-30, 1<<20))
}

// genPow draws (x, y) mostly with |y·log x| ≤ 760 so that results span the
// whole float64 range, including subnormals, overflow and bases near 1.
func genPow(r *rand.Rand) (float64, float64) {
	switch r.IntN(20) {
	case 0, 1, 2, 3, 4, 5:
		x := randPos(r)
		if x == 1 {
			x = 2
		}
		return x, unif(r, -760, 720) / math.Log(x)
	case 6, 7, 8, 9:
		return unif(r, 0, 10), unif(r, -20, 20)
	case 10, 11, 12, 13:
		// bases within a few million ulps of 1, huge exponents
		d := float64(r.IntN(1<<22)+1) * 0x1p-53
		x := 1 + signed(r, d)
		return x, unif(r, -745, 709) / math.Log(x)
	case 14, 15, 16:
		// integer exponents, negative bases included
		x := signed(r, logMag(r, -1074, 1023))
		m := math.Min(40, 740/math.Abs(math.Log(math.Abs(x))))
		y := math.Round(unif(r, -m, m))
		if y == 0 {
			y = 3
		}
		return x, y
	case 17:
		// negative bases near 1 with large integer exponents
		x := -(1 + signed(r, float64(r.IntN(1<<20)+1)*0x1p-52))
		y := math.Round(unif(r, -700, 700) / math.Log(-x))
		return x, y
	}
	// half-integer and integer exponents
	x := logMag(r, -1074, 1023)
	m := math.Min(6, 740/math.Abs(math.Log(x)))
	return x, math.Round(unif(r, -m, m)*2) / 2
}
