package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	// MaxMemory is the largest size in bytes of recordings held in memory;
	// larger ones stream to temporary files in Out, which are assembled
	// into result.npz at the end (0: DefaultMaxMemory).
	MaxMemory int64
	// SpecFile is recorded in meta.json.
	SpecFile string
	// Input, when set, replaces the spec's input generator; its (B, T)
	// must equal the spec's trials and steps (see ApplyInput).
	Input *InputArray
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

// DefaultMaxMemory is the size above which a run's recordings stream to
// disk instead of being held in memory.
const DefaultMaxMemory = 1_000_000_000

// testHooks let tests interrupt a run and inject failing files.
type testHooks struct {
	afterChunk func(done int)                            // after each chunk, with the steps done
	spill      func(dir, name string) (spillFile, error) // creates spill files
	wrapArray  func(name string, w io.Writer) io.Writer  // wraps result.npz's array writers
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
	WeightLayout []WeightSegment
	FinalWeights [3][]T
}

// recording is a run's recordings, held in memory or streamed to disk.
type recording[T backend.Float] struct {
	plan                   *recordPlan
	rates, states, outputs *recArray[T] // nil when not recorded
	finalState, finalRates []T
	time                   []float64
	streamed               bool
	weights                *weightRec[T] // nil when the weights are static
}

func (r *recording[T]) arrays() []*recArray[T] {
	var as []*recArray[T]
	for _, a := range []*recArray[T]{r.rates, r.outputs, r.states} {
		if a != nil {
			as = append(as, a)
		}
	}
	return as
}

// close releases the spill files, if any.
func (r *recording[T]) close() {
	for _, a := range r.arrays() {
		a.close()
	}
}

// recordBytes is the size of the recordings plan p makes for precision T.
func recordBytes[T backend.Float](p *recordPlan) int64 {
	per := 0
	if p.Rates {
		per += len(p.Units)
	}
	if p.States {
		per += len(p.Units)
	}
	per += p.O
	return int64(p.B) * int64(p.M) * int64(per) * int64(elemSize[T]())
}

// Simulate runs s on b and returns the recordings in memory without writing
// anything. Recordings larger than opt.MaxMemory are refused; Run streams
// them to disk instead.
func Simulate[T backend.Float](ctx context.Context, s *Spec, b backend.Backend, opt Options) (*Results[T], error) {
	plan, err := s.Record.plan(s)
	if err != nil {
		return nil, err
	}
	if size := recordBytes[T](plan); size > opt.maxMemory() {
		return nil, &SpecError{Field: "record", Reason: fmt.Sprintf("the recordings would take %.3g GB, over the in-memory limit of %.3g GB; record less (record.every, record.window, record.units) or use Run, which streams them to disk",
			float64(size)/1e9, float64(opt.maxMemory())/1e9)}
	}
	rec, err := simulate[T](ctx, s, b, opt, "")
	if err != nil {
		return nil, err
	}
	res := &Results[T]{FinalState: rec.finalState, FinalRates: rec.finalRates, Time: rec.time,
		Units: plan.Units, Recorded: plan.M}
	if w := rec.weights; w != nil {
		res.Weights, res.WeightsTime, res.WeightLayout, res.FinalWeights = w.snapshots, w.times, w.segs, w.final
	}
	if rec.rates != nil {
		res.Rates = rec.rates.mem
	}
	if rec.states != nil {
		res.States = rec.states.mem
	}
	if rec.outputs != nil {
		res.Outputs = rec.outputs.mem
	}
	return res, nil
}

