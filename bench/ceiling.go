package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/ratesim/ratesim/backend"
)

// CeilingN is the side of the square products that measure the ceiling.
const CeilingN = 2048

// Ceiling results carry these peer names in the JSON lines; tables and
// Replay keep them out of the peer columns.
const (
	CeilingExact = "ceiling:ratesim-exact" // MeasureExactCeiling
	CeilingTorch = "ceiling:torch.mm"      // MeasureTorchMM
)

// IsCeiling reports whether r is a ceiling measurement, not a peer's step.
func IsCeiling(r Result) bool { return strings.HasPrefix(r.Peer, "ceiling:") }

// MeasureExactCeiling measures the exact-mode rate of b on a CeilingN³
// product, through the backend like every other row: one step of an
// identity network of N = CeilingN units with B = CeilingN trials and noise
// off is one CeilingN × (N+I+1) × CeilingN drive product, the contract's
// ascending sums, plus an elementwise step and the recording of the rates
// (about 1 % of it on a CPU). Its GFLOPS is the usual effective count.
func MeasureExactCeiling(ctx context.Context, b backend.Backend, cfg Config) (Result, error) {
	c := cfg
	c.Noise, c.Activation, c.Plastic = false, "identity", nil
	r, err := Measure(ctx, b, c, Size{N: CeilingN, B: CeilingN})
	if err != nil {
		return r, err
	}
	r.Peer = CeilingExact
	r.Extra = fmt.Sprintf("one step of N=%d B=%d, identity, noise off: a %d×%d×%d exact product", CeilingN, CeilingN, CeilingN, CeilingN+c.Inputs+1, CeilingN)
	return r, nil
}

// torchMM times torch.mm of two n×n matrices: the FMA BLAS the PyTorch
// loop runs on, with torch's default threads. argv: n reps rep_seconds
// dtype device.
const torchMM = `
import json, statistics, sys, time
try:
    import torch
except ImportError as e:
    print("torch is not installed: %s" % e, file=sys.stderr)
    sys.exit(3)
n, reps, rep_s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
dtype, dev = {"f32": torch.float32, "f64": torch.float64}[sys.argv[4]], sys.argv[5]
g = torch.Generator(device="cpu").manual_seed(1)
a = torch.randn(n, n, generator=g, dtype=dtype).to(dev)
b = torch.randn(n, n, generator=g, dtype=dtype).to(dev)
c = torch.empty(n, n, dtype=dtype, device=dev)
sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
torch.mm(a, b, out=c); sync()
per, total = [], 0
for _ in range(reps):
    k, t0 = 0, time.perf_counter()
    while True:
        torch.mm(a, b, out=c); k += 1
        sync()
        el = time.perf_counter() - t0
        if el >= rep_s:
            break
    per.append(el / k); total += k
med = statistics.median(per)
print(json.dumps({"peer": "ceiling:torch.mm", "device": dev, "dtype": sys.argv[4], "N": n, "B": n, "I": 0, "O": 0,
    "T": total, "reps": reps, "median_us_per_step": med * 1e6, "min_us_per_step": min(per) * 1e6,
    "steps_per_s": 1 / med, "gflops": 2 * n ** 3 / med / 1e9,
    "extra": "torch %s, %d threads, one %d^3 torch.mm per step" % (torch.__version__, torch.get_num_threads(), n)}))
`

// MeasureTorchMM measures torch.mm on two CeilingN × CeilingN matrices
// with python on device: the BLAS ceiling (FMA) that the PyTorch loop's
// matrix products reach. A *MissingError means torch is not there.
func MeasureTorchMM(ctx context.Context, python string, cfg Config, device string) (Result, error) {
	if _, err := exec.LookPath(python); err != nil {
		return Result{}, &MissingError{"torch.mm", python, err.Error()}
	}
	repS := cfg.RepTime.Seconds()
	if repS <= 0 {
		repS = 0.3
	}
	cmd := exec.CommandContext(ctx, python, "-c", torchMM, fmt.Sprint(CeilingN), fmt.Sprint(max(cfg.Reps, 1)),
		fmt.Sprint(repS), cfg.Precision.String(), device)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == ExitMissing {
			return Result{}, &MissingError{"torch.mm", python, strings.TrimSpace(stderr.String())}
		}
		return Result{}, fmt.Errorf("torch.mm with %s: %v\n%s", python, err, lastLines(strings.TrimSpace(stderr.String()), 20))
	}
	res, err := parsePeerOutput("torch.mm", out, Config{Noise: false})
	if err != nil {
		return Result{}, err
	}
	if len(res) != 1 {
		return Result{}, fmt.Errorf("torch.mm printed %d results, want 1", len(res))
	}
	return res[0], nil
}

// WriteCeilings prints the ceiling measurements, one line each, and returns
// the ceiling the tables compare with: torch.mm's rate when it was measured
// (the FMA BLAS ceiling of the issue), else ratesim's exact product's.
func WriteCeilings(w io.Writer, cs []Result) float64 {
	peak := 0.0
	for _, c := range cs {
		what := map[string]string{CeilingExact: "ratesim's exact drive product", CeilingTorch: "torch.mm (FMA BLAS)"}[c.Peer]
		if what == "" {
			what = c.Peer
		}
		fmt.Fprintf(w, "  %-30s %4d³ %s: %8.1f GFLOP/s  (median %.0f µs; %s)\n", what, c.N, c.Dtype, c.GFLOPS, c.MedianUS, c.Extra)
		if c.Peer == CeilingTorch || peak == 0 {
			peak = c.GFLOPS
		}
	}
	return peak
}
