package connect

import (
	"cmp"
	"errors"
	"math"
	"math/cmplx"
	"slices"
	"testing"
)

// Fixtures in testdata/l5 come from make_l5_connect.py, which runs the
// original L5 model's code (helper.py at commit 5db6801) with numpy.

// l5Connectivity is the L5 model's debug_config network (l5.md §1–2).
func l5Connectivity() PopulationConnectivity {
	return PopulationConnectivity{
		Populations: []Population{{"CS", 45, 1}, {"CC", 275, 1}, {"PV", 46, -1}, {"SST", 34, -1}},
		Weight: [][]float64{
			{0.27, 0, 1.01, 0.05},
			{0.19, 0.24, 0.48, 0.09},
			{-0.32, -0.52, -0.47, -0.44},
			{-0.19, -0.11, -0.18, -0.19}},
		Prob: [][]float64{
			{0.16, 0, 0.18, 0.23},
			{0.09, 0.06, 0.22, 0.26},
			{0.43, 0.38, 0.5, 0.14},
			{0.52, 0.13, 0.29, 0.1}},
		WeightNoise:     0.03,
		BlockNoise:      0.1,
		RandomizeBlocks: []int{0, 1, 2, 3},
		Normalize:       NormalizeMaxReal,
	}
}

func TestRoundHalfEvenMatchesNumpyRound(t *testing.T) {
	fx := loadNPZ(t, "l5/indegree.npz")
	p, n, k := floats(t, fx["p"]), ints(t, fx["n"]), ints(t, fx["k"])
	halves := 0
	for i := range p {
		x := p[i] * float64(n[i])
		if x-math.Floor(x) == 0.5 {
			halves++
		}
		if got := RoundHalfEven(x); got != k[i] {
			t.Errorf("round(%v·%d = %v) = %d, numpy %d", p[i], n[i], x, got, k[i])
		}
	}
	if halves < 50 {
		t.Fatalf("only %d exact halves in the fixture: it does not test the tie rule", halves)
	}
}

// blockDegrees returns, for every population pair [pre][post], the set of
// per-post-unit synapse counts of the (post, pre) row-major n×n matrix w.
func blockDegrees(w []float64, off []int) [][]map[int]int {
	P := len(off) - 1
	n := off[P]
	out := make([][]map[int]int, P)
	for a := range P {
		out[a] = make([]map[int]int, P)
		for b := range P {
			out[a][b] = map[int]int{}
			for i := off[b]; i < off[b+1]; i++ {
				c := 0
				for j := off[a]; j < off[a+1]; j++ {
					if w[i*n+j] != 0 {
						c++
					}
				}
				out[a][b][c]++
			}
		}
	}
	return out
}

// checkPopulationStructure asserts what every population network must be:
// exact in-degrees, no autapses, column signs of the presynaptic population.
func checkPopulationStructure(t *testing.T, w []float64, off []int, signs []int, deg [][]int) {
	t.Helper()
	P := len(off) - 1
	n := off[P]
	bd := blockDegrees(w, off)
	for a := range P {
		for b := range P {
			if len(bd[a][b]) != 1 || bd[a][b][deg[a][b]] != off[b+1]-off[b] {
				t.Errorf("block %d→%d: in-degrees %v, want all %d", a, b, bd[a][b], deg[a][b])
			}
		}
	}
	for i := range n {
		if w[i*n+i] != 0 {
			t.Errorf("autapse at unit %d", i)
		}
	}
	for a := range P {
		for j := off[a]; j < off[a+1]; j++ {
			for i := range n {
				if v := w[i*n+j]; v != 0 && math.Copysign(1, v) != float64(signs[a]) {
					t.Fatalf("W[%d][%d] = %v, but presynaptic population %d has sign %d", i, j, v, a, signs[a])
				}
			}
		}
	}
}

