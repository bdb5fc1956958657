package backend_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// NewSparseDrive holds every nonzero weight once, in ascending columns, and
// Validate refuses a sparse form that differs from Drive anywhere: a
// changed value, a dropped entry, a column out of order.
func TestSparseDriveValidate(t *testing.T) {
	c := backendtest.Case{Shape: backend.Shape{Instances: 3, Trials: 1, Units: 9, Inputs: 2, Outputs: 1},
		Activation: backend.ReLU, Sparse: true, Steps: 1, Seed: 4}
	p := backendtest.NewProgram[float32](c)
	sp := backend.NewSparseDrive(p.Shape, p.Drive)
	p.Sparse = sp
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	N, rows := p.Units, p.DriveRows()
	for k := 0; k < 3; k++ {
		nz := 0
		for _, w := range p.Drive[k*rows*N : (k+1)*rows*N] {
			if w != 0 {
				nz++
			}
		}
		if sp.Entries(k, N) != nz {
			t.Errorf("instance %d: %d entries, %d nonzero weights", k, sp.Entries(k, N), nz)
		}
		for i := 0; i < N; i++ {
			cols, vals := sp.Row(k, i, N)
			for e, j := range cols {
				if vals[e] != p.Drive[(k*rows+int(j))*N+i] || (e > 0 && cols[e-1] >= j) {
					t.Fatalf("instance %d row %d entry %d: column %d value %v", k, i, e, j, vals[e])
				}
			}
		}
	}
	mutate := func(name, want string, f func(q *backend.SparseDrive[float32])) {
		q := &backend.SparseDrive[float32]{RowStart: append([]int32(nil), sp.RowStart...),
			Col: append([]int32(nil), sp.Col...), Value: append([]float32(nil), sp.Value...)}
		f(q)
		bad := *p
		bad.Sparse = q
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Validate = %v, want an error about %q", name, err, want)
		}
	}
	mutate("changed value", "must hold Drive's weights", func(q *backend.SparseDrive[float32]) { q.Value[5] *= 2 })
	mutate("dropped entry", "nonzero weights", func(q *backend.SparseDrive[float32]) {
		q.Col, q.Value = q.Col[:len(q.Col)-1], q.Value[:len(q.Value)-1]
		q.RowStart[len(q.RowStart)-1]--
	})
	// An entry dropped from instance 0's row 1: the error names its weight
	// (the count over Drive finds that one is missing, the walk which).
	lo := sp.RowStart[1]
	j1 := sp.Col[lo]
	mutate("dropped inner entry", fmt.Sprintf("no entry for the nonzero weight Drive[0][%d][1] = %v", j1, sp.Value[lo]), func(q *backend.SparseDrive[float32]) {
		q.Col, q.Value = append(q.Col[:lo:lo], q.Col[lo+1:]...), append(q.Value[:lo:lo], q.Value[lo+1:]...)
		for x := 2; x < len(q.RowStart); x++ {
			q.RowStart[x]--
		}
	})
	mutate("an entry zeroed", "must hold Drive's weights", func(q *backend.SparseDrive[float32]) { q.Value[lo] = 0 })
	mutate("columns out of order", "ascend", func(q *backend.SparseDrive[float32]) {
		lo := q.RowStart[1]
		q.Col[lo], q.Col[lo+1] = q.Col[lo+1], q.Col[lo]
		q.Value[lo], q.Value[lo+1] = q.Value[lo+1], q.Value[lo]
	})
	mutate("short RowStart", "RowStart has", func(q *backend.SparseDrive[float32]) { q.RowStart = q.RowStart[1:] })
	// Zero entries may be kept: a zero weight as an explicit entry.
	q := *p
	q.Drive = append([]float32(nil), p.Drive...)
	j0 := sp.Col[0]
	q.Drive[int(j0)*N] = 0
	z := backend.NewSparseDrive(p.Shape, p.Drive) // still lists (j0, 0), now holding 0
	z.Value[0] = 0
	q.Sparse = z
	if err := q.Validate(); err != nil {
		t.Errorf("an explicit zero entry: %v", err)
	}
}
