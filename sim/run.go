package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
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
	// larger ones stream to spill files in the run's staging directory
	// beside Out, which are assembled into result.npz at the end (0:
	// DefaultMaxMemory).
	MaxMemory int64
	// MemoryLimit is the most host memory in bytes a run may need (0: the
	// memory available when it starts, output.HostMemory). A run estimated
	// to need more is refused before it allocates anything; recordings
	// stream to disk when that makes it fit (see Check).
	MemoryLimit int64
	// SpecFile is recorded in meta.json.
	SpecFile string
	// Input, when set, replaces the spec's input generator; its (B, T)
	// must equal the spec's trials and steps (see ApplyInput).
	Input *stimulus.InputArray
	// InitState, when set, is v₀ for every trial, B × N, replacing the spec's.
	InitState []float64
	// InitStateFile is recorded in meta.json.
	InitStateFile string
	// PlotFormat is the pictures' format: png (also ""), svg or pdf.
	PlotFormat string

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
		return &spec.Error{File: s.File(), Field: "dims", Reason: fmt.Sprintf("the network has %d inputs but %s has %d per step", s.Dims[0], in.File, in.Inputs)}
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
	if err := output.CheckPlotFormat(opt.PlotFormat); err != nil {
		return nil, err
	}
	b, err := lookupBackend(s)
	if err != nil {
		return nil, err
	}
	if opt.Out == "" {
		return nil, fmt.Errorf("no output directory given")
	}
	est, err := check(s, b, opt, false)
	if err != nil {
		return nil, err
	}
	prec, _ := backend.ParsePrecision(s.Precision)
	if prec == backend.F64 {
		return runTyped[float64](ctx, s, b, opt, est)
	}
	return runTyped[float32](ctx, s, b, opt, est)
}

// DefaultMaxMemory is the size above which a run's recordings stream to
// disk instead of being held in memory.
const DefaultMaxMemory = 1_000_000_000

