package connect

import "fmt"

// MultiIO routes groups of inputs to chosen hidden units and reads groups of
// outputs from chosen units, as nn4n's mask.MultiIO does. The hidden layer
// is fully connected.
//
// InputDims splits the I inputs into consecutive groups (it must sum to I;
// nil means one group of all inputs); InputTable[g][i] is 1 when hidden
// unit i receives group g and 0 when not (nil means all ones). ReadoutDims
// and ReadoutTable do the same for the O outputs. Tables hold only 0 and 1.
type MultiIO struct {
	InputDims, ReadoutDims   []int
	InputTable, ReadoutTable [][]float64
}

// Check validates the parameters for a network of size d.
func (c MultiIO) Check(d Dims) error {
	if err := checkDims(d); err != nil {
		return err
	}
	if _, err := groups("input_dims", c.InputDims, d.Inputs); err != nil {
		return err
	}
	if _, err := groups("readout_dims", c.ReadoutDims, d.Outputs); err != nil {
		return err
	}
	if _, err := table("input_table", c.InputTable, max(1, len(c.InputDims)), d.Hidden); err != nil {
		return err
	}
	_, err := table("readout_table", c.ReadoutTable, max(1, len(c.ReadoutDims)), d.Hidden)
	return err
}

// Groups returns no areas and no E/I split.
func (c MultiIO) Groups(d Dims, _ Source) ([]Area, []bool, error) {
	return nil, nil, c.Check(d)
}

// Build makes the masks (unsigned, no randomness; src is unused).
func (c MultiIO) Build(d Dims, src Source) (*Masks, error) {
	if err := c.Check(d); err != nil {
		return nil, err
	}
	N, I, O := d.Hidden, d.Inputs, d.Outputs
	inGroup, err := groups("input_dims", c.InputDims, I)
	if err != nil {
		return nil, err
	}
	outGroup, err := groups("readout_dims", c.ReadoutDims, O)
	if err != nil {
		return nil, err
	}
	inTable, err := table("input_table", c.InputTable, max(1, len(c.InputDims)), N)
	if err != nil {
		return nil, err
	}
	outTable, err := table("readout_table", c.ReadoutTable, max(1, len(c.ReadoutDims)), N)
	if err != nil {
		return nil, err
	}
	m := &Masks{Dims: d, Input: make([]float64, N*I), Hidden: make([]float64, N*N), Readout: make([]float64, O*N)}
	for i := range m.Hidden {
		m.Hidden[i] = 1
	}
	for i := 0; i < N; i++ {
		for q := 0; q < I; q++ {
			m.Input[i*I+q] = inTable[inGroup[q]][i]
		}
		for o := 0; o < O; o++ {
			m.Readout[o*N+i] = outTable[outGroup[o]][i]
		}
	}
	return m, nil
}

// groups maps each of n channels to its group; nil dims is one group.
func groups(name string, dims []int, n int) ([]int, error) {
	g := make([]int, n)
	if dims == nil {
		return g, nil
	}
	sum := 0
	for k, d := range dims {
		if d < 1 {
			return nil, paramErr(name, "group %d has %d channels; each needs ≥ 1", k, d)
		}
		sum += d
	}
	if sum != n {
		return nil, paramErr(name, "groups %v sum to %d, want %d", dims, sum, n)
	}
	c := 0
	for k, d := range dims {
		for ; d > 0; d-- {
			g[c] = k
			c++
		}
	}
	return g, nil
}

func table(name string, t [][]float64, rows, n int) ([][]float64, error) {
	if t == nil {
		ones := make([]float64, n)
		for i := range ones {
			ones[i] = 1
		}
		out := make([][]float64, rows)
		for r := range out {
			out[r] = ones
		}
		return out, nil
	}
	if len(t) != rows {
		return nil, paramErr(name, "has %d rows, want one per group (%d)", len(t), rows)
	}
	for r, row := range t {
		if len(row) != n {
			return nil, paramErr(name, "row %d has %d values, want one per hidden unit (%d)", r, len(row), n)
		}
		for i, v := range row {
			if v != 0 && v != 1 {
				return nil, paramErr(fmt.Sprintf("%s[%d][%d]", name, r, i), "must be 0 or 1, got %v", v)
			}
		}
	}
	return t, nil
}
