package connect

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"
)

// Population is one named group of units of a circuit model, with the sign
// of its outgoing synapses: +1 excitatory, −1 inhibitory (Dale's law).
// Units are laid out population after population in the order given, as the
// V1 layer-5 model lays out CS, CC, PV, SST.
type Population struct {
	Name string `yaml:"name"`
	Size int    `yaml:"size"`
	Sign int    `yaml:"sign"`
}

// Normalizations of PopulationConnectivity.Normalize.
const (
	// NormalizeNone leaves W as drawn.
	NormalizeNone = ""
	// NormalizeMaxReal divides W by the largest real part of its
	// eigenvalues, so the rightmost eigenvalue has real part 1 (the L5
	// model's max(eigvals(W).real)).
	NormalizeMaxReal = "max_real"
	// NormalizeSpectralRadius divides W by its spectral radius max |λ|.
	NormalizeSpectralRadius = "spectral_radius"
)

// StreamBlockMean is the stream the randomized block means draw from, at
// index pre·P + post (P populations). A population connectivity has no
// bias, so it uses the bias stream of its Random for them, and its streams
// stay the NumConnStreams every connection has.
const StreamBlockMean = StreamBias

// PopulationConnectivity builds the recurrent weights of a circuit of
// populations from block tables indexed [pre][post] (the orientation of the
// L5 model's w_target and prob; W itself comes out (post, pre)), as the V1
// layer-5 model's generate_connectivity does (the original Jieran-S/L5Neuron_RateModel code):
//
//   - Block mean. m[a][b] = |Weight[a][b]|; the sign of an entry is ignored
//     and the sign of presynaptic population a is used. For a and b both in
//     RandomizeBlocks, m[a][b] = |μ + BlockNoise·μ·z| instead, μ = |Weight[a][b]|
//     and z = Normal(StreamBlockMean, a·P + b) (L5: |N(w, 0.1·|w|)|).
//   - In-degree. Every unit of population b receives exactly
//     K = round(Prob[a][b]·N_a) synapses from population a, rounded half to
//     even as numpy's np.round (0.06·275 = 16.5 → 16), chosen uniformly
//     without replacement among the units of a, leaving out the unit itself
//     when a = b (no autapses). The choice for post unit i (global index)
//     is the K candidates j with the smallest keys Uniform(StreamSynapse,
//     i·n + j), n the total of units.
//   - Weight. Synapse (post i, pre j) is sign_a·|m[a][b] + WeightNoise·z|,
//     z = Normal(StreamWeight, i·n + j) (L5: ±|N(w, σ)|). A block whose
//     mean is 0 makes no synapses (L5 writes weight 0 into its chosen
//     entries, which is the same matrix).
//   - Normalize. W is divided by the largest real eigenvalue part
//     (NormalizeMaxReal, L5's choice) or by the spectral radius
//     (NormalizeSpectralRadius), both from gonum's mat.Eigen.
//
// Differences from the L5 code, on purpose:
//   - Draws come from the Random (pure functions of stream and index), not
//     numpy's global MT19937 stream consumed in loop order, so the same seed
//     gives the same network on every machine but not L5's numbers; which
//     units connect never shifts the weights of others.
//   - Which blocks are randomized is RandomizeBlocks; L5 picks it from its
//     config's `neurons` even when run_simulation is given another value.
//   - NormalizeMaxReal refuses a largest real part ≤ 0 (L5 divides by it
//     anyway, which flips every sign or divides by zero).
type PopulationConnectivity struct {
	Populations []Population `yaml:"populations"`
	// Weight and Prob are P×P, indexed [pre][post].
	Weight [][]float64 `yaml:"weight"`
	Prob   [][]float64 `yaml:"prob"`
	// WeightNoise is the std of every synapse's weight around its block
	// mean (L5's w_noise, 0.03).
	WeightNoise float64 `yaml:"weight_noise"`
	// BlockNoise is the std of a randomized block mean relative to its
	// magnitude (L5: 0.1); RandomizeBlocks lists the populations (indices)
	// whose blocks among themselves are randomized (L5's train_neuron_type:
	// [0 1] for excit_only, [2 3] for inhibit_only, all four for all).
	BlockNoise      float64 `yaml:"block_noise,omitempty"`
	RandomizeBlocks []int   `yaml:"randomize_blocks,omitempty"`
	// Normalize is NormalizeNone, NormalizeMaxReal or NormalizeSpectralRadius.
	Normalize string `yaml:"normalize,omitempty"`
}