// The original's network (seed 42) and ours obey the same structure: the
// same in-degree in every block (its counts are its own np.round), no
// autapses, the presynaptic population's sign in every column.
func TestPopulationStructureMatchesOriginal(t *testing.T) {
	fx := loadNPZ(t, "l5/l5_w.npz")
	c := l5Connectivity()
	off := c.Offsets()
	if got := ints(t, fx["N"]); !slices.Equal(got, []int{45, 275, 46, 34}) {
		t.Fatalf("fixture N = %v", got)
	}
	net, err := c.Build(HostRandom(42, 0))
	if err != nil {
		t.Fatal(err)
	}
	signs := []int{1, 1, -1, -1}
	// The original's in-degree table (l5.md §2, rows post, columns pre).
	want := [][]int{{7, 25, 20, 18}, {0, 16, 17, 4}, {8, 60, 23, 10}, {10, 72, 6, 3}}
	for a := range 4 {
		for b := range 4 {
			if net.InDegree[a][b] != want[b][a] {
				t.Errorf("in-degree %d→%d = %d, original %d", a, b, net.InDegree[a][b], want[b][a])
			}
		}
	}
	t.Run("original", func(t *testing.T) { checkPopulationStructure(t, floats(t, fx["w_raw"]), off, signs, net.InDegree) })
	t.Run("ours", func(t *testing.T) { checkPopulationStructure(t, net.W.ToDense(), off, signs, net.InDegree) })
	if err := net.W.CSR.Validate(); err != nil {
		t.Fatal(err)
	}
	if nnz, orig := net.W.NNZ(), (&Matrix{Rows: 400, Cols: 400, Dense: floats(t, fx["w_raw"])}).NNZ(); nnz != orig || nnz != 21065 {
		t.Errorf("%d synapses, original %d, want 21065", nnz, orig)
	}
	// Normalized by the largest real part: the rightmost eigenvalue is 1.
	if s, err := NormalizationScale(net.W.ToDense(), 400, NormalizeMaxReal); err != nil || math.Abs(s-1) > 1e-12 {
		t.Errorf("max Re λ of the normalized W = %v (%v), want 1", s, err)
	}
}

// foldedNormal is the mean and variance of |X|, X ~ N(mu, sigma²).
func foldedNormal(mu, sigma float64) (mean, variance float64) {
	mean = sigma*math.Sqrt(2/math.Pi)*math.Exp(-mu*mu/(2*sigma*sigma)) + mu*math.Erf(mu/(sigma*math.Sqrt2))
	return mean, mu*mu + sigma*sigma - mean*mean
}

func TestPopulationWeightsAreFoldedNormalAroundTheBlockMean(t *testing.T) {
	c := l5Connectivity()
	c.Normalize = NormalizeNone
	net, err := c.Build(HostRandom(7, 0))
	if err != nil {
		t.Fatal(err)
	}
	w, off, n := net.W.ToDense(), net.Offsets, 400
	for a := range 4 {
		for b := range 4 {
			mu := net.BlockMean[a][b]
			if net.InDegree[a][b] == 0 {
				continue
			}
			var vals []float64
			for i := off[b]; i < off[b+1]; i++ {
				for j := off[a]; j < off[a+1]; j++ {
					if v := w[i*n+j]; v != 0 {
						vals = append(vals, math.Abs(v))
					}
				}
			}
			m, v := foldedNormal(math.Abs(mu), c.WeightNoise)
			sum := 0.0
			for _, x := range vals {
				sum += x
			}
			got := sum / float64(len(vals))
			if se := math.Sqrt(v / float64(len(vals))); math.Abs(got-m) > 5*se {
				t.Errorf("block %d→%d: mean |w| %v over %d synapses, folded normal %v (se %v)", a, b, got, len(vals), m, se)
			}
		}
	}
}

// Every allowed pre unit is chosen equally often: over many seeds, the
// count of each pair is within 5σ of Binomial(seeds, K/(N−1)).
func TestPopulationChoiceIsUniform(t *testing.T) {
	c := PopulationConnectivity{
		Populations: []Population{{"E", 10, 1}, {"I", 4, -1}},
		Weight:      [][]float64{{1, 1}, {1, 1}},
		Prob:        [][]float64{{0.3, 0.5}, {0.5, 0.25}},
		WeightNoise: 0.1,
	}
	const seeds = 400
	counts := make([]int, 14*14)
	for s := range seeds {
		net, err := c.Build(HostRandom(uint64(s), 5))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range net.W.ToDense() {
			if v != 0 {
				counts[k]++
			}
		}
	}
	off := c.Offsets()
	for a := range 2 {
		for b := range 2 {
			k := RoundHalfEven(c.Prob[a][b] * float64(c.Populations[a].Size))
			avail := c.Populations[a].Size - boolInt(a == b)
			q := float64(k) / float64(avail)
			sd := math.Sqrt(seeds * q * (1 - q))
			for i := off[b]; i < off[b+1]; i++ {
				for j := off[a]; j < off[a+1]; j++ {
					got := counts[i*14+j]
					if i == j {
						if got != 0 {
							t.Errorf("autapse %d chosen %d times", i, got)
						}
						continue
					}
					if math.Abs(float64(got)-seeds*q) > 5*sd {
						t.Errorf("pair (post %d, pre %d) chosen %d of %d times, expected %v ± %v", i, j, got, seeds, seeds*q, sd)
					}
				}
			}
		}
	}
}

