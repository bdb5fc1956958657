package sweep

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// BenchSize is the shape of a sweep benchmark: K points of N units with I
// inputs and O outputs, B trials each, Steps steps.
type BenchSize struct {
	K, N, B, I, O, Steps int
	Activation           string // default relu
	Noise                bool   // σ_pre = σ_post = 0.05, as bench's peers
	Precision            string // f32 (default) or f64
}

// BenchSweep is the sweep `ratesim sweep bench` measures for sz: a base
// like the peers' network (dt 1, τ 10 so α = 0.1, nn.Linear-style uniform
// weights, a sine input) and one axis of K values of τ from 5 to 20, with
// one metric, the mean of the outputs, so that what the run keeps is the
// outputs only, as `ratesim bench`'s sweep rows record.
func BenchSweep(sz BenchSize) (*Sweep, error) {
	if sz.K < 1 || sz.N < 1 || sz.B < 1 || sz.Steps < 1 || sz.I < 0 || sz.O < 1 {
		return nil, fmt.Errorf("sweep bench size K=%d N=%d B=%d I=%d O=%d steps=%d: K, N, B, O and steps must be ≥ 1", sz.K, sz.N, sz.B, sz.I, sz.O, sz.Steps)
	}
	act, prec := sz.Activation, sz.Precision
	if act == "" {
		act = "relu"
	}
	if prec == "" {
		prec = "f32"
	}
	sigma := 0.0
	if sz.Noise {
		sigma = 0.05
	}
	text := fmt.Sprintf(`base:
  name: bench
  dims: [%d, %d, %d]
  activation: %s
  dt: 1
  tau: 10
  preact_noise: %v
  postact_noise: %v
  weights: uniform
  biases: zero
  input: {type: sine, period: 50}
  trials: %d
  steps: %d
  seed: 1
  precision: %s
axes:
  - {path: tau, linspace: [5, 20, %d]}
metrics:
  - {metric: mean, of: outputs}
`, sz.I, sz.N, sz.O, act, sigma, sigma, sz.B, sz.Steps, prec, sz.K)
	return Parse("bench.yaml", []byte(text))
}

// Overhead is one comparison of a sweep with its raw program.
type Overhead struct {
	// Sweep and Raw are the medians of the repetitions: the whole sweep
	// (networks built, packed, input generated, run, metrics reduced) and
	// the same program alone on the backend (built once, outside the
	// timing, fed the same input in the same calls).
	Sweep, Raw       time.Duration
	SweepAll, RawAll []time.Duration
	Backend          string
}

// Ratio is the sweep's time over the raw program's.
func (o Overhead) Ratio() float64 { return o.Sweep.Seconds() / o.Raw.Seconds() }

// MeasureOverhead runs sw, whose points must form one group (one
// program), reps times through the sweep path (Run, one chunk) and reps
// times as its raw program, alternating, and reports the medians.
// Alternating keeps a change in the machine's load from landing on one
// side only.
func MeasureOverhead(ctx context.Context, b backend.Backend, sw *Sweep, reps int, memoryLimit int64) (Overhead, error) {
	if g := groupsOf(sw); len(g) != 1 {
		return Overhead{}, fmt.Errorf("%s: the overhead is measured on one program, but its points form %d groups", sw.File, len(g))
	}
	reps = max(reps, 1)
	var raw func() (time.Duration, error)
	if p := sw.Points[0].Spec.Precision; p == "f64" || p == "float64" {
		raw = rawRunner[float64](ctx, b, sw)
	} else {
		raw = rawRunner[float32](ctx, b, sw)
	}
	o := Overhead{Backend: b.Name()}
	for range reps {
		start := time.Now()
		res, err := Run(ctx, sw, Options{Backend: b.Name(), ChunkPoints: len(sw.Points), MemoryLimit: memoryLimit})
		if err != nil {
			return o, err
		}
		if len(res.Chunks) != 1 {
			return o, fmt.Errorf("%s: the sweep ran as %d programs, not one (raise the memory limit)", sw.File, len(res.Chunks))
		}
		o.SweepAll = append(o.SweepAll, time.Since(start))
		d, err := raw()
		if err != nil {
			return o, err
		}
		o.RawAll = append(o.RawAll, d)
	}
	o.Sweep, o.Raw = median(o.SweepAll), median(o.RawAll)
	return o, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rawRunner builds the program one chunk of sw's points runs (packProgram)
// and the input of each of its backend calls, once, and returns a function
// that runs that program on b from the start, in the calls the sweep
// makes, timed.
func rawRunner[T backend.Float](ctx context.Context, b backend.Backend, sw *Sweep) func() (time.Duration, error) {
	p, inputs, chunk := rawProgram[T](sw)
	steps := sw.Points[0].Spec.Steps
	c := backend.NewChunk(p, chunk)
	return func() (time.Duration, error) {
		start := time.Now()
		run, err := backend.Start(b, p)
		if err != nil {
			return 0, err
		}
		defer run.Close()
		for i, t0 := 0, 0; t0 < steps; i, t0 = i+1, t0+chunk {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if err := run.Advance(min(chunk, steps-t0), inputs[i], c); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
}

// rawProgram is the program a sweep's single chunk runs (packProgram), the
// input of each of its backend calls as the sweep fills it (every point's,
// or one point's when they share it), and the steps per call.
func rawProgram[T backend.Float](sw *Sweep) (*backend.Program[T], [][]T, int) {
	s0 := sw.Points[0].Spec
	p := packProgram[T](sw.Points, needs(sw))
	chunk := callSteps(s0, len(sw.Points))
	gens := make([]*stimulus.Generator, len(sw.Points))
	for k, pt := range sw.Points {
		gens[k] = stimulus.NewGenerator(pt.Spec)
	}
	var inputs [][]T
	for t0 := 0; t0 < s0.Steps; t0 += chunk {
		n := min(chunk, s0.Steps-t0)
		inputs = append(inputs, fillInputs(p, gens, t0, n, make([]T, p.Instances*p.Trials*n*p.Inputs)))
	}
	return p, inputs, chunk
}
