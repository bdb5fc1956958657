package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/npz"
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
