package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
	_ "github.com/ratesim/ratesim/cpu"
)

func TestParseSizes(t *testing.T) {
	s, err := ParseSizes("64x1, 256x32")
	if err != nil || len(s) != 2 || s[1] != (Size{N: 256, B: 32}) {
		t.Fatalf("ParseSizes = %v, %v", s, err)
	}
	for _, bad := range []string{"64", "0x3", "ax2", "64x-1", ""} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
}

func TestParseSweeps(t *testing.T) {
	s, err := ParseSweeps("256x128, 1024X256", 16)
	if err != nil || len(s) != 2 || s[0] != (Size{N: 128, B: 16, K: 256}) || s[1] != (Size{N: 256, B: 16, K: 1024}) {
		t.Fatalf("ParseSweeps = %v, %v", s, err)
	}
	for _, bad := range []string{"0x128", "256x0", "256", "kx128", "256x128,", "268435457x8"} {
		_, err := ParseSweeps(bad, 16)
		if err == nil || !strings.Contains(err.Error(), "sweep") {
			t.Errorf("ParseSweeps(%q) = %v, want an error about the sweep", bad, err)
		}
	}
	if _, err := ParseSweeps("4x8", 0); err == nil {
		t.Error("ParseSweeps with 0 trials accepted")
	}
	if len(DefaultSweeps) != 6 || DefaultSweeps[5] != (Size{N: 256, B: 16, K: 4096}) || len(GPUSizes) != 9 || GPUSizes[8] != (Size{N: 4096, B: 256}) {
		t.Errorf("issue grids: sweeps %v, gpu %v", DefaultSweeps, GPUSizes)
	}
}

