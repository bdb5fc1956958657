package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// Options are the run-time choices that are not part of the model.
type Options struct {
	// Out is the directory results are written to; it is created if needed.
	Out string
	// Progress receives a progress line on long runs (nil: none).
	Progress io.Writer
	// ChunkSteps caps the steps per backend call (0: chosen from memory).
	ChunkSteps int
	// MaxMemory is the largest size in bytes of recordings held in memory;
	// larger ones stream to temporary files in Out, which are assembled
	// into result.npz at the end (0: DefaultMaxMemory).
	MaxMemory int64
	// SpecFile is recorded in meta.json.
	SpecFile string
	// Input, when set, replaces the spec's input generator; its (B, T)
	// must equal the spec's trials and steps (see ApplyInput).
	Input *stimulus.InputArray
	// InitState, when set, is v₀ for every trial, B × N, replacing the spec's.
	InitState []float64
	// InitStateFile is recorded in meta.json.
	InitStateFile string

	hooks testHooks
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
func ApplyInput(s *spec.Spec, in *stimulus.InputArray) error {
	if in.Inputs != s.Dims[0] {
		return &spec.Error{Field: "dims", Reason: fmt.Sprintf("the network has %d inputs but %s has %d per step", s.Dims[0], in.File, in.Inputs)}
	}
	s.Trials, s.Steps = in.Trials, in.Steps
	s.Input = spec.Stimulus{Type: "none"}
	return nil
}

// Summary describes a finished run.
type Summary struct {
	Dir, ResultFile, MetaFile, PlotFile string
	// WeightsPlotFile is weights.png, for a plastic run that recorded
	// weight snapshots.
	WeightsPlotFile string
	Backend         string
	Device          string
	Precision       string
	Steps, Trials   int
	Wall            time.Duration
	StepsPerSecond  float64
	Arrays          map[string][]int
	// Streamed says the recordings went to disk during the run.
	Streamed bool
}

// Run runs spec s on the backend it names and writes DIR/result.npz and
// DIR/meta.json. On error or cancellation nothing that looks like a
// complete result is left behind.
func Run(ctx context.Context, s *spec.Spec, opt Options) (*Summary, error) {
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

// DefaultMaxMemory is the size above which a run's recordings stream to
// disk instead of being held in memory.
const DefaultMaxMemory = 1_000_000_000

// testHooks let tests interrupt a run and inject failing files.
type testHooks struct {
	afterChunk func(done int) // after each chunk, with the steps done
	output     output.Hooks   // spill files and result.npz's array writers
}

func (o Options) maxMemory() int64 {
	if o.MaxMemory > 0 {
		return o.MaxMemory
	}
	return DefaultMaxMemory
}

// Results are a run's recordings in memory, in the shapes result.npz holds.
type Results[T backend.Float] struct {
	Rates, States, Outputs []T // (B, M, U), (B, M, U), (B, M, O)
	FinalState, FinalRates []T // (B, N)
	Time                   []float64
	// Units are the U recorded hidden units.
	Units    []int
	Recorded int
	// A plastic run's weight snapshots (Mx, S, W) at WeightsTime (ms;
	// snapshot 0 is the initial weights), laid out as WeightLayout says,
	// and its final weights per connection (recurrent, input, readout; nil
	// when static), each (Mx, out, in). Mx is 1, or the trials with
	// per-trial weights.
	Weights      []T
	WeightsTime  []float64
	WeightLayout []output.WeightSegment
	FinalWeights [3][]T
}

// Simulate runs s on b and returns the recordings in memory without writing
// anything. Recordings larger than opt.MaxMemory are refused; Run streams
// them to disk instead.
func Simulate[T backend.Float](ctx context.Context, s *spec.Spec, b backend.Backend, opt Options) (*Results[T], error) {
	plan, err := s.Record.Plan(s)
	if err != nil {
		return nil, err
	}
	if size := output.RecordBytes[T](plan); size > opt.maxMemory() {
		return nil, &spec.Error{Field: "record", Reason: fmt.Sprintf("the recordings would take %.3g GB, over the in-memory limit of %.3g GB; record less (record.every, record.window, record.units) or use Run, which streams them to disk",
			float64(size)/1e9, float64(opt.maxMemory())/1e9)}
	}
	rec, err := simulate[T](ctx, s, b, opt, "")
	if err != nil {
		return nil, err
	}
	res := &Results[T]{FinalState: rec.FinalState, FinalRates: rec.FinalRates, Time: rec.Time,
		Units: plan.Units, Recorded: plan.M}
	if w := rec.Weights; w != nil {
		res.Weights, res.WeightsTime, res.WeightLayout, res.FinalWeights = w.Snapshots()
	}
	res.Rates, res.States, res.Outputs = rec.InMemory()
	return res, nil
}

// simulate runs s on b. With spillDir set the recordings stream to
// temporary files there, otherwise they are held in memory. The caller
// closes the result.
func simulate[T backend.Float](ctx context.Context, s *spec.Spec, b backend.Backend, opt Options, spillDir string) (_ *output.Recording[T], err error) {
	if in := opt.Input; in != nil && (in.Trials != s.Trials || in.Steps != s.Steps || in.Inputs != s.Dims[0]) {
		return nil, fmt.Errorf("%s is shaped (%d, %d, %d) but the run has %d trials, %d steps and %d inputs",
			in.File, in.Trials, in.Steps, in.Inputs, s.Trials, s.Steps, s.Dims[0])
	}
	if opt.InitState != nil && len(opt.InitState) != s.Trials*s.Dims[1] {
		return nil, fmt.Errorf("initial state has %d values, want %d trials × %d units", len(opt.InitState), s.Trials, s.Dims[1])
	}
	plan, err := s.Record.Plan(s)
	if err != nil {
		return nil, err
	}
	net := network.Build(s)
	brec := plan.BackendRecord()
	p := network.Program[T](net, s.Trials, s.Seed, brec)
	if opt.InitState != nil {
		p.Init = make([]T, len(opt.InitState))
		for i, v := range opt.InitState {
			p.Init[i] = T(v)
		}
	}
	B, N, O, steps := s.Trials, net.N, net.O, s.Steps
	var weights *output.Weights[T]
	if s.Plasticity != nil {
		pl, err := s.PlasticityPlan(net.Masks())
		if err != nil {
			return nil, err
		}
		p.Plasticity = network.Plasticity[T](pl)
		weights = output.NewWeights(pl, p, steps, s.Dt)
		if size := weights.Bytes(); size > opt.maxMemory() {
			return nil, &spec.Error{Field: "plasticity.record", Reason: fmt.Sprintf("the weight snapshots would take %.3g GB, over the in-memory limit of %.3g GB (snapshots are held in memory); record fewer (plasticity.record.every, what: block_means or synapses)",
				float64(size)/1e9, float64(opt.maxMemory())/1e9)}
		}
	}
	rec, err := output.NewRecording[T](plan, s.Dt, spillDir, opt.hooks.output)
	if err != nil {
		return nil, err
	}
	rec.Weights = weights
	defer func() {
		if err != nil {
			rec.Close()
		}
	}()

	run, err := backend.Start(b, p)
	if err != nil {
		return nil, fmt.Errorf("starting on backend %s: %w", b.Name(), err)
	}
	defer run.Close()

	// Chunks of at most ~32 MB of input and recordings per call.
	chunk := opt.ChunkSteps
	if chunk <= 0 {
		perStep := int64(B) * int64(2*N+O+net.I) * int64(elemSize[T]())
		chunk = int(max(1, min(int64(steps), (32<<20)/max(perStep, 1))))
		if perSnap := weights.SnapshotBytes(); perSnap > 0 {
			// Weight snapshots of one chunk: also about 32 MB at most.
			chunk = min(chunk, p.Plasticity.Record.Stride*int(max(1, (32<<20)/perSnap)))
		}
	}
	gen := stimulus.NewGenerator(s)
	inBuf := make([]T, B*chunk*net.I)
	full := backend.NewChunk(p, brec.Recorded(0, chunk)+1)
	var pick []T
	if !plan.All {
		pick = make([]T, (brec.Recorded(0, chunk)+1)*len(plan.Units))
	}
	prog := output.NewProgress(opt.Progress, "", int64(steps), "steps")
	defer prog.Finish()
	for t0 := 0; t0 < steps; {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run interrupted at step %d of %d: %w", t0, steps, err)
		}
		n := min(chunk, steps-t0)
		m := brec.Recorded(t0, n)
		c := &backend.Chunk[T]{}
		if full.Rates != nil {
			c.Rates = full.Rates[:B*m*N]
		}
		if full.States != nil {
			c.States = full.States[:B*m*N]
		}
		if full.Outputs != nil {
			c.Outputs = full.Outputs[:B*m*O]
		}
		if weights != nil {
			c.Weights = weights.Chunk(t0, n)
		}
		in := stimulus.Fill(gen, t0, n, inBuf)
		if opt.Input != nil {
			in = stimulus.FillArray(opt.Input, t0, n, inBuf)
		}
		if err := run.Advance(n, in, c); err != nil {
			var nf *backend.NonFiniteError
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("run stopped: %w", err)
			}
			return nil, fmt.Errorf("backend %s at step %d: %w", b.Name(), t0, err)
		}
		if weights != nil {
			weights.Put(t0, n, c.Weights)
		}
		if err := rec.Put(t0, n, m, N, O, c, pick); err != nil {
			return nil, err
		}
		t0 += n
		prog.Update(int64(t0))
		if opt.hooks.afterChunk != nil {
			opt.hooks.afterChunk(t0)
		}
	}
	rec.FinalState, rec.FinalRates = make([]T, B*N), make([]T, B*N)
	if err := run.State(rec.FinalState, rec.FinalRates); err != nil {
		return nil, err
	}
	if weights != nil {
		if err := weights.Finish(run); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func elemSize[T backend.Float]() int {
	var z T
	if _, ok := any(z).(float32); ok {
		return 4
	}
	return 8
}

func runTyped[T backend.Float](ctx context.Context, s *spec.Spec, b backend.Backend, opt Options) (sum *Summary, err error) {
	start := time.Now()
	plan, err := s.Record.Plan(s)
	if err != nil {
		return nil, err
	}
	if opt.Out == "" {
		return nil, fmt.Errorf("no output directory given")
	}
	// Create the output directory first, so that an unwritable one fails
	// before the run rather than after it; a failed run removes it again if
	// it made it and left it empty.
	if _, err := os.Stat(opt.Out); errors.Is(err, os.ErrNotExist) {
		defer func() {
			if sum == nil {
				os.Remove(opt.Out)
			}
		}()
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create output directory %s: %w", opt.Out, err)
	}
	spill := ""
	if output.RecordBytes[T](plan) > opt.maxMemory() {
		spill = opt.Out
	}
	res, err := simulate[T](ctx, s, b, opt, spill)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	wall := time.Since(start)
	done := &Summary{
		Dir: opt.Out, Backend: b.Name(), Precision: s.Precision,
		Steps: s.Steps, Trials: s.Trials, Wall: wall,
		StepsPerSecond: float64(s.Steps) / wall.Seconds(),
	}
	if devs, err := b.Devices(); err == nil && len(devs) > 0 {
		done.Device = devs[0].Name
	}
	files, err := output.Write(ctx, opt.Out, s, res, output.RunInfo{
		Version: FullVersion(), SpecFile: opt.SpecFile, InputFile: opt.InputFile(), InitStateFile: opt.InitStateFile,
		Backend: done.Backend, Device: done.Device, Wall: wall, StepsPerSecond: done.StepsPerSecond,
	}, opt.Progress, opt.hooks.output)
	if err != nil {
		return nil, err
	}
	done.ResultFile, done.MetaFile, done.PlotFile, done.WeightsPlotFile = files.Result, files.Meta, files.Plot, files.WeightsPlot
	done.Arrays, done.Streamed = files.Arrays, res.Streamed
	return done, nil
}
