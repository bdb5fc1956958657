package bench

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The stubs the dry run of gpu-run.sh runs instead of the GPU's binaries:
// each logs its phase (GPU_RUN_PHASE, which the script sets), arguments and
// cache directory, and answers as the real one would, briefly. The test
// binary hangs in the phase HANG_PHASE until a SIGQUIT, to which it
// answers as a Go binary does: goroutine stacks and exit status 2.
const (
	stubGPUTest = `#!/bin/sh
echo "$GPU_RUN_PHASE gpu.test cache=$CUDA_CACHE_PATH $*" >>"$STUB_LOG"
if [ "$GPU_RUN_PHASE" = "$HANG_PHASE" ]; then
	sleep 30 &
	trap 'kill $! 2>/dev/null; echo "SIGQUIT: quit"; echo "goroutine 7 [running]:"; exit 2' QUIT
	wait
	exit 0
fi
case "$*" in
*-test.bench*) echo "BenchmarkOneNetwork/f32/N=256/B=1-16   20   12345 ns/op" ;;
*"-test.run ^TestBenchmarkPlans"*) echo "=== RUN   TestBenchmarkPlans"; echo "    bench_test.go:92: f32/N=256/B=1 persistent_f32: 1 blocks"; echo "--- PASS: TestBenchmarkPlans (0.00s)" ;;
*) echo "=== RUN   TestStub"; echo "--- PASS: TestStub (0.00s)"; echo PASS ;;
esac
`
	stubRatesim = `#!/bin/sh
echo "$GPU_RUN_PHASE ratesim $*" >>"$STUB_LOG"
case "$1" in
version) echo "ratesim stub" ;;
devices) echo "stub GPU" ;;
bench)
	json= from=
	while [ $# -gt 0 ]; do
		case "$1" in --json) json=$2; shift ;; --from) from=$2; shift ;; esac
		shift
	done
	if [ -n "$from" ]; then echo "TABLE FROM $from"; exit 0; fi
	echo '{"peer":"ratesim"}' >>"$json"
	echo "bench stub" ;;
esac
`
	stubNvidiaSMI = `#!/bin/sh
case "$*" in
*query-gpu=name,*) echo "name, driver_version"; echo "NVIDIA H200, 570.00" ;;
*query-gpu=name*) echo "NVIDIA H200" ;;
*driver_version*) echo "570.00" ;;
-L) echo "GPU 0: NVIDIA H200 (UUID: GPU-stub)" ;;
*) printf 'banner\nbanner\n| NVIDIA-SMI 570.00   Driver Version: 570.00   CUDA Version: 12.8 |\n' ;;
esac
`
	stubSanitizer = `#!/bin/sh
echo "$GPU_RUN_PHASE compute-sanitizer $*" >>"$STUB_LOG"
shift 4 # --tool NAME --error-exitcode N
exec "$@"
`
	stubPython = `#!/bin/sh
echo "$GPU_RUN_PHASE python $*" >>"$STUB_LOG"
echo "stub 1.0"
`
)

// dryRun runs gpu-run.sh in a fresh directory with stub binaries, the
// phase hang hanging, and extra environment; it returns the script's
// combined output, its exit status, the stubs' log lines and OUT.
func dryRun(t *testing.T, hang string, env ...string) (string, int, []string, string) {
	t.Helper()
	for _, tool := range []string{"bash", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
	}
	script, err := filepath.Abs("gpu-run.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	work := filepath.Join(dir, "work")
	out := filepath.Join(dir, "out")
	write := func(path, text string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(work, ".gpu", "gpu.test"), stubGPUTest)
	write(filepath.Join(work, ".gpu", "ratesim"), stubRatesim)
	write(filepath.Join(bin, "nvidia-smi"), stubNvidiaSMI)
	write(filepath.Join(bin, "python3"), stubPython)
	write(filepath.Join(bin, "compute-sanitizer"), stubSanitizer)
	if err := os.MkdirAll(filepath.Join(work, "gpu"), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "stub.log")
	cmd := exec.Command("bash", script)
	cmd.Dir = work
	// PATH: the stubs first, then the system's tools.
	cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir, "OUT=" + out, "STUB_LOG=" + log,
		"HANG_PHASE=" + hang, "GPU_RUN_KILL_AFTER=2", "PYTHON=" + filepath.Join(bin, "python3")}, env...)
	b, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running gpu-run.sh: %v\n%s", err, b)
		}
		code = ee.ExitCode()
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatalf("no stub was run: %v\n%s", err, b)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	return string(b), code, lines, out
}

