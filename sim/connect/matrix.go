package connect

import (
	"fmt"
	"math"
)

// Matrix is a built connection's weights in the orientation (post, pre):
// row i is postsynaptic unit i, column j presynaptic unit j, as SPAIC stores
// a weight and as ratesim's Masks are. That orientation makes a row the
// terms of one postsynaptic sum, so a CSR row read in ascending column order
// is the contract's sum over presynaptic index ascending (ARCHITECTURE.md
// rule 3) and sparse execution gives the bits of the dense product. (The
// backend's Drive matrix is (pre rows) × (post cols) and nn4n's masks are
// (pre, post): both are the Transpose of this.)
//
// Exactly one of Dense and CSR is set. A synapse exists where a Dense entry
// is nonzero, or where a CSR entry is stored (a stored entry may hold 0, e.g.
// a conv tap whose kernel value is 0; it contributes nothing either way).
type Matrix struct {
	Rows, Cols int // post units, pre units
	// Dense is row-major Rows×Cols, or nil when the matrix is sparse.
	Dense []float64
	// CSR is the sparse form, or nil when the matrix is dense.
	CSR *CSR
	// Bias is one value per post unit, or nil when the connection has none.
	Bias []float64
}

// CSR is a compressed sparse row matrix: row i's synapses are
// ColIdx[RowPtr[i]:RowPtr[i+1]], strictly ascending (no duplicates), with
// values Val at the same places.
type CSR struct {
	Rows, Cols int
	RowPtr     []int // len Rows+1, RowPtr[0] = 0, nondecreasing
	ColIdx     []int32
	Val        []float64
}

// NNZ returns the number of stored synapses.
func (c *CSR) NNZ() int { return len(c.Val) }

// Density returns NNZ / (Rows·Cols), 0 for an empty matrix.
func (c *CSR) Density() float64 {
	if c.Rows == 0 || c.Cols == 0 {
		return 0
	}
	return float64(c.NNZ()) / (float64(c.Rows) * float64(c.Cols))
}

// Dense returns the row-major Rows×Cols matrix.
func (c *CSR) Dense() []float64 {
	d := make([]float64, c.Rows*c.Cols)
	for i := 0; i < c.Rows; i++ {
		for k := c.RowPtr[i]; k < c.RowPtr[i+1]; k++ {
			d[i*c.Cols+int(c.ColIdx[k])] = c.Val[k]
		}
	}
	return d
}

// Validate reports a malformed CSR: wrong lengths, row pointers that
// decrease, column indices out of range or not strictly ascending.
func (c *CSR) Validate() error {
	if c.Rows < 0 || c.Cols < 0 || len(c.RowPtr) != c.Rows+1 || c.RowPtr[0] != 0 || len(c.ColIdx) != len(c.Val) || c.RowPtr[c.Rows] != len(c.Val) {
		return fmt.Errorf("csr: inconsistent lengths (rows %d, row pointers %d, columns %d, values %d)", c.Rows, len(c.RowPtr), len(c.ColIdx), len(c.Val))
	}
	for i := 0; i < c.Rows; i++ {
		if c.RowPtr[i+1] < c.RowPtr[i] {
			return fmt.Errorf("csr: row pointer %d decreases", i+1)
		}
		for k := c.RowPtr[i]; k < c.RowPtr[i+1]; k++ {
			j := c.ColIdx[k]
			if j < 0 || int(j) >= c.Cols {
				return fmt.Errorf("csr: row %d: column %d out of [0, %d)", i, j, c.Cols)
			}
			if k > c.RowPtr[i] && j <= c.ColIdx[k-1] {
				return fmt.Errorf("csr: row %d: columns %d, %d not strictly ascending", i, c.ColIdx[k-1], j)
			}
		}
	}
	return nil
}

// DenseToCSR returns the CSR of a row-major rows×cols matrix, storing its
// nonzero entries.
func DenseToCSR(d []float64, rows, cols int) *CSR {
	if len(d) != rows*cols {
		panic(fmt.Sprintf("connect.DenseToCSR: %d values for %d×%d", len(d), rows, cols))
	}
	c := &CSR{Rows: rows, Cols: cols, RowPtr: make([]int, rows+1)}
	for i := 0; i < rows; i++ {
		for j, v := range d[i*cols : (i+1)*cols] {
			if v != 0 {
				c.ColIdx = append(c.ColIdx, int32(j))
				c.Val = append(c.Val, v)
			}
		}
		c.RowPtr[i+1] = len(c.Val)
	}
	return c
}

