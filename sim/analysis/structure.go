package analysis

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/mat"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/spec"
)

// Structure describes a built network's hidden layer: its areas and E/I
// populations, the density of each block of connections, the weight sums
// and the spectral radius.
type Structure struct {
	// Builder is the spec's structure type, or a note that there is none.
	Builder string
	// Areas are the structure's areas, or one area "all" of every unit.
	Areas []connect.Area
	// UnitSign is per hidden unit as presynaptic unit: +1 excitatory, −1
	// inhibitory, 0 mixed signs in its E/I column; nil without an E/I mask.
	// Excitatory, Inhibitory and Mixed count them.
	UnitSign                      []int
	Excitatory, Inhibitory, Mixed int
	// Density[a][b] is the fraction of nonzero hidden weights from area b
	// onto area a; InputDensity and ReadoutDensity those of the input and
	// readout weights (NaN when the layer is empty).
	Density                      [][]float64
	InputDensity, ReadoutDensity float64
	// SumE, SumI and Sum are the hidden weights summed in ascending index
	// order (float64): at excitatory and inhibitory entries of the E/I mask,
	// or, when SignedByWeight (no E/I mask), at positive and other weights.
	SumE, SumI, Sum float64
	SignedByWeight  bool
	// SpectralRadius is max |λ| of W_hidden, NaN with RadiusNote saying why
	// when it was not computed; Eigenvalues are all of W_hidden's (nil then),
	// in the order gonum's mat.Eigen gives them.
	SpectralRadius float64
	RadiusNote     string
	Eigenvalues    []complex128
	// SelfConnections counts the nonzero diagonal entries of W_hidden.
	SelfConnections int
}

// MaxEigenUnits bounds the hidden size whose spectral radius Inspect
// computes (a dense eigendecomposition is O(N³)).
const MaxEigenUnits = 4096

// Inspect computes the Structure of net, built from s.
func Inspect(s *spec.Spec, net *network.Network) *Structure {
	N := net.N
	r := &Structure{Areas: net.Areas, Builder: "none (every unit in one area)"}
	if s.Structure != nil {
		r.Builder = s.Structure.Type
	}
	if len(r.Areas) == 0 {
		all := make([]int, N)
		for i := range all {
			all[i] = i
		}
		r.Areas = []connect.Area{{Name: "all", Units: all}}
	}
	if ei := net.EI.Hidden; ei != nil {
		r.UnitSign = make([]int, N)
		for j := 0; j < N; j++ {
			pos, neg := 0, 0
			for i := 0; i < N; i++ {
				if ei[i*N+j] > 0 {
					pos++
				} else {
					neg++
				}
			}
			switch {
			case neg == 0:
				r.UnitSign[j], r.Excitatory = 1, r.Excitatory+1
			case pos == 0:
				r.UnitSign[j], r.Inhibitory = -1, r.Inhibitory+1
			default:
				r.Mixed++
			}
		}
	}
	r.Density = make([][]float64, len(r.Areas))
	for a, post := range r.Areas {
		r.Density[a] = make([]float64, len(r.Areas))
		for b, pre := range r.Areas {
			nz := 0
			for _, i := range post.Units {
				for _, j := range pre.Units {
					if net.Hidden[i*N+j] != 0 {
						nz++
					}
				}
			}
			if n := len(post.Units) * len(pre.Units); n > 0 {
				r.Density[a][b] = float64(nz) / float64(n)
			}
		}
	}
	r.InputDensity, r.ReadoutDensity = density(net.In), density(net.Out)
	for i := 0; i < N; i++ {
		if net.Hidden[i*N+i] != 0 {
			r.SelfConnections++
		}
	}
	// Sums over the hidden weights in ascending order: by the E/I mask's
	// entry sign when there is one, else by the weights' own sign.
	r.SignedByWeight = net.EI.Hidden == nil
	for k, w := range net.Hidden {
		exc := w > 0
		if !r.SignedByWeight {
			exc = net.EI.Hidden[k] > 0
		}
		if exc {
			r.SumE += w
		} else {
			r.SumI += w
		}
		r.Sum += w
	}
	r.Eigenvalues, r.RadiusNote = eigenvalues(net.Hidden, N)
	r.SpectralRadius = spectralRadius(r.Eigenvalues, r.RadiusNote)
	return r
}

func density(w []float64) float64 {
	if len(w) == 0 {
		return math.NaN()
	}
	nz := 0
	for _, v := range w {
		if v != 0 {
			nz++
		}
	}
	return float64(nz) / float64(len(w))
}

// eigenvalues are the eigenvalues of the N×N matrix w (gonum's mat.Eigen),
// or nil with a note when N is too large or the decomposition fails.
func eigenvalues(w []float64, n int) ([]complex128, string) {
	if n > MaxEigenUnits {
		return nil, fmt.Sprintf("not computed for more than %d units", MaxEigenUnits)
	}
	if n == 0 {
		return []complex128{}, ""
	}
	var eig mat.Eigen
	if !eig.Factorize(mat.NewDense(n, n, append([]float64(nil), w...)), mat.EigenNone) {
		return nil, "the eigendecomposition did not converge"
	}
	return eig.Values(nil), ""
}

// spectralRadius is max |λ| over eigenvalues, NaN when they were not
// computed (note says why).
func spectralRadius(eig []complex128, note string) float64 {
	if note != "" {
		return math.NaN()
	}
	rho := 0.0
	for _, v := range eig {
		rho = math.Max(rho, cmplx.Abs(v))
	}
	return rho
}
