package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestBenchFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--sweeps", "0x128"}, "--sweeps"},
		{[]string{"bench", "--sweeps", "256"}, "--sweeps"},
		{[]string{"bench", "--sizes", "8x0"}, "--sizes"},
		{[]string{"bench", "--grid", "tpu"}, "--grid"},
		{[]string{"bench", "--peers", "numpy"}, "unknown peer \"numpy\""},
		{[]string{"bench", "--sweep-trials", "0", "--sweeps", "4x8"}, "--sweep-trials"},
		{[]string{"bench", "extra"}, "unexpected arguments"},
	} {
		code, out, stderr := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(out+stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s%s", c.args, code, c.want, out, stderr)
		}
	}
}

func TestPeersFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want peerList
	}{
		{[]string{"--peers"}, peerList{"torch"}},
		{[]string{"--peers", "--reps", "1"}, peerList{"torch"}},
		{[]string{"--peers", "torch,jax"}, peerList{"torch", "jax"}},
		{[]string{"--peers=jax"}, peerList{"jax"}},
		{[]string{"-peers", "all"}, peerList{"torch", "jax"}},
		{[]string{"--peers=false"}, nil},
	} {
		fs := newFlags("bench", "", os.Stderr)
		var p peerList
		fs.Var(&p, "peers", "")
		fs.Int("reps", 0, "")
		pos, err := parse(fs, joinPeersArg(c.args))
		if err != nil || len(pos) != 0 || !reflect.DeepEqual(p, c.want) {
			t.Errorf("%v: peers %v, positional %v, err %v; want %v", c.args, p, pos, err, c.want)
		}
	}
}

// A sweep on the CPU, and a peer that cannot run here: the bench says so
// per peer and still prints its table.
func TestBenchSweepAndMissingPeer(t *testing.T) {
	js := filepath.Join(t.TempDir(), "b.jsonl")
	code, out, stderr := runCLI(t, "bench", "--backend", "cpu", "--sizes", "8x2", "--sweeps", "3x8", "--sweep-trials", "2",
		"--reps", "1", "--rep-time", "1ms", "--peers", "torch,jax", "--python", "/nonexistent/python3", "--json", js)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"peer torch: not measured", "peer jax: not measured", "/nonexistent/python3", "one network", "sweeps", "GFLOP/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "not measured") != 2 {
		t.Errorf("each missing peer should be reported once:\n%s", out)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"K":1`) || !strings.Contains(lines[1], `"K":3`) || !strings.Contains(lines[1], `"record":"outputs"`) {
		t.Errorf("JSON lines:\n%s", data)
	}
	// The recorded lines make the same tables again, with the ceiling column.
	code, out, stderr = runCLI(t, "bench", "--from", js, "--peak-gflops", "1000")
	if code != 0 || !strings.Contains(out, "one network") || !strings.Contains(out, "sweeps") || !strings.Contains(out, "ceiling") || !strings.Contains(out, "goals") {
		t.Errorf("--from: exit %d\n%s%s", code, out, stderr)
	}
}

// A present peer that crashes is an error, shown with its stderr, after the
// table of what was measured.
func TestBenchPeerCrash(t *testing.T) {
	py := filepath.Join(t.TempDir(), "python3")
	os.WriteFile(py, []byte("#!/bin/sh\necho 'Traceback: CUDA error: boom' >&2\nexit 1\n"), 0o755)
	code, out, stderr := runCLI(t, "bench", "--backend", "cpu", "--sizes", "8x2", "--reps", "1", "--rep-time", "1ms", "--peers", "--python", py)
	if code != 1 || !strings.Contains(stderr, "CUDA error: boom") || !strings.Contains(out, "µs/step") {
		t.Errorf("exit %d, want 1 with the peer's stderr and the table:\n%s%s", code, out, stderr)
	}
}
