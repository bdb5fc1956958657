package connect

import "math"

// RandomInput feeds the inputs to a random subset of the hidden units and
// reads the outputs from another, as nn4n's mask.RandomInput does.
//
// ⌊N·InputSpar⌋ units, chosen at random (the smallest keys drawn from
// (StreamInputUnits, unit)), receive every input; ⌊N·ReadoutSpar⌋ units
// (keys from (StreamReadoutUnits, unit)) feed every output, chosen among all
// units when Overlap is true and among the units that receive no input
// otherwise (then InputSpar + ReadoutSpar must be ≤ 1). Hidden synapse
// (i, j) exists with probability HiddenSpar (from (StreamHidden, i·N+j)).
// nn4n's defaults are 1, 1, 1 and Overlap true.
type RandomInput struct {
	InputSpar, ReadoutSpar, HiddenSpar float64
	Overlap                            bool
}

// Check validates the parameters for a network of size d.
func (c RandomInput) Check(d Dims) error {
	if err := checkDims(d); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"input_spar", c.InputSpar}, {"readout_spar", c.ReadoutSpar}, {"hidden_spar", c.HiddenSpar}} {
		if err := checkDensity(p.name, p.v); err != nil {
			return err
		}
	}
	nIn, nOut := c.counts(d.Hidden)
	if !c.Overlap && nIn+nOut > d.Hidden {
		return paramErr("readout_spar", "without overlap, input_spar + readout_spar must be ≤ 1 (%d input + %d readout units > %d)", nIn, nOut, d.Hidden)
	}
	return nil
}

func (c RandomInput) counts(n int) (nIn, nOut int) {
	return int(math.Floor(float64(n) * c.InputSpar)), int(math.Floor(float64(n) * c.ReadoutSpar))
}

// Groups returns the areas "input" and "readout" (the chosen units) and no
// E/I split.
func (c RandomInput) Groups(d Dims, src Source) ([]Area, []bool, error) {
	if err := c.Check(d); err != nil {
		return nil, nil, err
	}
	in, out := c.choose(d.Hidden, src)
	return []Area{{Name: "input", Units: in}, {Name: "readout", Units: out}}, nil, nil
}

func (c RandomInput) choose(N int, src Source) (inUnits, outUnits []int) {
	nIn, nOut := c.counts(N)
	inUnits = chooseUnits(src, StreamInputUnits, units(0, N), nIn)
	candidates := units(0, N)
	if !c.Overlap {
		isIn := make([]bool, N)
		for _, u := range inUnits {
			isIn[u] = true
		}
		candidates = candidates[:0]
		for u := 0; u < N; u++ {
			if !isIn[u] {
				candidates = append(candidates, u)
			}
		}
	}
	return inUnits, chooseUnits(src, StreamReadoutUnits, candidates, nOut)
}

// Build makes the masks (unsigned). Areas are "input" and "readout", the
// chosen units.
func (c RandomInput) Build(d Dims, src Source) (*Masks, error) {
	if err := c.Check(d); err != nil {
		return nil, err
	}
	N, I, O := d.Hidden, d.Inputs, d.Outputs
	m := &Masks{Dims: d, Input: make([]float64, N*I), Hidden: make([]float64, N*N), Readout: make([]float64, O*N)}
	inUnits, outUnits := c.choose(N, src)
	for _, i := range inUnits {
		for q := 0; q < I; q++ {
			m.Input[i*I+q] = 1
		}
	}
	for _, i := range outUnits {
		for o := 0; o < O; o++ {
			m.Readout[o*N+i] = 1
		}
	}
	for i := 0; i < N; i++ {
		for j := 0; j < N; j++ {
			if c.HiddenSpar == 1 || src(StreamHidden, i*N+j) < c.HiddenSpar {
				m.Hidden[i*N+j] = 1
			}
		}
	}
	m.Areas = []Area{{Name: "input", Units: inUnits}, {Name: "readout", Units: outUnits}}
	return m, nil
}
