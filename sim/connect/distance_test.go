package connect

import (
	"math"
	"testing"
)

func TestDistanceGridWeightsAreSymmetric(t *testing.T) {
	g := Group{Shape: []int{6, 5}}
	c := Distance{Spacing: 0.5, Weight: Kernel{Kind: "gaussian", Amp: 2, Sigma: 0.7}}
	m := mustBuild(t, c, g, g, Random{})
	d, n := m.ToDense(), 30
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			dy, dx := 0.5*float64(i/5-j/5), 0.5*float64(i%5-j%5)
			want := 2 * math.Exp(-(dy*dy+dx*dx)/(2*0.49))
			if math.Abs(d[i*n+j]-want) > 1e-15 || d[i*n+j] != d[j*n+i] {
				t.Fatalf("w[%d %d] = %v (w[%d %d] = %v), want %v", i, j, d[i*n+j], j, i, d[j*n+i], want)
			}
		}
	}
}

func TestDistanceCircularRing(t *testing.T) {
	const n = 20
	c := Distance{Metric: "circular", Weight: Kernel{Kind: "exponential", Amp: 1, Sigma: 3}, MaxDistance: 4}
	m := mustBuild(t, c, Units(n), Units(n), Random{})
	d := m.ToDense()
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			k := (j - i + n) % n
			r := float64(min(k, n-k)) // wrapped distance on the ring
			want := 0.0
			if r <= 4 {
				want = math.Exp(-r / 3)
			}
			if d[i*n+j] != want {
				t.Fatalf("w[%d %d] = %v, want %v (ring distance %v)", i, j, d[i*n+j], want, r)
			}
		}
	}
	if m.NNZ() != n*9 {
		t.Errorf("%d synapses, want 9 a row", m.NNZ())
	}
	// A given period on 2-D positions wraps each dimension alone.
	pos := [][]float64{{0, 0}, {0.9, 0.1}, {0.5, 0.5}}
	c = Distance{Metric: "circular", Period: []float64{1, 1}, PrePositions: pos, PostPositions: pos, Weight: Kernel{Kind: "constant", Amp: 1}, MaxDistance: 0.2}
	m = mustBuild(t, c, Units(3), Units(3), Random{})
	if w := m.ToDense(); w[1] != 1 || w[3] != 1 || w[2] != 0 || m.NNZ() != 5 {
		t.Errorf("periodic 2-D %v: (0,0) and (0.9,0.1) are √0.02 apart", w)
	}
}

func TestDistanceProbabilityFallsWithDistance(t *testing.T) {
	g := Units(400)
	c := Distance{Prob: Kernel{Kind: "gaussian", Amp: 0.8, Sigma: 10}, ExcludeSelf: true}
	m := mustBuild(t, c, g, g, rnd(50))
	cs := m.ToCSR()
	var near, far, nearPairs, farPairs int
	for i := 0; i < 400; i++ {
		for j := 0; j < 400; j++ {
			if r := math.Abs(float64(i - j)); r >= 1 && r <= 3 {
				nearPairs++
			} else if r >= 30 {
				farPairs++
			}
		}
		for k := cs.RowPtr[i]; k < cs.RowPtr[i+1]; k++ {
			j := int(cs.ColIdx[k])
			switch r := math.Abs(float64(i - j)); {
			case r == 0:
				t.Fatal("self pair with ExcludeSelf")
			case r <= 3:
				near++
			case r >= 30:
				far++
			}
		}
	}
	// p(d ≤ 3) ≥ 0.8·e^(−0.045) ≈ 0.765; p(d ≥ 30) ≤ 0.8·e^(−4.5) ≈ 0.009.
	if float64(near) < 0.72*float64(nearPairs) || float64(far) > 0.012*float64(farPairs) {
		t.Errorf("near %d of %d, far %d of %d", near, nearPairs, far, farPairs)
	}
	// The expected count is Σ p(d) over the pairs.
	exp := 0.0
	for i := 0; i < 400; i++ {
		for j := 0; j < 400; j++ {
			if i != j {
				exp += c.Prob.At(math.Abs(float64(i - j)))
			}
		}
	}
	if math.Abs(float64(m.NNZ())-exp) > 5*math.Sqrt(exp) {
		t.Errorf("%d synapses, expected about %v", m.NNZ(), exp)
	}
	// Weights come from the init when there is no weight kernel.
	if mean, _, _ := meanStd(m); math.Abs(mean-0.005) > 0.005 {
		t.Errorf("mean weight %v, want SPAICNormal's", mean)
	}
}

func TestDistanceSPAICDistDepd(t *testing.T) {
	// SPAIC's dist_depd: channels share a position; zero_self drops d = 0.
	pre, post := Group{Shape: []int{2, 3, 3}}, Group{Shape: []int{1, 3, 3}}
	k := Kernel{Kind: "dist_depd", Amp: -0.1, A: 0.2, B: 0.4}
	c := Distance{Spacing: 0.1, Weight: k, ExcludeZeroDistance: true}
	m := mustBuild(t, c, pre, post, Random{})
	if m.NNZ() != 9*18-18 {
		t.Fatalf("%d synapses, want every pair but the 18 at distance 0", m.NNZ())
	}
	d := m.ToDense()
	// post (0,0) ← pre channel 1 at (0,1): d = 0.1.
	want := -0.1 * (math.Exp(-0.1/0.2)/0.2 - 0.5*math.Exp(-0.1/0.4)/0.4)
	if got := d[0*18+9+1]; math.Abs(got-want) > 1e-15 {
		t.Errorf("w = %v, want %v", got, want)
	}
	if k.At(0) != -0.1*(1/0.2-0.5/0.4) {
		t.Errorf("dist_depd(0) = %v", k.At(0))
	}
}
