//go:build !cuda

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

// `ratesim run --example bcm` learns and writes the weights and weights.png.
func TestRunBCMExample(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "run", "--example", "bcm", "--out", dir, "--backend", "cpu")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"weights      (1, 101, 64)", "weights_time (101,)", "final_weights_input (1, 32, 2)", "weights.png"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
	a, err := npz.Load(filepath.Join(dir, "result.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if a["weights"] == nil || a["final_weights_input"] == nil {
		t.Fatalf("result.npz lacks the weights: %v", a)
	}
	if fi, err := os.Stat(filepath.Join(dir, "weights.png")); err != nil || fi.Size() == 0 {
		t.Errorf("weights.png: %v", err)
	}
}

// A plastic spec asked to run on CUDA in a build without CUDA says so.
func TestPlasticOnCUDAWithoutCUDA(t *testing.T) {
	code, out, stderr := runCLI(t, "run", "--example", "bcm", "--backend", "cuda", "--out", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "cuda") || !strings.Contains(stderr, "without CUDA support") {
		t.Errorf("exit %d, want 1 with the CUDA build error; got:\n%s%s", code, out, stderr)
	}
}

func TestValidatePlasticity(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "bcm.yaml")
	text, err := spec.Example("bcm")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(good, text, 0o644)
	if code, out, stderr := runCLI(t, "validate", good); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("validate bcm.yaml: exit %d\n%s%s", code, out, stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(text), "rule: bcm", "rule: stdp", 1)), 0o644)
	code, out, stderr := runCLI(t, "validate", bad)
	if code != 1 || !strings.Contains(stderr, "bad.yaml") || !strings.Contains(stderr, "plasticity.input.rules[0].rule") {
		t.Errorf("validate bad.yaml: exit %d\n%s%s", code, out, stderr)
	}
}

func TestBenchPlastic(t *testing.T) {
	code, out, stderr := runCLI(t, "bench", "--backend", "cpu", "--sizes", "8x2", "--reps", "1", "--rep-time", "1ms", "--plastic", "oja-adam")
	if code != 0 || !strings.Contains(out, "plastic/static") || !strings.Contains(out, "oja-adam") || !strings.Contains(out, "N=8 B=2") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	for _, args := range [][]string{{"bench", "--plastic", "stdp"}, {"bench", "--plastic", "bcm", "--peers"}} {
		if code, out, stderr := runCLI(t, args...); code != 2 || !strings.Contains(out+stderr, "--plastic") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
	}
}

// `bench --from` re-prints a --plastic run's pairs.
func TestBenchFromPlastic(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "p.jsonl")
	code, out, stderr := runCLI(t, "bench", "--backend", "cpu", "--sizes", "8x1", "--reps", "1", "--rep-time", "1ms", "--plastic", "covariance-pertrial", "--json", js)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "bench", "--from", js)
	if code != 0 || !strings.Contains(out, "covariance-pertrial") || !strings.Contains(out, "plastic/static") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
}
