package connect

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/ratesim/ratesim/sim/npz"
)

// Fixtures come from testdata/make_fixtures.py (torch conv2d; a
// transcription of ngc-learn's patched structure).

func loadNPZ(t *testing.T, name string) map[string]*npz.Array {
	t.Helper()
	a, err := npz.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func floats(t *testing.T, a *npz.Array) []float64 {
	t.Helper()
	v, err := a.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ints(t *testing.T, a *npz.Array) []int {
	t.Helper()
	v, err := a.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func TestConvMatchesTorchConv2d(t *testing.T) {
	files, _ := filepath.Glob("testdata/conv_*.npz")
	if len(files) < 6 {
		t.Fatalf("%d conv fixtures, want 6 (run testdata/make_fixtures.py)", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fx := loadNPZ(t, filepath.Base(f))
			p := ints(t, fx["params"])
			C, H, W := p[0], p[1], p[2]
			c := Conv{OutChannels: p[3], Kernel: [2]int{p[4], p[5]}, Stride: [2]int{p[6], p[7]},
				Padding: [2]int{p[8], p[9]}, Dilation: [2]int{p[10], p[11]}, Groups: p[12],
				Weight: Init{Kind: "array", Values: floats(t, fx["kernel"])}}
			pre := Group{Shape: []int{C, H, W}}
			y := fx["y"]
			post := Group{Shape: y.Shape[1:]}
			if s, err := c.OutputShape(pre); err != nil || fmt.Sprint(s) != fmt.Sprint(post.Shape) {
				t.Fatalf("output shape %v (%v), torch %v", s, err, post.Shape)
			}
			m := mustBuild(t, c, pre, post, Random{})
			// The Jacobian: conv2d of one-hot inputs is the matrix, bit for bit.
			jac := floats(t, fx["jac"]) // (pre, post)
			d := m.ToDense()
			for k := 0; k < m.Cols; k++ {
				for i := 0; i < m.Rows; i++ {
					if d[i*m.Cols+k] != jac[k*m.Rows+i] {
						t.Fatalf("entry (post %d, pre %d) = %v, torch %v", i, k, d[i*m.Cols+k], jac[k*m.Rows+i])
					}
				}
			}
			// Every tap inside the input is stored once (no duplicates, by
			// Validate), and only those: the count of stored entries is the
			// count of in-range taps.
			if taps := convTaps(c, C, H, W, m.Rows); m.NNZ() != taps {
				t.Errorf("%d stored entries, %d in-range taps", m.NNZ(), taps)
			}
			// With the bias, a random input gives torch's output.
			c.Bias = Init{Kind: "array", Values: floats(t, fx["bias"])}
			m = mustBuild(t, c, pre, post, Random{})
			x, want := floats(t, fx["x"]), floats(t, y)
			cs := m.ToCSR()
			for i := 0; i < m.Rows; i++ {
				s := m.Bias[i]
				for k := cs.RowPtr[i]; k < cs.RowPtr[i+1]; k++ {
					s += cs.Val[k] * x[cs.ColIdx[k]]
				}
				if math.Abs(s-want[i]) > 1e-12*(1+math.Abs(want[i])) {
					t.Fatalf("post %d: %v, torch %v", i, s, want[i])
				}
			}
		})
	}
}

// convTaps counts the kernel taps that land inside the input, directly
// from the definition.
func convTaps(c Conv, C, H, W, rows int) int {
	g, _ := c.geometry(Group{Shape: []int{C, H, W}})
	n := 0
	for y := 0; y < g.ho; y++ {
		for a := 0; a < g.kh; a++ {
			for x := 0; x < g.wo; x++ {
				for b := 0; b < g.kw; b++ {
					h, w := y*g.sh-g.ph+a*g.dh, x*g.sw-g.pw+b*g.dw
					if h >= 0 && h < H && w >= 0 && w < W {
						n++
					}
				}
			}
		}
	}
	return n * g.out * (C / g.g)
}

func TestConvDefaultInitAndBias(t *testing.T) {
	pre := Group{Shape: []int{4, 9, 9}}
	c := Conv{OutChannels: 6, Kernel: [2]int{3, 3}, Groups: 2, Padding: [2]int{1, 1}, Bias: Init{Kind: "fan_in_uniform"}}
	shape, err := c.OutputShape(pre)
	if err != nil || fmt.Sprint(shape) != "[6 9 9]" {
		t.Fatalf("shape %v %v", shape, err)
	}
	m := mustBuild(t, c, pre, Group{Shape: shape}, rnd(30))
	bound := 1 / math.Sqrt(2*3*3) // torch: fan_in = in/groups·kh·kw
	for _, v := range m.CSR.Val {
		if math.Abs(v) > bound {
			t.Fatalf("weight %v beyond ±%v", v, bound)
		}
	}
	for i, b := range m.Bias {
		if math.Abs(b) > bound || b != m.Bias[i/81*81] {
			t.Fatalf("bias[%d] = %v: not one value per channel within ±%v", i, b, bound)
		}
	}
	// Dilation counts in the output size (SPAIC's check forgets it).
	d := Conv{OutChannels: 1, Kernel: [2]int{3, 3}, Dilation: [2]int{2, 3}}
	if s, _ := d.OutputShape(Group{Shape: []int{1, 10, 10}}); fmt.Sprint(s) != "[1 6 4]" {
		t.Errorf("dilated output %v, want [1 6 4]", s)
	}
}

func TestPatchedMatchesNgcLearn(t *testing.T) {
	fx := loadNPZ(t, "patched.npz")
	cases := 0
	for k := 0; ; k++ {
		pa, ok := fx[fmt.Sprintf("params_%d", k)]
		if !ok {
			break
		}
		cases++
		p := ints(t, pa)
		own := fx[fmt.Sprintf("owner_%d", k)]
		want := ints(t, own) // (pre, post)
		stride := [2]int{p[3], p[4]}
		np, nq := PatchedSizes(p[0], p[1], p[2], stride)
		if np != own.Shape[0] || nq != own.Shape[1] {
			t.Fatalf("case %v: sizes %d×%d, ngc-learn %v", p, np, nq, own.Shape)
		}
		c := Patched{NSubModels: p[2], Stride: stride}
		got, err := c.Owner(Units(np), Units(nq))
		if err != nil {
			t.Fatalf("case %v: %v", p, err)
		}
		m := mustBuild(t, c, Units(np), Units(nq), rnd(40))
		d := m.ToDense()
		for j := 0; j < np; j++ {
			for i := 0; i < nq; i++ {
				if got[i*np+j] != want[j*nq+i] {
					t.Fatalf("case %v: (pre %d, post %d) owned by %d, ngc-learn %d", p, j, i, got[i*np+j], want[j*nq+i])
				}
				if (d[i*np+j] != 0) != (want[j*nq+i] >= 0) {
					t.Fatalf("case %v: synapse (pre %d, post %d) is %v, owner %d", p, j, i, d[i*np+j], want[j*nq+i])
				}
			}
		}
		// fan_in_gaussian: std 1/√(di + 2si).
		if n := m.NNZ(); n > 200 {
			di := (np - 2*stride[0]) / p[2]
			_, std, _ := meanStd(m)
			if want := 1 / math.Sqrt(float64(di+2*stride[0])); math.Abs(std-want) > 0.25*want {
				t.Errorf("case %v: weight std %v, want about %v", p, std, want)
			}
		}
	}
	if cases < 5 {
		t.Fatalf("%d patched cases", cases)
	}
}

func TestPatchedThinning(t *testing.T) {
	c := Patched{NSubModels: 4, Stride: [2]int{2, 1}}
	pre, post := Units(4*20+4), Units(4*15+2)
	full := mustBuild(t, c, pre, post, rnd(41))
	c.PConn = 0.3
	thin := mustBuild(t, c, pre, post, rnd(41))
	if !withinBinomial(thin.NNZ(), full.NNZ(), 0.3) {
		t.Errorf("p_conn 0.3 kept %d of %d", thin.NNZ(), full.NNZ())
	}
	fd, td := full.ToDense(), thin.ToDense()
	for k := range td {
		if td[k] != 0 && td[k] != fd[k] {
			t.Fatalf("thinning changed or added synapse %d", k)
		}
	}
}

func rows(t *testing.T, a *npz.Array) [][]float64 {
	v := floats(t, a)
	out := make([][]float64, a.Shape[0])
	for i := range out {
		out[i] = v[i*a.Shape[1] : (i+1)*a.Shape[1]]
	}
	return out
}

func TestDistanceMatchesSPAICDistDepd(t *testing.T) {
	fx := loadNPZ(t, "dist_depd.npz")
	pre, post := rows(t, fx["pre_pos"]), rows(t, fx["post_pos"])
	for _, metric := range []string{"euclidean", "circular"} {
		want := floats(t, fx["w_"+metric])
		c := Distance{PrePositions: pre, PostPositions: post, Metric: metric, ExcludeZeroDistance: true,
			Weight: Kernel{Kind: "dist_depd", Amp: -0.1, A: 0.2, B: 0.4}}
		if metric == "circular" {
			c.Period = []float64{1, 1} // SPAIC's pos_range
		}
		m := mustBuild(t, c, Units(len(pre)), Units(len(post)), Random{})
		got := m.ToDense()
		zeros := 0
		for k, w := range want {
			if w == 0 {
				zeros++
			}
			if math.Abs(got[k]-w) > 1e-14*(1+math.Abs(w)) || (got[k] == 0) != (w == 0) {
				t.Fatalf("%s: w[post %d, pre %d] = %v, SPAIC %v", metric, k/len(pre), k%len(pre), got[k], w)
			}
		}
		if zeros != 1 || m.NNZ() != len(want)-1 {
			t.Errorf("%s: %d zero-distance pairs in the fixture, %d synapses", metric, zeros, m.NNZ())
		}
	}
}