func TestPopulationBlockMeansRandomizedOnlyWithinTheSet(t *testing.T) {
	c := l5Connectivity()
	c.RandomizeBlocks = []int{2, 3} // L5's inhibit_only
	const seeds = 3000
	sum, sum2 := [4][4]float64{}, [4][4]float64{}
	for s := range seeds {
		m, err := c.BlockMeans(HostRandom(uint64(s), 0))
		if err != nil {
			t.Fatal(err)
		}
		for a := range 4 {
			for b := range 4 {
				mu := math.Abs(c.Weight[a][b])
				if math.Copysign(1, m[a][b]) != float64(c.Populations[a].Sign) && m[a][b] != 0 {
					t.Fatalf("block %d→%d mean %v has the wrong sign", a, b, m[a][b])
				}
				if a < 2 || b < 2 {
					if m[a][b] != float64(c.Populations[a].Sign)*mu {
						t.Fatalf("block %d→%d is outside the randomized set but has mean %v", a, b, m[a][b])
					}
					continue
				}
				sum[a][b] += math.Abs(m[a][b])
				sum2[a][b] += m[a][b] * m[a][b]
			}
		}
	}
	for a := 2; a < 4; a++ {
		for b := 2; b < 4; b++ {
			mu := math.Abs(c.Weight[a][b])
			wantMean, wantVar := foldedNormal(mu, 0.1*mu)
			mean := sum[a][b] / seeds
			sd := math.Sqrt(sum2[a][b]/seeds - mean*mean)
			if se := math.Sqrt(wantVar / seeds); math.Abs(mean-wantMean) > 5*se {
				t.Errorf("block %d→%d: mean %v, want %v ± %v", a, b, mean, wantMean, se)
			}
			if math.Abs(sd-math.Sqrt(wantVar)) > 0.1*math.Sqrt(wantVar) {
				t.Errorf("block %d→%d: std %v, want %v", a, b, sd, math.Sqrt(wantVar))
			}
		}
	}
}

