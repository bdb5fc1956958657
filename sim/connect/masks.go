package connect

import (
	"fmt"
	"math"
	"sort"
)

// Source returns a uniform number in (0, 1) that depends only on
// (stream, index).
type Source func(stream, index int) float64

// The streams builders draw from. Each random decision uses one fixed
// (stream, index) pair, documented where it is drawn.
const (
	StreamHidden       = iota // Bernoulli draw of hidden synapse (post i, pre j): index i·N+j
	StreamInputUnits          // RandomInput: the key ranking unit i for input selection: index i
	StreamReadoutUnits        // RandomInput: the key ranking unit i for readout selection: index i
	NumStreams
)

// Dims is the size of a network: inputs I, hidden units N, outputs O.
type Dims struct{ Inputs, Hidden, Outputs int }

// Area is a named group of hidden units.
type Area struct {
	Name  string
	Units []int // ascending unit indices
}

// Masks is a built structure. Every mask is row-major in the weights'
// orientation (post, pre): Input N×I, Hidden N×N, Readout O×N. Entries are 0
// (no synapse) or ±1 (a synapse; −1 only when Signed, for an inhibitory
// presynaptic unit).
type Masks struct {
	Dims
	Input, Hidden, Readout []float64
	// Signed says Hidden and Readout carry E/I signs and Excitatory is set.
	Signed bool
	// Excitatory[j] says hidden unit j is excitatory (only when Signed).
	Excitatory []bool
	// Areas lists the groups of units the builder made (may be empty).
	Areas []Area
}

// Builder makes masks for a network of the given size.
type Builder interface {
	// Check validates the parameters for a network of size d without
	// drawing anything; Build returns the same errors.
	Check(d Dims) error
	Build(d Dims, src Source) (*Masks, error)
	// Groups returns the areas and the E/I split (nil when there is none)
	// that Build would give, without building the masks; it draws only
	// what choosing the units needs.
	Groups(d Dims, src Source) (areas []Area, excitatory []bool, err error)
}

// ParamError is a bad builder parameter: its name (as in the spec) and why.
type ParamError struct {
	Param, Reason string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Reason }

func paramErr(param, format string, args ...any) error {
	return &ParamError{Param: param, Reason: fmt.Sprintf(format, args...)}
}

// Transpose returns the cols×rows transpose of a rows×cols row-major matrix,
// e.g. a mask in nn4n's (pre, post) orientation from one in (post, pre).
func Transpose(m []float64, rows, cols int) []float64 {
	if len(m) != rows*cols {
		panic(fmt.Sprintf("masks.Transpose: %d values for %d×%d", len(m), rows, cols))
	}
	t := make([]float64, len(m))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = m[r*cols+c]
		}
	}
	return t
}

// Sparsity returns a 0/1 copy of m: 1 where m has a synapse.
func Sparsity(m []float64) []float64 {
	s := make([]float64, len(m))
	for i, v := range m {
		if v != 0 {
			s[i] = 1
		}
	}
	return s
}

// Sign returns the E/I mask of a layer whose presynaptic units are the hidden
// units (Hidden or Readout), rows×N: every entry of column j is +1 when unit j
// is excitatory and −1 otherwise, whether or not the synapse exists (the
// sparsity mask says that). It returns nil when m is not Signed.
func (m *Masks) Sign(rows int) []float64 {
	if !m.Signed {
		return nil
	}
	n := m.Dims.Hidden
	s := make([]float64, rows*n)
	for r := 0; r < rows; r++ {
		for j := 0; j < n; j++ {
			if m.Excitatory[j] {
				s[r*n+j] = 1
			} else {
				s[r*n+j] = -1
			}
		}
	}
	return s
}

func checkDims(d Dims) error {
	if d.Hidden < 1 || d.Inputs < 0 || d.Outputs < 0 {
		return paramErr("dims", "need hidden ≥ 1, inputs ≥ 0, outputs ≥ 0, got [%d, %d, %d]", d.Inputs, d.Hidden, d.Outputs)
	}
	return nil
}

func checkDensity(name string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return paramErr(name, "a density must be in [0, 1], got %v", p)
	}
	return nil
}

// chooseUnits picks k of the candidate units at random: those whose key
// src(stream, unit) is smallest (ties by unit index), returned ascending.
func chooseUnits(src Source, stream int, candidates []int, k int) []int {
	type keyed struct {
		key  float64
		unit int
	}
	ks := make([]keyed, len(candidates))
	for i, u := range candidates {
		ks[i] = keyed{src(stream, u), u}
	}
	sort.Slice(ks, func(a, b int) bool {
		if ks[a].key != ks[b].key {
			return ks[a].key < ks[b].key
		}
		return ks[a].unit < ks[b].unit
	})
	out := make([]int, k)
	for i := range out {
		out[i] = ks[i].unit
	}
	sort.Ints(out)
	return out
}

func units(from, n int) []int {
	u := make([]int, n)
	for i := range u {
		u[i] = from + i
	}
	return u
}