func TestMeasureAndTable(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Reps, cfg.RepTime = 3, 0
	r, err := Measure(context.Background(), backend.Reference, cfg, Size{N: 8, B: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.MedianUS <= 0 || r.MinUS > r.MedianUS || r.T < 1 || r.GFLOPS <= 0 || r.K != 1 || r.Record != "rates,outputs" {
		t.Fatalf("implausible result %+v", r)
	}
	if want := Flops(8, 2, 4, 2, 1) / r.MedianUS / 1e3; r.GFLOPS != want {
		t.Errorf("GFLOP/s = %v, want %v", r.GFLOPS, want)
	}
	peer := r
	peer.Peer, peer.MedianUS, peer.K = "torch-loop", 4*r.MedianUS, 0 // peers leave K out
	var buf bytes.Buffer
	Table(&buf, []Result{r}, []Result{peer})
	if !strings.Contains(buf.String(), "4.00x") {
		t.Errorf("table does not show the 4× ratio:\n%s", buf.String())
	}
}

// A sweep on the CPU backend: K instances with their own weights, and the
// flop count multiplied by K.
func TestMeasureSweepCPU(t *testing.T) {
	cpu, err := backend.Lookup("cpu")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Reps, cfg.RepTime = 3, 0
	sz := Size{N: 8, B: 2, K: 3}
	r, err := Measure(context.Background(), cpu, cfg, sz)
	if err != nil {
		t.Fatal(err)
	}
	if r.K != 3 || r.N != 8 || r.B != 2 || r.Backend != "cpu" || r.Record != "outputs" || r.MedianUS <= 0 {
		t.Fatalf("result %+v", r)
	}
	if want := 2.0 * 3 * 2 * (64 + 8*4 + 8*2); Flops(8, 2, 4, 2, 3) != want {
		t.Fatalf("Flops(K=3) = %v, want %v", Flops(8, 2, 4, 2, 3), want)
	}
	if want := Flops(8, 2, 4, 2, 3) / r.MedianUS / 1e3; r.GFLOPS != want {
		t.Errorf("GFLOP/s = %v, want %v (3 instances)", r.GFLOPS, want)
	}
	p := Program[float32](cfg, sz)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	rows := p.DriveRows()
	dl := rows * p.Units
	if p.Instances != 3 || len(p.Drive) != 3*dl || len(p.Alpha) != 3*8 || !p.SharedInput || p.Record.Rates {
		t.Fatalf("sweep program: K=%d drive %d alpha %d shared %v record %+v", p.Instances, len(p.Drive), len(p.Alpha), p.SharedInput, p.Record)
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	for k := 1; k < 3; k++ {
		if same(p.Drive[:dl], p.Drive[k*dl:(k+1)*dl]) {
			t.Errorf("instance %d has instance 0's weights", k)
		}
		if !same(p.Alpha[:8], p.Alpha[k*8:(k+1)*8]) {
			t.Errorf("instance %d has other per-unit constants", k)
		}
		if bias := p.Drive[k*dl+(rows-1)*p.Units : (k+1)*dl]; !same(bias, make([]float32, len(bias))) {
			t.Errorf("instance %d has biases: %v", k, bias)
		}
	}
}

func TestTablePairsPeersByShape(t *testing.T) {
	one := Result{Peer: "ratesim", N: 8, B: 2, K: 1, MedianUS: 10, StepsPerS: 1e5, GFLOPS: 5}
	sw := Result{Peer: "ratesim", N: 8, B: 2, K: 3, MedianUS: 20, StepsPerS: 5e4, GFLOPS: 7.5}
	peers := []Result{
		{Peer: "torch-loop", N: 8, B: 2, MedianUS: 40},       // one network: K left out
		{Peer: "torch-loop", N: 8, B: 2, K: 3, MedianUS: 40}, // 2×
		{Peer: "jax-scan", N: 8, B: 2, K: 3, MedianUS: 160},  // 8×
		{Peer: "jax-scan", N: 8, B: 2, K: 5, MedianUS: 999},  // no such row of ours
	}
	var buf bytes.Buffer
	WriteTable(&buf, []Result{one, sw}, peers, TableOptions{PeakGFLOPS: 10})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want two header lines and 2 rows:\n%s", buf.String())
	}
	for _, want := range []string{"ratesim", "torch-loop", "jax-scan", "K", "ceiling", "speedup"} {
		if !strings.Contains(lines[0]+lines[1], want) {
			t.Errorf("header lacks %q:\n%s\n%s", want, lines[0], lines[1])
		}
	}
	lines = lines[1:]
	if !strings.Contains(lines[1], "4.00x") || !strings.Contains(lines[1], " - ") || !strings.Contains(lines[1], "50.0%") {
		t.Errorf("one-network row: want torch 4.00x, no jax, 50%% of the ceiling: %s", lines[1])
	}
	if !strings.Contains(lines[2], "2.00x") || !strings.Contains(lines[2], "8.00x") || !strings.Contains(lines[2], "75.0%") {
		t.Errorf("sweep row: want torch 2.00x and jax 8.00x, 75%%: %s", lines[2])
	}
	if strings.Contains(buf.String(), "999") {
		t.Errorf("the K=5 peer result was paired with a K=3 row:\n%s", buf.String())
	}
	buf.Reset()
	Table(&buf, []Result{{Peer: "ratesim", N: 4096, B: 256, MedianUS: 1, GFLOPS: 20000}}, nil)
	if !strings.Contains(buf.String(), "TFLOP/s") || !strings.Contains(buf.String(), "20.00") {
		t.Errorf("large rates are not shown in TFLOP/s:\n%s", buf.String())
	}
}

func TestGoals(t *testing.T) {
	ours := []Result{
		{Peer: "ratesim", N: 256, B: 1, K: 1, MedianUS: 1},
		{Peer: "ratesim", N: 4096, B: 256, K: 1, MedianUS: 1, GFLOPS: 21000},
		{Peer: "ratesim", N: 128, B: 16, K: 256, MedianUS: 1, GFLOPS: 9000},
	}
	peers := []Result{
		{Peer: "torch-loop", N: 256, B: 1, MedianUS: 25},
		{Peer: "jax-scan", N: 256, B: 1, MedianUS: 3},
	}
	var buf bytes.Buffer
	Goals(&buf, ours, peers, 33500)
	out := buf.String()
	for _, want := range []string{"torch-loop   25.00x  (goal ≥ 20x)  met", "jax-scan      3.00x  (goal ≥ 5x)  NOT met",
		"9.00 TFLOP/s effective  (goal ≥ 10 on an H100)  NOT met", "62.7% of the exact-mode ceiling", "(goal ≥ 60%)  met"} {
		if !strings.Contains(out, want) {
			t.Errorf("goals lack %q:\n%s", want, out)
		}
	}
}

func TestRunPeerMissing(t *testing.T) {
	cfg := DefaultConfig()
	ctx := context.Background()
	var me *MissingError
	_, err := RunPeer(ctx, "/nonexistent/python3", "torch_ctrnn.py", cfg, []Size{{N: 8, B: 1}}, "cpu")
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "/nonexistent/python3") || !strings.Contains(err.Error(), "interpreter") {
		t.Errorf("missing interpreter: %v", err)
	}
	_, err = RunPeer(ctx, "/bin/sh", "numpy_ctrnn.py", cfg, []Size{{N: 8, B: 1}}, "cpu")
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "torch_ctrnn.py") {
		t.Errorf("unknown script: %v", err)
	}
	py := fakePython(t, `echo "jax_ctrnn.py: JAX is not installed for this python" >&2; exit 3`)
	_, err = RunPeer(ctx, py, "jax_ctrnn.py", cfg, []Size{{N: 8, B: 1}}, "cpu")
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "JAX is not installed") {
		t.Errorf("missing framework (exit 3): %v", err)
	}
}

