package backend

import (
	"math"
	"strings"
	"testing"
)

// A two-unit network whose every value is exactly representable, so the
// expected trajectory can be written down by hand.
func TestReferenceHandComputedSteps(t *testing.T) {
	// W_hid = [[0.5, -0.25], [1, 0]], W_in = [[2], [0]], bias = [0.125, -1],
	// W_out = [[1, 2]], b_out = [0.5]; α = 0.5; identity activation.
	p := &Program[float32]{
		Shape:      Shape{Instances: 1, Trials: 1, Units: 2, Inputs: 1, Outputs: 1},
		Activation: Identity,
		// rows: r0, r1, u, 1; columns: post 0, post 1.
		Drive:   []float32{0.5, 1, -0.25, 0, 2, 0, 0.125, -1},
		Readout: []float32{1, 2, 0.5},
		Decay:   []float32{0.5, 0.5}, Alpha: []float32{0.5, 0.5},
		PreNoise: []float32{0, 0}, PostNoise: []float32{0, 0},
		Init:   []float32{1, 2},
		Record: Record{Rates: true, Outputs: true},
	}
	run, err := Start(Reference, p)
	if err != nil {
		t.Fatal(err)
	}
	c := NewChunk(p, 2)
	if err := run.Advance(2, []float32{1, 0.5}, c); err != nil {
		t.Fatal(err)
	}
	// Step 1: x0 = 0.5·1 − 0.25·2 + 2·1 + 0.125 = 2.125; x1 = 1·1 − 1 = 0.
	//   v = 0.5·[1, 2] + 0.5·[2.125, 0] = [1.5625, 1]; y = 1.5625 + 2 + 0.5.
	// Step 2: x0 = 0.78125 − 0.25 + 1 + 0.125 = 1.65625; x1 = 1.5625 − 1 = 0.5625.
	//   v = [0.78125 + 0.828125, 0.5 + 0.28125] = [1.609375, 0.78125];
	//   y = 1.609375 + 1.5625 + 0.5.
	want := []float32{1.5625, 1, 1.609375, 0.78125}
	for i, w := range want {
		if c.Rates[i] != w {
			t.Errorf("rate %d = %v, want %v", i, c.Rates[i], w)
		}
	}
	if wy := []float32{4.0625, 3.671875}; c.Outputs[0] != wy[0] || c.Outputs[1] != wy[1] {
		t.Errorf("outputs = %v, want %v", c.Outputs, wy)
	}
	if run.Done() != 2 {
		t.Errorf("Done() = %d, want 2", run.Done())
	}
}

func TestNormalMoments(t *testing.T) {
	key := SeedKey(12345)
	for _, prec := range []string{"f32", "f64"} {
		const n = 200000
		var sum, sq float64
		var maxAbs float64
		for i := 0; i < n; i++ {
			var z float64
			if prec == "f32" {
				z = float64(Normal[float32](key, 3, i%7, i/7, i%13, PurposePreNoise))
			} else {
				z = Normal[float64](key, 3, i%7, i/7, i%13, PurposePreNoise)
			}
			sum += z
			sq += z * z
			maxAbs = math.Max(maxAbs, math.Abs(z))
		}
		mean, variance := sum/n, sq/n-(sum/n)*(sum/n)
		if math.Abs(mean) > 0.01 || math.Abs(variance-1) > 0.015 || maxAbs < 3.5 {
			t.Errorf("%s: mean %v, variance %v, max |z| %v: not standard normal", prec, mean, variance, maxAbs)
		}
	}
}

func TestNormalIsAPureFunctionOfItsCoordinates(t *testing.T) {
	key := SeedKey(7)
	a := Normal[float32](key, 1, 2, 3, 4, PurposePreNoise)
	if b := Normal[float32](key, 1, 2, 3, 4, PurposePreNoise); a != b {
		t.Fatalf("same coordinates gave %v and %v", a, b)
	}
	seen := map[float32]string{a: "base"}
	for name, z := range map[string]float32{
		"instance": Normal[float32](key, 0, 2, 3, 4, PurposePreNoise),
		"trial":    Normal[float32](key, 1, 1, 3, 4, PurposePreNoise),
		"step":     Normal[float32](key, 1, 2, 4, 4, PurposePreNoise),
		"unit":     Normal[float32](key, 1, 2, 3, 5, PurposePreNoise),
		"purpose":  Normal[float32](key, 1, 2, 3, 4, PurposePostNoise),
		"seed":     Normal[float32](SeedKey(8), 1, 2, 3, 4, PurposePreNoise),
	} {
		if other, dup := seen[z]; dup {
			t.Errorf("changing the %s gave the same number as %s", name, other)
		}
		seen[z] = name
	}
}