// testHooks let tests interrupt a run and inject failing files.
type testHooks struct {
	afterChunk func(done int) // after each chunk, with the steps done
	output     output.Hooks   // spill files and result.npz's array writers
	// freeDisk replaces output.FreeDisk.
	freeDisk func(dir string) (int64, bool)
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
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if _, err := checkHost(s, plan, backend.PrecisionOf[T](), opt, false); err != nil {
		return nil, err
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
	p.FirstInstance = s.NoiseInstance
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
			return nil, snapshotsError(s, size, opt)
		}
	}
	rec, err := output.NewRecording[T](plan, s.Dt, spillDir, opt.hooks.output)
	if err != nil {
		return nil, err
	}
	rec.Weights, rec.PlotFormat = weights, opt.PlotFormat
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

	// Chunks of at most ~32 MB of input, recordings and weight snapshots
	// per call (the size the estimate counted).
	chunk := opt.ChunkSteps
	if chunk <= 0 {
		stride := 0
		if p.Plasticity != nil {
			stride = p.Plasticity.Record.Stride
		}
		chunk = output.ChunkSteps(B, N, O, net.I, steps, elemSize[T](), weights.SnapshotBytes(), stride)
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
		if ctx.Err() != nil {
			return nil, &interrupted{fmt.Sprintf("run interrupted at step %d of %d", t0, steps), ctx}
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
		rec.PutInput(t0, n, net.I, in)
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

func runTyped[T backend.Float](ctx context.Context, s *spec.Spec, b backend.Backend, opt Options, est *Estimate) (sum *Summary, err error) {
	start := time.Now()
	// Stage the output first, so that an unusable output directory fails
	// before the run rather than after it.
	st, err := output.Begin(opt.Out, opt.hooks.output)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	spill := ""
	if est.Footprint.Streamed {
		spill = st.SpillDir()
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
	files, err := output.Write(ctx, st, s, res, output.RunInfo{
		Version: FullVersion(), SpecFile: opt.SpecFile, InputFile: opt.InputFile(), InitStateFile: opt.InitStateFile,
		Backend: done.Backend, Device: done.Device, Wall: wall, StepsPerSecond: done.StepsPerSecond,
	}, opt.Progress)
	if err != nil {
		return nil, err
	}
	done.ResultFile, done.MetaFile, done.PlotFile, done.WeightsPlotFile = files.Result, files.Meta, files.Plot, files.WeightsPlot
	done.Arrays, done.Streamed = files.Arrays, res.Streamed
	return done, nil
}

// interrupted is a run stopped by its context: the message says where and,
// in words, why (the signal); Unwrap gives the context's error, so
// errors.Is(err, context.Canceled) holds.
type interrupted struct {
	where string
	ctx   context.Context
}

func (e *interrupted) Error() string {
	cause := context.Cause(e.ctx)
	switch {
	case errors.Is(cause, context.DeadlineExceeded):
		return e.where + ": time limit reached"
	case cause == nil || cause == context.Canceled:
		return e.where
	}
	return e.where + ": " + cause.Error()
}

func (e *interrupted) Unwrap() error { return e.ctx.Err() }

// Estimate is what a run is estimated to need (see Check) and the limits
// it was checked against.
type Estimate struct {
	Footprint *output.Footprint
	// MemoryLimit is the host memory the run may use and MemorySource
	// where that limit comes from (MemoryLimit 0: unknown, not checked).
	MemoryLimit  int64
	MemorySource string
	// FreeDisk is the space free on the output directory's filesystem
	// (−1: unknown, not checked).
	FreeDisk int64
	// Device is the backend's estimate of its device memory, nil when the
	// backend holds none of its own or could not tell (Note says why).
	Device *backend.MemoryEstimate
	// Note says why a check was skipped.
	Note string
}

// Check estimates what a run of s with opt needs — host memory, disk in
// opt.Out, the backend's device memory — from the spec alone, and refuses a
// run that would not fit with an *output.LimitError (the estimate, the
// limit, what to change) before anything is allocated. Recordings that
// would not fit in memory stream to disk when that makes the run fit
// (Footprint.Streamed). It also refuses an unknown backend and an output
// directory that cannot be written. Run checks first; so does `ratesim
// validate` (with CheckSpec).
func Check(s *spec.Spec, opt Options) (*Estimate, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b, err := lookupBackend(s)
	if err != nil {
		return nil, err
	}
	return check(s, b, opt, false)
}

// CheckSpec is Check for a spec that may be meant for another machine
// (`ratesim validate`): a backend that is not compiled in is refused, but
// one that cannot run here only skips the device check, and Note says so.
func CheckSpec(s *spec.Spec, opt Options) (*Estimate, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b, err := backend.Lookup(s.Backend)
	if err == nil {
		return check(s, b, opt, true)
	}
	known := s.Backend == "auto" || s.Backend == ""
	for _, r := range backend.Registered() {
		known = known || r.Backend.Name() == s.Backend
	}
	if !known {
		return nil, &spec.Error{File: s.File(), Field: "backend", Reason: err.Error()}
	}
	est, cerr := check(s, nil, opt, true)
	if cerr != nil {
		return nil, cerr
	}
	est.Note = fmt.Sprintf("%v; its device memory was not checked", err)
	return est, nil
}

// lookupBackend finds the backend s names; an error names the spec's
// file and field.
func lookupBackend(s *spec.Spec) (backend.Backend, error) {
	b, err := backend.Lookup(s.Backend)
	if err != nil {
		return nil, &spec.Error{File: s.File(), Field: "backend", Reason: err.Error()}
	}
	return b, nil
}

// check runs Check's checks of s on backend b (nil: none).
func check(s *spec.Spec, b backend.Backend, opt Options, validating bool) (*Estimate, error) {
	plan, err := s.Record.Plan(s)
	if err != nil {
		return nil, err
	}
	prec, _ := backend.ParsePrecision(s.Precision)
	est, err := checkHost(s, plan, prec, opt, true)
	if err != nil {
		return nil, err
	}
	fp := est.Footprint
	if opt.Out != "" {
		if err := output.Writable(opt.Out); err != nil {
			var pe *fs.PathError
			if abs, _ := filepath.Abs(opt.Out); errors.As(err, &pe) && pe.Path != abs {
				return nil, fmt.Errorf("cannot write the output directory %s: %s, where it is staged and published, is not writable (%v)", opt.Out, pe.Path, pe.Err)
			}
			return nil, fmt.Errorf("cannot write in the output directory %s: %v", opt.Out, pathReason(err))
		}
		freeDisk := output.FreeDisk
		if opt.hooks.freeDisk != nil {
			freeDisk = opt.hooks.freeDisk
		}
		if free, ok := freeDisk(opt.Out); ok {
			est.FreeDisk = free
			if need := fp.DiskBytes(); need > free {
				return nil, &output.LimitError{File: s.File(), Resource: "disk space in " + opt.Out, Need: need, Limit: free,
					Source: "free on its filesystem", Parts: fp.Disk}
			}
		}
	}
	if me, ok := b.(backend.MemoryEstimator); ok {
		size := programSize(s, prec)
		dev, err := me.EstimateMemory(size)
		switch {
		case err != nil && validating:
			est.Note = fmt.Sprintf("backend %s: %v; its device memory was not checked", b.Name(), err)
		case err != nil:
			return nil, fmt.Errorf("backend %s: %w", b.Name(), err)
		case dev.Need > dev.Limit:
			what := "one trial"
			if size.Plastic != nil && !size.Plastic.PerTrial {
				what = "the trials sharing plastic weights (they cannot be split)"
			}
			return nil, &output.LimitError{File: s.File(), Resource: "device memory on " + dev.Device, Need: dev.Need, Limit: dev.Limit,
				Source: "one run may hold there",
				Parts: []output.Use{{What: what + " of " + fmt.Sprint(s.Dims[1]) + " units", Bytes: dev.Need,
					Hints: []string{"fewer hidden units (dims)", "precision f32", "--backend cpu"}}}}
		default:
			est.Device = &dev
		}
	}
	return est, nil
}

// checkHost estimates the host memory of a run of s and refuses it when it
// exceeds the limit; with allowStream, recordings that would not fit in
// memory are streamed instead when that makes the run fit.
func checkHost(s *spec.Spec, plan *spec.RecordPlan, prec backend.Precision, opt Options, allowStream bool) (*Estimate, error) {
	est := &Estimate{FreeDisk: -1}
	est.MemoryLimit, est.MemorySource = opt.MemoryLimit, "allowed by --memory-limit"
	if est.MemoryLimit <= 0 {
		est.MemoryLimit, est.MemorySource = 0, ""
		if m, source, ok := output.HostMemory(); ok {
			est.MemoryLimit, est.MemorySource = m, strings.TrimSuffix(source, ")")+"; --memory-limit sets another limit)"
		}
	}
	size := output.RunSize{Spec: s, Plan: plan, Precision: prec, Workers: runtime.GOMAXPROCS(0),
		InitState: opt.InitStateFile != "" || opt.InitState != nil}
	if in := opt.Input; in != nil && in.Values == nil {
		size.Input = in.Bytes()
	}
	if s.Plasticity != nil {
		pl, err := s.PlasticityPlan(nil) // builds no per-synapse arrays
		if err != nil {
			return nil, err
		}
		size.Plasticity = pl
	}
	fp := output.Estimate(size)
	if fp.Snapshots > opt.maxMemory() {
		return nil, snapshotsError(s, fp.Snapshots, opt)
	}
	limit := est.MemoryLimit
	streamed := fp.Recordings > opt.maxMemory()
	if !streamed && allowStream && limit > 0 && fp.Recordings > 0 && fp.HostBytes() > limit {
		streamed = true // streaming may make it fit
	}
	if streamed {
		if !allowStream {
			return nil, &spec.Error{File: s.File(), Field: "record", Reason: fmt.Sprintf("the recordings would take %s, more than can be held in memory; record less (record.every, record.window, record.units)",
				output.FormatBytes(fp.Recordings))}
		}
		size.Streamed = true
		fp = output.Estimate(size)
	}
	est.Footprint = fp
	if need := fp.HostBytes(); limit > 0 && need > limit {
		return nil, &output.LimitError{File: s.File(), Resource: "memory", Need: need, Limit: limit, Source: est.MemorySource, Parts: fp.Host}
	}
	return est, nil
}

// snapshotsError refuses weight snapshots of size bytes, over --max-memory.
func snapshotsError(s *spec.Spec, size int64, opt Options) error {
	return &spec.Error{File: s.File(), Field: "plasticity.record", Reason: fmt.Sprintf("the weight snapshots would take %s, over the in-memory limit of %s (--max-memory; snapshots are held in memory); record fewer (plasticity.record.every, what: block_means or synapses)",
		output.FormatBytes(size), output.FormatBytes(opt.maxMemory()))}
}

// programSize is the size of the program a run of s builds.
func programSize(s *spec.Spec, prec backend.Precision) backend.ProgramSize {
	size := backend.ProgramSize{Precision: prec,
		Shape: backend.Shape{Instances: 1, Trials: s.Trials, Units: s.Dims[1], Inputs: s.Dims[0], Outputs: s.Dims[2]}}
	if s.Plasticity == nil {
		return size
	}
	pl, err := s.PlasticityPlan(nil)
	if err != nil {
		return size
	}
	size.Plastic = &backend.PlasticSize{PerTrial: pl.PerTrial}
	for l, c := range pl.Conns {
		if c == nil {
			continue
		}
		cs := &backend.ConnectionSize{}
		for _, r := range c.Rules {
			cs.Adam = append(cs.Adam, r.Optimizer == backend.Adam)
			cs.Windows = append(cs.Windows, r.Average.Window)
		}
		size.Plastic.Connections[l] = cs
	}
	return size
}

// pathReason is the reason of a file system error, without the Go
// operation's name.
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
