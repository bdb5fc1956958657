package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `ratesim fit --example ctrnn_tau` fits, writes its files, and its
// best.yaml runs with `ratesim run`.
func TestFitExampleCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI(t, "fit", "--example", "ctrnn_tau", "--out", dir, "--backend", "cpu", "--quiet")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "300 evaluations in 25 generations of 12, 25 batched programs on cpu")
	assert.Contains(t, out, "best: evaluation")
	assert.Contains(t, out, "tau=")
	for _, f := range []string{"history.parquet", "history.csv", "best.yaml", "fit.png", "meta.json", "target.npy", "ctrnn_tau.yaml"} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err, f)
	}
	code, _, stderr = runCLI(t, "run", filepath.Join(dir, "best.yaml"), "--out", filepath.Join(dir, "best"))
	require.Equal(t, 0, code, stderr)
	_, err := os.Stat(filepath.Join(dir, "best", "result.npz"))
	assert.NoError(t, err)

	// Rerunning into DIR resumes: the whole history replays, nothing runs.
	code, out, stderr = runCLI(t, "fit", "--example", "ctrnn_tau", "--out", dir, "--backend", "cpu", "--quiet")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "resumed: 25 generations replayed")
	assert.Contains(t, out, "0 batched programs")

	// The fit file the example wrote runs as a plain FIT.yaml too.
	code, out, stderr = runCLI(t, "fit", filepath.Join(dir, "ctrnn_tau.yaml"), "--out", filepath.Join(dir, "again"), "--backend", "cpu", "--quiet")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "25 batched programs")
}

func TestFitCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("example: ctrnn\nparameters:\n  - {path: tau, low: 5, high: 1}\nobjective: {metric: mean, of: rates}\nbudget: 10\n"), 0o644))
	code, _, stderr := runCLI(t, "fit", bad, "--out", filepath.Join(dir, "o"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "bad.yaml: field parameters[0] (line 3): tau: low < high")
	code, _, stderr = runCLI(t, "fit", "--example", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "ctrnn_tau")
	code, _, _ = runCLI(t, "fit")
	assert.Equal(t, 2, code)
	code, out, _ := runCLI(t, "fit", "examples")
	assert.Equal(t, 0, code)
	assert.Equal(t, "ctrnn_tau\nl5_tuning", strings.TrimSpace(out))
}

// `ratesim fit` over a circuit: each generation one batched program, the
// files written, best.yaml a circuit that `ratesim run` runs.
func TestFitCircuitCommand(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../sim/fit/testdata/l5_small.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "small.yaml"), data, 0o644))
	fitText := "base: small.yaml\nparameters:\n  - {path: \"stimulus.amplitude[1]\", low: 0, high: 20}\n" +
		"  - {path: plasticity.tau_learn, low: 1000, high: 2000}\n" +
		"  - {path: plasticity.tau_threshold, factor_of: plasticity.tau_learn, low: 0.0002, high: 0.002}\n" +
		"objective: {metric: l5_loss}\noptimizer: lhs\npopulation: 4\nbudget: 8\n"
	path := filepath.Join(dir, "tune.yaml")
	require.NoError(t, os.WriteFile(path, []byte(fitText), 0o644))
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "fit", path, "--out", out, "--backend", "cpu")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "8 evaluations in 2 generations of 4, 2 batched programs on cpu")
	assert.Contains(t, stdout, "plasticity.tau_threshold=")
	assert.Contains(t, stdout, "(× plasticity.tau_learn = ")
	assert.Contains(t, stderr, "generation 2/2: 4 points in 1 program(s)")
	for _, f := range []string{"history.parquet", "history.csv", "best.yaml", "fit.png", "meta.json"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	code, stdout, stderr = runCLI(t, "run", filepath.Join(out, "best.yaml"), "--out", filepath.Join(dir, "best"), "--quiet")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "loss")
	assert.FileExists(t, filepath.Join(dir, "best", "result.npz"))
}