func TestPopulationBuildIsAPureFunctionOfTheDraws(t *testing.T) {
	c := l5Connectivity()
	c.Normalize = NormalizeNone
	a, err := c.Build(HostRandom(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Build(HostRandom(3, 0))
	if !slices.Equal(a.W.CSR.Val, b.W.CSR.Val) || !slices.Equal(a.W.CSR.ColIdx, b.W.CSR.ColIdx) {
		t.Fatal("two builds from one seed differ")
	}
	d, _ := c.Build(HostRandom(4, 0))
	if slices.Equal(a.W.CSR.ColIdx, d.W.CSR.ColIdx) {
		t.Fatal("seeds 3 and 4 build the same structure")
	}
	// Dropping one block leaves every other synapse as it was.
	c.Prob[1][2] = 0
	e, _ := c.Build(HostRandom(3, 0))
	wa, we := a.W.ToDense(), e.W.ToDense()
	off := a.Offsets
	for i := range 400 {
		for j := range 400 {
			inBlock := j >= off[1] && j < off[2] && i >= off[2] && i < off[3]
			if inBlock && we[i*400+j] != 0 || !inBlock && wa[i*400+j] != we[i*400+j] {
				t.Fatalf("entry (%d, %d): %v, before %v", i, j, we[i*400+j], wa[i*400+j])
			}
		}
	}
}

// Eigenvalues and the normalization scale against numpy's eigvals (LAPACK
// dgeev) on given matrices. gonum's Eigen is a different implementation of
// the same algorithm, so eigenvalues agree to rounding; the division W/λ is
// correctly rounded in both and agrees bit for bit.
func TestNormalizationMatchesNumpy(t *testing.T) {
	for _, name := range []string{"gauss", "rotation", "ei"} {
		t.Run(name, func(t *testing.T) {
			fx := loadNPZ(t, "l5/eig_"+name+".npz")
			a := floats(t, fx["a"])
			n := fx["a"].Shape[0]
			ev, err := Eigenvalues(a, n)
			if err != nil {
				t.Fatal(err)
			}
			compareSpectra(t, ev, complexes(t, floats(t, fx["ev_re"]), floats(t, fx["ev_im"])))
			mr, rho := floats(t, fx["max_real"])[0], floats(t, fx["rho"])[0]
			for _, tc := range []struct {
				mode string
				want float64
			}{{NormalizeMaxReal, mr}, {NormalizeSpectralRadius, rho}} {
				s, err := NormalizationScale(a, n, tc.mode)
				if err != nil || math.Abs(s-tc.want) > 1e-13*tc.want {
					t.Errorf("%s = %v (%v), numpy %v", tc.mode, s, err, tc.want)
				}
			}
			if name == "rotation" && !(mr < 0.9*rho) {
				t.Fatalf("fixture: max real %v is not below the spectral radius %v", mr, rho)
			}
			want := floats(t, fx["a_over_max_real"])
			for k := range a {
				if a[k]/mr != want[k] {
					t.Fatalf("a[%d]/λ = %v, numpy %v", k, a[k]/mr, want[k])
				}
			}
		})
	}
	t.Run("l5", func(t *testing.T) {
		fx := loadNPZ(t, "l5/l5_w.npz")
		w := floats(t, fx["w_raw"])
		lam, rho := floats(t, fx["lam"])[0], floats(t, fx["rho"])[0]
		for _, tc := range []struct {
			mode string
			want float64
		}{{NormalizeMaxReal, lam}, {NormalizeSpectralRadius, rho}} {
			s, err := NormalizationScale(w, 400, tc.mode)
			if err != nil || math.Abs(s-tc.want) > 1e-13*tc.want {
				t.Errorf("%s = %v (%v), numpy %v", tc.mode, s, err, tc.want)
			}
		}
		norm := floats(t, fx["w"])
		for k := range w {
			if w[k]/lam != norm[k] {
				t.Fatalf("w[%d]/λ = %v, original %v", k, w[k]/lam, norm[k])
			}
		}
	})
}

func complexes(t *testing.T, re, im []float64) []complex128 {
	t.Helper()
	if len(re) != len(im) {
		t.Fatalf("%d real and %d imaginary parts", len(re), len(im))
	}
	out := make([]complex128, len(re))
	for i := range re {
		out[i] = complex(re[i], im[i])
	}
	return out
}

// compareSpectra matches two lists of eigenvalues (sorted by real, then
// imaginary part) within 1e-12 of the spectral radius.
func compareSpectra(t *testing.T, got, want []complex128) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d eigenvalues, numpy %d", len(got), len(want))
	}
	order := func(x, y complex128) int {
		if c := cmp.Compare(math.Round(real(x)*1e9), math.Round(real(y)*1e9)); c != 0 {
			return c
		}
		return cmp.Compare(imag(x), imag(y))
	}
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, order)
	slices.SortFunc(want, order)
	rho := 0.0
	for _, v := range want {
		rho = math.Max(rho, cmplx.Abs(v))
	}
	for i := range got {
		if d := cmplx.Abs(got[i] - want[i]); d > 1e-12*rho {
			t.Errorf("eigenvalue %d: %v, numpy %v (|Δ| %.3g)", i, got[i], want[i], d)
		}
	}
}

func TestPopulationCheck(t *testing.T) {
	for _, tc := range []struct {
		edit  func(*PopulationConnectivity)
		param string
	}{
		{func(c *PopulationConnectivity) { c.Populations = nil }, "populations"},
		{func(c *PopulationConnectivity) { c.Populations[1].Sign = 0 }, "populations"},
		{func(c *PopulationConnectivity) { c.Weight = c.Weight[:3] }, "weight"},
		{func(c *PopulationConnectivity) { c.Prob[0] = []float64{1, 2} }, "prob"},
		{func(c *PopulationConnectivity) { c.Prob[2][1] = 1.5 }, "prob"},
		{func(c *PopulationConnectivity) { c.Prob[0][0] = 1 }, "prob"}, // 45 > 44 allowed without autapses
		{func(c *PopulationConnectivity) { c.Weight[3][3] = math.NaN() }, "weight"},
		{func(c *PopulationConnectivity) { c.WeightNoise = -1 }, "weight_noise"},
		{func(c *PopulationConnectivity) { c.RandomizeBlocks = []int{1, 1} }, "randomize_blocks"},
		{func(c *PopulationConnectivity) { c.Normalize = "trace" }, "normalize"},
	} {
		c := l5Connectivity()
		tc.edit(&c)
		var pe *ParamError
		if err := c.Check(); !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("want a %s error, got %v", tc.param, err)
		}
	}
	if err := l5Connectivity().Check(); err != nil {
		t.Fatal(err)
	}
	// A matrix whose eigenvalues all lie left of 0 cannot be normalized by
	// its largest real part.
	if _, err := NormalizationScale([]float64{-1, 0, 0, -2}, 2, NormalizeMaxReal); err == nil {
		t.Error("max Re λ = −1 accepted")
	}
}
