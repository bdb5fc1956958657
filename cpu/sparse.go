package cpu

import "github.com/ratesim/ratesim/backend"

// csrDrive is one instance's drive as the gathered product runs it: for
// postsynaptic unit i, entries rowStart[i] … rowStart[i+1]−1, presynaptic
// indices ascending (the contract's order), each with its weight and the
// delay selector that says which rate vector of the ring buffer it reads
// (its delay for a recurrent synapse, D+1 for the input and bias columns,
// which read the current values).
type csrDrive[T backend.Float] struct {
	rowStart []int32 // N+1, from 0
	col      []int32
	val      []T
	sel      []uint16
}

// sparseMaxDensity is the largest density of a program's Sparse at which
// the CPU backend runs the gathered product instead of Gemm (both give the
// same bits; above it the dense product is as fast, see BenchmarkSparse).
const sparseMaxDensity = 0.25

// useGather reports whether the CPU backend runs p's drive as gathered
// rows: always with delays (Gemm cannot read a different step per
// synapse), and for a sparse drive sparse enough to pay.
func useGather[T backend.Float](p *backend.Program[T]) bool {
	if p.Delays != nil {
		return true
	}
	if p.Sparse == nil {
		return false
	}
	entries := 0
	for k := 0; k < p.Instances; k++ {
		entries += p.Sparse.Entries(k, p.Units)
	}
	return float64(entries) <= sparseMaxDensity*float64(p.Instances*p.DriveRows()*p.Units)
}

// newCSRDrive builds instance k's gathered drive: from p.Sparse when it is
// set, else from Drive's nonzero weights (the same sums, rule 3).
func newCSRDrive[T backend.Float](p *backend.Program[T], k int) *csrDrive[T] {
	N, rows := p.Units, p.DriveRows()
	D := 0
	if p.Delays != nil {
		D = p.Delays.Max
	}
	c := &csrDrive[T]{rowStart: make([]int32, 1, N+1)}
	add := func(i int, j int32, w T) {
		sel := uint16(D + 1)
		if int(j) < N {
			sel = 0
			if p.Delays != nil {
				sel = p.Delays.Steps[(k*N+int(j))*N+i]
			}
		}
		c.col = append(c.col, j)
		c.val = append(c.val, w)
		c.sel = append(c.sel, sel)
	}
	W := p.Drive[k*rows*N : (k+1)*rows*N]
	for i := 0; i < N; i++ {
		if p.Sparse != nil {
			cols, vals := p.Sparse.Row(k, i, N)
			for e, j := range cols {
				add(i, j, vals[e])
			}
		} else {
			for j := 0; j < rows; j++ {
				if w := W[j*N+i]; w != 0 {
					add(i, int32(j), w)
				}
			}
		}
		c.rowStart = append(c.rowStart, int32(len(c.col)))
	}
	return c
}

// product computes x = the drive of the nb trials whose presynaptic
// values h holds (see history), x laid out nb × N: for each row, its
// entries in ascending column order added to +0 for every trial, each
// product rounded before its sum — the contract's sum without the
// zero-weight terms.
func (c *csrDrive[T]) product(h *history[T], x []T, n int) {
	nb, buf, base := h.nb, h.buf, h.base
	if nb == 1 {
		for i := 0; i < n; i++ {
			var acc T // +0
			for e := c.rowStart[i]; e < c.rowStart[i+1]; e++ {
				acc = acc + T(c.val[e]*buf[base[c.sel[e]]+int(c.col[e])])
			}
			x[i] = acc
		}
		return
	}
	acc := h.acc
	for i := 0; i < n; i++ {
		clear(acc)
		for e := c.rowStart[i]; e < c.rowStart[i+1]; e++ {
			w := c.val[e]
			at := base[c.sel[e]] + int(c.col[e])*nb
			src := buf[at : at+nb]
			for b, z := range src {
				acc[b] = acc[b] + T(w*z)
			}
		}
		for b, a := range acc {
			x[b*n+i] = a
		}
	}
}
