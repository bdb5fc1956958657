package sweep

import (
	"context"
	"syscall"
	"testing"

	"github.com/ratesim/ratesim/backend"
	_ "github.com/ratesim/ratesim/cpu" // the CPU backend, which the benchmark runs on
)

// overheadSweep is issue 12's overhead shape: K = 256 points of N = 128
// units, B = 16 trials each, 500 steps, τ swept, one metric of the rates.
const overheadSweep = `base:
  dims: [4, 128, 2]
  activation: tanh
  trials: 16
  steps: 500
  seed: 5
  input: {type: sine, period: 200}
axes:
  - {path: tau, linspace: [20, 200, 256]}
metrics:
  - {metric: mean, of: rates}
`

// BenchmarkSweepOverhead compares a whole sweep (building the 256 points'
// networks, packing them into one program, generating the input, running,
// reducing the metric) with the same batched program run alone on the
// backend, built once outside the timer and fed the same input: the
// difference is what the sweep machinery costs. Issue 12 asks for ≤ 5 %:
// compare the two medians (go test -bench SweepOverhead -count 5). Each
// also reports cpu-s/op, the process's CPU time (user + system) per
// run, which other jobs on a shared machine disturb far less than wall
// time.
func BenchmarkSweepOverhead(b *testing.B) {
	sw, err := Parse("overhead.yaml", []byte(overheadSweep))
	if err != nil {
		b.Fatal(err)
	}
	be, err := backend.Lookup("cpu")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sweep", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			res, err := Run(context.Background(), sw, Options{Backend: "cpu", ChunkPoints: len(sw.Points), MemoryLimit: 2 << 30})
			if err != nil {
				b.Fatal(err)
			}
			if res.Rows[0].Status != "ok" {
				b.Fatal(res.Rows[0].Status)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		raw := rawRunner[float32](context.Background(), be, sw)
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := raw(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU starts counting the process's CPU time; the function it
// returns reports it per iteration as cpu-s/op.
func reportCPU(b *testing.B) func() {
	start := cpuSeconds()
	return func() { b.ReportMetric((cpuSeconds()-start)/float64(b.N), "cpu-s/op") }
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
