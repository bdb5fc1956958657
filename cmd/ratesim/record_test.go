package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ratesim run with a record section, streamed past --max-memory, writes the
// same result.npz as the run held in memory and says it streamed.
func TestRunRecordStreamed(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "rec.yaml")
	os.WriteFile(spec, []byte("name: rec\ndims: [0, 16, 2]\nsteps: 120\ntrials: 3\npostact_noise: 0.1\n"+
		"record: {states: true, every: 2, window: [200, 1000], units: [15, 0, 7]}\n"), 0o644)
	mem, disk := filepath.Join(dir, "mem"), filepath.Join(dir, "disk")
	code, out, stderr := runCLI(t, "run", spec, "--out", mem, "--backend", "cpu")
	if code != 0 || strings.Contains(out, "streamed") {
		t.Fatalf("in memory: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "run", spec, "--out", disk, "--backend", "cpu", "--max-memory", "1e-6")
	if code != 0 {
		t.Fatalf("streamed: exit %d\n%s%s", code, out, stderr)
	}
	// Steps 20, 22, …, 100: 41 recorded steps of 3 units.
	for _, want := range []string{"streamed", "rates", "(3, 41, 3)", "outputs", "(3, 41, 2)", "units", "(3,)", "time", "(41,)"} {
		if !strings.Contains(out, want) {
			t.Errorf("streamed run's output lacks %q:\n%s", want, out)
		}
	}
	a, err1 := os.ReadFile(filepath.Join(mem, "result.npz"))
	b, err2 := os.ReadFile(filepath.Join(disk, "result.npz"))
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Errorf("streamed and in-memory result.npz differ (%v, %v)", err1, err2)
	}
	code, _, stderr = runCLI(t, "run", spec, "--out", disk, "--max-memory", "0")
	if code != 2 || !strings.Contains(stderr, "--max-memory") {
		t.Errorf("--max-memory 0: exit %d, %s", code, stderr)
	}
}