// NNZ returns the number of synapses: nonzero Dense entries, or stored CSR
// entries.
func (m *Matrix) NNZ() int {
	if m.CSR != nil {
		return m.CSR.NNZ()
	}
	n := 0
	for _, v := range m.Dense {
		if v != 0 {
			n++
		}
	}
	return n
}

// Density returns NNZ / (Rows·Cols), 0 for an empty matrix.
func (m *Matrix) Density() float64 {
	if m.Rows == 0 || m.Cols == 0 {
		return 0
	}
	return float64(m.NNZ()) / (float64(m.Rows) * float64(m.Cols))
}

// ToDense returns the row-major Rows×Cols weights (a copy when m is dense).
func (m *Matrix) ToDense() []float64 {
	if m.CSR != nil {
		return m.CSR.Dense()
	}
	return append([]float64(nil), m.Dense...)
}

// ToCSR returns the CSR form (m's own when m is sparse; nonzero entries of
// a dense m).
func (m *Matrix) ToCSR() *CSR {
	if m.CSR != nil {
		return m.CSR
	}
	return DenseToCSR(m.Dense, m.Rows, m.Cols)
}

// SparseBelow is the density under which AutoForm keeps a matrix sparse.
// Memory alone would favour CSR up to density 2/3 (8 bytes a dense entry
// against 12 bytes a stored one: float64 value and int32 column), but a
// dense row streams through memory without the indirect loads of a CSR
// row, so CSR pays off in time only well below that. 0.25 is a first
// estimate; issue 14's sparse-execution benchmarks are to measure it.
const SparseBelow = 0.25

// Sparse reports whether a matrix of this density should be held as CSR:
// density < SparseBelow.
func Sparse(density float64) bool { return density < SparseBelow }

// AutoForm returns m in the form Sparse chooses from its density: CSR below
// SparseBelow, dense otherwise. Bias is kept.
func (m *Matrix) AutoForm() *Matrix {
	return m.InForm(Sparse(m.Density()))
}

// InForm returns m as CSR (sparse) or dense; m itself when already so.
func (m *Matrix) InForm(sparse bool) *Matrix {
	if sparse == (m.CSR != nil) {
		return m
	}
	out := &Matrix{Rows: m.Rows, Cols: m.Cols, Bias: m.Bias}
	if sparse {
		out.CSR = m.ToCSR()
	} else {
		out.Dense = m.ToDense()
	}
	return out
}

// Clamp bounds the weights of existing synapses to [Min, Max]; a nil bound
// is absent. Absent synapses stay absent: SPAIC clamps the whole dense
// matrix, so with w_min > 0 its absent synapses become w_min (connect.md
// A.5); here they do not. A dense entry that is 0 is absent and stays 0; a
// stored CSR entry is clamped whatever its value.
type Clamp struct {
	Min *float64 `yaml:"w_min,omitempty"`
	Max *float64 `yaml:"w_max,omitempty"`
}

func (c Clamp) check() error {
	for _, b := range []struct {
		name string
		v    *float64
	}{{"w_min", c.Min}, {"w_max", c.Max}} {
		if b.v != nil && (math.IsNaN(*b.v) || math.IsInf(*b.v, 0)) {
			return paramErr(b.name, "must be finite, got %v", *b.v)
		}
	}
	if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
		return paramErr("w_min", "w_min = %v exceeds w_max = %v", *c.Min, *c.Max)
	}
	return nil
}

func (c Clamp) value(v float64) float64 {
	if c.Min != nil && v < *c.Min {
		v = *c.Min
	}
	if c.Max != nil && v > *c.Max {
		v = *c.Max
	}
	return v
}

// Apply clamps m's existing synapses in place.
func (c Clamp) Apply(m *Matrix) {
	if c.Min == nil && c.Max == nil {
		return
	}
	if m.CSR != nil {
		for k, v := range m.CSR.Val {
			m.CSR.Val[k] = c.value(v)
		}
		return
	}
	for k, v := range m.Dense {
		if v != 0 {
			m.Dense[k] = c.value(v)
		}
	}
}

// csrBuilder appends synapses row by row, columns ascending.
type csrBuilder struct{ c *CSR }

func newCSR(rows, cols int) *csrBuilder {
	return &csrBuilder{&CSR{Rows: rows, Cols: cols, RowPtr: make([]int, 1, rows+1)}}
}

func (b *csrBuilder) add(j int, v float64) {
	b.c.ColIdx = append(b.c.ColIdx, int32(j))
	b.c.Val = append(b.c.Val, v)
}

func (b *csrBuilder) endRow() { b.c.RowPtr = append(b.c.RowPtr, len(b.c.Val)) }
