package main

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/output/plot"
	"github.com/ratesim/ratesim/sim/spec"
)

func TestInspectExampleWritesMasks(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "inspect", "--example", "multiarea_ei", "--masks", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	// 120 and 80 units, 80% excitatory each.
	for _, want := range []string{"multi_area_ei", "V1", "PFC", "E 96, I 24", "E 64, I 16", "160 excitatory, 40 inhibitory",
		"self-connections 0", "spectral radius of W_hidden:"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	ex, err := spec.LoadExample("multiarea_ei")
	if err != nil {
		t.Fatal(err)
	}
	net, err := network.New(ex)
	if err != nil {
		t.Fatal(err)
	}
	N := net.N
	a, err := npz.ReadNPY(filepath.Join(dir, "sparsity_hidden.npy"))
	if err != nil {
		t.Fatal(err)
	}
	vals, _ := a.Float64s()
	if len(a.Shape) != 2 || a.Shape[0] != N || a.Shape[1] != N {
		t.Fatalf("sparsity_hidden.npy shaped %v", a.Shape)
	}
	for pre := 0; pre < N; pre++ {
		for post := 0; post < N; post++ {
			if vals[pre*N+post] != net.Sparsity.Hidden[post*N+pre] {
				t.Fatalf("sparsity_hidden.npy[%d][%d] is not the (pre, post) transpose of the network's mask", pre, post)
			}
		}
	}
	ro, err := npz.ReadNPY(filepath.Join(dir, "ei_readout.npy"))
	if err != nil || len(ro.Shape) != 2 || ro.Shape[0] != N || ro.Shape[1] != net.O {
		t.Fatalf("ei_readout.npy: %v %v, want (%d, %d)", ro, err, N, net.O)
	}
	// The masks written feed back into a spec as files and give the same
	// network as the structure did.
	os.WriteFile(filepath.Join(dir, "w.yaml"), []byte(`dims: [2, 200, 2]
weights: normal
biases: zero
self_connections: false
sparsity_masks: {input: {file: sparsity_input.npy}, hidden: {file: sparsity_hidden.npy}, readout: {file: sparsity_readout.npy}}
ei_masks: {hidden: {file: ei_hidden.npy}, readout: {file: ei_readout.npy}}
`), 0o644)
	again, err := spec.Load(filepath.Join(dir, "w.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	net2, err := network.New(again)
	if err != nil {
		t.Fatal(err)
	}
	for i := range net.Hidden {
		if net.Hidden[i] != net2.Hidden[i] {
			t.Fatalf("hidden weight %d differs between the structure (%v) and its written masks (%v)", i, net.Hidden[i], net2.Hidden[i])
		}
	}
}

func number(t *testing.T, out, label string) float64 {
	t.Helper()
	m := regexp.MustCompile(label + ` (-?[0-9.e+-]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in\n%s", label, out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Spectral radius and E/I sums of a hidden matrix given as an array, checked
// against values computed here.
func TestInspectNumbers(t *testing.T) {
	dir := t.TempDir()
	// A 3×3 (out, in) matrix: presynaptic unit 0 excitatory, 1 and 2
	// inhibitory; block [[0, -3], [3, 0]] has eigenvalues ±3i, unit 0 a
	// self-loop of 0.5, so the spectral radius is 3.
	w := []float64{
		0.5, 0, 0,
		0, 0, -3,
		2, 3, 0, // W[2][1] = 3 from inhibitory unit 1 is clamped to 0
	}
	ei := []float64{ // (pre, post)
		1, 1, 1,
		-1, -1, -1,
		0, 0, 0, // 0 counts as inhibitory, as in nn4n
	}
	if err := npz.WriteNPY(filepath.Join(dir, "w.npy"), npz.Float64, []int{3, 3}, w); err != nil {
		t.Fatal(err)
	}
	if err := npz.WriteNPY(filepath.Join(dir, "ei.npy"), npz.Float64, []int{3, 3}, ei); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "s.yaml")
	os.WriteFile(spec, []byte("dims: [1, 3, 1]\nweights: {hidden: {file: w.npy}}\nei_masks: {hidden: {file: ei.npy}}\n"), 0o644)
	code, out, stderr := runCLI(t, "inspect", spec)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	// After the clamp: [[0.5, 0, 0], [0, 0, -3], [2, 0, 0]]; eigenvalues 0.5, 0, 0.
	if r := number(t, out, "spectral radius of W_hidden:"); math.Abs(r-0.5) > 1e-9 {
		t.Errorf("spectral radius %v, want 0.5 (after the E/I clamp)", r)
	}
	if e, i := number(t, out, "hidden weight sums: E"), number(t, out, "sums: E -?[0-9.e+-]+, I"); e != 2.5 || i != -3 {
		t.Errorf("sums E %v, I %v; want 2.5 and -3 (array weights are not rebalanced)", e, i)
	}
	if !strings.Contains(out, "1 excitatory, 2 inhibitory") {
		t.Errorf("E/I counts wrong:\n%s", out)
	}
	// Without the E/I mask the clamp is gone: the rotation block gives 3.
	os.WriteFile(spec, []byte("dims: [1, 3, 1]\nweights: {hidden: {file: w.npy}}\n"), 0o644)
	code, out, _ = runCLI(t, "inspect", spec)
	if r := number(t, out, "spectral radius of W_hidden:"); code != 0 || math.Abs(r-3) > 1e-9 {
		t.Errorf("spectral radius %v (exit %d), want 3", r, code)
	}
	if p, n := number(t, out, "sums: positive"), number(t, out, "negative"); p != 5.5 || n != -3 {
		t.Errorf("sums positive %v, negative %v; want 5.5 and -3", p, n)
	}
}

func TestInspectAndValidateErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("dims: [1, 4, 1]\nweights: {hidden: {file: nothere.npy}}\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"inspect"}, 2, "expected one SPEC"},
		{[]string{"inspect", bad}, 1, "field weights.hidden"},
		{[]string{"validate", bad}, 1, "nothere.npy"},
		{[]string{"inspect", "--example", "nosuch"}, 1, "no built-in example"},
	} {
		code, out, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q (stdout %q); want exit %d mentioning %q", c.args, code, stderr, out, c.code, c.want)
		}
	}
}

func TestRunMultiAreaExample(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "run", "--example", "multiarea_ei", "--out", dir, "--steps", "20", "--trials", "2")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("(2, 20, %d)", 200)) {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

// checkPicture checks that file is a picture of the documented size in its
// extension's format and not blank: a PNG of size's pixels with many
// colours, an SVG or PDF of its size in points.
func checkPicture(t *testing.T, file string, size plot.Size) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	w, h := size.Points()
	switch filepath.Ext(file) {
	case ".png":
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if b := img.Bounds(); b.Dx() != size.W || b.Dy() != size.H {
			t.Errorf("%s is %v, want %d × %d px", file, b, size.W, size.H)
		}
		seen := map[[4]uint32]bool{}
		for y := 0; y < size.H; y += 3 {
			for x := 0; x < size.W; x += 3 {
				r, g, b, a := img.At(x, y).RGBA()
				seen[[4]uint32{r, g, b, a}] = true
			}
		}
		if len(seen) < 64 {
			t.Errorf("%s has %d colours: blank?", file, len(seen))
		}
	case ".svg":
		want := fmt.Sprintf(`<svg width="%gpt" height="%gpt"`, w, h)
		if !bytes.HasPrefix(data, []byte("<?xml")) || !bytes.Contains(data, []byte(want)) || bytes.Count(data, []byte("<path")) < 20 {
			t.Errorf("%s is not a drawn SVG with %s", file, want)
		}
	case ".pdf":
		want := fmt.Sprintf("/MediaBox [0 0 %.2f %.2f]", w, h)
		if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data, []byte(want)) || len(data) < 10000 {
			t.Errorf("%s is not a drawn PDF with %s", file, want)
		}
	default:
		t.Errorf("%s: unexpected picture", file)
	}
}

// inspect --plot draws the structure; the format follows --plot-format or
// FILE's extension, and FILE's extension follows the format.
func TestInspectPlot(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		file string
	}{
		{[]string{"--plot", filepath.Join(dir, "s.png")}, "s.png"},
		{[]string{"--plot", filepath.Join(dir, "s.svg")}, "s.svg"},
		{[]string{"--plot", filepath.Join(dir, "t.png"), "--plot-format", "pdf"}, "t.pdf"},
		{[]string{"--plot", filepath.Join(dir, "u"), "--plot-format", "svg"}, "u.svg"},
		{[]string{"--plot", filepath.Join(dir, "v")}, "v.png"},
	} {
		code, out, stderr := runCLI(t, append([]string{"inspect", "--example", "multiarea_ei"}, c.args...)...)
		file := filepath.Join(dir, c.file)
		if code != 0 || !strings.Contains(out, "picture: "+file) {
			t.Fatalf("%v: exit %d\n%s%s", c.args, code, out, stderr)
		}
		checkPicture(t, file, plot.StructureSize)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "--example", "ctrnn", "--plot", filepath.Join(dir, "x.png"), "--plot-format", "gif"}, "png, svg or pdf"},
		{[]string{"inspect", "--example", "ctrnn", "--plot-format", "svg"}, "needs --plot"},
		{[]string{"run", "--plot-format", "jpg", "--out", filepath.Join(dir, "r")}, "png, svg or pdf"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want a usage error mentioning %q", c.args, code, stderr, c.want)
		}
	}
}

// run --plot-format writes the pictures in that format, removing an earlier
// run's pictures in another.
func TestRunPlotFormats(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"png", "svg", "pdf"} {
		code, out, stderr := runCLI(t, "run", "--example", "multiarea_ei", "--out", dir, "--steps", "60", "--trials", "1", "--plot-format", f)
		file := filepath.Join(dir, "rates."+f)
		if code != 0 || !strings.Contains(out, "picture: "+file) {
			t.Fatalf("%s: exit %d\n%s%s", f, code, out, stderr)
		}
		checkPicture(t, file, plot.RunSize)
		entries, _ := os.ReadDir(dir)
		var pics []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "rates.") {
				pics = append(pics, e.Name())
			}
		}
		if len(pics) != 1 {
			t.Errorf("%s: the directory holds %v, want rates.%s alone", f, pics, f)
		}
	}
}

// A plastic run's weights picture for every kind of weight record, with
// populations (E and I of a multi-area structure).
func TestWeightsPictureKinds(t *testing.T) {
	for _, what := range []string{"whole", "block_means", "synapses, synapses: [[recurrent, 3, 7], [input, 0, 5], [readout, 2, 1]]"} {
		dir := t.TempDir()
		sp := filepath.Join(dir, "p.yaml")
		os.WriteFile(sp, []byte(`dims: [2, 40, 2]
activation: relu
weights: normal
structure: {type: multi_area_ei, areas: [20, 20], area_connectivities: [0.3, 0.1, 0.5], exc_pct: 0.8}
input: {type: sine, amplitude: 1, period: 300}
steps: 200
plasticity:
  populations: ei
  record: {every: 10, what: `+what+`}
  recurrent: {bounds: [-0.5, 0.5], rules: [{rule: hebbian, eta: 0.002}]}
  input: {bounds: [-0.5, 0.5], rules: [{rule: hebbian, eta: 0.002}]}
  readout: {bounds: [-0.5, 0.5], rules: [{rule: hebbian, eta: 0.002}]}
`), 0o644)
		code, out, stderr := runCLI(t, "run", sp, "--out", filepath.Join(dir, "out"))
		file := filepath.Join(dir, "out", "weights.png")
		if code != 0 || !strings.Contains(out, "weights: "+file) {
			t.Fatalf("%s: exit %d\n%s%s", what, code, out, stderr)
		}
		checkPicture(t, file, plot.WeightsSize)
		if d := os.Getenv("RATESIM_PLOT_DIR"); d != "" {
			data, _ := os.ReadFile(file)
			os.WriteFile(filepath.Join(d, "weights-"+strings.Fields(what)[0]+".png"), data, 0o644)
		}
	}
}

// inspect of a spec with groups lists every group and one row per
// connection whose synapse count is the built matrix's.
func TestInspectConnections(t *testing.T) {
	var out, errb bytes.Buffer
	if err := cmdInspect([]string{"--example", "visual_cortex"}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	sp, _ := spec.LoadExample("visual_cortex")
	net := network.Build(sp)
	text := out.String()
	for _, g := range sp.Groups {
		if !regexp.MustCompile(`(?m)^  ` + g.Name + ` +\d+`).MatchString(text) {
			t.Errorf("group %s not listed:\n%s", g.Name, text)
		}
	}
	for k, c := range net.Connections {
		row := regexp.MustCompile(fmt.Sprintf(`(?m)^  %d +%s +%s +%s +%d `, k, c.From, c.To, c.Builder.Type(), c.Matrix.NNZ()))
		if !row.MatchString(text) {
			t.Errorf("connection %d row missing or wrong:\n%s", k, text)
		}
	}
}

// --connections writes every connection's matrix (post × pre) and the
// delays, equal to what the network was built from; the table names the
// delays and each group's drive form.
func TestInspectWritesConnectionMatrices(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := cmdInspect([]string{"--example", "visual_cortex", "--connections", dir}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	sp, _ := spec.LoadExample("visual_cortex")
	net := network.Build(sp)
	for k, c := range net.Connections {
		a, err := npz.ReadNPY(filepath.Join(dir, fmt.Sprintf("connection_%d_%s_to_%s.npy", k, c.From, c.To)))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := a.Float64s()
		want := c.Matrix.ToDense()
		if fmt.Sprint(a.Shape) != fmt.Sprint([]int{c.Matrix.Rows, c.Matrix.Cols}) || len(got) != len(want) {
			t.Fatalf("connection %d: shape %v, want %d × %d", k, a.Shape, c.Matrix.Rows, c.Matrix.Cols)
		}
		for x := range want {
			if got[x] != want[x] {
				t.Fatalf("connection %d value %d = %v, want %v", k, x, got[x], want[x])
			}
		}
	}
	a, err := npz.ReadNPY(filepath.Join(dir, "delays.npy"))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := a.Float64s()
	for x, v := range net.Delays {
		if d[x] != float64(v) {
			t.Fatalf("delay %d = %v, want %d", x, d[x], v)
		}
	}
	text := out.String()
	for _, want := range []string{"1 steps (10 ms)", "2 steps (20 ms)", "gathered (delays are read per synapse)"} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect does not say %q:\n%s", want, text)
		}
	}
	err = cmdInspect([]string{"--example", "ctrnn", "--connections", dir}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "has no connections") {
		t.Errorf("--connections on a network without groups: %v", err)
	}
}
