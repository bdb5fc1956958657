package stimulus

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/ratesim/ratesim/backend/dmath"
	"github.com/ratesim/ratesim/sim/npz"
)

// Fixtures in testdata come from make_l5_grating.py, which runs the
// original L5 model's distributionInput_negative (helper.py at 5db6801).

func loadGratingFixture(t *testing.T, name string) map[string][]float64 {
	t.Helper()
	a, err := npz.Load(filepath.Join("testdata", "grating_"+name+".npz"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for k, v := range a {
		f, err := v.Float64s()
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = f
	}
	return out
}

// l5Grating is the grating of a fixture as the L5 model builds it.
func l5Grating(fx map[string][]float64) *Grating {
	g := &Grating{X: fx["x"], Y: fx["y"], Directions: fx["degrees"], Form: GratingCounterphase, L5Compat: true}
	for p, n := range fx["N"] {
		g.Populations = append(g.Populations, GratingPopulation{Size: int(n), Amplitude: fx["amplitude"][p],
			SpatialFreq: fx["params"][0], TemporalFreq: fx["params"][1], SpatialPhase: fx["params"][2],
			Steady: fx["steady"][p] > 0.5})
	}
	return g
}

// ulps is |a − b| in units in the last place of b.
func ulps(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Abs(math.Nextafter(b, math.Inf(1))-b)
}

// The original evaluates its cosines with numpy, whose float64 cos and sin
// on this machine (AVX-512, numpy 1.24's SVML path) are off by up to 3 ulp
// (measured against mpmath on ω·k, k < 2500), while dmath's are within
// 0.79 ulp (backend/dmath/ACCURACY.md): one cosine may differ by ≤ 4 ulp.
// Everything else — the angle, the products, the sum, the subtraction of φ
// — is the same sequence of correctly rounded operations in both, and is
// compared bit for bit. The input I = S·c is a product of two cosines'
// values, each ≤ 4 ulp apart (plus a rounding of A·cos), hence ≤ 10 ulp.
const cosUlps, inputUlps = 4, 10

// The fixture holds the original's pieces (cos g, sin g, arg, S, the
// temporal factor), checked by the generator to rebuild its inputs bit for
// bit; each is compared with ours.
func TestGratingMatchesOriginal(t *testing.T) {
	for _, name := range []string{"l5", "steady", "temporal", "temporal2"} {
		t.Run(name, func(t *testing.T) {
			fx := loadGratingFixture(t, name)
			g := l5Grating(fx)
			if err := g.Check(); err != nil {
				t.Fatal(err)
			}
			n, D, P := g.Units(), len(g.Directions), len(g.Populations)
			want := fx["inputs"]
			T := len(want) / (D * n)
			pop := make([]int, 0, n)
			for p, gp := range g.Populations {
				for range gp.Size {
					pop = append(pop, p)
				}
			}
			var worstCos, worstS, worstIn float64
			// The directions' cosines and sines.
			exactDir := true
			for d := range D {
				c, s := g.DirectionCosSin(d)
				if c != fx["cosg"][d] || s != fx["sing"][d] {
					exactDir = false
				}
				worstCos = math.Max(worstCos, math.Max(ulps(c, fx["cosg"][d]), ulps(s, fx["sing"][d])))
				if math.Mod(g.Directions[d], 90) == 0 && (c != fx["cosg"][d] || s != fx["sing"][d]) {
					t.Errorf("%v°: (%v, %v), numpy (%v, %v): not bit-equal", g.Directions[d], c, s, fx["cosg"][d], fx["sing"][d])
				}
			}
			// arg from numpy's cos g, sin g: bit for bit; S = A·cos(arg).
			for d := range D {
				for i := range n {
					gp := &g.Populations[pop[i]]
					a := arg(gp, g.X[i], g.Y[i], fx["cosg"][d], fx["sing"][d])
					if a != fx["arg"][d*n+i] {
						t.Fatalf("direction %d unit %d: arg %v, original %v", d, i, a, fx["arg"][d*n+i])
					}
					sv := float64(gp.Amplitude * dmath.Cos(a))
					u := ulps(sv, fx["spatial"][d*n+i])
					worstS = math.Max(worstS, u)
					if u > cosUlps+1 {
						t.Fatalf("direction %d unit %d: S %v, original %v (%.1f ulp)", d, i, sv, fx["spatial"][d*n+i], u)
					}
				}
			}
			// The temporal factor, step by step.
			for k := range T {
				for p := range P {
					c := g.Temporal(p, k)
					u := ulps(c, fx["temporal"][k*P+p])
					worstCos = math.Max(worstCos, u)
					if u > cosUlps {
						t.Fatalf("step %d population %d: cos %v, original %v (%.1f ulp)", k, p, c, fx["temporal"][k*P+p], u)
					}
				}
			}
			// The inputs, end to end: within inputUlps where the directions'
			// cosines agree; otherwise an ulp of cos g moves arg by up to
			// K·|x|·ulp, which cos(arg) amplifies near its zeros, so the bound
			// is absolute: |ΔI| ≤ A·(K·(|x|+|y|)+|φ|)·2⁻⁵⁰.
			got := make([]float64, T*n)
			for d := range D {
				g.Fill(d, 0, got)
				for k := range T {
					for i := range n {
						w, v := want[(d*T+k)*n+i], got[k*n+i]
						if v != g.Value(d, i, k) {
							t.Fatalf("Value(%d, %d, %d) = %v, Fill %v", d, i, k, g.Value(d, i, k), v)
						}
						gp := &g.Populations[pop[i]]
						if exactDir {
							u := ulps(v, w)
							worstIn = math.Max(worstIn, u)
							if u > inputUlps {
								t.Fatalf("direction %v, step %d, unit %d: %v, original %v (%.1f ulp)", g.Directions[d], k, i, v, w, u)
							}
						} else if tol := math.Abs(gp.Amplitude) * (gp.SpatialFreq*(math.Abs(g.X[i])+math.Abs(g.Y[i])) + math.Abs(gp.SpatialPhase)) * 0x1p-50; math.Abs(v-w) > tol {
							t.Fatalf("direction %v, step %d, unit %d: %v, original %v (|Δ| %.3g > %.3g)", g.Directions[d], k, i, v, w, math.Abs(v-w), tol)
						}
					}
				}
			}
			t.Logf("cos g, sin g, cos(ω·t) ≤ %.2f ulp from numpy's; S ≤ %.2f ulp; inputs ≤ %.2f ulp (directions bit-equal: %v)", worstCos, worstS, worstIn, exactDir)
		})
	}
}

// L5's temporal factor cos(50·k) at the step index aliases to
// cos((50 − 16π)·k): a period of 2π/(16π − 50) ≈ 23.67 steps.
func TestGratingL5AliasesTheStepIndex(t *testing.T) {
	g := &Grating{Populations: []GratingPopulation{{Size: 1, Amplitude: 1, TemporalFreq: 50}},
		X: []float64{0}, Y: []float64{0}, Directions: []float64{0}, Form: GratingCounterphase, L5Compat: true, Dt: 0.01}
	alias := 50 - 16*math.Pi
	for k := range 2500 {
		if d := math.Abs(g.Temporal(0, k) - math.Cos(alias*float64(k))); d > 1e-10 {
			t.Fatalf("step %d: cos(50k) = %v, cos(%vk) = %v", k, g.Temporal(0, k), alias, math.Cos(alias*float64(k)))
		}
	}
	if period := 2 * math.Pi / -alias; math.Abs(period-23.67) > 0.005 {
		t.Errorf("aliased period %v steps, l5.md says 23.67", period)
	}
	// In ms (the default), the same ω = 50 rad/ms with dt = 0.01 ms is
	// cos(0.5·k): a period of 4π ≈ 12.57 steps.
	g.L5Compat = false
	for k := range 200 {
		if d := math.Abs(g.Temporal(0, k) - math.Cos(0.5*float64(k))); d > 1e-13 {
			t.Fatalf("step %d: %v, cos(0.5k) = %v", k, g.Temporal(0, k), math.Cos(0.5*float64(k)))
		}
	}
}

func TestGratingDirections(t *testing.T) {
	g := &Grating{Directions: []float64{0, 90, 180, 270, 45}}
	want := [][2]float64{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}
	for d, w := range want {
		if c, s := g.DirectionCosSin(d); c != w[0] || s != w[1] {
			t.Errorf("%v°: (%v, %v), want %v exactly", g.Directions[d], c, s, w)
		}
	}
	if c, s := g.DirectionCosSin(4); math.Abs(c-math.Sqrt2/2) > 1e-16 || math.Abs(s-math.Sqrt2/2) > 1e-16 {
		t.Errorf("45°: (%v, %v)", c, s)
	}
	// L5 takes cos and sin of Python's math.radians(d): cos(fl(π/2)) is
	// numpy's 6.123233995736766e-17, not 0.
	g.L5Compat = true
	if c, s := g.DirectionCosSin(1); c != 6.123233995736766e-17 || s != 1 {
		t.Errorf("L5 90°: (%v, %v)", c, s)
	}
}

// The drifting form travels: the value at x + ω·t/K along the direction
// at time t is the value at x at time 0.
func TestGratingDriftsAlongItsDirection(t *testing.T) {
	const K, omega, dt, k = 6.0, 2.0, 0.25, 7
	shift := omega * (k * dt) / K
	for _, deg := range []float64{0, 60, 135, 270} {
		c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
		x0, y0 := 0.1, -0.2
		g := &Grating{Populations: []GratingPopulation{{Size: 2, Amplitude: 3, SpatialFreq: K, TemporalFreq: omega, SpatialPhase: 0.4}},
			X: []float64{x0, x0 + shift*c}, Y: []float64{y0, y0 + shift*s}, Directions: []float64{deg}, Dt: dt}
		if err := g.Check(); err != nil {
			t.Fatal(err)
		}
		if a, b := g.Value(0, 1, k), g.Value(0, 0, 0); math.Abs(a-b) > 1e-12 {
			t.Errorf("%v°: moved unit at step %d sees %v, origin at step 0 sees %v", deg, k, a, b)
		}
		if a, b := g.Value(0, 0, k), g.Value(0, 0, 0); math.Abs(a-b) < 1e-3 {
			t.Errorf("%v°: the grating does not move (%v, %v)", deg, a, b)
		}
	}
}

func TestGratingSteady(t *testing.T) {
	g := &Grating{Populations: []GratingPopulation{{Size: 2, Amplitude: 2, SpatialFreq: 3, TemporalFreq: 1.3, Steady: true}, {Size: 1, Amplitude: 1, SpatialFreq: 3, TemporalFreq: 1.3}},
		X: []float64{0.3, -0.5, 0.2}, Y: []float64{0.1, 0.4, 0}, Directions: []float64{30}, Form: GratingCounterphase, Dt: 1}
	s := g.Spatial(0)
	for k := range 20 {
		for i := range 2 {
			if v := g.Value(0, i, k); v != s[i] {
				t.Fatalf("steady unit %d at step %d: %v, want S = %v", i, k, v, s[i])
			}
		}
	}
	if g.Value(0, 2, 1) == g.Value(0, 2, 0) {
		t.Error("the drifting population is constant")
	}
	// L5 multiplies its steady input by cos(temporalF).
	g.L5Compat = true
	if v, w := g.Value(0, 0, 5), s[0]*math.Cos(1.3); math.Abs(v-w) > 1e-15 {
		t.Errorf("L5 steady: %v, want S·cos(ω) = %v", v, w)
	}
}

func TestDiscPositionsAreUniformInTheDisc(t *testing.T) {
	const n = 20000
	x, y := HostDiscPositions(9, 77, n)
	inner, quad := 0, [4]int{}
	for i := range n {
		r2 := x[i]*x[i] + y[i]*y[i]
		if r2 >= 1 {
			t.Fatalf("position %d (%v, %v) outside the unit disc", i, x[i], y[i])
		}
		if r2 < 0.25 {
			inner++
		}
		q := 0
		if x[i] < 0 {
			q++
		}
		if y[i] < 0 {
			q += 2
		}
		quad[q]++
	}
	// P(r < 1/2) = 1/4 and each quadrant 1/4 for a uniform disc.
	sd := math.Sqrt(n * 0.25 * 0.75)
	if math.Abs(float64(inner)-n/4) > 5*sd {
		t.Errorf("%d of %d inside radius 1/2, want %v ± %v", inner, n, n/4, sd)
	}
	for q, c := range quad {
		if math.Abs(float64(c)-n/4) > 5*sd {
			t.Errorf("quadrant %d holds %d", q, c)
		}
	}
	x2, _ := HostDiscPositions(9, 77, n)
	x3, _ := HostDiscPositions(10, 77, n)
	if x2[123] != x[123] || x3[123] == x[123] {
		t.Error("positions are not a function of the seed")
	}
}

func TestGratingCheck(t *testing.T) {
	ok := func() *Grating {
		return &Grating{Populations: []GratingPopulation{{Size: 2, Amplitude: 1}}, X: []float64{0, 0}, Y: []float64{0, 0}, Directions: []float64{0}, Dt: 1}
	}
	if err := ok().Check(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Grating){
		"positions":  func(g *Grating) { g.X = g.X[:1] },
		"directions": func(g *Grating) { g.Directions = nil },
		"form":       func(g *Grating) { g.Form = "square" },
		"dt":         func(g *Grating) { g.Dt = 0 },
		"nan":        func(g *Grating) { g.Populations[0].SpatialPhase = math.NaN() },
	} {
		g := ok()
		edit(g)
		if g.Check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestGratingFillerChunks fills a counterphase and a drifting grating chunk
// after chunk, directions interleaved and chunk lengths changing (the
// cached temporal factors must follow k0 and the length), and holds every
// value to Value bit for bit.
func TestGratingFillerChunks(t *testing.T) {
	for _, form := range []string{GratingCounterphase, GratingDrifting} {
		g := &Grating{Directions: []float64{0, 90, 225}, Form: form, Dt: 0.5, L5Compat: form == GratingCounterphase,
			Populations: []GratingPopulation{{Size: 5, Amplitude: 2, SpatialFreq: 10, TemporalFreq: 50, SpatialPhase: 1},
				{Size: 3, Amplitude: 0.5, SpatialFreq: 4, TemporalFreq: 7, Steady: true}}}
		g.X, g.Y = DiscPositions(g.Units(), func(i int) float64 { return (float64(i) + 0.5) / 16 })
		f := g.Filler()
		n := g.Units()
		k0 := 0
		for _, rows := range []int{3, 3, 1, 7, 2} {
			for _, d := range []int{2, 0, 1} {
				out := make([]float64, rows*n)
				f.Fill(d, k0, out)
				for r := range rows {
					for i := range n {
						if got, want := out[r*n+i], g.Value(d, i, k0+r); math.Float64bits(got) != math.Float64bits(want) {
							t.Fatalf("%s: direction %d step %d unit %d: %v, want %v", form, d, k0+r, i, got, want)
						}
					}
				}
			}
			k0 += rows
		}
	}
}
