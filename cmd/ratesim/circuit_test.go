package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/spec"
)

// TestRunCircuitExample runs the built-in layer-5 circuit as a new user
// would (shortened by --steps), and checks the summary, the files it names
// and that a circuit refuses the flags that are for specs.
func TestRunCircuitExample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "l5")
	code, stdout, stderr := runCLI(t, "run", "--example", "l5", "--steps", "750", "--out", out, "--quiet")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "circuit l5, 400 units in 4 populations, 4 directions × 750 steps")
	for _, want := range []string{"population window", "CS         before", "SST        after", "tuning loss",
		"selectivity.csv", "units.parquet", "l5_weights.png", "l5_activity.png", "meta.json"} {
		require.Contains(t, stdout, want)
	}
	for _, f := range []string{"result.npz", "meta.json", "selectivity.csv", "weights.parquet", "l5_selectivity.png", "l5_weights_time.png", "l5_rates.png"} {
		fi, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err)
		require.Positive(t, fi.Size(), f)
	}
	meta, err := os.ReadFile(filepath.Join(out, "meta.json"))
	require.NoError(t, err)
	require.Contains(t, string(meta), `"populations": [`)

	code, _, stderr = runCLI(t, "run", "--example", "l5", "--trials", "3")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--trials is for specs")

	code, stdout, _ = runCLI(t, "examples")
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "l5 (circuit)")
	code, stdout, _ = runCLI(t, "examples", "l5")
	require.Equal(t, 0, code)
	require.True(t, spec.IsCircuit([]byte(stdout)), strings.SplitN(stdout, "\n", 2)[0])
}

// TestInspectCircuit: inspect of the built-in circuit lists the
// populations, every pair's in-degree and synapses, and the normalization
// with the eigenvalues after it (max Re λ = 1 under max_real).
func TestInspectCircuit(t *testing.T) {
	code, stdout, stderr := runCLI(t, "inspect", "--example", "l5")
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{"circuit l5, 400 units in 4 populations", "CC            275    E 45–319",
		"PV → CC", "SST → SST", "synapses, density", "divided by its largest real eigenvalue part", "now max Re λ = 1,"} {
		require.Contains(t, stdout, want)
	}
	code, _, stderr = runCLI(t, "inspect", "--example", "l5", "--masks", t.TempDir())
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--masks, --connections and --plot are for specs")
}
