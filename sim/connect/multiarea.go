package connect

import (
	"fmt"
	"math"
)

// MultiArea splits the hidden units into areas of consecutive units and
// connects them block by block, as nn4n's mask.MultiArea does.
//
// Hidden synapse (post i in area a, pre j in area b) exists with probability
// Connectivity[a][b], drawn independently (Bernoulli, from
// (StreamHidden, i·N+j)). Units of the input areas receive every input;
// units of the readout areas feed every output; the rest have no input or
// readout synapses.
type MultiArea struct {
	// Sizes are the areas' unit counts, in order; they must sum to N.
	// Leave nil and set Count for Count equal areas (N divisible by Count).
	Sizes []int
	Count int
	// Connectivity is the n×n matrix of densities indexed [post][pre]. When
	// nil it is built from Forward (post area > pre area, below the
	// diagonal), Feedback (post < pre, above it) and Within (the diagonal),
	// as nn4n does with area_connectivities = [forward, feedback(, within)];
	// nn4n's Within is 1 when only two values are given (set it to 1 then).
	Connectivity      [][]float64
	Forward, Feedback float64
	Within            float64
	// InputAreas and ReadoutAreas are area indices; nil means every area
	// (nn4n's default). With one area both are that area.
	InputAreas, ReadoutAreas []int
	// Names are the areas' names; nil means nn4n's area_1, area_2, …
	Names []string
}

// resolve checks the parameters and resolves the area sizes and the connectivity matrix.
func (c *MultiArea) resolve(d Dims) (sizes []int, conn [][]float64, err error) {
	if err := checkDims(d); err != nil {
		return nil, nil, err
	}
	N := d.Hidden
	switch {
	case c.Sizes != nil:
		if len(c.Sizes) == 0 {
			return nil, nil, paramErr("areas", "needs at least one area")
		}
		sum := 0
		for i, s := range c.Sizes {
			if s < 1 {
				return nil, nil, paramErr("areas", "area %d has %d units; every area needs ≥ 1", i, s)
			}
			sum += s
		}
		if sum != N {
			return nil, nil, paramErr("areas", "area sizes %v sum to %d, not the %d hidden units", c.Sizes, sum, N)
		}
		sizes = append([]int(nil), c.Sizes...)
	default:
		if c.Count < 1 {
			return nil, nil, paramErr("areas", "needs a count ≥ 1 or a list of sizes, got %d", c.Count)
		}
		if N%c.Count != 0 {
			return nil, nil, paramErr("areas", "%d hidden units cannot be split into %d equal areas; give a list of sizes", N, c.Count)
		}
		sizes = make([]int, c.Count)
		for i := range sizes {
			sizes[i] = N / c.Count
		}
	}
	n := len(sizes)
	if c.Connectivity != nil {
		if len(c.Connectivity) != n {
			return nil, nil, paramErr("area_connectivities", "matrix has %d rows, want one per area (%d)", len(c.Connectivity), n)
		}
		conn = make([][]float64, n)
		for a, row := range c.Connectivity {
			if len(row) != n {
				return nil, nil, paramErr("area_connectivities", "row %d has %d values, want %d", a, len(row), n)
			}
			for b, p := range row {
				if err := checkDensity(fmt.Sprintf("area_connectivities[%d][%d]", a, b), p); err != nil {
					return nil, nil, err
				}
			}
			conn[a] = append([]float64(nil), row...)
		}
	} else {
		for _, p := range []struct {
			name string
			v    float64
		}{{"area_connectivities (forward)", c.Forward}, {"area_connectivities (feedback)", c.Feedback}, {"area_connectivities (within)", c.Within}} {
			if err := checkDensity(p.name, p.v); err != nil {
				return nil, nil, err
			}
		}
		conn = make([][]float64, n)
		for a := range conn {
			conn[a] = make([]float64, n)
			for b := range conn[a] {
				switch {
				case a > b:
					conn[a][b] = c.Forward
				case a < b:
					conn[a][b] = c.Feedback
				default:
					conn[a][b] = c.Within
				}
			}
		}
	}
	if c.Names != nil {
		if len(c.Names) != n {
			return nil, nil, paramErr("area_names", "has %d names for %d areas", len(c.Names), n)
		}
		seen := map[string]bool{}
		for _, name := range c.Names {
			if name == "" || seen[name] {
				return nil, nil, paramErr("area_names", "names must be non-empty and distinct, got %q", c.Names)
			}
			seen[name] = true
		}
	}
	for _, l := range []struct {
		name  string
		areas []int
	}{{"input_areas", c.InputAreas}, {"readout_areas", c.ReadoutAreas}} {
		for _, a := range l.areas {
			if a < 0 || a >= n {
				return nil, nil, paramErr(l.name, "area %d does not exist (areas are 0 … %d)", a, n-1)
			}
		}
	}
	return sizes, conn, nil
}

// Check validates the parameters for a network of size d.
func (c MultiArea) Check(d Dims) error {
	_, _, err := c.resolve(d)
	return err
}

// Groups returns the areas (consecutive units) and no E/I split.
func (c MultiArea) Groups(d Dims, _ Source) ([]Area, []bool, error) {
	sizes, _, err := c.resolve(d)
	if err != nil {
		return nil, nil, err
	}
	return c.areas(sizes), nil, nil
}

