package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// killSweep is a sweep of many tiny points, one per chunk, so a run
// commits hundreds of chunks in a second or so.
const killSweep = `base:
  dims: [1, 8, 1]
  activation: tanh
  weights: normal
  preact_noise: 0.1
  input: {type: sine, amplitude: 1, period: 100}
  trials: 1
  steps: 30
  backend: cpu
axes:
  - {path: tau, linspace: [20, 200, 150]}
  - {path: preact_noise, values: [0, 0.1, 0.2, 0.3]}
record: {rates: true, every: 10, units: [0, 3]}
metrics:
  - {metric: mean, of: rates}
  - {metric: max, of: outputs}
`

// readArrays reads every per-point archive under dir/arrays.
func readArrays(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "arrays", "*.npz"))
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, n := range names {
		data, err := os.ReadFile(n)
		require.NoError(t, err)
		out[filepath.Base(n)] = data
	}
	return out
}

func readTables(t *testing.T, dir string) (parquetBytes, csvBytes []byte) {
	t.Helper()
	p, err := os.ReadFile(filepath.Join(dir, "table.parquet"))
	require.NoError(t, err)
	c, err := os.ReadFile(filepath.Join(dir, "table.csv"))
	require.NoError(t, err)
	return p, c
}

func committedChunks(dir string) int {
	names, _ := filepath.Glob(filepath.Join(dir, "journal", "chunk-*.json"))
	return len(names)
}

// kill -9 at random moments, 50 times, then a resumed run: the table has
// the bytes of an uninterrupted run's. Half the kills come at a random
// time after the start (start-up, header, first chunks), half just after
// a chunk was committed (in the middle of the next chunk or its commit).
func TestSweepKillNineAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the program 50 times (a few seconds)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "kill.yaml")
	require.NoError(t, os.WriteFile(file, []byte(killSweep), 0o644))
	ref := filepath.Join(dir, "ref")
	// The uninterrupted run has the killed runs' chunks, one point each,
	// so that its per-point archives are the same files.
	code, stdout, stderr := runCLI(t, "sweep", file, "--out", ref, "--csv", "--quiet", "--no-plot", "--chunk-points", "1")
	require.Equal(t, 0, code, stdout+stderr)
	const total = 600
	require.Contains(t, stdout, "600 points (0 resumed, 600 computed in 600 chunks)")
	wantP, wantC := readTables(t, ref)
	wantArrays := readArrays(t, ref)
	require.Equal(t, total, len(wantArrays), "archives of the uninterrupted run")

	out := filepath.Join(dir, "killed")
	args := strings.Join([]string{"sweep", file, "--out", out, "--csv", "--quiet", "--no-plot", "--chunk-points", "1"}, "\x1f")
	rng := rand.New(rand.NewPCG(12, 0))
	kills, midway, finished := 0, 0, 0
	start := time.Now()
	for kills < 50 {
		require.Less(t, time.Since(start), 60*time.Second, "50 kills take too long")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "RATESIM_ARGS="+args)
		var errBuf bytes.Buffer
		cmd.Stderr = &errBuf
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		before := committedChunks(out)
		afterCommit := kills%2 == 1
		var killAt <-chan time.Time
		if !afterCommit {
			killAt = time.After(time.Duration(rng.IntN(60)) * time.Millisecond)
		}
		poll := time.NewTicker(500 * time.Microsecond)
		kill := func() {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			<-exited
			kills++
			if n := committedChunks(out); n > 0 && n < total {
				midway++
			}
			// The journal stays readable after every kill, and no lock is
			// left that status would take for a live run.
			if _, err := os.Stat(filepath.Join(out, "journal", "sweep.json")); err == nil {
				code, stdout, stderr := runCLI(t, "sweep", "status", out)
				require.Equal(t, 0, code, stdout+stderr)
				require.Contains(t, stdout, "stopped", "after kill -9")
			}
		}
	wait:
		for {
			select {
			case err := <-exited:
				// It ended before the kill.
				require.NoError(t, err, errBuf.String())
				finished++
				break wait
			case <-killAt:
				kill()
				break wait
			case <-poll.C:
				if afterCommit && committedChunks(out) > before {
					time.Sleep(time.Duration(rng.IntN(1500)) * time.Microsecond)
					kill()
					break wait
				}
			}
		}
		poll.Stop()
		if finished > 0 {
			break
		}
	}
	t.Logf("%d kills (%d with the sweep partly committed) in %v; %d chunks committed before the resume", kills, midway, time.Since(start), committedChunks(out))
	require.Equal(t, 0, finished, "the sweep finished before 50 kills: make it longer")
	require.GreaterOrEqual(t, kills, 50)
	require.GreaterOrEqual(t, midway, 20, "kills should land in the middle of the sweep")
	code, stdout, stderr = runCLI(t, "sweep", file, "--out", out, "--csv", "--quiet", "--no-plot", "--resume")
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "600 points (")
	assert.NotContains(t, stdout, "(0 resumed", "the resume starts from the committed chunks")
	gotP, gotC := readTables(t, out)
	assert.Equal(t, wantP, gotP, "table.parquet after kills and resume")
	assert.Equal(t, wantC, gotC, "table.csv after kills and resume")
	gotArrays := readArrays(t, out)
	require.Equal(t, total, len(gotArrays), "archives after the resume")
	for name, want := range wantArrays {
		assert.Equal(t, want, gotArrays[name], "%s after kills and resume", name)
	}
	tmp, _ := filepath.Glob(filepath.Join(out, "journal", ".*"))
	assert.Empty(t, tmp, "temporary files left after the resume")
}
