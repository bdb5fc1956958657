package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `ratesim sweep bench` measures each sweep through the sweep path and as
// its raw program, prints a row per sweep and writes the same numbers as
// JSON; a peer that cannot run is named in its row instead of failing the
// bench.
func TestSweepBench(t *testing.T) {
	js := filepath.Join(t.TempDir(), "sweep.jsonl")
	code, out, stderr := runCLI(t, "sweep", "bench", "--sizes", "4x8,3x5", "--trials", "2", "--steps", "20", "--reps", "3",
		"--peers", "torch", "--python", "/nonexistent/python3", "--json", js)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "| sweep µs/step | raw µs/step | overhead |")
	data, err := os.ReadFile(js)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 2)
	for i, want := range [][2]int{{4, 8}, {3, 5}} {
		var row sweepBenchRow
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &row))
		assert.Equal(t, want, [2]int{row.K, row.N})
		assert.Equal(t, 2, row.B)
		assert.Equal(t, 20, row.T)
		assert.Positive(t, row.SweepUS)
		assert.Positive(t, row.RawUS)
		assert.InDelta(t, row.SweepUS/row.RawUS-1, row.Overhead, 0.05, "overhead is sweep/raw − 1 (of unrounded medians)")
		assert.Zero(t, row.TorchLoopUS)
		assert.Contains(t, row.PeerNote, "interpreter is not there")
	}
	for _, bad := range [][]string{{"--steps", "0"}, {"--sizes", "4"}, {"--peers", "jax"}, {"extra"}} {
		code, _, stderr := runCLI(t, append([]string{"sweep", "bench"}, bad...)...)
		assert.Equal(t, 2, code, "%v: %s", bad, stderr)
	}
}
