package connect

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func rnd(seed uint64) Random { return HostRandom(seed, 200) }

func f64(v float64) *float64 { return &v }

func mustBuild(t *testing.T, c Connection, pre, post Group, r Random) *Matrix {
	t.Helper()
	m, err := c.Build(pre, post, r)
	if err != nil {
		t.Fatalf("%s: %v", c.Type(), err)
	}
	if m.CSR != nil {
		if err := m.CSR.Validate(); err != nil {
			t.Fatalf("%s: %v", c.Type(), err)
		}
		if m.Dense != nil {
			t.Fatalf("%s: both forms set", c.Type())
		}
	} else if len(m.Dense) != m.Rows*m.Cols {
		t.Fatalf("%s: dense has %d values for %d×%d", c.Type(), len(m.Dense), m.Rows, m.Cols)
	}
	if m.Rows != post.Size() || m.Cols != pre.Size() {
		t.Fatalf("%s: %d×%d, want (post %d, pre %d)", c.Type(), m.Rows, m.Cols, post.Size(), pre.Size())
	}
	return m
}

// meanStd of the stored synapses' weights.
func meanStd(m *Matrix) (mean, std float64, n int) {
	vals := m.ToCSR().Val
	for _, v := range vals {
		mean += v
	}
	n = len(vals)
	mean /= float64(n)
	for _, v := range vals {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(n-1)), n
}

func TestFullDefaultsToSPAICNormal(t *testing.T) {
	m := mustBuild(t, Full{}, Units(150), Units(200), rnd(1))
	if m.Dense == nil {
		t.Fatal("full should be dense")
	}
	mean, std, n := meanStd(m)
	if n != 150*200 {
		t.Fatalf("%d synapses, want all %d", n, 150*200)
	}
	se := 0.05 / math.Sqrt(float64(n))
	if math.Abs(mean-0.005) > 5*se || math.Abs(std-0.05) > 0.002 {
		t.Errorf("mean %v std %v, want 0.005 and 0.05", mean, std)
	}
	if m.Bias != nil {
		t.Error("bias without a bias init")
	}
}

func TestFullArrayBiasAndInits(t *testing.T) {
	vals := []float64{1, 0, 3, 4, 5, -6}
	m := mustBuild(t, Full{Weight: Init{Kind: "array", Values: vals}, Bias: Init{Kind: "constant", Value: 0.5}}, Units(3), Units(2), rnd(1))
	if !reflect.DeepEqual(m.Dense, vals) || !reflect.DeepEqual(m.Bias, []float64{0.5, 0.5}) {
		t.Fatalf("weights %v bias %v", m.Dense, m.Bias)
	}
	if m.NNZ() != 5 {
		t.Errorf("a zero array entry is no synapse: nnz %d, want 5", m.NNZ())
	}
	for _, tc := range []struct {
		init  Init
		bound float64
	}{
		{Init{Kind: "fan_in_uniform"}, 1 / math.Sqrt(64)},
		{Init{Kind: "kaiming_uniform"}, math.Sqrt(6.0 / 64)},
		{Init{Kind: "kaiming_uniform", A: math.Sqrt(5)}, 1 / math.Sqrt(64)},
		{Init{Kind: "uniform", Low: -0.3, High: 0.3}, 0.3},
	} {
		m := mustBuild(t, Full{Weight: tc.init}, Units(64), Units(100), rnd(2))
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range m.Dense {
			lo, hi = min(lo, v), max(hi, v)
		}
		// 6400 uniform draws reach within 1 % of both ends.
		if lo < -tc.bound || hi > tc.bound || lo > -0.99*tc.bound || hi < 0.99*tc.bound {
			t.Errorf("%+v: range [%v, %v], want ±%v", tc.init, lo, hi, tc.bound)
		}
	}
	m = mustBuild(t, Full{Weight: Init{Kind: "fan_in_normal"}}, Units(25), Units(400), rnd(3))
	if _, std, _ := meanStd(m); math.Abs(std-0.2) > 0.01 {
		t.Errorf("fan_in_normal std %v, want 1/√25", std)
	}
	m = mustBuild(t, Full{Weight: Init{Kind: "zero"}}, Units(4), Units(3), Random{})
	if m.NNZ() != 0 {
		t.Error("zero init made synapses")
	}
}

