package fit

import (
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// cma is the (μ/μ_w, λ) CMA-ES of Hansen's tutorial (arXiv:1604.00772,
// the same constants as gonum's optimize.CmaEsChol): rank-one and rank-μ
// covariance updates, cumulative step-size adaptation. It is written here
// rather than taken from gonum's optimize because that package pulls in
// stat/distmv and with it a module this project does not depend on; it
// samples with an eigendecomposition of C, refreshed every generation.
type cma struct {
	d, lambda, mu       int
	w                   []float64
	muEff               float64
	cc, cs, c1, cmu, ds float64
	eChi                float64
	mean, pc, ps        []float64
	sigma               float64
	c                   *mat.SymDense
	b                   *mat.Dense // eigenvectors of C
	sd                  []float64  // square roots of C's eigenvalues
	rng                 *rand.Rand
	gen                 int
}

func newCMA(mean []float64, sigma float64, lambda int, rng *rand.Rand) *cma {
	d := len(mean)
	n := float64(d)
	c := &cma{d: d, lambda: lambda, mu: lambda / 2, sigma: sigma, rng: rng}
	c.w = make([]float64, c.mu)
	var sum float64
	for i := range c.w {
		c.w[i] = math.Log(float64(c.mu)+0.5) - math.Log(float64(i)+1)
		sum += c.w[i]
	}
	var sq float64
	for i := range c.w {
		c.w[i] /= sum
		sq += c.w[i] * c.w[i]
	}
	c.muEff = 1 / sq
	c.cc = (4 + c.muEff/n) / (n + 4 + 2*c.muEff/n)
	c.cs = (c.muEff + 2) / (n + c.muEff + 5)
	c.c1 = 2 / ((n+1.3)*(n+1.3) + c.muEff)
	c.cmu = math.Min(1-c.c1, 2*(c.muEff-2+1/c.muEff)/((n+2)*(n+2)+c.muEff))
	c.ds = 1 + 2*math.Max(0, math.Sqrt((c.muEff-1)/(n+1))-1) + c.cs
	c.eChi = math.Sqrt(n) * (1 - 1/(4*n) + 1/(21*n*n))
	c.mean = append([]float64(nil), mean...)
	c.pc, c.ps = make([]float64, d), make([]float64, d)
	c.c = mat.NewSymDense(d, nil)
	c.b = mat.NewDense(d, d, nil)
	c.sd = make([]float64, d)
	for i := 0; i < d; i++ {
		c.c.SetSym(i, i, 1)
		c.b.Set(i, i, 1)
		c.sd[i] = 1
	}
	return c
}

// ask samples the generation: mean + σ·B·diag(sd)·ξ, ξ standard normal.
func (c *cma) ask() [][]float64 {
	out := make([][]float64, c.lambda)
	xi := make([]float64, c.d)
	for k := range out {
		for i := range xi {
			xi[i] = c.rng.NormFloat64() * c.sd[i]
		}
		x := make([]float64, c.d)
		for i := range x {
			var s float64
			for j := range xi {
				s += c.b.At(i, j) * xi[j]
			}
			x[i] = c.mean[i] + c.sigma*s
		}
		out[k] = x
	}
	return out
}

// tell updates the distribution from the generation's losses (NaN ranks
// last) and says whether to go on: false once σ·√(largest eigenvalue) is
// below 1e-12, where the samples no longer differ.
func (c *cma) tell(xs [][]float64, f []float64) bool {
	c.gen++
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) float64 {
		if math.IsNaN(f[i]) {
			return math.Inf(1)
		}
		return f[i]
	}
	sort.SliceStable(idx, func(a, b int) bool { return key(idx[a]) < key(idx[b]) })
	d := c.d
	old := append([]float64(nil), c.mean...)
	for i := range c.mean {
		var s float64
		for k := 0; k < c.mu; k++ {
			s += c.w[k] * xs[idx[k]][i]
		}
		c.mean[i] = s
	}
	// y = (m' − m)/σ; C^(−1/2)·y = B·diag(1/sd)·Bᵀ·y.
	y := make([]float64, d)
	for i := range y {
		y[i] = (c.mean[i] - old[i]) / c.sigma
	}
	t := make([]float64, d)
	for j := 0; j < d; j++ {
		var s float64
		for i := 0; i < d; i++ {
			s += c.b.At(i, j) * y[i]
		}
		t[j] = s / c.sd[j]
	}
	a := math.Sqrt(c.cs * (2 - c.cs) * c.muEff)
	var psNorm float64
	for i := 0; i < d; i++ {
		var s float64
		for j := 0; j < d; j++ {
			s += c.b.At(i, j) * t[j]
		}
		c.ps[i] = (1-c.cs)*c.ps[i] + a*s
		psNorm += c.ps[i] * c.ps[i]
	}
	psNorm = math.Sqrt(psNorm)
	hs := 0.0
	if psNorm/math.Sqrt(1-math.Pow(1-c.cs, float64(2*c.gen)))/c.eChi < 1.4+2/(float64(d)+1) {
		hs = 1
	}
	ac := math.Sqrt(c.cc * (2 - c.cc) * c.muEff)
	for i := range c.pc {
		c.pc[i] = (1-c.cc)*c.pc[i] + hs*ac*y[i]
	}
	dh := (1 - hs) * c.cc * (2 - c.cc)
	for i := 0; i < d; i++ {
		for j := 0; j <= i; j++ {
			var rmu float64
			for k := 0; k < c.mu; k++ {
				zi := (xs[idx[k]][i] - old[i]) / c.sigma
				zj := (xs[idx[k]][j] - old[j]) / c.sigma
				rmu += c.w[k] * zi * zj
			}
			v := (1-c.c1-c.cmu)*c.c.At(i, j) + c.c1*(c.pc[i]*c.pc[j]+dh*c.c.At(i, j)) + c.cmu*rmu
			c.c.SetSym(i, j, v)
		}
	}
	c.sigma *= math.Exp((c.cs / c.ds) * (psNorm/c.eChi - 1))
	var eig mat.EigenSym
	if !eig.Factorize(c.c, true) {
		return false
	}
	vals := eig.Values(nil)
	eig.VectorsTo(c.b)
	top := 0.0
	for i, v := range vals {
		c.sd[i] = math.Sqrt(math.Max(v, 1e-300))
		top = math.Max(top, c.sd[i])
	}
	return c.sigma*top > 1e-12 && !math.IsNaN(c.sigma) && !math.IsInf(c.sigma, 0)
}