func TestUniformRange(t *testing.T) {
	for _, w := range []uint32{0, 1, 1 << 31, math.MaxUint32} {
		if u := Uniform32(w); !(u > 0 && u < 1) {
			t.Errorf("Uniform32(%#x) = %v, not in (0,1)", w, u)
		}
		if u := Uniform64(w, w); !(u > 0 && u < 1) {
			t.Errorf("Uniform64(%#x) = %v, not in (0,1)", w, u)
		}
	}
}

func TestRecorded(t *testing.T) {
	r := Record{Stride: 3}
	total := 0
	for done := 0; done < 20; done += 4 {
		total += r.Recorded(done, 4)
	}
	if total != 6 || r.Recorded(0, 20) != 6 || r.Recorded(2, 1) != 1 || r.Recorded(3, 2) != 0 {
		t.Errorf("Recorded with stride 3 is wrong: total %d", total)
	}
}

func TestLookupErrors(t *testing.T) {
	_, err := Lookup("nosuch")
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("Lookup(nosuch) error = %v", err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	p := &Program[float64]{Shape: Shape{Instances: 1, Trials: 1, Units: 1}, Drive: []float64{0, math.Inf(1)},
		Decay: []float64{0}, Alpha: []float64{1}, PreNoise: []float64{0}, PostNoise: []float64{0}}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "Drive[1]") {
		t.Errorf("Validate() = %v, want an error naming Drive[1]", err)
	}
}

// TestNormal32Pairs checks the float32 noise's Box–Muller pairs: units u and
// u+8 of an aligned 16 share a block and every block serves exactly two
// units; the sine half is s·sin(2πu₂) (within float32 rounding of the
// float64 value); a pair's two numbers are uncorrelated, and so are
// neighbours, over many draws.
func TestNormal32Pairs(t *testing.T) {
	uses := map[int]int{}
	for u := 0; u < 4096; u++ {
		b, sine := NormalPair32(u)
		uses[b]++
		if b2, sine2 := NormalPair32(u ^ 8); b2 != b || sine2 == sine {
			t.Fatalf("units %d and %d: blocks %d, %d, sines %v, %v", u, u^8, b, b2, sine, sine2)
		}
	}
	for b, n := range uses {
		if n != 2 || b < 0 || b >= 2048 {
			t.Fatalf("block %d serves %d units", b, n)
		}
	}
	key := SeedKey(99)
	for i := 0; i < 20000; i++ {
		w := Philox4x32(Counter(1, 2, i, i, PurposePreNoise), key)
		s := math.Sqrt(-2 * float64(float32(math.Log(float64(Uniform32(w[0]))))))
		want := s * math.Sin(2*math.Pi*float64(Uniform32(w[1])))
		if got := float64(Normal32(w, true)); math.Abs(got-want) > 2e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("Normal32(%x, sine) = %v, s·sin(2πu₂) = %v", w, got, want)
		}
		if got, want := float64(Normal32(w, false)), s*math.Cos(2*math.Pi*float64(Uniform32(w[1]))); math.Abs(got-want) > 2e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("Normal32(%x, cosine) = %v, s·cos(2πu₂) = %v", w, got, want)
		}
	}
	const n = 100000
	var pair, next float64
	for i := 0; i < n; i++ {
		u := i/8*16 + i%8
		z, zs, zn := Normal[float32](key, 0, 1, i/512, u, PurposePostNoise), Normal[float32](key, 0, 1, i/512, u+8, PurposePostNoise), Normal[float32](key, 0, 1, i/512, u+1, PurposePostNoise)
		pair += float64(z) * float64(zs)
		next += float64(z) * float64(zn)
	}
	if math.Abs(pair/n) > 0.015 || math.Abs(next/n) > 0.015 {
		t.Errorf("correlation of a pair's halves %v, of neighbours %v: not independent", pair/n, next/n)
	}
}