func TestOneToOne(t *testing.T) {
	m := mustBuild(t, OneToOne{}, Units(5), Units(5), Random{})
	d := m.ToDense()
	for i := 0; i < 5; i++ {
		for j := 0; j < 5; j++ {
			want := 0.0
			if i == j {
				want = 0.05
			}
			if d[i*5+j] != want {
				t.Fatalf("[%d %d] = %v, want %v", i, j, d[i*5+j], want)
			}
		}
	}
	if dm := m.InForm(false); dm.CSR != nil || !reflect.DeepEqual(dm.Dense, d) {
		t.Error("dense form differs")
	}
	m = mustBuild(t, OneToOne{Weight: Init{Kind: "array", Values: []float64{1, 2, 3}}}, Group{Shape: []int{3}}, Group{Shape: []int{1, 3}}, Random{})
	if !reflect.DeepEqual(m.ToDense(), []float64{1, 0, 0, 0, 2, 0, 0, 0, 3}) {
		t.Errorf("array one_to_one %v", m.ToDense())
	}
}

func countDiagonal(m *Matrix) int {
	c, n := m.ToCSR(), 0
	for i := 0; i < c.Rows; i++ {
		for k := c.RowPtr[i]; k < c.RowPtr[i+1]; k++ {
			if int(c.ColIdx[k]) == i {
				n++
			}
		}
	}
	return n
}

func TestFixedProbability(t *testing.T) {
	pre, post := Units(120), Units(90)
	for _, p := range []float64{0, 0.03, 0.3, 1} {
		m := mustBuild(t, FixedProbability{P: p}, pre, post, rnd(4))
		if !withinBinomial(m.NNZ(), 120*90, p) {
			t.Errorf("p = %v: %d synapses of %d", p, m.NNZ(), 120*90)
		}
		ex := mustBuild(t, FixedProbability{P: p, ExcludeSelf: true}, pre, post, rnd(4))
		if countDiagonal(ex) != 0 {
			t.Errorf("p = %v: ExcludeSelf left %d diagonal synapses", p, countDiagonal(ex))
		}
		if p == 1 && (countDiagonal(m) != 90 || ex.NNZ() != 120*90-90) {
			t.Errorf("p = 1: diagonal %d, excluded %d", countDiagonal(m), ex.NNZ())
		}
	}
	// Weights are the init's, not SPAIC's U(0, p) draws.
	m := mustBuild(t, FixedProbability{P: 0.5}, pre, post, rnd(5))
	if mean, std, _ := meanStd(m); math.Abs(mean-0.005) > 0.005 || math.Abs(std-0.05) > 0.005 {
		t.Errorf("weights mean %v std %v, want SPAICNormal", mean, std)
	}
	// The weight of a synapse does not depend on which others exist.
	a := mustBuild(t, FixedProbability{P: 0.2}, pre, post, rnd(6)).ToDense()
	b := mustBuild(t, FixedProbability{P: 0.6}, pre, post, rnd(6)).ToDense()
	for k := range a {
		if a[k] != 0 && a[k] != b[k] {
			t.Fatalf("entry %d: %v at p 0.2, %v at p 0.6", k, a[k], b[k])
		}
	}
}

