//go:build cuda

package gpu

import (
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
	"github.com/ratesim/ratesim/bench"
)

// benchCase is one benchmark: its name, case, precision and recording.
type benchCase struct {
	name string
	c    backendtest.Case
	f64  bool
	rec  backend.Record
}

// oneNetworkCases are BenchmarkOneNetwork's: one network (K = 1) as the CPU
// backend's BenchmarkStep measures it: tanh, noise on, 4 inputs, 2 outputs,
// rates and outputs recorded every step.
func oneNetworkCases() []benchCase {
	var cs []benchCase
	rec := backend.Record{Rates: true, Outputs: true}
	for _, n := range []int{256, 1024, 4096} {
		for _, trials := range []int{1, 32, 256} {
			cs = append(cs, benchCase{fmt.Sprintf("f32/N=%d/B=%d", n, trials), backendtest.Case{Shape: backend.Shape{Instances: 1, Trials: trials, Units: n, Inputs: 4, Outputs: 2},
				Activation: backend.Tanh, Noise: true, Stride: 1, Seed: 1}, false, rec})
		}
	}
	return append(cs, benchCase{"f64/N=1024/B=32", backendtest.Case{Shape: backend.Shape{Instances: 1, Trials: 32, Units: 1024, Inputs: 4, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Stride: 1, Seed: 1}, true, rec})
}

// sweepCases are BenchmarkSweep's: K instances of an N-unit network, 16
// trials each, one shared input, outputs recorded every step.
func sweepCases() []benchCase {
	var cs []benchCase
	for _, k := range []int{256, 1024, 4096} {
		for _, n := range []int{128, 256} {
			cs = append(cs, benchCase{fmt.Sprintf("f32/K=%d/N=%d/B=16", k, n), backendtest.Case{Shape: backend.Shape{Instances: k, Trials: 16, Units: n, Inputs: 4, Outputs: 2},
				Activation: backend.Tanh, Noise: true, Shared: true, Stride: 1, Seed: 1}, false, backend.Record{Outputs: true}})
		}
	}
	return cs
}

// BenchmarkOneNetwork measures oneNetworkCases, 100 steps per Advance. One
// op is one step.
func BenchmarkOneNetwork(b *testing.B) { runBenchCases(b, oneNetworkCases()) }

// BenchmarkSweep measures sweepCases, 100 steps per Advance.
func BenchmarkSweep(b *testing.B) { runBenchCases(b, sweepCases()) }

func runBenchCases(b *testing.B, cs []benchCase) {
	for _, bc := range cs {
		b.Run(bc.name, func(b *testing.B) {
			if bc.f64 {
				benchRun[float64](b, bc.c, bc.rec)
			} else {
				benchRun[float32](b, bc.c, bc.rec)
			}
		})
	}
}

// TestBenchmarkPlans prints the plan the benchmarks' shapes get on this
// device (on the emulator: on the H100 it describes) and the segments one
// 100-step Advance is cut into; bench/gpu-run.sh runs it before the
// benchmarks. It checks only that every shape has a plan.
func TestBenchmarkPlans(t *testing.T) {
	needDevice(t)
	drv, err := New().open()
	if err != nil {
		t.Fatal(err)
	}
	inf := drv.info()
	t.Logf("device: %s, %d SMs, %d KiB shared memory per block", inf.name, inf.sms, inf.maxSharedOpt>>10)
	for _, bc := range append(oneNetworkCases(), sweepCases()...) {
		prec := backend.F32
		if bc.f64 {
			prec = backend.F64
		}
		pl, err := choosePlan(bc.c.Shape, prec, inf, Auto)
		if err != nil {
			t.Errorf("%s: %v", bc.name, err)
			continue
		}
		t.Logf("%-22s %s", bc.name, pl.describe())
	}
}

// benchRun times Advance calls of 100 steps; b.N is the number of steps.
func benchRun[T backend.Float](b *testing.B, c backendtest.Case, rec backend.Record) {
	if emulated {
		b.Skip("the emulator is not a GPU: nothing to measure")
	}
	needDevice(b)
	const chunk = 100
	p := cachedProgram[T](c, rec)
	in := backendtest.NewInput(p, chunk, 1)
	be := New()
	rn, err := backend.Start[T](be, p)
	if err != nil {
		b.Fatal(err)
	}
	defer rn.Close()
	if r, ok := rn.(*run[T]); ok {
		b.Logf("plan: %s", r.pl.describe())
	}
	out := backend.NewChunk(p, chunk)
	// Warm up: module load, JIT, first allocations.
	if err := rn.Advance(chunk, in, out); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		if err := rn.Advance(n, in[:p.InputLen(n)], out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	s := p.Shape
	flops := bench.Flops(s.Units, s.Trials, s.Inputs, s.Outputs, s.Instances) // as ratesim bench counts
	b.ReportMetric(float64(b.N)/sec, "steps/s")
	b.ReportMetric(flops*float64(b.N)/sec/1e9, "GFLOP/s")
}

// The testing package runs every benchmark at least twice (b.N = 1, then
// the -benchtime count); building a 4096-instance program takes seconds, so
// the last one is kept.
var lastProgram struct {
	key string
	p   any
}

func cachedProgram[T backend.Float](c backendtest.Case, rec backend.Record) *backend.Program[T] {
	key := fmt.Sprintf("%T %+v %+v", T(0), c, rec)
	if p, ok := lastProgram.p.(*backend.Program[T]); ok && lastProgram.key == key {
		return p
	}
	lastProgram.p = nil // let the old one go before building the new one
	p := backendtest.NewProgram[T](c)
	p.Record = rec
	lastProgram.key, lastProgram.p = key, p
	return p
}
