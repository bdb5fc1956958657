package connect

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

func seeded(seed uint64) Source {
	return func(stream, index int) float64 { return backend.HostUniform(seed, 100+stream, index) }
}

// withinBinomial reports whether k successes of n Bernoulli(p) trials lie
// within 5 standard deviations of the mean (exact for p = 0 and p = 1).
func withinBinomial(k, n int, p float64) bool {
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(k)-mean) <= 5*sd
}

// block counts the nonzero entries of Hidden with post in a and pre in b.
func block(m *Masks, a, b Area) (nonzero, total int) {
	N := m.Dims.Hidden
	for _, i := range a.Units {
		for _, j := range b.Units {
			if m.Hidden[i*N+j] != 0 {
				nonzero++
			}
			total++
		}
	}
	return
}

func TestMultiAreaBlockDensities(t *testing.T) {
	conn := [][]float64{{1, 0.2, 0}, {0.05, 0.5, 0.3}, {0.7, 0, 0.9}}
	c := MultiArea{Sizes: []int{30, 50, 40}, Connectivity: conn}
	m, err := c.Build(Dims{Inputs: 2, Hidden: 120, Outputs: 3}, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Areas) != 3 || len(m.Areas[1].Units) != 50 || m.Areas[1].Units[0] != 30 || m.Areas[2].Name != "area_3" {
		t.Fatalf("areas %+v", m.Areas)
	}
	for a := range conn {
		for b := range conn[a] {
			k, n := block(m, m.Areas[a], m.Areas[b])
			if !withinBinomial(k, n, conn[a][b]) {
				t.Errorf("block [post %d][pre %d]: %d of %d synapses, want density %v", a, b, k, n, conn[a][b])
			}
		}
	}
	for _, v := range m.Hidden {
		if v != 0 && v != 1 {
			t.Fatalf("unsigned mask holds %v", v)
		}
	}
}

func TestMultiAreaForwardFeedbackWithin(t *testing.T) {
	m, err := MultiArea{Count: 3, Forward: 1, Feedback: 0, Within: 0.5}.Build(Dims{Hidden: 60}, seeded(2))
	if err != nil {
		t.Fatal(err)
	}
	for a := 0; a < 3; a++ {
		for b := 0; b < 3; b++ {
			k, n := block(m, m.Areas[a], m.Areas[b])
			want := map[bool]float64{true: 1, false: 0}[a > b]
			if a == b {
				want = 0.5
			}
			if !withinBinomial(k, n, want) {
				t.Errorf("block [post %d][pre %d]: %d of %d, want density %v (forward = post > pre)", a, b, k, n, want)
			}
		}
	}
}