func TestDensityExactCount(t *testing.T) {
	pre, post := Units(40), Units(30)
	for _, d := range []float64{0, 0.01, 0.1, 0.5, 0.77, 1} {
		for _, ex := range []bool{false, true} {
			c := Density{Density: d, ExcludeSelf: ex}
			m := mustBuild(t, c, pre, post, rnd(7))
			avail := 40 * 30
			if ex {
				avail -= 30
			}
			if want := int(math.Round(d * float64(avail))); m.NNZ() != want || c.Count(pre, post) != want {
				t.Errorf("density %v exclude %v: %d synapses, want %d", d, ex, m.NNZ(), want)
			}
			if ex && countDiagonal(m) != 0 {
				t.Errorf("density %v: diagonal synapses with ExcludeSelf", d)
			}
		}
	}
	// Uniform over pairs: each half of the rows gets about half.
	m := mustBuild(t, Density{Density: 0.25}, Units(100), Units(100), rnd(8))
	c := m.ToCSR()
	if top := c.RowPtr[50]; !withinBinomial(top, 2500, 0.5) {
		t.Errorf("first half of the rows holds %d of 2500", top)
	}
}

func TestFixedDegrees(t *testing.T) {
	pre, post := Units(30), Units(45)
	for _, ex := range []bool{false, true} {
		in := mustBuild(t, FixedInDegree{K: 7, ExcludeSelf: ex}, pre, post, rnd(9)).ToCSR()
		for i := 0; i < in.Rows; i++ {
			if n := in.RowPtr[i+1] - in.RowPtr[i]; n != 7 {
				t.Fatalf("post %d has in-degree %d, want 7", i, n)
			}
		}
		out := mustBuild(t, FixedOutDegree{K: 11, ExcludeSelf: ex}, pre, post, rnd(9))
		deg := make([]int, 30)
		oc := out.ToCSR()
		for _, j := range oc.ColIdx {
			deg[j]++
		}
		for j, n := range deg {
			if n != 11 {
				t.Fatalf("pre %d has out-degree %d, want 11", j, n)
			}
		}
		if ex && (countDiagonal(&Matrix{CSR: in}) != 0 || countDiagonal(out) != 0) {
			t.Error("diagonal synapses with ExcludeSelf")
		}
	}
	// All available: k = n_pre − 1 with ExcludeSelf is every off-diagonal pair.
	m := mustBuild(t, FixedInDegree{K: 29, ExcludeSelf: true}, pre, Units(30), rnd(10))
	if m.NNZ() != 30*29 || countDiagonal(m) != 0 {
		t.Errorf("k = n−1: %d synapses", m.NNZ())
	}
	// Every pre unit is chosen about equally often.
	m = mustBuild(t, FixedInDegree{K: 5}, Units(10), Units(2000), rnd(11))
	deg := make([]int, 10)
	for _, j := range m.ToCSR().ColIdx {
		deg[j]++
	}
	for j, n := range deg {
		if !withinBinomial(n, 2000, 0.5) {
			t.Errorf("pre %d chosen %d times of 2000 rows, want about 1000", j, n)
		}
	}
}

func TestClampLeavesAbsentSynapsesAbsent(t *testing.T) {
	c := Clamp{Min: f64(0.01), Max: f64(0.02)}
	m := mustBuild(t, FixedProbability{P: 0.3, Clamp: c}, Units(50), Units(50), rnd(12))
	d := m.ToDense()
	zeros := 0
	for _, v := range d {
		if v == 0 {
			zeros++
		} else if v < 0.01 || v > 0.02 {
			t.Fatalf("weight %v outside [0.01, 0.02]", v)
		}
	}
	if !withinBinomial(2500-zeros, 2500, 0.3) {
		t.Errorf("%d absent of 2500 at p 0.3: clamping filled absent synapses", zeros)
	}
	f := mustBuild(t, Full{Weight: Init{Kind: "array", Values: []float64{0, -1, 0.5, 2}}, Clamp: c}, Units(2), Units(2), Random{})
	if !reflect.DeepEqual(f.Dense, []float64{0, 0.01, 0.02, 0.02}) {
		t.Errorf("dense clamp %v", f.Dense)
	}
}