// simulate runs s on b. With spillDir set the recordings stream to
// temporary files there, otherwise they are held in memory. The caller
// closes the result.
func simulate[T backend.Float](ctx context.Context, s *Spec, b backend.Backend, opt Options, spillDir string) (_ *recording[T], err error) {
	if in := opt.Input; in != nil && (in.Trials != s.Trials || in.Steps != s.Steps || in.Inputs != s.Dims[0]) {
		return nil, fmt.Errorf("%s is shaped (%d, %d, %d) but the run has %d trials, %d steps and %d inputs",
			in.File, in.Trials, in.Steps, in.Inputs, s.Trials, s.Steps, s.Dims[0])
	}
	if opt.InitState != nil && len(opt.InitState) != s.Trials*s.Dims[1] {
		return nil, fmt.Errorf("initial state has %d values, want %d trials × %d units", len(opt.InitState), s.Trials, s.Dims[1])
	}
	plan, err := s.Record.plan(s)
	if err != nil {
		return nil, err
	}
	net := BuildNetwork(s)
	brec := plan.backendRecord()
	p := Program[T](net, s.Trials, s.Seed, brec)
	if opt.InitState != nil {
		p.Init = make([]T, len(opt.InitState))
		for i, v := range opt.InitState {
			p.Init[i] = T(v)
		}
	}
	B, N, O, steps := s.Trials, net.N, net.O, s.Steps
	rec := &recording[T]{plan: plan, time: plan.times(s.Dt), streamed: spillDir != ""}
	if s.Plasticity != nil {
		pl, err := s.plasticPlan(net)
		if err != nil {
			return nil, err
		}
		p.Plasticity = toBackend[T](pl)
		rec.weights = newWeightRec(pl, p, steps, s.Dt)
		if size := rec.weights.bytes(); size > opt.maxMemory() {
			return nil, &SpecError{Field: "plasticity.record", Reason: fmt.Sprintf("the weight snapshots would take %.3g GB, over the in-memory limit of %.3g GB (snapshots are held in memory); record fewer (plasticity.record.every, what: block_means or synapses)",
				float64(size)/1e9, float64(opt.maxMemory())/1e9)}
		}
	}
	defer func() {
		if err != nil {
			rec.close()
		}
	}()
	newArray := func(on bool, name string) (*recArray[T], error) {
		if !on {
			return nil, nil
		}
		a := &recArray[T]{name: name, B: B, M: plan.M, width: plan.width(name)}
		if spillDir == "" {
			a.mem = make([]T, B*plan.M*a.width)
			return a, nil
		}
		create := createSpill
		if opt.hooks.spill != nil {
			create = opt.hooks.spill
		}
		f, err := create(spillDir, name)
		if err != nil {
			return nil, fmt.Errorf("cannot stream %s to %s: %w", name, spillDir, err)
		}
		a.file = f
		return a, nil
	}
	if rec.rates, err = newArray(plan.Rates, "rates"); err != nil {
		return nil, err
	}
	if rec.states, err = newArray(plan.States, "states"); err != nil {
		return nil, err
	}
	if rec.outputs, err = newArray(plan.Outputs, "outputs"); err != nil {
		return nil, err
	}

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
		if w := rec.weights; w != nil && w.snaps > 0 {
			// Weight snapshots of one chunk: also about 32 MB at most.
			perSnap := int64(w.mats) * int64(w.width) * int64(elemSize[T]())
			chunk = min(chunk, p.Plasticity.Record.Stride*int(max(1, (32<<20)/max(perSnap, 1))))
		}
	}
	gen := newInputGen(s)
	inBuf := make([]T, B*chunk*net.I)
	full := backend.NewChunk(p, brec.Recorded(0, chunk)+1)
	U := len(plan.Units)
	var pick []T
	if !plan.All {
		pick = make([]T, (brec.Recorded(0, chunk)+1)*U)
	}
	prog := newProgress(opt.Progress, "", int64(steps), "steps")
	defer prog.finish()
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
		if rec.weights != nil {
			c.Weights = rec.weights.chunk(t0, n)
		}
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
		if rec.weights != nil {
			rec.weights.put(t0, n, c.Weights)
		}
		j0, j1, m0 := plan.keep(t0, n)
		for bi := 0; bi < B && j1 > j0; bi++ {
			for _, x := range []struct {
				a   *recArray[T]
				src []T
				w   int
				sel bool
			}{{rec.rates, c.Rates, N, !plan.All}, {rec.states, c.States, N, !plan.All}, {rec.outputs, c.Outputs, O, false}} {
				if x.a == nil {
					continue
				}
				rows := x.src[(bi*m+j0)*x.w : (bi*m+j1)*x.w]
				if x.sel {
					rows = selectUnits(pick[:(j1-j0)*U], rows, N, plan.Units)
				}
				if err := x.a.put(bi, m0, rows); err != nil {
					return nil, err
				}
			}
		}
		t0 += n
		prog.update(int64(t0))
		if opt.hooks.afterChunk != nil {
			opt.hooks.afterChunk(t0)
		}
	}
	rec.finalState, rec.finalRates = make([]T, B*N), make([]T, B*N)
	if err := run.State(rec.finalState, rec.finalRates); err != nil {
		return nil, err
	}
	if rec.weights != nil {
		if err := rec.weights.finish(run); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// selectUnits gathers the given units of each row of rows (N values a row)
// into dst and returns it.
func selectUnits[T backend.Float](dst, rows []T, N int, units []int) []T {
	k := 0
	for r := 0; r+N <= len(rows); r += N {
		row := rows[r : r+N]
		for _, u := range units {
			dst[k] = row[u]
			k++
		}
	}
	return dst[:k]
}

func runTyped[T backend.Float](ctx context.Context, s *Spec, b backend.Backend, opt Options) (sum *Summary, err error) {
	start := time.Now()
	plan, err := s.Record.plan(s)
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
	if recordBytes[T](plan) > opt.maxMemory() {
		spill = opt.Out
	}
	res, err := simulate[T](ctx, s, b, opt, spill)
	if err != nil {
		return nil, err
	}
	defer res.close()
	wall := time.Since(start)
	done := &Summary{
		Dir: opt.Out, Backend: b.Name(), Precision: s.Precision,
		Steps: s.Steps, Trials: s.Trials, Wall: wall,
		StepsPerSecond: float64(s.Steps) / wall.Seconds(),
	}
	if devs, err := b.Devices(); err == nil && len(devs) > 0 {
		done.Device = devs[0].Name
	}
	if err := writeResults(ctx, s, res, done, opt); err != nil {
		return nil, err
	}
	return done, nil
}
