package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ratesim/ratesim/backend"
)

// Size is one benchmark shape: K instances (K ≤ 1: one network) of an
// N-unit network, each run for B trials.
type Size struct{ N, B, K int }

// Instances is K, at least 1.
func (s Size) Instances() int { return max(s.K, 1) }

func (s Size) String() string {
	if s.K > 1 {
		return fmt.Sprintf("K=%d N=%d B=%d", s.K, s.N, s.B)
	}
	return fmt.Sprintf("N=%d B=%d", s.N, s.B)
}

func grid(ns, bs []int) []Size {
	var s []Size
	for _, n := range ns {
		for _, b := range bs {
			s = append(s, Size{N: n, B: b})
		}
	}
	return s
}

// DefaultSizes is the CPU grid of the engine-core issue: N ∈ {64, 256,
// 1024, 2048} × B ∈ {1, 32, 64}.
var DefaultSizes = grid([]int{64, 256, 1024, 2048}, []int{1, 32, 64})

// GPUSizes is the one-network grid of the CUDA issue: N ∈ {256, 1024,
// 4096} × B ∈ {1, 32, 256}.
var GPUSizes = grid([]int{256, 1024, 4096}, []int{1, 32, 256})

// SweepTrials is B for sweeps unless told otherwise.
const SweepTrials = 16

// DefaultSweeps is the sweep grid of the CUDA issue: K ∈ {256, 1024, 4096}
// instances of N ∈ {128, 256} units, B = 16 trials each.
var DefaultSweeps = func() []Size {
	var s []Size
	for _, k := range []int{256, 1024, 4096} {
		for _, n := range []int{128, 256} {
			s = append(s, Size{N: n, B: SweepTrials, K: k})
		}
	}
	return s
}()

// parsePairs reads "AxB,CxD" into pairs of positive integers.
func parsePairs(s, what, example string) ([][2]int, error) {
	var out [][2]int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		ab := strings.SplitN(strings.ToLower(f), "x", 2)
		if len(ab) != 2 {
			return nil, fmt.Errorf("%q: want %s pairs, e.g. %s", f, what, example)
		}
		a, err1 := strconv.Atoi(ab[0])
		b, err2 := strconv.Atoi(ab[1])
		if err1 != nil || err2 != nil || a < 1 || b < 1 {
			return nil, fmt.Errorf("%q: want positive integers %s, e.g. %s", f, what, example)
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

// ParseSizes reads "64x1,256x32" (N×B pairs, one network each).
func ParseSizes(s string) ([]Size, error) {
	p, err := parsePairs(s, "NxB", "256x32")
	if err != nil {
		return nil, fmt.Errorf("size %w", err)
	}
	out := make([]Size, len(p))
	for i, nb := range p {
		out[i] = Size{N: nb[0], B: nb[1]}
	}
	return out, nil
}

// ParseSweeps reads "256x128,1024x256" (K×N pairs: K instances of N units),
// each run for trials trials.
func ParseSweeps(s string, trials int) ([]Size, error) {
	if trials < 1 {
		return nil, fmt.Errorf("sweep trials %d: must be ≥ 1", trials)
	}
	p, err := parsePairs(s, "KxN", "1024x256")
	if err != nil {
		return nil, fmt.Errorf("sweep %w", err)
	}
	out := make([]Size, len(p))
	for i, kn := range p {
		if kn[0] > backend.MaxInstances {
			return nil, fmt.Errorf("sweep %q: K = %d exceeds the %d instances a program may have", strings.TrimSpace(strings.Split(s, ",")[i]), kn[0], backend.MaxInstances)
		}
		out[i] = Size{N: kn[1], B: trials, K: kn[0]}
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
	// Plastic, when set, lets the recurrent weights learn at every step
	// (see Plastic); nil measures the static step.
	Plastic *Plastic
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
	K         int     `json:"K,omitempty"` // instances; absent or 1: one network
	T         int     `json:"T"`
	Reps      int     `json:"reps"`
	MedianUS  float64 `json:"median_us_per_step"`
	MinUS     float64 `json:"min_us_per_step"`
	StepsPerS float64 `json:"steps_per_s"`
	GFLOPS    float64 `json:"gflops"`
	Noise     bool    `json:"noise"`
	Record    string  `json:"record,omitempty"` // what ratesim recorded and copied to the host
	Extra     string  `json:"extra,omitempty"`
	// BLAS is the BLAS libraries a CPU peer's process had loaded, as it
	// reports them (comma-separated real paths).
	BLAS string `json:"blas,omitempty"`
	// Plastic names the rule of a plastic measurement (see Plastic).
	Plastic string `json:"plastic,omitempty"`
}

// Instances is K, at least 1 (peers leave K out for one network).
func (r Result) Instances() int { return max(r.K, 1) }

// Flops is the effective flop count of one step: 2·K·B·(N² + N·I + N·O).
func Flops(n, b, i, o, k int) float64 {
	return 2 * float64(b) * float64(n*n+n*i+n*o) * float64(max(k, 1))
}

// Measure runs the nn4n step on b for one size and returns the median time
// per step over cfg.Reps repetitions of a step count calibrated to RepTime.
// One network (K ≤ 1) records rates and outputs every step, as nn4n does; a
// sweep (K > 1: K instances, each with its own weights, one shared input)
// records outputs only, as a parameter sweep would.
func Measure(ctx context.Context, b backend.Backend, cfg Config, sz Size) (Result, error) {
	if sz.N < 1 || sz.B < 1 {
		return Result{}, fmt.Errorf("bench size %v: N and B must be ≥ 1", sz)
	}
	if cfg.Precision == backend.F64 {
		return measure[float64](ctx, b, cfg, sz)
	}
	return measure[float32](ctx, b, cfg, sz)
}

// Program builds the benchmark program for one size: nn4n's CTRNN step
// with α = dt/τ = 0.1, no biases, σ_pre = σ_post = 0.05 when cfg.Noise.
// One network has normal weights N(0, 1/fan_in), as `ratesim bench` always
// had; the instances of a sweep have nn.Linear's uniform U(±1/√fan_in), as
// the peers use, each instance its own, and share one input.
func Program[T backend.Float](cfg Config, sz Size) *backend.Program[T] {
	K, N, I, O := sz.Instances(), sz.N, cfg.Inputs, cfg.Outputs
	act, err := backend.ParseActivation(cfg.Activation)
	if err != nil {
		panic(fmt.Sprintf("bench: %v", err))
	}
	p := &backend.Program[T]{
		Shape:       backend.Shape{Instances: K, Trials: sz.B, Units: N, Inputs: I, Outputs: O},
		Activation:  act,
		Seed:        1,
		SharedInput: true,
		Record:      backend.Record{Rates: K == 1, Outputs: O > 0},
	}
	rows := p.DriveRows()
	dl, rl := rows*N, (N+1)*O
	p.Drive, p.Readout = make([]T, K*dl), make([]T, K*rl)
	p.Alpha, p.Decay = make([]T, K*N), make([]T, K*N)
	p.PreNoise, p.PostNoise = make([]T, K*N), make([]T, K*N)
	alpha, sigma := T(0.1), T(0)
	if cfg.Noise {
		sigma = T(0.05)
	}
	for u := range p.Alpha {
		p.Alpha[u], p.Decay[u] = alpha, 1-alpha
		p.PreNoise[u], p.PostNoise[u] = alpha*sigma, sigma
	}
	sN, sI := 1/math.Sqrt(float64(N)), 1/math.Sqrt(float64(max(I, 1)))
	draw := func(rng *rand.Rand, s float64) T {
		if K == 1 {
			return T(rng.NormFloat64() * s)
		}
		return T((2*rng.Float64() - 1) * s)
	}
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), K)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < K; k += workers {
				rng := rand.New(rand.NewPCG(uint64(k), 0xbe7c4))
				d := p.Drive[k*dl : (k+1)*dl]
				for j := 0; j < N+I; j++ { // presynaptic rows; the bias row stays zero
					s := sN
					if j >= N {
						s = sI
					}
					for i := 0; i < N; i++ {
						d[j*N+i] = draw(rng, s)
					}
				}
				r := p.Readout[k*rl : (k+1)*rl]
				for x := 0; x < N*O; x++ { // the bias row stays zero
					r[x] = draw(rng, sN)
				}
			}
		}()
	}
	wg.Wait()
	if cfg.Plastic != nil {
		p.Plasticity = plasticity(*cfg.Plastic, p)
	}
	return p
}

