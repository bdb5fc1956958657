package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ratesim/ratesim/backend"
)

// Options are the run-time choices that are not part of the model.
type Options struct {
	// Out is the directory results are written to; it is created if needed.
	Out string
	// Progress receives a progress line on long runs (nil: none).
	Progress io.Writer
	// ChunkSteps caps the steps per backend call (0: chosen from memory).
	ChunkSteps int
	// SpecFile is recorded in meta.json.
	SpecFile string
	// Input, when set, replaces the spec's input generator; its (B, T)
	// must equal the spec's trials and steps (see ApplyInput).
	Input *InputArray
	// InitState, when set, is v₀ for every trial, B × N, replacing the spec's.
	InitState []float64
	// InitStateFile is recorded in meta.json.
	InitStateFile string
}

// InputFile is the input file's name, if any.
func (o Options) InputFile() string {
	if o.Input == nil {
		return ""
	}
	return o.Input.File
}

// ApplyInput makes s agree with an input file: trials and steps are taken
// from its shape, and its input count must match dims[0].
func ApplyInput(s *Spec, in *InputArray) error {
	if in.Inputs != s.Dims[0] {
		return &SpecError{Field: "dims", Reason: fmt.Sprintf("the network has %d inputs but %s has %d per step", s.Dims[0], in.File, in.Inputs)}
	}
	s.Trials, s.Steps = in.Trials, in.Steps
	s.Input = InputSpec{Type: "none"}
	return nil
}

// Summary describes a finished run.
type Summary struct {
	Dir, ResultFile, MetaFile, PlotFile string
	Backend                             string
	Device                              string
	Precision                           string
	Steps, Trials                       int
	Wall                                time.Duration
	StepsPerSecond                      float64
	Arrays                              map[string][]int
}

// Run runs spec s on the backend it names and writes DIR/result.npz and
// DIR/meta.json. On error or cancellation nothing that looks like a
// complete result is left behind.
func Run(ctx context.Context, s *Spec, opt Options) (*Summary, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b, err := backend.Lookup(s.Backend)
	if err != nil {
		return nil, err
	}
	prec, _ := backend.ParsePrecision(s.Precision)
	if prec == backend.F64 {
		return runTyped[float64](ctx, s, b, opt)
	}
	return runTyped[float32](ctx, s, b, opt)
}

// Results are a run's recordings in memory, in the shapes result.npz holds.
type Results[T backend.Float] struct {
	Rates, States, Outputs []T // (B, M, N), (B, M, N), (B, M, O)
	FinalState, FinalRates []T // (B, N)
	Time                   []float64
	Recorded               int
}