func TestMultiAreaInputAndReadoutAreas(t *testing.T) {
	d := Dims{Inputs: 3, Hidden: 40, Outputs: 2}
	m, err := MultiArea{Sizes: []int{10, 20, 10}, Forward: 0.1, Feedback: 0.1, Within: 1,
		InputAreas: []int{0}, ReadoutAreas: []int{1, 2}}.Build(d, seeded(3))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		for q := 0; q < 3; q++ {
			if want := b2f(i < 10); m.Input[i*3+q] != want {
				t.Fatalf("input mask unit %d channel %d = %v, want %v", i, q, m.Input[i*3+q], want)
			}
		}
		for o := 0; o < 2; o++ {
			if want := b2f(i >= 10); m.Readout[o*40+i] != want {
				t.Fatalf("readout mask output %d unit %d = %v, want %v", o, i, m.Readout[o*40+i], want)
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func eiBuild(t *testing.T, inter [4]bool, inhReadout bool) *Masks {
	t.Helper()
	c := MultiAreaEI{MultiArea: MultiArea{Sizes: []int{25, 35}, Forward: 0.6, Feedback: 0.6, Within: 0.8},
		ExcPct: 0.8, InterArea: inter, InhReadout: inhReadout}
	m, err := c.Build(Dims{Inputs: 1, Hidden: 60, Outputs: 2}, seeded(4))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMultiAreaEISignPerPresynapticUnit(t *testing.T) {
	m := eiBuild(t, [4]bool{true, true, true, true}, true)
	N := 60
	// The first ⌊size·0.8⌋ units of each area are excitatory: 20 of 25, 28 of 35.
	for a, nExc := range []int{20, 28} {
		for k, u := range m.Areas[a].Units {
			if m.Excitatory[u] != (k < nExc) {
				t.Fatalf("area %d unit %d (index %d in area): excitatory = %v", a, u, k, m.Excitatory[u])
			}
		}
	}
	for j := 0; j < N; j++ {
		want := 1.0
		if !m.Excitatory[j] {
			want = -1
		}
		seen := 0
		for i := 0; i < N; i++ {
			if v := m.Hidden[i*N+j]; v != 0 {
				seen++
				if v != want {
					t.Fatalf("hidden [post %d][pre %d] = %v, want the presynaptic sign %v", i, j, v, want)
				}
			}
		}
		for o := 0; o < 2; o++ {
			if v := m.Readout[o*N+j]; v != want {
				t.Fatalf("readout [%d][%d] = %v, want %v (inh_readout on, every unit read)", o, j, v, want)
			}
		}
		if seen == 0 {
			t.Errorf("unit %d has no outgoing synapse at density ≥ 0.6", j)
		}
	}
	sign := m.Sign(N)
	for i := 0; i < N; i++ {
		for j := 0; j < N; j++ {
			if v := m.Hidden[i*N+j]; v != 0 && v != sign[i*N+j] {
				t.Fatalf("Sign disagrees with the mask at [%d][%d]", i, j)
			}
		}
	}
}

func TestMultiAreaEIInterAreaRules(t *testing.T) {
	names := [4]string{"E→E", "E→I", "I→E", "I→I"}
	for off := 0; off < 4; off++ {
		inter := [4]bool{true, true, true, true}
		inter[off] = false
		m := eiBuild(t, inter, true)
		N := 60
		area := func(u int) int {
			if u < 25 {
				return 0
			}
			return 1
		}
		var count [2][4]int // [same area?][kind]
		for i := 0; i < N; i++ {
			for j := 0; j < N; j++ {
				if m.Hidden[i*N+j] == 0 {
					continue
				}
				kind := map[[2]bool]int{{true, true}: EtoE, {true, false}: EtoI, {false, true}: ItoE, {false, false}: ItoI}[[2]bool{m.Excitatory[j], m.Excitatory[i]}]
				same := 0
				if area(i) == area(j) {
					same = 1
				}
				count[same][kind]++
			}
		}
		for k := 0; k < 4; k++ {
			if k == off && count[0][k] != 0 {
				t.Errorf("%s off: %d %s synapses between areas remain", names[off], count[0][k], names[k])
			}
			if k != off && count[0][k] == 0 {
				t.Errorf("%s off: no %s synapses between areas, which should stay", names[off], names[k])
			}
			if count[1][k] == 0 {
				t.Errorf("%s off: no %s synapses within areas, which should stay", names[off], names[k])
			}
		}
	}
}

func TestMultiAreaEIReadoutFromExcitatoryOnly(t *testing.T) {
	m := eiBuild(t, [4]bool{true, true, true, true}, false)
	N := 60
	for o := 0; o < 2; o++ {
		for j := 0; j < N; j++ {
			if want := b2f(m.Excitatory[j]); m.Readout[o*N+j] != want {
				t.Fatalf("readout [%d][%d] = %v with inh_readout off, want %v", o, j, m.Readout[o*N+j], want)
			}
		}
	}
	areas, exc, err := MultiAreaEI{MultiArea: MultiArea{Sizes: []int{25, 35}, Within: 1}, ExcPct: 0.8}.Groups(Dims{Hidden: 60}, nil)
	if err != nil || !reflect.DeepEqual(areas, m.Areas) || !reflect.DeepEqual(exc, m.Excitatory) {
		t.Errorf("Groups = %v, %v, %v; want what Build gives", areas, exc, err)
	}
}

func TestRandomInput(t *testing.T) {
	d := Dims{Inputs: 2, Hidden: 200, Outputs: 3}
	for _, overlap := range []bool{true, false} {
		c := RandomInput{InputSpar: 0.3, ReadoutSpar: 0.45, HiddenSpar: 0.2, Overlap: overlap}
		m, err := c.Build(d, seeded(5))
		if err != nil {
			t.Fatal(err)
		}
		in, out := m.Areas[0].Units, m.Areas[1].Units
		if len(in) != 60 || len(out) != 90 {
			t.Fatalf("chose %d input and %d readout units, want 60 and 90", len(in), len(out))
		}
		isIn := map[int]bool{}
		for _, u := range in {
			isIn[u] = true
		}
		shared := 0
		for _, u := range out {
			if isIn[u] {
				shared++
			}
		}
		if !overlap && shared != 0 {
			t.Errorf("without overlap %d units both receive input and feed the readout", shared)
		}
		if overlap && shared == 0 {
			t.Errorf("with overlap no unit is both input and readout (expected ≈ 27)")
		}
		for i := 0; i < 200; i++ {
			if m.Input[i*2] != b2f(isIn[i]) || m.Input[i*2+1] != b2f(isIn[i]) {
				t.Fatalf("input mask of unit %d disagrees with the chosen units", i)
			}
		}
		k := 0
		for _, v := range m.Hidden {
			if v != 0 {
				k++
			}
		}
		if !withinBinomial(k, 200*200, 0.2) {
			t.Errorf("hidden density %d of %d, want 0.2", k, 200*200)
		}
	}
	if _, err := (RandomInput{InputSpar: 0.6, ReadoutSpar: 0.6, HiddenSpar: 1}).Build(d, seeded(5)); err == nil {
		t.Error("input_spar + readout_spar > 1 without overlap: no error")
	}
}

func TestMultiIO(t *testing.T) {
	d := Dims{Inputs: 3, Hidden: 4, Outputs: 2}
	c := MultiIO{InputDims: []int{1, 2}, ReadoutDims: []int{1, 1},
		InputTable:   [][]float64{{1, 1, 0, 0}, {0, 0, 1, 1}},
		ReadoutTable: [][]float64{{1, 0, 1, 0}, {0, 1, 0, 1}}}
	m, err := c.Build(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantIn := []float64{ // N×I
		1, 0, 0,
		1, 0, 0,
		0, 1, 1,
		0, 1, 1,
	}
	wantOut := []float64{1, 0, 1, 0, 0, 1, 0, 1}
	if !reflect.DeepEqual(m.Input, wantIn) || !reflect.DeepEqual(m.Readout, wantOut) {
		t.Errorf("input %v readout %v, want %v and %v", m.Input, m.Readout, wantIn, wantOut)
	}
	for _, v := range m.Hidden {
		if v != 1 {
			t.Fatal("MultiIO's hidden layer must be fully connected")
		}
	}
}

func TestParamErrorsNameTheParameter(t *testing.T) {
	d := Dims{Inputs: 2, Hidden: 10, Outputs: 1}
	cases := []struct {
		b     Builder
		param string
	}{
		{MultiArea{Count: 3, Within: 1}, "areas"},
		{MultiArea{Sizes: []int{4, 5}, Within: 1}, "areas"},
		{MultiArea{Count: 2, Forward: 1.5, Within: 1}, "area_connectivities (forward)"},
		{MultiArea{Count: 2, Connectivity: [][]float64{{1, 0}, {0, -0.1}}}, "area_connectivities[1][1]"},
		{MultiArea{Count: 2, Connectivity: [][]float64{{1, 0}}}, "area_connectivities"},
		{MultiArea{Count: 2, Within: 1, InputAreas: []int{2}}, "input_areas"},
		{MultiArea{Count: 2, Within: 1, Names: []string{"A", "A"}}, "area_names"},
		{MultiAreaEI{MultiArea: MultiArea{Count: 2, Within: 1}, ExcPct: 1.2}, "exc_pct"},
		{RandomInput{InputSpar: math.NaN(), ReadoutSpar: 1, HiddenSpar: 1}, "input_spar"},
		{MultiIO{InputDims: []int{1, 2}}, "input_dims"},
		{MultiIO{InputTable: [][]float64{make([]float64, 10)}, ReadoutTable: [][]float64{make([]float64, 9)}}, "readout_table"},
		{MultiIO{InputTable: [][]float64{{1, 0, 0.5, 0, 0, 0, 0, 0, 0, 0}}}, "input_table[0][2]"},
	}
	for _, c := range cases {
		_, err := c.b.Build(d, seeded(1))
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != c.param {
			t.Errorf("%+v: error %v, want a ParamError for %q", c.b, err, c.param)
		}
		if err2 := c.b.Check(d); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%+v: Check = %v, Build = %v; want the same error", c.b, err2, err)
		}
	}
}

func TestMasksAreAPureFunctionOfTheSource(t *testing.T) {
	c := MultiAreaEI{MultiArea: MultiArea{Count: 2, Forward: 0.3, Feedback: 0.2, Within: 0.5}, ExcPct: 0.75, InterArea: [4]bool{true, false, true, false}}
	d := Dims{Inputs: 1, Hidden: 40, Outputs: 1}
	a, _ := c.Build(d, seeded(7))
	b, _ := c.Build(d, seeded(7))
	other, _ := c.Build(d, seeded(8))
	if !reflect.DeepEqual(a, b) {
		t.Error("the same source gave different masks")
	}
	if reflect.DeepEqual(a.Hidden, other.Hidden) {
		t.Error("different seeds gave the same hidden mask")
	}
}

func TestTranspose(t *testing.T) {
	m := []float64{1, 2, 3, 4, 5, 6} // 2×3
	if got := Transpose(m, 2, 3); !reflect.DeepEqual(got, []float64{1, 4, 2, 5, 3, 6}) {
		t.Errorf("Transpose = %v", got)
	}
	if got := Transpose(Transpose(m, 2, 3), 3, 2); !reflect.DeepEqual(got, m) {
		t.Errorf("Transpose twice = %v, want %v", got, m)
	}
}
