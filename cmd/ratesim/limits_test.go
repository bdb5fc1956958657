package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/sim/npz"
)

// limitCase is one oversized or malformed run: its spec (written to
// SPEC.yaml in a fresh directory, "" for the built-in example), the flags
// after it, and what its error must say.
type limitCase struct {
	name  string
	spec  string
	flags []string
	code  int      // the exit status, 1 (refused) or 2 (usage)
	want  []string // substrings of stderr
}

// limitCases are the oversized and malformed inputs of the crash class:
// before the resource checks some of them crashed the Go runtime with
// "fatal error: out of memory" or filled the machine's memory.
func limitCases(dir string) []limitCase {
	sz := "Most of it"
	return []limitCase{
		// sizes no machine has
		{"steps 1e12", "steps: 1e12\n", nil, 1, []string{"SPEC.yaml", "memory", "record fewer steps"}},
		{"trials 1e9", "trials: 1e9\n", nil, 1, []string{"SPEC.yaml", "TB of memory", "fewer trials"}},
		{"units 300000", "dims: [2, 300000, 1]\n", nil, 1, []string{"SPEC.yaml", "dims", "300000 hidden units", "at most 65536"}},
		{"units 65536 under an 8 GB limit", "dims: [2, 65536, 1]\n", []string{"--memory-limit", "8"}, 1, []string{"68.8 GB", "the weights packed for the CPU's kernels 17.2 GB", "8 GB", "--memory-limit", sz}},
		{"inputs 1e9", "dims: [1000000000, 16, 1]\n", nil, 1, []string{"dims", "1000000000 inputs", "at most"}},
		{"outputs 1e9", "dims: [2, 16, 1000000000]\n", nil, 1, []string{"dims", "1000000000 outputs", "at most"}},
		{"steps 1e9 streamed to disk", "steps: 1e9\nrecord: {every: 1}\n", []string{"--memory-limit", "100"}, 1, []string{"SPEC.yaml", "needs about"}},
		{"trials 1e6 × steps 1e6", "trials: 1e6\nsteps: 1e6\n", nil, 1, []string{"SPEC.yaml", "needs about"}},
		{"float64 at 30000 units under 4 GB", "dims: [2, 30000, 1]\nprecision: f64\n", []string{"--memory-limit", "4"}, 1, []string{"GB of memory", "fewer hidden units"}},
		{"plastic snapshots over --max-memory", "dims: [2, 400, 0]\nsteps: 100000\nplasticity:\n  record: {every: 1, what: whole}\n  input: {rules: [{rule: hebbian, eta: 0.001}]}\n", []string{"--max-memory", "0.01"}, 1, []string{"plasticity.record", "weight snapshots"}},
		{"tiny --memory-limit", "", []string{"--memory-limit", "0.001"}, 1, []string{"of memory", "1 MB", "--memory-limit"}},
		// whole numbers
		{"fractional steps", "steps: 50.5\n", nil, 1, []string{"steps", "whole number", "50.5"}},
		{"fractional trials", "trials: 2.5\n", nil, 1, []string{"trials", "whole number"}},
		{"fractional units", "dims: [2, 20.5, 1]\n", nil, 1, []string{"dims", "whole number"}},
		{"fractional seed", "seed: 1.5\n", nil, 1, []string{"seed", "whole number"}},
		{"fractional record.every", "record: {every: 2.5}\n", nil, 1, []string{"every", "whole number"}},
		{"steps beyond int64", "steps: 1e30\n", nil, 1, []string{"steps"}},
		{"negative steps", "steps: -5\n", nil, 1, []string{"steps"}},
		{"zero trials", "trials: 0\n", nil, 1, []string{"trials"}},
		{"zero units", "dims: [2, 0, 1]\n", nil, 1, []string{"dims"}},
		// flags
		{"--steps -5", "", []string{"--steps", "-5"}, 2, []string{"--steps must be ≥ 1, got -5"}},
		{"--trials -1", "", []string{"--trials", "-1"}, 2, []string{"--trials must be ≥ 1, got -1"}},
		{"--max-memory 0", "", []string{"--max-memory", "0"}, 2, []string{"--max-memory"}},
		{"--memory-limit NaN", "", []string{"--memory-limit", "NaN"}, 2, []string{"--memory-limit"}},
		// fields
		{"unknown backend", "backend: tpu\n", nil, 1, []string{"SPEC.yaml", "backend", `"tpu"`}},
		{"NaN dt", "dt: .nan\n", nil, 1, []string{"dt"}},
		{"negative tau", "tau: -1\n", nil, 1, []string{"tau"}},
		{"unknown field", "dims: [1, 8, 1]\ntua: 100\n", nil, 1, []string{"tua"}},
		{"malformed YAML", "dims: [1, 8\n", nil, 1, []string{"SPEC.yaml"}},
		// arrays
		{"missing weights file", "dims: [2, 8, 1]\nweights: {hidden: {file: nothere.npy}}\n", nil, 1, []string{"nothere.npy", "no such file"}},
		{"weights of the wrong shape", "dims: [2, 8, 1]\nweights: {hidden: {file: w5.npy}}\n", nil, 1, []string{"w5.npy", "(5, 5)"}},
		{"NaN weights", "dims: [2, 4, 1]\nweights: {hidden: {file: wnan.npy}}\n", nil, 1, []string{"wnan.npy", "index (1, 1) is NaN"}},
		{"weights declaring 1e18 values", "dims: [2, 8, 1]\nweights: {hidden: {file: whuge.npy}}\n", nil, 1, []string{"whuge.npy"}},
		{"input declaring (1e9, 1e9, 0) with a byte after", "", []string{"--input", filepath.Join(dir, "huge.npy")}, 1, []string{"huge.npy", "(1000000000, 1000000000, 0)"}},
		{"input declaring 80 GB, truncated", "", []string{"--input", filepath.Join(dir, "big.npy")}, 1, []string{"big.npy", "80000000000 bytes"}},
		{"input of the wrong input count", "", []string{"--input", filepath.Join(dir, "in3.npy")}, 1, []string{"in3.npy", "inputs"}},
		{"init state of the wrong shape", "", []string{"--init-state", filepath.Join(dir, "v7.npy")}, 1, []string{"v7.npy"}},
		{"output below a file", "", []string{"--out", filepath.Join(dir, "afile", "out")}, 1, []string{"afile"}},
	}
}

