package backend

import (
	"fmt"
	"math"
)

// SparseDrive is a program's drive in compressed sparse rows: for every
// instance k and postsynaptic unit i, the entries RowStart[k·(N+1)+i] …
// RowStart[k·(N+1)+i+1]−1 of Col and Value are the presynaptic indices j
// (0 ≤ j < N+I+1, the rows of Drive: units, inputs, bias) in strictly
// ascending order and their weights Drive[k][j][i].
//
// It is how to run Drive, not a second definition of it: Validate proves
// that every entry equals Drive's weight at its place and that every
// nonzero weight of Drive has an entry (entries holding zero are allowed),
// so x_i summed over a row's entries in ascending column order from +0 has
// the dense product's bits (contract rule 3: the terms left out are
// products with a zero weight, which never change a finite sum). A backend
// may therefore run either form, and one that does not know SparseDrive
// still runs the program exactly; the reference runs the dense loop.
// Keeping Drive dense also keeps Weights, Program.Sub's slicing and the
// partitioner unchanged; a program without a dense Drive (for networks
// whose dense matrix would not fit) would be a feature of its own.
//
// The offsets in RowStart are absolute indices into Col and Value, so
// Program.Sub slices RowStart with the instances and shares Col and Value
// whole. NewSparseDrive builds the form from Drive.
//
// Dense, when set, says which postsynaptic units are better run by the
// dense product: a network wired from groups runs each target group in
// the form its connections' density (or the spec) chooses, so one drive
// may mix dense and sparse columns. It is a hint on how to run the
// program, never a change of its bits: the CSR still holds every nonzero
// weight of those units, a backend may ignore Dense and run them gathered
// (the CUDA backend does), and one that honours it computes their x_i with
// the dense product — the same ascending sum (rule 3).
type SparseDrive[T Float] struct {
	RowStart []int32 // K × (N+1)
	Col      []int32
	Value    []T
	Dense    []ColumnRange
}

// ColumnRange is the postsynaptic units Lo … Hi−1 of SparseDrive.Dense.
type ColumnRange struct{ Lo, Hi int }

// DenseUnits is the number of postsynaptic units sp.Dense names.
func (sp *SparseDrive[T]) DenseUnits() int {
	n := 0
	for _, r := range sp.Dense {
		n += r.Hi - r.Lo
	}
	return n
}

// NewSparseDrive returns the CSR form of the drive of a program of shape s
// (K matrices of (N+I+1) × N, as Program.Drive), with one entry per
// nonzero weight.
func NewSparseDrive[T Float](s Shape, drive []T) *SparseDrive[T] {
	K, N, rows := s.Instances, s.Units, s.DriveRows()
	sp := &SparseDrive[T]{RowStart: make([]int32, K*(N+1))}
	// Two passes over Drive in its own order (presynaptic rows j, each
	// across the units i): the entries per unit, then each entry at its
	// unit's next place; j ascends, so every row's columns do.
	total := 0
	for k := 0; k < K; k++ {
		W, rs := drive[k*rows*N:(k+1)*rows*N], sp.RowStart[k*(N+1):(k+1)*(N+1)]
		for j := 0; j < rows; j++ {
			addNonzero(rs[1:], W[j*N:(j+1)*N])
		}
		rs[0] = int32(total)
		for i := 0; i < N; i++ {
			rs[i+1] += rs[i]
		}
		total = int(rs[N])
	}
	sp.Col, sp.Value = make([]int32, total), make([]T, total)
	next := make([]int32, N)
	for k := 0; k < K; k++ {
		W, rs := drive[k*rows*N:(k+1)*rows*N], sp.RowStart[k*(N+1):(k+1)*(N+1)]
		copy(next, rs[:N])
		for j := 0; j < rows; j++ {
			for i, w := range W[j*N : (j+1)*N] {
				if w != 0 {
					sp.Col[next[i]], sp.Value[next[i]] = int32(j), w
					next[i]++
				}
			}
		}
	}
	return sp
}

// Row returns the presynaptic indices and weights of postsynaptic unit i
// of instance k of a program with n units.
func (sp *SparseDrive[T]) Row(k, i, n int) ([]int32, []T) {
	lo, hi := sp.RowStart[k*(n+1)+i], sp.RowStart[k*(n+1)+i+1]
	return sp.Col[lo:hi], sp.Value[lo:hi]
}

// Entries is the number of entries of instance k of a program with n
// units.
func (sp *SparseDrive[T]) Entries(k, n int) int {
	return int(sp.RowStart[k*(n+1)+n] - sp.RowStart[k*(n+1)])
}

// SparseEntries is the number of entries of p's sparse drive over all its
// instances (0 without one).
func SparseEntries[T Float](p *Program[T]) int {
	if p.Sparse == nil {
		return 0
	}
	n := 0
	for k := 0; k < p.Instances; k++ {
		n += p.Sparse.Entries(k, p.Units)
	}
	return n
}

// SparseDensity is the fraction of p's drive entries (K × rows × N) its
// sparse drive holds; backends compare it with their own threshold to
// choose the gathered product. 1 without a sparse drive.
func SparseDensity[T Float](p *Program[T]) float64 {
	if p.Sparse == nil {
		return 1
	}
	return float64(SparseEntries(p)) / float64(p.Instances*p.DriveRows()*p.Units)
}