// Simulate runs s on b and returns the recordings without writing anything.
func Simulate[T backend.Float](ctx context.Context, s *Spec, b backend.Backend, opt Options) (*Results[T], error) {
	if in := opt.Input; in != nil && (in.Trials != s.Trials || in.Steps != s.Steps || in.Inputs != s.Dims[0]) {
		return nil, fmt.Errorf("%s is shaped (%d, %d, %d) but the run has %d trials, %d steps and %d inputs",
			in.File, in.Trials, in.Steps, in.Inputs, s.Trials, s.Steps, s.Dims[0])
	}
	if opt.InitState != nil && len(opt.InitState) != s.Trials*s.Dims[1] {
		return nil, fmt.Errorf("initial state has %d values, want %d trials × %d units", len(opt.InitState), s.Trials, s.Dims[1])
	}
	net := BuildNetwork(s)
	rec := backend.Record{Rates: *s.Record.Rates, States: *s.Record.States, Outputs: *s.Record.Outputs && net.O > 0, Stride: s.Record.Every}
	p := Program[T](net, s.Trials, s.Seed, rec)
	if opt.InitState != nil {
		p.Init = make([]T, len(opt.InitState))
		for i, v := range opt.InitState {
			p.Init[i] = T(v)
		}
	}
	run, err := backend.Start(b, p)
	if err != nil {
		return nil, fmt.Errorf("starting on backend %s: %w", b.Name(), err)
	}
	defer run.Close()

	B, N, O, steps := s.Trials, net.N, net.O, s.Steps
	M := rec.Recorded(0, steps)
	const maxResultBytes = 16 << 30
	var elem T
	size := int64(B) * int64(M) * int64(2*N+O) * int64(sizeOf(elem))
	if size > maxResultBytes {
		return nil, &SpecError{Field: "record", Reason: fmt.Sprintf("the recordings would take %.1f GB in memory; record less often (record.every) or fewer steps", float64(size)/1e9)}
	}
	res := &Results[T]{Recorded: M, Time: make([]float64, M)}
	for m := range res.Time {
		res.Time[m] = float64((m+1)*rec.Every()) * s.Dt
	}
	alloc := func(on bool, w int) []T {
		if on && w > 0 {
			return make([]T, B*M*w)
		}
		return nil
	}
	res.Rates, res.States, res.Outputs = alloc(rec.Rates, N), alloc(rec.States, N), alloc(rec.Outputs, O)

	// Chunks of at most ~32 MB of input and recordings per call.
	chunk := opt.ChunkSteps
	if chunk <= 0 {
		perStep := int64(B) * int64(2*N+O+net.I) * int64(sizeOf(elem))
		chunk = int(max(1, min(int64(steps), (32<<20)/max(perStep, 1))))
	}
	gen := newInputGen(s)
	inBuf := make([]T, B*chunk*net.I)
	prog := newProgress(opt.Progress, steps)
	defer prog.finish()
	m0 := 0
	for t0 := 0; t0 < steps; {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run interrupted at step %d of %d: %w", t0, steps, err)
		}
		n := min(chunk, steps-t0)
		m := rec.Recorded(t0, n)
		c := backend.NewChunk(p, m)
		in := fillInput(gen, t0, n, inBuf)
		if opt.Input != nil {
			in = fillInputArray(opt.Input, t0, n, inBuf)
		}
		if err := run.Advance(n, in, c); err != nil {
			var nf *backend.NonFiniteError
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("run stopped: %w", err)
			}
			return nil, fmt.Errorf("backend %s at step %d: %w", b.Name(), t0, err)
		}
		scatter(res.Rates, c.Rates, B, M, m0, m, N)
		scatter(res.States, c.States, B, M, m0, m, N)
		scatter(res.Outputs, c.Outputs, B, M, m0, m, O)
		t0 += n
		m0 += m
		prog.update(t0)
	}
	res.FinalState, res.FinalRates = make([]T, B*N), make([]T, B*N)
	if err := run.State(res.FinalState, res.FinalRates); err != nil {
		return nil, err
	}
	return res, nil
}

// scatter copies a chunk [B][m][w] into the whole [B][M][w] at record m0.
func scatter[T backend.Float](whole, chunk []T, rows, M, m0, m, w int) {
	if whole == nil || m == 0 {
		return
	}
	for i := 0; i < rows; i++ {
		copy(whole[(i*M+m0)*w:(i*M+m0+m)*w], chunk[i*m*w:(i+1)*m*w])
	}
}

func sizeOf[T backend.Float](T) int {
	var z T
	if _, ok := any(z).(float32); ok {
		return 4
	}
	return 8
}

func runTyped[T backend.Float](ctx context.Context, s *Spec, b backend.Backend, opt Options) (*Summary, error) {
	start := time.Now()
	res, err := Simulate[T](ctx, s, b, opt)
	if err != nil {
		return nil, err
	}
	wall := time.Since(start)
	sum := &Summary{
		Dir: opt.Out, Backend: b.Name(), Precision: s.Precision,
		Steps: s.Steps, Trials: s.Trials, Wall: wall,
		StepsPerSecond: float64(s.Steps) / wall.Seconds(),
	}
	if devs, err := b.Devices(); err == nil && len(devs) > 0 {
		sum.Device = devs[0].Name
	}
	if err := writeResults(s, res, sum, opt); err != nil {
		return nil, err
	}
	return sum, nil
}