// A peer that crashes is an error with its stderr, not a missing peer, and
// what it printed before the crash is kept.
func TestRunPeerCrash(t *testing.T) {
	py := fakePython(t, `echo '{"peer":"fake","N":8,"B":1,"median_us_per_step":2}'; echo 'Traceback: boom' >&2; exit 1`)
	res, err := RunPeer(context.Background(), py, "torch_ctrnn.py", DefaultConfig(), []Size{{N: 8, B: 1}, {N: 16, B: 1}}, "cpu")
	var me *MissingError
	if err == nil || errors.As(err, &me) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("crash: %v", err)
	}
	if len(res) != 1 || res[0].N != 8 {
		t.Errorf("results before the crash: %+v", res)
	}
}

// Sizes are grouped by K: one invocation per K, with --sweep K for K > 1.
func TestRunPeerSweepGroups(t *testing.T) {
	log := filepath.Join(t.TempDir(), "calls")
	t.Setenv("FAKE_LOG", log)
	py := fakePython(t, `shift; k=0; sizes=""; rt=""
while [ $# -gt 0 ]; do case "$1" in --sweep) k=$2; shift;; --sizes) sizes=$2; shift;; --rep-time) rt=$2; shift;; esac; shift; done
echo "K=$k sizes=$sizes rep-time=$rt" >> "$FAKE_LOG"
IFS=,; for s in $sizes; do printf '{"peer":"fake","N":%s,"B":%s,"K":%s,"median_us_per_step":1}\n' "${s%x*}" "${s#*x}" "$k"; done`)
	cfg := DefaultConfig()
	sizes := []Size{{N: 8, B: 2}, {N: 8, B: 16, K: 3}, {N: 16, B: 16, K: 3}, {N: 8, B: 16, K: 5}}
	res, err := RunPeer(context.Background(), py, "jax_ctrnn.py", cfg, sizes, "cuda")
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(log)
	want := "K=0 sizes=8x2 rep-time=0.3\nK=3 sizes=8x16,16x16 rep-time=0.3\nK=5 sizes=8x16 rep-time=0.3\n"
	if string(calls) != want {
		t.Errorf("invocations:\n%s\nwant\n%s", calls, want)
	}
	if len(res) != 4 {
		t.Fatalf("results %+v", res)
	}
	for i, r := range res {
		if keyOf(r) != (key{sizes[i].N, sizes[i].B, sizes[i].Instances()}) {
			t.Errorf("result %d: %+v, want %v", i, r, sizes[i])
		}
	}
}

// fakePython writes a shell script that stands in for the interpreter.
func fakePython(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