// writeLimitFixtures writes the arrays the cases name into dir.
func writeLimitFixtures(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, npz.WriteNPY(filepath.Join(dir, "w5.npy"), npz.Float32, []int{5, 5}, make([]float32, 25)))
	nan := make([]float32, 16)
	nan[5] = float32(math.NaN())
	require.NoError(t, npz.WriteNPY(filepath.Join(dir, "wnan.npy"), npz.Float32, []int{4, 4}, nan))
	require.NoError(t, npz.WriteNPY(filepath.Join(dir, "in3.npy"), npz.Float32, []int{2, 10, 3}, make([]float32, 60)))
	require.NoError(t, npz.WriteNPY(filepath.Join(dir, "v7.npy"), npz.Float32, []int{7}, make([]float32, 7)))
	writeBareNPY(t, filepath.Join(dir, "huge.npy"), "(1000000000, 1000000000, 0)", []byte{'x'})
	writeBareNPY(t, filepath.Join(dir, "big.npy"), "(100000, 100000, 2)", nil)
	writeBareNPY(t, filepath.Join(dir, "whuge.npy"), "(1000000000, 1000000000)", nil)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "afile"), []byte("x"), 0o644))
}

// writeBareNPY writes an .npy header declaring a float32 array of shape
// followed by data: a file that lies about its size.
func writeBareNPY(t *testing.T, path, shape string, data []byte) {
	t.Helper()
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape)
	h += strings.Repeat(" ", (64-(10+len(h)+1)%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(data)
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// maxPeakRSS is the most resident memory a refused run's process may
// reach: the program itself and a small network, nothing sized by the
// request (15–20 MB measured, 2026-12-04).
const maxPeakRSS = 64 << 20

// Every oversized or malformed run is refused by both `run` and
// `validate` with a clear error, in a child process whose peak resident
// memory stays small (so nothing was allocated before the check), with no
// Go runtime crash and nothing left in the output directory.
func TestOversizedAndMalformedRunsAreRefused(t *testing.T) {
	dir := t.TempDir()
	writeLimitFixtures(t, dir)
	cases := limitCases(dir)
	require.GreaterOrEqual(t, len(cases), 30)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			if c.spec != "" {
				specFile := filepath.Join(dir, fmt.Sprintf("c%02d", i), "SPEC.yaml")
				require.NoError(t, os.MkdirAll(filepath.Dir(specFile), 0o755))
				for _, f := range []string{"w5.npy", "wnan.npy", "whuge.npy"} {
					os.Symlink(filepath.Join(dir, f), filepath.Join(filepath.Dir(specFile), f))
				}
				require.NoError(t, os.WriteFile(specFile, []byte(c.spec), 0o644))
				args = append(args, specFile)
			}
			out := filepath.Join(dir, fmt.Sprintf("out%02d", i))
			flags := c.flags
			if !hasFlag(c.flags, "--out") {
				flags = append([]string{"--out", out}, c.flags...)
			}
			for _, cmd := range []string{"validate", "run"} {
				if cmd == "validate" && c.spec == "" {
					continue // validate needs a SPEC file
				}
				argv := append(append([]string{cmd}, args...), flags...)
				if cmd == "run" {
					argv = append(argv, "--quiet")
				}
				code, stderr, peak := runChild(t, argv)
				assert.Equal(t, c.code, code, "%s exit status; stderr:\n%s", cmd, stderr)
				for _, w := range c.want {
					assert.Contains(t, stderr, w, "%s", cmd)
				}
				for _, bad := range []string{"goroutine ", "fatal error", "panic", "npz.Read", "context canceled", "(have: )", "[]", "stat /", "open /", "[1 1]"} {
					assert.NotContains(t, stderr, bad, "%s", cmd)
				}
				assert.Less(t, peak, int64(maxPeakRSS), "%s: peak resident memory %d MB", cmd, peak>>20)
				t.Logf("%s: exit %d, peak %d MB: %s", cmd, code, peak>>20, strings.TrimSpace(stderr))
			}
			if entries, err := os.ReadDir(out); err == nil {
				assert.Empty(t, entries, "a refused run left files in %s", out)
			}
		})
	}
}