func TestCSRFormsAndChoice(t *testing.T) {
	d := []float64{0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 4, 5}
	c := DenseToCSR(d, 3, 4)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Dense(), d) || c.NNZ() != 5 || !reflect.DeepEqual(c.RowPtr, []int{0, 2, 2, 5}) {
		t.Fatalf("csr %+v", c)
	}
	bad := &CSR{Rows: 1, Cols: 3, RowPtr: []int{0, 2}, ColIdx: []int32{2, 1}, Val: []float64{1, 1}}
	if bad.Validate() == nil {
		t.Error("descending columns validated")
	}
	m := &Matrix{Rows: 3, Cols: 4, Dense: d}
	if m.Density() != 5.0/12 || c.Density() != 5.0/12 || m.AutoForm() != m {
		t.Error("density 5/12 should stay dense")
	}
	s := mustBuild(t, FixedProbability{P: 0.05}, Units(100), Units(100), rnd(13))
	if s.AutoForm().CSR == nil || !Sparse(0.2) || Sparse(SparseBelow) {
		t.Error("density 0.05 should be sparse")
	}
	if !reflect.DeepEqual(s.InForm(false).InForm(true).CSR.Dense(), s.ToDense()) {
		t.Error("dense round trip changed the matrix")
	}
}

func TestBuildersArePure(t *testing.T) {
	pre, post := Group{Shape: []int{2, 5, 5}}, Group{Shape: []int{3, 2, 2}}
	for _, c := range []Connection{
		Full{Bias: Init{Kind: "normal", Std: 1}}, FixedProbability{P: 0.2}, Density{Density: 0.1},
		FixedInDegree{K: 4}, FixedOutDegree{K: 4}, Conv{OutChannels: 3, Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Bias: Init{Kind: "fan_in_uniform"}},
		Distance{Prob: Kernel{Kind: "gaussian", Amp: 1, Sigma: 2}},
	} {
		a := mustBuild(t, c, pre, post, rnd(20))
		b := mustBuild(t, c, pre, post, rnd(20))
		o := mustBuild(t, c, pre, post, rnd(21))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two builds from one seed differ", c.Type())
		}
		if reflect.DeepEqual(a.ToDense(), o.ToDense()) {
			t.Errorf("%s: two seeds give the same matrix", c.Type())
		}
	}
}

