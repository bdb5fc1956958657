package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run the real program in a child process (for
// signals and peak memory): with RATESIM_MAIN set (arguments split at
// spaces) or RATESIM_ARGS (split at \x1f), the test binary is ratesim.
func TestMain(m *testing.M) {
	if os.Getenv("RATESIM_MAIN") != "" {
		os.Args = append([]string{"ratesim"}, strings.Fields(os.Getenv("RATESIM_MAIN"))...)
		main()
	}
	if a := os.Getenv("RATESIM_ARGS"); a != "" {
		// main's body, then this process's own peak resident memory into
		// RATESIM_PEAK_FILE when set (see runChild).
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli(ctx, strings.Split(a, "\x1f"), os.Stdout, os.Stderr)
		stop()
		if f := os.Getenv("RATESIM_PEAK_FILE"); f != "" {
			if err := writePeakRSS(f); err != nil {
				fmt.Fprintln(os.Stderr, "ratesim test child:", err)
				os.Exit(125)
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// SIGINT in the middle of a long streamed run stops it with exit status 1
// and leaves neither result.npz nor temporary files.
func TestSIGINTLeavesNoResult(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the program for about a second")
	}
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RATESIM_MAIN=run --out "+out+" --steps 2000000 --max-memory 1e-3 --backend cpu")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the run is under way: its output directory exists.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(out); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the run did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the run did not stop within 60 s of SIGINT")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("after SIGINT: %v\n%s", err, stderr.String())
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 || err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after SIGINT the output directory holds %v (%v)", entries, err)
	}
}

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

// writePeakRSS writes this process's peak resident memory (VmHWM of
// /proc/self/status, in kB) to file. It is the peak of this program's own
// memory since its exec: the wait status's Maxrss is not, on Linux it also
// holds the parent's resident memory at the fork (Go forks with CLONE_VM,
// and the kernel keeps the old memory's high-water mark across exec), so it
// measured the test process.
func writePeakRSS(file string) error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return os.WriteFile(file, []byte(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB"))), 0o644)
		}
	}
	return errors.New("no VmHWM in /proc/self/status")
}