// The built-in specs validate, so the cases above fail for their own
// reason and not for a broken base.
func TestValidateAcceptsTheBase(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "SPEC.yaml")
	require.NoError(t, os.WriteFile(spec, []byte("steps: 100\n"), 0o644))
	code, stderr, _ := runChild(t, []string{"validate", spec, "--out", filepath.Join(dir, "out")})
	require.Equal(t, 0, code, stderr)
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name {
			return true
		}
	}
	return false
}

// runChild runs ratesim with args in a child process (the test binary, see
// TestMain) and returns its exit status, its stderr and its peak resident
// memory in bytes.
func runChild(t *testing.T, args []string) (int, string, int64) {
	t.Helper()
	peakFile := filepath.Join(t.TempDir(), "peak")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RATESIM_ARGS="+strings.Join(args, "\x1f"), "RATESIM_PEAK_FILE="+peakFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	// The child's own high-water mark (see writePeakRSS), not the wait
	// status's Maxrss, which includes this process's memory.
	kb, err := os.ReadFile(peakFile)
	require.NoError(t, err, "the child wrote no peak memory; stderr:\n%s", stderr.String())
	peak, err := strconv.ParseInt(string(kb), 10, 64)
	require.NoError(t, err)
	return cmd.ProcessState.ExitCode(), stderr.String(), peak << 10
}
