package analysis

import (
	"testing"

	"github.com/ratesim/ratesim/sim/connect"
)

func TestConnectionStats(t *testing.T) {
	// A CSR with an explicit zero synapse counts it; dense zeros are absent.
	csr := &connect.Matrix{Rows: 2, Cols: 3, CSR: &connect.CSR{Rows: 2, Cols: 3, RowPtr: []int{0, 2, 3}, ColIdx: []int32{0, 2, 1}, Val: []float64{1, 0, -2}}}
	dense := &connect.Matrix{Rows: 2, Cols: 3, Dense: []float64{1, 0, 0, 0, -2, 0}}
	for _, c := range []struct {
		m    *connect.Matrix
		n    int
		mean float64
	}{{csr, 3, -1.0 / 3}, {dense, 2, -0.5}} {
		st := connectionStats("a", "b", "x", c.m)
		if st.Synapses != c.n || st.Density != float64(c.n)/6 || st.Min != -2 || st.Max != 1 || st.Mean != c.mean {
			t.Errorf("%+v", st)
		}
		if st.Std <= 0 || st.Sparse != connect.Sparse(st.Density) {
			t.Errorf("%+v", st)
		}
	}
}
