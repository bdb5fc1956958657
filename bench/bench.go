package bench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
)

// Size is one benchmark shape.
type Size struct{ N, B int }

// DefaultSizes is the grid of the engine-core issue: N ∈ {64, 256, 1024,
// 2048} × B ∈ {1, 32, 64}.
var DefaultSizes = func() []Size {
	var s []Size
	for _, n := range []int{64, 256, 1024, 2048} {
		for _, b := range []int{1, 32, 64} {
			s = append(s, Size{n, b})
		}
	}
	return s
}()

// ParseSizes reads "64x1,256x32" (N×B pairs).
func ParseSizes(s string) ([]Size, error) {
	var out []Size
	for _, f := range strings.Split(s, ",") {
		nb := strings.SplitN(strings.TrimSpace(f), "x", 2)
		if len(nb) != 2 {
			return nil, fmt.Errorf("size %q: want NxB, e.g. 256x32", f)
		}
		n, err1 := strconv.Atoi(nb[0])
		b, err2 := strconv.Atoi(nb[1])
		if err1 != nil || err2 != nil || n < 1 || b < 1 {
			return nil, fmt.Errorf("size %q: want positive integers NxB", f)
		}
		out = append(out, Size{n, b})
	}
	return out, nil
}

// Config is what every measurement shares.
type Config struct {
	Precision       backend.Precision
	Inputs, Outputs int
	Activation      string
	Noise           bool          // σ_pre = σ_post = 0.05
	Reps            int           // repetitions; the median is reported
	RepTime         time.Duration // target duration of one repetition
}

// DefaultConfig matches the peer scripts' defaults.
func DefaultConfig() Config {
	return Config{Precision: backend.F32, Inputs: 4, Outputs: 2, Activation: "relu", Noise: true, Reps: 5, RepTime: 300 * time.Millisecond}
}

// Result is one measurement, in the same terms for ratesim and its peers.
type Result struct {
	Peer      string  `json:"peer"` // "ratesim" or the peer's name
	Backend   string  `json:"backend,omitempty"`
	Device    string  `json:"device"`
	Dtype     string  `json:"dtype"`
	N         int     `json:"N"`
	B         int     `json:"B"`
	I         int     `json:"I"`
	O         int     `json:"O"`
	K         int     `json:"K,omitempty"`
	T         int     `json:"T"`
	Reps      int     `json:"reps"`
	MedianUS  float64 `json:"median_us_per_step"`
	MinUS     float64 `json:"min_us_per_step"`
	StepsPerS float64 `json:"steps_per_s"`
	GFLOPS    float64 `json:"gflops"`
	Noise     bool    `json:"noise"`
	Extra     string  `json:"extra,omitempty"`
}

// Flops is the effective flop count of one step.
func Flops(n, b, i, o, k int) float64 {
	return 2 * float64(b) * float64(n*n+n*i+n*o) * float64(max(k, 1))
}

// Measure runs the nn4n step on b for one size and returns the median time
// per step over cfg.Reps repetitions of a step count calibrated to RepTime.
func Measure(ctx context.Context, b backend.Backend, cfg Config, sz Size) (Result, error) {
	if cfg.Precision == backend.F64 {
		return measure[float64](ctx, b, cfg, sz)
	}
	return measure[float32](ctx, b, cfg, sz)
}

func measure[T backend.Float](ctx context.Context, b backend.Backend, cfg Config, sz Size) (Result, error) {
	spec := sim.Defaults()
	spec.Dims = []int{cfg.Inputs, sz.N, cfg.Outputs}
	spec.Activation = cfg.Activation
	spec.Weights = "normal"
	if cfg.Noise {
		spec.PreactNoise, spec.PostactNoise = 0.05, 0.05
	}
	net := sim.BuildNetwork(&spec)
	p := sim.Program[T](net, sz.B, 1, backend.Record{Rates: true, Outputs: cfg.Outputs > 0})
	run, err := backend.Start(b, p)
	if err != nil {
		return Result{}, err
	}
	defer run.Close()
	input := make([]T, 0)
	steps := func(n int) error {
		if cap(input) < p.InputLen(n) {
			input = make([]T, p.InputLen(n))
			for i := range input {
				input[i] = T(0.1 * float64(i%7))
			}
		}
		c := backend.NewChunk(p, p.Record.Recorded(run.Done(), n))
		return run.Advance(n, input[:p.InputLen(n)], c)
	}
	// Calibrate: double the step count until one call takes ≥ RepTime/4.
	n := 1
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		t0 := time.Now()
		if err := steps(n); err != nil {
			return Result{}, err
		}
		el := time.Since(t0)
		if el >= cfg.RepTime/4 || n >= 1<<20 {
			n = max(1, int(float64(n)*float64(cfg.RepTime)/float64(max(el, time.Microsecond))))
			break
		}
		n *= 2
	}
	n = min(n, 1<<20)
	per := make([]float64, cfg.Reps)
	for r := range per {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		t0 := time.Now()
		if err := steps(n); err != nil {
			return Result{}, err
		}
		per[r] = float64(time.Since(t0).Microseconds()) / float64(n)
	}
	sort.Float64s(per)
	med := per[len(per)/2]
	dev := ""
	if ds, err := b.Devices(); err == nil && len(ds) > 0 {
		dev = ds[0].Name
	}
	return Result{Peer: "ratesim", Backend: b.Name(), Device: dev, Dtype: cfg.Precision.String(),
		N: sz.N, B: sz.B, I: cfg.Inputs, O: cfg.Outputs, T: n, Reps: cfg.Reps,
		MedianUS: med, MinUS: per[0], StepsPerS: 1e6 / med,
		GFLOPS: Flops(sz.N, sz.B, cfg.Inputs, cfg.Outputs, 1) / med / 1e3, Noise: cfg.Noise}, nil
}

// Table prints results side by side with the peer's ratio (peer time /
// ratesim time: > 1 means ratesim is faster).
func Table(w io.Writer, ours []Result, peers []Result) {
	find := func(r Result) *Result {
		for i := range peers {
			p := &peers[i]
			if p.N == r.N && p.B == r.B && p.K == r.K {
				return p
			}
		}
		return nil
	}
	fmt.Fprintf(w, "%6s %4s | %12s %10s %9s", "N", "B", "µs/step", "steps/s", "GFLOP/s")
	if len(peers) > 0 {
		fmt.Fprintf(w, " | %-10s %12s %9s %8s", "peer", "µs/step", "GFLOP/s", "speedup")
	}
	fmt.Fprintln(w)
	for _, r := range ours {
		fmt.Fprintf(w, "%6d %4d | %12.2f %10.0f %9.2f", r.N, r.B, r.MedianUS, r.StepsPerS, r.GFLOPS)
		if p := find(r); p != nil {
			fmt.Fprintf(w, " | %-10s %12.2f %9.2f %7.2fx", p.Peer, p.MedianUS, p.GFLOPS, p.MedianUS/r.MedianUS)
		}
		fmt.Fprintln(w)
	}
}
