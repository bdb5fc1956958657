package cpu

import (
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// BenchmarkStep measures one nn4n step (noise on, tanh, 4 inputs, 2
// outputs, rates and outputs recorded) for the engine-core grid. Compare runs
// with benchstat; `ratesim bench` reports the same with peers.
func BenchmarkStep(b *testing.B) {
	for _, n := range []int{64, 256, 1024, 2048} {
		for _, trials := range []int{1, 32, 64} {
			b.Run(fmt.Sprintf("f32/N=%d/B=%d", n, trials), func(b *testing.B) { benchStep[float32](b, n, trials) })
		}
	}
	b.Run("f64/N=256/B=32", func(b *testing.B) { benchStep[float64](b, 256, 32) })
}

// BenchmarkPlasticStep is BenchmarkStep with the recurrent weights learning
// at every step (no weight snapshots): a Hebbian rule with SGD, soft bound
// and bounds, and the same with Adam, shared by all trials (ΔW summed over
// them) or one matrix per trial; BCM and Oja on shared weights. Divide by
// BenchmarkStep's time for the cost of a plastic step relative to a static
// one (the static sub-benchmark is repeated here for that).
func BenchmarkPlasticStep(b *testing.B) {
	type pc = backendtest.PlasticCase
	rec := []backend.Layer{backend.LayerRecurrent}
	for _, n := range []int{256, 1024} {
		for _, trials := range []int{1, 32} {
			b.Run(fmt.Sprintf("f32/N=%d/B=%d/static", n, trials), func(b *testing.B) { benchStep[float32](b, n, trials) })
			for _, v := range []struct {
				name string
				pc   pc
			}{
				{"hebbian-sgd", pc{Layers: rec, Kinds: []backend.RuleKind{backend.Hebbian}, SoftBound: true}},
				{"hebbian-adam", pc{Layers: rec, Kinds: []backend.RuleKind{backend.Hebbian}, Optimizer: backend.Adam}},
				{"hebbian-sgd-pertrial", pc{Layers: rec, Kinds: []backend.RuleKind{backend.Hebbian}, PerTrial: true}},
				{"bcm-sgd", pc{Layers: rec, Kinds: []backend.RuleKind{backend.BCM}}},
				{"oja-sgd", pc{Layers: rec, Kinds: []backend.RuleKind{backend.Oja}}},
			} {
				if v.pc.PerTrial && trials == 1 {
					continue
				}
				b.Run(fmt.Sprintf("f32/N=%d/B=%d/%s", n, trials, v.name), func(b *testing.B) { benchPlastic[float32](b, n, trials, v.pc) })
			}
		}
	}
}

func benchPlastic[T backend.Float](b *testing.B, n, trials int, pc backendtest.PlasticCase) {
	c := backendtest.Case{Shape: backend.Shape{Instances: 1, Trials: trials, Units: n, Inputs: 4, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Stride: 1, Seed: 1, Steps: 1 << 20, Plastic: &pc}
	p := backendtest.NewProgram[T](c)
	p.Plasticity.Record.Stride = 0
	benchRun(b, p, n, trials)
}

func benchStep[T backend.Float](b *testing.B, n, trials int) {
	c := backendtest.Case{Shape: backend.Shape{Instances: 1, Trials: trials, Units: n, Inputs: 4, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Stride: 1, Seed: 1}
	benchRun(b, backendtest.NewProgram[T](c), n, trials)
}

func benchRun[T backend.Float](b *testing.B, p *backend.Program[T], n, trials int) {
	p.Record.States = false
	run, err := backend.Start[T](New(), p)
	if err != nil {
		b.Fatal(err)
	}
	defer run.Close()
	const chunk = 16
	in := backendtest.NewInput(p, chunk, 1)
	out := backend.NewChunk(p, chunk)
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		if err := run.Advance(min(chunk, b.N-done), in[:p.InputLen(min(chunk, b.N-done))], out); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "steps/s")
	b.ReportMetric(2*float64(trials)*float64(n*n+n*4+n*2)*float64(b.N)/sec/1e9, "GFLOP/s")
}

// BenchmarkNoiseStep measures the relu step at the sizes where noise costs
// most (large N and B), noise off and on (pre and post), for the cost of
// the noisy unit step: on minus off.
func BenchmarkNoiseStep(b *testing.B) {
	for _, s := range []struct{ n, trials int }{{256, 32}, {1024, 64}, {2048, 32}, {2048, 64}} {
		for _, noise := range []bool{false, true} {
			b.Run(fmt.Sprintf("f32/N=%d/B=%d/noise=%v", s.n, s.trials, noise), func(b *testing.B) {
				c := backendtest.Case{Shape: backend.Shape{Instances: 1, Trials: s.trials, Units: s.n, Inputs: 4, Outputs: 2},
					Activation: backend.ReLU, Noise: noise, Stride: 1, Seed: 1}
				benchRun(b, backendtest.NewProgram[float32](c), s.n, s.trials)
			})
		}
	}
}
