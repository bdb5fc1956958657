package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/npz"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunBuiltInExample(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "run", "--out", dir, "--steps", "30", "--trials", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"result.npz", "rates", "(2, 30, 200)", "outputs", "(2, 30, 3)", "meta.json", "numpy.load"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"result.npz", "meta.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestRunSpecFileWithFlagsAfterIt(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "net.yaml")
	os.WriteFile(spec, []byte("name: tiny\ndims: [0, 8, 1]\nsteps: 10\n"), 0o644)
	code, out, stderr := runCLI(t, "run", spec, "--out", filepath.Join(dir, "o"), "--precision", "f64", "--seed", "9")
	if code != 0 || !strings.Contains(out, "(1, 10, 8)") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("dims: [1, 8, 1]\ntua: 100\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", filepath.Join(dir, "missing.yaml")}, 1, "missing.yaml"},
		{[]string{"run", bad}, 1, "unknown field tua"},
		{[]string{"run", "--backend", "nosuch", "--out", dir}, 1, "unknown backend"},
		{[]string{"run", "--precision", "f16", "--out", dir}, 1, "precision"},
		{[]string{"run", "--bogus"}, 2, "bogus"},
		{[]string{"run", "a.yaml", "b.yaml"}, 2, "one SPEC"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"validate", bad}, 1, "tua"},
	} {
		code, out, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out+stderr, c.want) {
			t.Errorf("%v: exit %d, want %d with %q; got:\n%s%s", c.args, code, c.code, c.want, out, stderr)
		}
	}
}

func TestDevicesAndExamples(t *testing.T) {
	code, out, _ := runCLI(t, "devices")
	if code != 0 || !strings.Contains(out, "* cpu") || !strings.Contains(out, "cuda") {
		t.Errorf("devices: exit %d:\n%s", code, out)
	}
	code, out, _ = runCLI(t, "examples", "ctrnn")
	if code != 0 || !strings.Contains(out, "dims:") {
		t.Errorf("examples ctrnn: exit %d:\n%s", code, out)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "ex.yaml")
	os.WriteFile(spec, []byte(out), 0o644)
	if code, out, stderr := runCLI(t, "validate", spec); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("validate of the printed example: exit %d\n%s%s", code, out, stderr)
	}
}

func TestBenchSmall(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "b.jsonl")
	code, out, stderr := runCLI(t, "bench", "--sizes", "16x2", "--reps", "1", "--json", js)
	if code != 0 || !strings.Contains(out, "GFLOP/s") {
		t.Fatalf("bench: exit %d\n%s%s", code, out, stderr)
	}
	if data, err := os.ReadFile(js); err != nil || !strings.Contains(string(data), `"median_us_per_step"`) {
		t.Errorf("bench JSON: %v %s", err, data)
	}
}

func TestRunWithInputAndInitStateFiles(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	if err := npz.WriteNPY(x, npz.Float32, []int{2, 15, 2}, make([]float32, 60)); err != nil {
		t.Fatal(err)
	}
	v0 := filepath.Join(dir, "v0.npy")
	if err := npz.WriteNPY(v0, npz.Float64, []int{2, 200}, make([]float64, 400)); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "run", "--input", x, "--init-state", v0, "--out", filepath.Join(dir, "o"))
	if code != 0 || !strings.Contains(out, "(2, 15, 200)") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	code, _, stderr = runCLI(t, "run", "--init-state", x, "--out", filepath.Join(dir, "o2"))
	if code != 1 || !strings.Contains(stderr, "x.npy") {
		t.Errorf("a mis-shaped initial state: exit %d\n%s", code, stderr)
	}
}

// The package doc and the usage text list the same commands, and cli knows
// every one of them.
func TestDocListsEveryCommand(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	commands := func(text, prefix string) []string {
		var names []string
		for _, line := range strings.Split(text, "\n") {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				names = append(names, strings.Fields(rest)[0])
			}
		}
		return names
	}
	inDoc := commands(string(doc), "//	ratesim ")
	inUsage := commands(usage, "  ratesim ")
	require.NotEmpty(t, inUsage)
	assert.Equal(t, inUsage, inDoc, "doc.go and the usage text list other commands")
	for _, c := range inUsage {
		_, _, stderr := runCLI(t, c, "-h")
		assert.NotContains(t, stderr, "unknown command", c)
	}
}