// phasesOf returns the phases of the stub log's lines, in their order,
// each once.
func phasesOf(lines []string) []string {
	var ps []string
	for _, l := range lines {
		p, _, _ := strings.Cut(l, " ")
		if len(ps) == 0 || ps[len(ps)-1] != p {
			ps = append(ps, p)
		}
	}
	return ps
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The script's control flow without a GPU: its phases in order, the test
// binaries under a time limit and with the driver's cache beside OUT, a
// summary last.
func TestGPURunPhases(t *testing.T) {
	output, code, lines, out := dryRun(t, "none")
	want := []string{"info", "smoke", "fault", "conformance", "sanitize-racecheck", "sanitize-synccheck", "plans", "gobench", "bench-ratesim", "peers-net", "peers-sweep", "summary"}
	if got := phasesOf(lines); !slices.Equal(got, want) {
		t.Fatalf("phases run %v, want %v\n%s", got, want, output)
	}
	if code != 0 {
		t.Errorf("exit status %d with every phase passing, want 0\n%s", code, output)
	}
	cache := filepath.Clean(out) + "-nvcache"
	for _, l := range lines {
		if strings.Contains(l, " gpu.test ") {
			if !strings.Contains(l, "cache="+cache+" ") {
				t.Errorf("test binary run without CUDA_CACHE_PATH=%s: %s", cache, l)
			}
			if !strings.Contains(l, "-test.timeout=") && !strings.Contains(l, "-test.bench") {
				t.Errorf("test binary run without -test.timeout: %s", l)
			}
		}
	}
	if st, err := os.Stat(cache); err != nil || !st.IsDir() {
		t.Errorf("cache directory %s: %v", cache, err)
	}
	summary := readFile(t, filepath.Join(out, "summary.txt"))
	for _, w := range []string{"TABLE FROM " + filepath.Join(out, "bench-gpu-net.jsonl") + "," + filepath.Join(out, "bench-gpu-sweep.jsonl"),
		"plans:", "persistent_f32", "conformance: exit 0", "status 0"} {
		if !strings.Contains(summary, w) {
			t.Errorf("summary lacks %q:\n%s", w, summary)
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(output), "files in "+out) {
		t.Errorf("the script's output does not end with the summary:\n%s", output)
	}
}

// A phase that hangs is cut at its limit with a SIGQUIT, whose Go stack
// lands in the phase's log; the phases after it still run, and the summary
// says what happened.
func TestGPURunHangingPhase(t *testing.T) {
	output, code, lines, out := dryRun(t, "conformance", "LIMIT_conformance=2")
	got := phasesOf(lines)
	for _, p := range []string{"conformance", "sanitize-racecheck", "plans", "gobench", "bench-ratesim", "peers-net", "peers-sweep", "summary"} {
		if !slices.Contains(got, p) {
			t.Errorf("phase %s did not run after the hang (phases %v)\n%s", p, got, output)
		}
	}
	if code == 0 {
		t.Errorf("exit status 0 after a phase was cut, want nonzero")
	}
	if log := readFile(t, filepath.Join(out, "conformance.log")); !strings.Contains(log, "goroutine 7 [running]") {
		t.Errorf("conformance.log lacks the stack the SIGQUIT asked for:\n%s", log)
	}
	summary := readFile(t, filepath.Join(out, "summary.txt"))
	if !strings.Contains(summary, "conformance: cut at its 2s limit") {
		t.Errorf("summary does not say the conformance phase was cut:\n%s", summary)
	}
	if !strings.Contains(summary, "plans: exit 0") {
		t.Errorf("summary lacks the phase after the cut one:\n%s", summary)
	}
}