func TestParamErrorsNameTheParameterOfBuilders(t *testing.T) {
	u := Units
	img := Group{Shape: []int{2, 5, 5}}
	for _, tc := range []struct {
		c         Connection
		pre, post Group
		param     string
	}{
		{Full{}, Group{}, u(3), "from"},
		{Full{}, u(3), Group{Shape: []int{0}}, "to"},
		{Full{Weight: Init{Kind: "normal", Std: -1}}, u(3), u(3), "weight"},
		{Full{Weight: Init{Kind: "array", Values: []float64{1}}}, u(3), u(3), "weight"},
		{Full{Weight: Init{Kind: "gamma"}}, u(3), u(3), "weight"},
		{Full{Bias: Init{Kind: "uniform", Low: 1, High: 0}}, u(3), u(3), "bias"},
		{Full{Clamp: Clamp{Min: f64(1), Max: f64(0)}}, u(3), u(3), "w_min"},
		{Full{Clamp: Clamp{Max: f64(math.NaN())}}, u(3), u(3), "w_max"},
		{OneToOne{}, u(3), u(4), "to"},
		{FixedProbability{P: 1.5}, u(3), u(3), "p"},
		{FixedProbability{P: math.NaN()}, u(3), u(3), "p"},
		{Density{Density: -0.1}, u(3), u(3), "density"},
		{FixedInDegree{K: 4}, u(3), u(5), "k"},
		{FixedInDegree{K: 3, ExcludeSelf: true}, u(3), u(5), "k"},
		{FixedInDegree{K: -1}, u(3), u(5), "k"},
		{FixedOutDegree{K: 6}, u(3), u(5), "k"},
		{Conv{OutChannels: 0, Kernel: [2]int{3, 3}}, img, u(18), "out_channels"},
		{Conv{OutChannels: 2, Kernel: [2]int{3, 0}}, img, u(18), "kernel_size"},
		{Conv{OutChannels: 2, Kernel: [2]int{3, 3}, Stride: [2]int{-1, 1}}, img, u(18), "stride"},
		{Conv{OutChannels: 2, Kernel: [2]int{3, 3}, Padding: [2]int{-1, 0}}, img, u(18), "padding"},
		{Conv{OutChannels: 2, Kernel: [2]int{3, 3}, Dilation: [2]int{-2, 1}}, img, u(18), "dilation"},
		{Conv{OutChannels: 3, Kernel: [2]int{3, 3}, Groups: 2}, img, u(27), "groups"},
		{Conv{OutChannels: 2, Kernel: [2]int{6, 3}}, img, u(18), "kernel_size"},
		{Conv{OutChannels: 2, Kernel: [2]int{3, 3}}, u(50), u(18), "from"},
		{Conv{OutChannels: 2, Kernel: [2]int{3, 3}}, img, u(19), "to"},
		{Conv{OutChannels: 2, Kernel: [2]int{3, 3}}, img, Group{Shape: []int{1, 6, 3}}, "to"},
		{Patched{NSubModels: 0}, u(6), u(6), "n_sub_models"},
		{Patched{NSubModels: 2, Stride: [2]int{-1, 0}}, u(6), u(6), "stride_shape"},
		{Patched{NSubModels: 2, Stride: [2]int{1, 0}}, u(7), u(6), "from"},
		{Patched{NSubModels: 4}, u(8), u(6), "to"},
		{Patched{NSubModels: 2, PConn: 2}, u(6), u(6), "p_conn"},
		{Distance{Metric: "manhattan"}, u(3), u(3), "metric"},
		{Distance{PrePositions: [][]float64{{0}, {1}}}, u(3), u(3), "pre_positions"},
		{Distance{PostPositions: [][]float64{{0}, {1}, {2, 3}}}, u(3), u(3), "post_positions"},
		{Distance{Metric: "circular", PrePositions: [][]float64{{0}}, PostPositions: [][]float64{{0}}}, u(1), u(1), "period"},
		{Distance{Metric: "circular", Period: []float64{0}}, u(3), u(3), "period"},
		{Distance{Weight: Kernel{Kind: "gaussian", Amp: 1}}, u(3), u(3), "weight"},
		{Distance{Prob: Kernel{Kind: "exponential", Amp: 2, Sigma: 1}}, u(3), u(3), "probability"},
		{Distance{Weight: Kernel{Kind: "constant", Amp: 1}, Init: Init{Kind: "zero"}}, u(3), u(3), "init"},
		{Distance{MaxDistance: -1}, u(3), u(3), "max_distance"},
		{Distance{Spacing: -1}, u(3), u(3), "spacing"},
	} {
		err := tc.c.Check(tc.pre, tc.post)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("%s %+v: error %v, want one naming %q", tc.c.Type(), tc.c, err, tc.param)
			continue
		}
		if _, berr := tc.c.Build(tc.pre, tc.post, rnd(1)); berr == nil || berr.Error() != err.Error() {
			t.Errorf("%s: Build says %v, Check %v", tc.c.Type(), berr, err)
		}
	}
	if _, err := (FixedProbability{P: 0.5}).Build(u(3), u(3), Random{}); err == nil {
		t.Error("a random builder ran without a Random")
	}
}

func TestSmallestKeysOfAgreesWithSorting(t *testing.T) {
	r := rnd(60)
	for trial := 0; trial < 20; trial++ {
		n := 50 + 97*trial
		allowed := func(c int) bool { return c%7 != 3 }
		// Coarse keys make many ties inside one bucket and across buckets.
		key := func(c int) float64 { return math.Floor(r.Uniform(trial, c)*float64(1+trial*40)) / float64(1+trial*40) }
		var cand []int
		for c := 0; c < n; c++ {
			if allowed(c) {
				cand = append(cand, c)
			}
		}
		for _, k := range []int{0, 1, len(cand) / 3, len(cand)} {
			if got, want := smallestKeysOf(n, allowed, k, key), smallestKeys(cand, k, key); !reflect.DeepEqual(got, want) {
				t.Fatalf("n %d k %d: %v, want %v", n, k, got, want)
			}
		}
	}
}