// validate checks that sp (nil is none) holds exactly p.Drive's nonzero
// weights, in the layout SparseDrive describes. It runs after Drive's own
// check.
func (sp *SparseDrive[T]) validate(p *Program[T]) error {
	if sp == nil {
		return nil
	}
	K, N, rows := p.Instances, p.Units, p.DriveRows()
	if len(sp.RowStart) != K*(N+1) {
		return fmt.Errorf("program Sparse.RowStart has %d values, want %d (K × (N+1))", len(sp.RowStart), K*(N+1))
	}
	if len(sp.Value) != len(sp.Col) {
		return fmt.Errorf("program Sparse has %d columns but %d values", len(sp.Col), len(sp.Value))
	}
	last := 0
	for x, r := range sp.Dense {
		if r.Lo < last || r.Hi <= r.Lo || r.Hi > N {
			return fmt.Errorf("program Sparse.Dense[%d] = [%d, %d): ranges must be non-empty, ascending, disjoint and within the %d units", x, r.Lo, r.Hi, N)
		}
		last = r.Hi
	}
	for k := 0; k < K; k++ {
		starts := sp.RowStart[k*(N+1) : (k+1)*(N+1)]
		for i := 0; i < N; i++ {
			lo, hi := starts[i], starts[i+1]
			if lo < 0 || hi < lo || int(hi) > len(sp.Col) {
				return fmt.Errorf("program Sparse row %d of instance %d spans [%d, %d) of %d entries", i, k, lo, hi, len(sp.Col))
			}
			prev := int32(-1)
			for e := lo; e < hi; e++ {
				j := sp.Col[e]
				if j <= prev || int(j) >= rows {
					return fmt.Errorf("program Sparse.Col[%d] = %d (instance %d, row %d): columns must ascend strictly in [0, %d)", e, j, k, i, rows)
				}
				prev = j
			}
		}
	}
	// Every entry holds its place's weight, and the entries are distinct
	// places (the columns ascend), so they hold all of Drive's nonzero
	// weights exactly when as many entries are nonzero as Drive has
	// nonzero weights: one look-up per entry and one count over Drive,
	// without a branch per weight (this runs on every Start).
	held := 0
	for k := 0; k < K; k++ {
		starts := sp.RowStart[k*(N+1) : (k+1)*(N+1)]
		W := p.Drive[k*rows*N : (k+1)*rows*N]
		for i := 0; i < N; i++ {
			for e := starts[i]; e < starts[i+1]; e++ {
				w, dense := sp.Value[e], W[int(sp.Col[e])*N+i]
				if w != dense {
					return fmt.Errorf("program Sparse.Value[%d] = %v but Drive[%d][%d][%d] = %v: the sparse form must hold Drive's weights", e, w, k, sp.Col[e], i, dense)
				}
				if w != 0 {
					held++
				}
			}
		}
	}
	if nonzero := countNonzero(p.Drive); nonzero != held {
		return sp.missing(p)
	}
	return nil
}

// countNonzero is the number of nonzero values of a (either zero's sign
// is 0). It and addNonzero count from the values' bits (nonzero32,
// nonzero64) without a branch per value: at the few percent density of a
// sparse drive a branch mispredicts on about every nonzero weight. The
// precision is switched on once per call, not per value (a type switch in
// a generic function's loop costs more than the branch it replaces).
func countNonzero[T Float](a []T) int {
	n := 0
	switch a := any(a).(type) {
	case []float32:
		for _, v := range a {
			n += int(nonzero32(v))
		}
	case []float64:
		for _, v := range a {
			n += int(nonzero64(v))
		}
	}
	return n
}

// addNonzero adds 1 to dst[i] for every nonzero w[i] (see countNonzero).
func addNonzero[T Float](dst []int32, w []T) {
	switch w := any(w).(type) {
	case []float32:
		dst = dst[:len(w)]
		for i, v := range w {
			dst[i] += nonzero32(v)
		}
	case []float64:
		dst = dst[:len(w)]
		for i, v := range w {
			dst[i] += nonzero64(v)
		}
	}
}

func nonzero32(v float32) int32 {
	x := math.Float32bits(v) << 1 // the sign dropped
	return int32((x | -x) >> 31)
}

func nonzero64(v float64) int32 {
	x := math.Float64bits(v) << 1
	return int32((x | -x) >> 63)
}

// missing is validate's error for a nonzero weight of Drive that sp does
// not hold (validate has found that one is): the first, walking Drive in
// its own order with each unit's next entry.
func (sp *SparseDrive[T]) missing(p *Program[T]) error {
	K, N, rows := p.Instances, p.Units, p.DriveRows()
	next := make([]int32, N)
	for k := 0; k < K; k++ {
		starts := sp.RowStart[k*(N+1) : (k+1)*(N+1)]
		copy(next, starts[:N])
		W := p.Drive[k*rows*N : (k+1)*rows*N]
		for j := 0; j < rows; j++ {
			for i, dense := range W[j*N : (j+1)*N] {
				if e := next[i]; e < starts[i+1] && int(sp.Col[e]) == j {
					next[i] = e + 1
				} else if dense != 0 {
					return fmt.Errorf("program Sparse has no entry for the nonzero weight Drive[%d][%d][%d] = %v: the sparse form must hold Drive's nonzero weights", k, j, i, dense)
				}
			}
		}
	}
	panic("backend: SparseDrive.missing found no missing weight") // validate counted one
}

// sub returns the sparse drive of instances [k0, k1) of a program with n
// units.
func (sp *SparseDrive[T]) sub(k0, k1, n int) *SparseDrive[T] {
	if sp == nil {
		return nil
	}
	return &SparseDrive[T]{RowStart: sp.RowStart[k0*(n+1) : k1*(n+1)], Col: sp.Col, Value: sp.Value, Dense: sp.Dense}
}
