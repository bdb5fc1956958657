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
	assert.Equal(t, "ctrnn_tau", strings.TrimSpace(out))
}
