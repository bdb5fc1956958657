package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/bench"
)

func TestBenchFlagErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"sweep of 0 instances", []string{"--sweeps", "0x128"}, 2, `--sweeps: sweep "0x128": want positive integers KxN`},
		{"sweep without N", []string{"--sweeps", "256"}, 2, `--sweeps: sweep "256": want KxN pairs`},
		{"size of 0 trials", []string{"--sizes", "8x0"}, 2, `--sizes: size "8x0": want positive integers NxB`},
		{"unknown grid", []string{"--grid", "tpu"}, 2, `--grid "tpu": want gpu or cpu`},
		{"unknown peer", []string{"--peers", "numpy"}, 2, `unknown peer "numpy" (peers: torch, jax, all, none)`},
		{"0 sweep trials", []string{"--sweep-trials", "0", "--sweeps", "4x8"}, 2, "--sweep-trials 0: must be ≥ 1"},
		{"positional argument", []string{"extra"}, 2, "unexpected arguments [extra]"},
		{"unknown precision", []string{"--precision", "f16"}, 2, `unknown precision "f16"`},
		{"unknown rule", []string{"--plastic", "stdp"}, 2, `--plastic "stdp": want RULE[-adam][-pertrial]`},
		{"plastic with peers", []string{"--plastic", "bcm", "--peers"}, 2, "--plastic compares ratesim with itself; leave out --peers"},
		{"negative peak", []string{"--peak-gflops", "-1"}, 2, "--peak-gflops -1: must be positive"},
		{"unknown backend", []string{"--backend", "nope"}, 1, `unknown backend "nope"`},
		// The flags are checked in the order they always were: those the
		// backend does not matter to before it is looked up, then the rest.
		{"peak before backend", []string{"--peak-gflops", "-1", "--backend", "nope"}, 2, "--peak-gflops"},
		{"backend before sizes", []string{"--backend", "nope", "--sizes", "8x0"}, 1, "unknown backend"},
		{"unwritable JSON", []string{"--backend", "cpu", "--sizes", "none", "--json", "/nonexistent/dir/b.jsonl"}, 1, "open /nonexistent/dir/b.jsonl"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append([]string{"bench"}, c.args...)...)
			assert.Equal(t, c.code, code, "%s%s", out, stderr)
			assert.Contains(t, stderr, c.want)
		})
	}
}

func TestPeersFlag(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want peerList
	}{
		{"alone", []string{"--peers"}, peerList{"torch"}},
		{"alone before a flag", []string{"--peers", "--reps", "1"}, peerList{"torch"}},
		{"list after a space", []string{"--peers", "torch,jax"}, peerList{"torch", "jax"}},
		{"with =", []string{"--peers=jax"}, peerList{"jax"}},
		{"all", []string{"-peers", "all"}, peerList{"torch", "jax"}},
		{"false", []string{"--peers=false"}, nil},
		{"repeated names", []string{"--peers=JAX, jax,torch"}, peerList{"jax", "torch"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := newFlags("bench", "", io.Discard)
			var p peerList
			fs.Var(&p, "peers", "")
			fs.Int("reps", 0, "")
			pos, err := parse(fs, joinPeersArg(c.args))
			require.NoError(t, err)
			assert.Empty(t, pos)
			assert.Equal(t, c.want, p)
		})
	}
}

