package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/npz"
)

// The README's sweep: one command, a table, and a point of it run alone
// with `ratesim run` gives the metrics of its row, bit for bit.
func TestSweepExampleAndAPointRunAlone(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "sweep")
	code, stdout, stderr := runCLI(t, "sweep", "--example", "tau_noise", "--out", out, "--csv", "--quiet")
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "20 points (0 resumed, 20 computed in 1 chunks) on cpu")
	for _, f := range []string{"table.parquet", "table.csv", "meta.json"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
	meta, err := os.ReadFile(filepath.Join(out, "meta.json"))
	require.NoError(t, err)
	var m struct {
		Points  int
		Backend string
		Chunks  []struct{ Points []int }
	}
	require.NoError(t, json.Unmarshal(meta, &m))
	assert.Equal(t, 20, m.Points)
	assert.Equal(t, "cpu", m.Backend)
	require.Len(t, m.Chunks, 1)
	assert.Len(t, m.Chunks[0].Points, 20)
	data, err := os.ReadFile(filepath.Join(out, "table.csv"))
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 21)
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}

	points := filepath.Join(dir, "points")
	code, stdout, stderr = runCLI(t, "sweep", "points", "--example", "tau_noise", "--write", points)
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "point 13 (tau=200, preact_noise=0.1) seed=1 noise_instance=13")

	alone := filepath.Join(dir, "alone")
	code, stdout, stderr = runCLI(t, "run", filepath.Join(points, "point-13.yaml"), "--backend", "cpu", "--out", alone)
	require.Equal(t, 0, code, stdout+stderr)
	arrs, err := npz.Load(filepath.Join(alone, "result.npz"))
	require.NoError(t, err)
	rates, err := arrs["rates"].Float32s()
	require.NoError(t, err)
	shape := arrs["rates"].Shape // (B, T, N)
	B, T, N := shape[0], shape[1], shape[2]
	// mean and max of rates, reduced in the order the sweep documents:
	// trial by trial, steps in time order, units in order.
	var sum, n float64
	hi := math.Inf(-1)
	for b := 0; b < B; b++ {
		var s float64
		for i := 0; i < T*N; i++ {
			x := float64(rates[b*T*N+i])
			s += x
			hi = math.Max(hi, x)
		}
		sum += s
		n += float64(T * N)
	}
	row := rows[14]
	require.Equal(t, "13", row[col["point"]])
	require.Equal(t, "ok", row[col["status"]])
	for name, want := range map[string]float64{"mean_rates": sum / n, "max_rates": hi} {
		got, err := strconv.ParseFloat(row[col[name]], 64)
		require.NoError(t, err)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(got), "%s: alone %v, in the sweep %v", name, want, got)
	}

	code, stdout, stderr = runCLI(t, "sweep", "validate", "--example", "tau_noise")
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "20 points are valid specs")
}

func TestSweepErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("example: ctrnn\naxes: [{path: tau, values: [100, 0]}]\nmetrics: [{metric: mean, of: rates}]\n"), 0o644))
	code, _, stderr := runCLI(t, "sweep", "validate", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "bad.yaml: point 1 (tau=0): field tau:")
	code, _, stderr = runCLI(t, "sweep")
	assert.Equal(t, 2, code, stderr)
	code, stdout, _ := runCLI(t, "sweep", "examples")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "tau_noise")
}