// PopulationNetwork is a built population connectivity.
type PopulationNetwork struct {
	// W is n×n (post, pre), CSR, normalized.
	W *Matrix
	// Offsets[p] is the first unit of population p; Offsets[P] = n.
	Offsets []int
	// BlockMean[a][b] is the signed mean the synapses of block a → b were
	// drawn around (before normalization).
	BlockMean [][]float64
	// InDegree[a][b] is the number of synapses every unit of population b
	// receives from population a (0 for a block of mean 0).
	InDegree [][]int
	// Scale is what W was divided by (1 with NormalizeNone).
	Scale float64
}

// RoundHalfEven is numpy's np.round for a float: the nearest integer, ties
// to even.
func RoundHalfEven(x float64) int { return int(math.RoundToEven(x)) }

// Check reports the parameter errors Build would, without drawing.
func (c PopulationConnectivity) Check() error {
	P := len(c.Populations)
	if P == 0 {
		return paramErr("populations", "need at least one population")
	}
	for a, p := range c.Populations {
		if p.Size < 1 {
			return paramErr("populations", "population %d (%s) has size %d, need ≥ 1", a, p.Name, p.Size)
		}
		if p.Sign != 1 && p.Sign != -1 {
			return paramErr("populations", "population %d (%s) has sign %d, need +1 or −1", a, p.Name, p.Sign)
		}
	}
	for _, t := range []struct {
		name string
		v    [][]float64
	}{{"weight", c.Weight}, {"prob", c.Prob}} {
		if len(t.v) != P {
			return paramErr(t.name, "has %d rows, want %d (one per presynaptic population)", len(t.v), P)
		}
		for a, row := range t.v {
			if len(row) != P {
				return paramErr(t.name, "row %d has %d entries, want %d", a, len(row), P)
			}
			for b, x := range row {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return paramErr(t.name, "[%d][%d] is not finite", a, b)
				}
				if t.name == "prob" && (x < 0 || x > 1) {
					return paramErr("prob", "[%d][%d] = %v is not in [0, 1]", a, b, x)
				}
			}
		}
	}
	for a := range P {
		for b := range P {
			if k, avail := c.inDegree(a, b), c.Populations[a].Size-boolInt(a == b); k > avail {
				return paramErr("prob", "[%d][%d] asks for %d synapses per unit, but only %d presynaptic units are allowed", a, b, k, avail)
			}
		}
	}
	if !(c.WeightNoise >= 0) || math.IsInf(c.WeightNoise, 0) {
		return paramErr("weight_noise", "need a finite std ≥ 0, got %v", c.WeightNoise)
	}
	if !(c.BlockNoise >= 0) || math.IsInf(c.BlockNoise, 0) {
		return paramErr("block_noise", "need a finite relative std ≥ 0, got %v", c.BlockNoise)
	}
	seen := make([]bool, P)
	for _, a := range c.RandomizeBlocks {
		if a < 0 || a >= P || seen[a] {
			return paramErr("randomize_blocks", "%v needs distinct population indices in [0, %d)", c.RandomizeBlocks, P)
		}
		seen[a] = true
	}
	switch c.Normalize {
	case NormalizeNone, NormalizeMaxReal, NormalizeSpectralRadius:
	default:
		return paramErr("normalize", "unknown normalization %q (%q, %q or none)", c.Normalize, NormalizeMaxReal, NormalizeSpectralRadius)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (c PopulationConnectivity) inDegree(a, b int) int {
	return RoundHalfEven(c.Prob[a][b] * float64(c.Populations[a].Size))
}

// Offsets returns the first unit of every population and, last, the total.
func (c PopulationConnectivity) Offsets() []int {
	off := make([]int, len(c.Populations)+1)
	for p, pop := range c.Populations {
		off[p+1] = off[p] + pop.Size
	}
	return off
}

// BlockMeans returns the signed block means [pre][post] Build draws around.
func (c PopulationConnectivity) BlockMeans(r Random) ([][]float64, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if err := checkRandom(r, len(c.RandomizeBlocks) > 0); err != nil {
		return nil, err
	}
	P := len(c.Populations)
	randomized := make([]bool, P)
	for _, a := range c.RandomizeBlocks {
		randomized[a] = true
	}
	m := make([][]float64, P)
	for a := range P {
		m[a] = make([]float64, P)
		for b := range P {
			mu := math.Abs(c.Weight[a][b])
			if randomized[a] && randomized[b] {
				mu = math.Abs(mu + float64(float64(c.BlockNoise*mu)*r.Normal(StreamBlockMean, a*P+b)))
			}
			m[a][b] = float64(c.Populations[a].Sign) * mu
		}
	}
	return m, nil
}

// Build draws the network; see PopulationConnectivity.
func (c PopulationConnectivity) Build(r Random) (*PopulationNetwork, error) {
	means, err := c.BlockMeans(r)
	if err != nil {
		return nil, err
	}
	if err := checkRandom(r, true); err != nil {
		return nil, err
	}
	P := len(c.Populations)
	off := c.Offsets()
	n := off[P]
	deg := make([][]int, P)
	for a := range P {
		deg[a] = make([]int, P)
		for b := range P {
			if means[a][b] != 0 {
				deg[a][b] = c.inDegree(a, b)
			}
		}
	}
	bld := newCSR(n, n)
	cand := make([]int, 0, n)
	for b := range P {
		for i := off[b]; i < off[b+1]; i++ {
			// Pre populations ascending and smallestKeys' ascending
			// result keep each CSR row's columns ascending.
			for a := range P {
				if deg[a][b] == 0 {
					continue
				}
				cand = cand[:0]
				for j := off[a]; j < off[a+1]; j++ {
					if j != i {
						cand = append(cand, j)
					}
				}
				sign, mu := math.Copysign(1, means[a][b]), math.Abs(means[a][b])
				for _, j := range smallestKeys(cand, deg[a][b], func(j int) float64 { return r.Uniform(StreamSynapse, i*n+j) }) {
					bld.add(j, sign*math.Abs(mu+float64(c.WeightNoise*r.Normal(StreamWeight, i*n+j))))
				}
			}
			bld.endRow()
		}
	}
	net := &PopulationNetwork{W: &Matrix{Rows: n, Cols: n, CSR: bld.c}, Offsets: off, BlockMean: means, InDegree: deg, Scale: 1}
	if c.Normalize != NormalizeNone {
		s, err := NormalizationScale(net.W.ToDense(), n, c.Normalize)
		if err != nil {
			return nil, err
		}
		for k := range net.W.CSR.Val {
			net.W.CSR.Val[k] /= s
		}
		net.Scale = s
	}
	return net, nil
}

// Eigenvalues returns the eigenvalues of the row-major n×n matrix w from
// gonum's mat.Eigen (LAPACK's dgeev algorithm, as numpy's eigvals uses;
// values agree to rounding, not bit for bit).
func Eigenvalues(w []float64, n int) ([]complex128, error) {
	if len(w) != n*n {
		return nil, fmt.Errorf("connect.Eigenvalues: %d values for %d×%d", len(w), n, n)
	}
	if n == 0 {
		return nil, nil
	}
	var eig mat.Eigen
	if !eig.Factorize(mat.NewDense(n, n, append([]float64(nil), w...)), mat.EigenNone) {
		return nil, fmt.Errorf("connect: the eigendecomposition of the %d×%d weights did not converge", n, n)
	}
	return eig.Values(nil), nil
}

// NormalizationScale returns what the row-major n×n matrix w is divided by
// under normalization mode (NormalizeMaxReal: max Re λ, which must be > 0;
// NormalizeSpectralRadius: max |λ|, which must be > 0; NormalizeNone: 1).
func NormalizationScale(w []float64, n int, mode string) (float64, error) {
	if mode == NormalizeNone {
		return 1, nil
	}
	ev, err := Eigenvalues(w, n)
	if err != nil {
		return 0, err
	}
	s := math.Inf(-1)
	for _, v := range ev {
		switch mode {
		case NormalizeMaxReal:
			s = math.Max(s, real(v))
		case NormalizeSpectralRadius:
			s = math.Max(s, cmplx.Abs(v))
		default:
			return 0, paramErr("normalize", "unknown normalization %q", mode)
		}
	}
	if !(s > 0) {
		return 0, paramErr("normalize", "%s of the weights is %v; dividing by it would flip or blow up the weights", mode, s)
	}
	return s, nil
}