// Every flag reaches bench.Options (or bench.Replay for --from).
func TestBenchFlagsReachBench(t *testing.T) {
	var stderr bytes.Buffer
	cfg := bench.DefaultConfig()
	defaults := bench.Options{Config: cfg, SweepTrials: bench.SweepTrials, Python: bench.DefaultPython(), Progress: &stderr}
	with := func(f func(*bench.Options)) bench.Options {
		o := defaults
		f(&o)
		return o
	}
	for _, c := range []struct {
		name string
		args []string
		want bench.Options
	}{
		{"defaults", nil, defaults},
		{"grid", []string{"--grid", "gpu"}, with(func(o *bench.Options) { o.Grid = bench.GridGPU })},
		{"sizes over the grid", []string{"--sizes", "64x1,256x32", "--grid", "gpu"}, with(func(o *bench.Options) {
			o.Sizes = []bench.Size{{N: 64, B: 1}, {N: 256, B: 32}}
		})},
		{"no sizes, no sweeps", []string{"--sizes", "none", "--sweeps", "none"}, with(func(o *bench.Options) {
			o.Sizes, o.Sweeps = []bench.Size{}, []bench.Size{}
		})},
		{"sweeps", []string{"--sweeps", "256x128", "--sweep-trials", "4"}, with(func(o *bench.Options) {
			o.Sweeps, o.SweepTrials = []bench.Size{{N: 128, B: 4, K: 256}}, 4
		})},
		{"config", []string{"--precision", "f64", "--noise=false", "--reps", "0", "--rep-time", "10ms"}, with(func(o *bench.Options) {
			o.Config.Precision, o.Config.Noise, o.Config.Reps, o.Config.RepTime = backend.F64, false, 0, 10*time.Millisecond
		})},
		{"peers", []string{"--peers", "all", "--python", "/x/python3", "--peer-device", "cuda", "--peer-timeout", "1m"}, with(func(o *bench.Options) {
			o.Peers, o.Python, o.PeerDevice, o.PeerTimeout = []string{"torch", "jax"}, "/x/python3", "cuda", time.Minute
		})},
		{"report", []string{"--peak-gflops", "33500", "--json", "b.jsonl"}, with(func(o *bench.Options) {
			o.PeakGFLOPS, o.JSONFile = 33500, "b.jsonl"
		})},
		{"plastic", []string{"--plastic", "oja-adam-pertrial"}, with(func(o *bench.Options) {
			o.Plastic = &bench.Plastic{Kind: backend.Oja, Optimizer: backend.Adam, PerTrial: true}
		})},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseBench(append([]string{"--backend", "cpu"}, c.args...), &stderr)
			require.NoError(t, err)
			assert.Nil(t, got.from)
			require.NotNil(t, got.b)
			assert.Equal(t, "cpu", got.b.Name())
			assert.Equal(t, c.want, got.opt)
		})
	}
	t.Run("from", func(t *testing.T) {
		// --from measures nothing: the other flags are not even checked.
		got, err := parseBench([]string{"--from", "a.jsonl, b.jsonl", "--peak-gflops", "-1", "--sizes", "8x0", "--backend", "nope"}, &stderr)
		require.NoError(t, err)
		assert.Equal(t, benchCall{from: []string{"a.jsonl", " b.jsonl"}, table: bench.TableOptions{PeakGFLOPS: -1}}, got)
	})
}

// `ratesim bench` runs bench.Run and bench.Replay: a run's JSON lines print
// the same tables again, and a failure of the run exits 1 after its report.
func TestBenchRunAndReplay(t *testing.T) {
	js := filepath.Join(t.TempDir(), "b.jsonl")
	code, out, stderr := runCLI(t, "bench", "--backend", "cpu", "--sizes", "8x2", "--sweeps", "3x8", "--sweep-trials", "2",
		"--reps", "1", "--rep-time", "1ms", "--peers", "torch,jax", "--python", "/nonexistent/python3", "--json", js)
	require.Equal(t, 0, code, "%s%s", out, stderr)
	for _, want := range []string{"peer torch: not measured", "peer jax: not measured", "one network", "sweeps", "wrote " + js} {
		assert.Contains(t, out, want)
	}
	assert.Contains(t, stderr, "  measuring K=3 N=8 B=2 …\n")

	code, out, stderr = runCLI(t, "bench", "--from", js, "--peak-gflops", "1000")
	assert.Equal(t, 0, code, "%s%s", out, stderr)
	for _, want := range []string{"ratesim bench results from " + js, "one network", "sweeps", "ceiling", "goals"} {
		assert.Contains(t, out, want)
	}

	code, out, _ = runCLI(t, "bench", "--from", filepath.Join("..", "..", "bench", "results-cpu-2026-11-23-plastic.jsonl"))
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "ratesim bench --plastic results from")

	py := filepath.Join(t.TempDir(), "python3")
	require.NoError(t, os.WriteFile(py, []byte("#!/bin/sh\necho 'Traceback: CUDA error: boom' >&2\nexit 1\n"), 0o755))
	code, out, stderr = runCLI(t, "bench", "--backend", "cpu", "--sizes", "8x2", "--reps", "1", "--rep-time", "1ms", "--peers", "--python", py)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "µs/step")
	assert.Contains(t, stderr, "CUDA error: boom")
	assert.True(t, strings.HasSuffix(stderr, "ratesim bench: 1 failed: peer torch: peer torch_ctrnn.py with "+py+" failed after 0 results: exit status 1\n"), stderr)
}