func (c MultiArea) areas(sizes []int) []Area {
	var areas []Area
	start := 0
	for a, s := range sizes {
		name := fmt.Sprintf("area_%d", a+1)
		if c.Names != nil {
			name = c.Names[a]
		}
		areas = append(areas, Area{Name: name, Units: units(start, s)})
		start += s
	}
	return areas
}

// Build makes the masks. They are unsigned (0/1).
func (c MultiArea) Build(d Dims, src Source) (*Masks, error) {
	sizes, conn, err := c.resolve(d)
	if err != nil {
		return nil, err
	}
	N, I, O := d.Hidden, d.Inputs, d.Outputs
	m := &Masks{Dims: d, Input: make([]float64, N*I), Hidden: make([]float64, N*N), Readout: make([]float64, O*N)}
	m.Areas = c.areas(sizes)
	for a, post := range m.Areas {
		for b, pre := range m.Areas {
			p := conn[a][b]
			if p == 0 {
				continue
			}
			for _, i := range post.Units {
				for _, j := range pre.Units {
					if p == 1 || src(StreamHidden, i*N+j) < p {
						m.Hidden[i*N+j] = 1
					}
				}
			}
		}
	}
	inAreas, outAreas := c.InputAreas, c.ReadoutAreas
	if len(sizes) == 1 {
		inAreas, outAreas = []int{0}, []int{0}
	}
	for a := range m.Areas {
		if inAreas == nil || contains(inAreas, a) {
			for _, i := range m.Areas[a].Units {
				for q := 0; q < I; q++ {
					m.Input[i*I+q] = 1
				}
			}
		}
		if outAreas == nil || contains(outAreas, a) {
			for _, i := range m.Areas[a].Units {
				for o := 0; o < O; o++ {
					m.Readout[o*N+i] = 1
				}
			}
		}
	}
	return m, nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// MultiAreaEI is MultiArea with Dale's law, as nn4n's mask.MultiAreaEI: the
// first ⌊size·ExcPct⌋ units of every area are excitatory, the rest
// inhibitory; Hidden and Readout entries carry the presynaptic unit's sign.
//
// InterArea = [E→E, E→I, I→E, I→I] (presynaptic type → postsynaptic type)
// says whether synapses of that kind may join units of different areas;
// a false entry removes every such synapse between areas (within an area
// they stay). InhReadout false removes the inhibitory units' readout
// synapses, so outputs read excitatory units only.
type MultiAreaEI struct {
	MultiArea
	ExcPct     float64
	InterArea  [4]bool
	InhReadout bool
}

// Index of each kind in MultiAreaEI.InterArea.
const (
	EtoE = iota
	EtoI
	ItoE
	ItoI
)

// Check validates the parameters for a network of size d.
func (c MultiAreaEI) Check(d Dims) error {
	if math.IsNaN(c.ExcPct) || c.ExcPct < 0 || c.ExcPct > 1 {
		return paramErr("exc_pct", "must be in [0, 1], got %v", c.ExcPct)
	}
	return c.MultiArea.Check(d)
}

// Groups returns the areas and which units are excitatory.
func (c MultiAreaEI) Groups(d Dims, src Source) ([]Area, []bool, error) {
	if err := c.Check(d); err != nil {
		return nil, nil, err
	}
	areas, _, err := c.MultiArea.Groups(d, src)
	if err != nil {
		return nil, nil, err
	}
	return areas, c.excitatory(areas, d.Hidden), nil
}

// excitatory marks the first ⌊size·ExcPct⌋ units of every area.
func (c MultiAreaEI) excitatory(areas []Area, n int) []bool {
	exc := make([]bool, n)
	for _, ar := range areas {
		// Floor of size·pct in float64, as nn4n's int(size * exc_pct).
		nExc := int(math.Floor(float64(len(ar.Units)) * c.ExcPct))
		for k, u := range ar.Units {
			exc[u] = k < nExc
		}
	}
	return exc
}

// Build makes the signed masks.
func (c MultiAreaEI) Build(d Dims, src Source) (*Masks, error) {
	if err := c.Check(d); err != nil {
		return nil, err
	}
	m, err := c.MultiArea.Build(d, src)
	if err != nil {
		return nil, err
	}
	N, O := d.Hidden, d.Outputs
	m.Signed = true
	m.Excitatory = c.excitatory(m.Areas, N)
	area := make([]int, N)
	for a, ar := range m.Areas {
		for _, u := range ar.Units {
			area[u] = a
		}
	}
	kind := func(post, pre int) int {
		switch {
		case m.Excitatory[pre] && m.Excitatory[post]:
			return EtoE
		case m.Excitatory[pre]:
			return EtoI
		case m.Excitatory[post]:
			return ItoE
		}
		return ItoI
	}
	for i := 0; i < N; i++ {
		for j := 0; j < N; j++ {
			w := &m.Hidden[i*N+j]
			if *w == 0 {
				continue
			}
			if area[i] != area[j] && !c.InterArea[kind(i, j)] {
				*w = 0
				continue
			}
			if !m.Excitatory[j] {
				*w = -1
			}
		}
	}
	for o := 0; o < O; o++ {
		for j := 0; j < N; j++ {
			w := &m.Readout[o*N+j]
			if *w == 0 || m.Excitatory[j] {
				continue
			}
			if c.InhReadout {
				*w = -1
			} else {
				*w = 0
			}
		}
	}
	return m, nil
}