func measure[T backend.Float](ctx context.Context, b backend.Backend, cfg Config, sz Size) (Result, error) {
	p := Program[T](cfg, sz)
	run, err := backend.Start(b, p)
	if err != nil {
		return Result{}, err
	}
	defer run.Close()
	input := make([]T, 0)
	var chunk *backend.Chunk[T]
	chunkM := -1
	steps := func(n int) error {
		if cap(input) < p.InputLen(n) {
			input = make([]T, p.InputLen(n))
			for i := range input {
				input[i] = T(0.1 * float64(i%7))
			}
		}
		if m := p.Record.Recorded(run.Done(), n); m != chunkM {
			chunk, chunkM = backend.NewChunk(p, m), m
		}
		return run.Advance(n, input[:p.InputLen(n)], chunk)
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
	per := make([]float64, max(cfg.Reps, 1))
	for r := range per {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		t0 := time.Now()
		if err := steps(n); err != nil {
			return Result{}, err
		}
		per[r] = float64(time.Since(t0).Nanoseconds()) / 1e3 / float64(n)
	}
	sort.Float64s(per)
	med := per[len(per)/2]
	dev := ""
	if ds, err := b.Devices(); err == nil && len(ds) > 0 {
		dev = ds[0].Name
	}
	record := "outputs"
	if p.Record.Rates {
		record = "rates,outputs"
	}
	return Result{Peer: "ratesim", Backend: b.Name(), Device: dev, Dtype: cfg.Precision.String(),
		N: sz.N, B: sz.B, I: cfg.Inputs, O: cfg.Outputs, K: sz.Instances(), T: n, Reps: len(per),
		MedianUS: med, MinUS: per[0], StepsPerS: 1e6 / med,
		GFLOPS: Flops(sz.N, sz.B, cfg.Inputs, cfg.Outputs, sz.K) / med / 1e3, Noise: cfg.Noise, Record: record,
		Plastic: plasticName(cfg.Plastic)}, nil
}

func plasticName(p *Plastic) string {
	if p == nil {
		return ""
	}
	return p.String()
}
