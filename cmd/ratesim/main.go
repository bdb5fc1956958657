package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/ratesim/ratesim/backend"
	_ "github.com/ratesim/ratesim/cpu"
	_ "github.com/ratesim/ratesim/gpu"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/stimulus"
)

const usage = `ratesim — rate-network simulation on CPU and GPU, with the same bits on both

Usage:
  ratesim run [SPEC.yaml] [flags]   run a spec; without one, the built-in example
  ratesim validate SPEC.yaml [flags]   check a spec, and that its run fits memory and disk, without running it
  ratesim sweep SWEEP.yaml [flags]   run a parameter sweep as batched programs; table.parquet, one row per point; resumable, --shard i/n, --slurm [--submit] (also: sweep validate|points|merge|status|examples)
  ratesim fit FIT.yaml [flags]   fit spec fields (CMA-ES, random, lhs), one batched program per generation; history table, best.yaml, fit.png (also: fit examples, --example ctrnn_tau)
  ratesim inspect SPEC.yaml [--masks DIR] [--plot FILE]   print (and draw) the structure (areas, E/I, densities, spectral radius)
  ratesim import nn4n MODEL -o SPEC.yaml   turn an nn4n model (.npz state dict, .pt/.pth checkpoint) into a spec
  ratesim devices                   list the backends compiled in and their devices
  ratesim bench [flags]             measure speed (steps/s, GFLOP/s) and compare peers
  ratesim examples [NAME]           list the built-in examples, or print one
  ratesim version

Run 'ratesim COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs one command and returns the exit status: 0 ok, 1 failure, 2 usage.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "validate":
		err = cmdValidate(args[1:], stdout, stderr)
	case "sweep":
		err = cmdSweep(ctx, args[1:], stdout, stderr)
	case "fit":
		err = cmdFit(ctx, args[1:], stdout, stderr)
	case "inspect":
		err = cmdInspect(args[1:], stdout, stderr)
	case "import":
		err = cmdImport(args[1:], stdout, stderr)
	case "devices":
		err = cmdDevices(stdout)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "examples":
		err = cmdExamples(args[1:], stdout)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "ratesim", sim.FullVersion())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "ratesim: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "ratesim %s: %v\n", args[0], err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "ratesim %s: %s\n", args[0], message(err))
		return 1
	}
	return 0
}

// message is err's text for a person: no Go error words. An interrupted
// run says so instead of "context canceled".
func message(err error) string {
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = strings.ReplaceAll(msg, ": "+context.Canceled.Error(), "")
		msg = strings.ReplaceAll(msg, context.Canceled.Error(), "interrupted")
	}
	return msg
}

type usageError struct{ error }

// parse parses flags that may come before or after positional arguments
// (Go's flag package stops at the first positional one).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ratesim %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// runFlags are run's flags that shape a run; validate takes them too, so
// that it checks the very run `ratesim run` would make.
type runFlags struct {
	backendName, out, precision, example, inputFile, initFile *string
	seed                                                      *uint64
	trials, steps                                             *int
	maxMem, memLimit                                          *float64
}

func defineRunFlags(fs *flag.FlagSet) *runFlags {
	rf := &runFlags{}
	rf.backendName = fs.String("backend", "", "backend: auto, cpu (cuda in CUDA builds); overrides the spec")
	rf.out = fs.String("out", "", "output directory (default ratesim-out/NAME)")
	rf.seed = fs.Uint64("seed", 0, "random seed; overrides the spec's seed when set")
	rf.precision = fs.String("precision", "", "f32 or f64; overrides the spec")
	rf.trials = fs.Int("trials", 0, "number of trials (≥ 1); overrides the spec")
	rf.steps = fs.Int("steps", 0, "number of steps (≥ 1); overrides the spec")
	rf.example = fs.String("example", spec.DefaultExample, "built-in example to run when no SPEC is given")
	rf.maxMem, rf.memLimit = memoryFlags(fs)
	rf.inputFile = fs.String("input", "", "input array X.npy shaped (trials, steps, inputs), batch-first as nn4n; sets trials and steps")
	rf.initFile = fs.String("init-state", "", "initial states V0.npy shaped (trials, units) or (units,)")
	return rf
}

// prepared is a run ready to start: its spec with the flags applied, its
// options (the input and initial states not loaded yet) and its estimate.
type prepared struct {
	sp     *spec.Spec
	opt    sim.Options
	est    *sim.Estimate
	source string
}

// prepare loads the spec (pos[0], or the example), applies the flags and
// checks the run with check, reading only the headers of the input and
// initial-state files: their values are loaded (load) once the run is
// known to fit.
func (rf *runFlags) prepare(fs *flag.FlagSet, pos []string, check func(*spec.Spec, sim.Options) (*sim.Estimate, error)) (*prepared, error) {
	var sp *spec.Spec
	var err error
	source := ""
	if len(pos) == 1 {
		source = pos[0]
		sp, err = spec.Load(source)
	} else {
		source = "built-in example " + *rf.example
		sp, err = spec.LoadExample(*rf.example)
	}
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["backend"] {
		sp.Backend = *rf.backendName
	}
	if set["seed"] {
		sp.Seed = *rf.seed
	}
	if set["precision"] {
		sp.Precision = *rf.precision
	}
	for _, f := range []struct {
		name string
		v    int
		dst  *int
	}{{"trials", *rf.trials, &sp.Trials}, {"steps", *rf.steps, &sp.Steps}} {
		if set[f.name] {
			if f.v < 1 {
				return nil, usageError{fmt.Errorf("--%s must be ≥ 1, got %d", f.name, f.v)}
			}
			*f.dst = f.v
		}
	}
	opt, err := memoryOptions(*rf.maxMem, *rf.memLimit)
	if err != nil {
		return nil, err
	}
	var input *stimulus.InputArray
	if *rf.inputFile != "" {
		if input, err = stimulus.OpenInput(*rf.inputFile); err != nil {
			return nil, err
		}
		if err := sim.ApplyInput(sp, input); err != nil {
			return nil, err
		}
	}
	if err := sp.Validate(); err != nil {
		if len(set) > 0 {
			return nil, fmt.Errorf("after applying flags: %w", err)
		}
		return nil, err
	}
	if *rf.initFile != "" {
		if err := spec.CheckInitState(*rf.initFile, sp.Trials, sp.Dims[1]); err != nil {
			return nil, err
		}
	}
	opt.Out = *rf.out
	if opt.Out == "" {
		opt.Out = filepath.Join("ratesim-out", sp.Name)
	}
	opt.SpecFile, opt.Input, opt.InitStateFile = source, input, *rf.initFile
	est, err := check(sp, opt)
	if err != nil {
		return nil, err
	}
	return &prepared{sp: sp, opt: opt, est: est, source: source}, nil
}

// load reads the input's values and the initial states.
func (pr *prepared) load() error {
	if in := pr.opt.Input; in != nil {
		if err := in.Load(); err != nil {
			return err
		}
	}
	if f := pr.opt.InitStateFile; f != "" {
		init, err := spec.LoadInitState(f, pr.sp.Trials, pr.sp.Dims[1])
		if err != nil {
			return err
		}
		pr.opt.InitState = init
	}
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run [SPEC.yaml] [flags]", stderr)
	rf := defineRunFlags(fs)
	quiet := fs.Bool("quiet", false, "no progress line")
	plotFormat := fs.String("plot-format", "png", "format of the pictures (rates.png, weights.png): png, svg or pdf; the extension follows it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError{fmt.Errorf("expected one SPEC file, got %d arguments: %v", len(pos), pos)}
	}
	if err := output.CheckPlotFormat(*plotFormat); err != nil {
		return usageError{fmt.Errorf("--plot-format: %w", err)}
	}
	if c, source, ok, err := loadCircuit(fs, rf, pos); ok {
		if err != nil {
			return err
		}
		return runCircuit(ctx, c, source, *rf.out, *plotFormat, *quiet, stdout, stderr)
	}
	pr, err := rf.prepare(fs, pos, sim.Check)
	if err != nil {
		return err
	}
	if pr.est.MemoryLimit > 0 {
		// The Go runtime collects harder near the limit rather than pass it.
		debug.SetMemoryLimit(pr.est.MemoryLimit)
	}
	if err := pr.load(); err != nil {
		return err
	}
	sp, opt := pr.sp, pr.opt
	opt.PlotFormat = *plotFormat
	if f, ok := stderr.(*os.File); ok && !*quiet && output.IsTerminal(f) {
		opt.Progress = stderr
	}
	fmt.Fprintf(stderr, "ratesim: running %s: %d units, %d trials × %d steps, %s, backend %s (about %s of memory)\n",
		pr.source, sp.Dims[1], sp.Trials, sp.Steps, sp.Precision, sp.Backend, output.FormatBytes(pr.est.Footprint.HostBytes()))
	sum, err := sim.Run(ctx, sp, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ran on %s (%s) in %.3g s: %.0f steps/s × %d trials\n",
		sum.Backend, sum.Device, sum.Wall.Seconds(), sum.StepsPerSecond, sum.Trials)
	fmt.Fprintf(stdout, "results: %s\n", sum.ResultFile)
	if sum.Streamed {
		fmt.Fprintf(stdout, "  (the recordings were streamed to disk: they did not fit --max-memory or the memory available)\n")
	}
	for _, name := range []string{"rates", "outputs", "states", "final_state", "final_rates", "time", "units",
		"weights", "weights_time", "final_weights_recurrent", "final_weights_input", "final_weights_readout"} {
		if shape, ok := sum.Arrays[name]; ok {
			fmt.Fprintf(stdout, "  %-12s %v\n", name, npz.FormatShape(shape))
		}
	}
	fmt.Fprintf(stdout, "meta:    %s\n", sum.MetaFile)
	if sum.PlotFile != "" {
		fmt.Fprintf(stdout, "picture: %s (trial 0: rates heat map, unit traces, outputs, input; time in ms)\n", sum.PlotFile)
	}
	if sum.WeightsPlotFile != "" {
		fmt.Fprintf(stdout, "weights: %s (initial and final matrices, out × in; weights and population-pair means over time)\n", sum.WeightsPlotFile)
	}
	fmt.Fprintf(stdout, "in Python: d = numpy.load(%q); d[\"rates\"]  # (trials, steps, units)\n", sum.ResultFile)
	return nil
}

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "validate SPEC.yaml [run's flags]", stderr)
	rf := defineRunFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Errorf("expected one SPEC file")}
	}
	pr, err := rf.prepare(fs, pos, sim.CheckSpec)
	if err != nil {
		return err
	}
	s, fp := pr.sp, pr.est.Footprint
	streamed := ""
	if fp.Streamed {
		streamed = ", recordings streamed"
	}
	fmt.Fprintf(stdout, "%s: ok (%s: %d inputs, %d units, %d outputs, %s; %d trials × %d steps; needs about %s of memory and %s of disk%s)\n",
		pos[0], s.Name, s.Dims[0], s.Dims[1], s.Dims[2], s.Activation, s.Trials, s.Steps,
		output.FormatBytes(fp.HostBytes()), output.FormatBytes(fp.DiskBytes()), streamed)
	if pr.est.Note != "" {
		fmt.Fprintf(stdout, "note: %s\n", pr.est.Note)
	}
	return nil
}

// memoryFlags defines --max-memory and --memory-limit.
func memoryFlags(fs *flag.FlagSet) (maxMem, limit *float64) {
	maxMem = fs.Float64("max-memory", float64(sim.DefaultMaxMemory)/1e9, "GB of recordings held in memory; larger recordings stream to disk beside the output directory")
	limit = fs.Float64("memory-limit", 0, "GB of memory a run may use at most; a run estimated to need more is refused before it starts (default: the memory available, from /proc/meminfo and the cgroup's limit)")
	return maxMem, limit
}

// memoryOptions turns --max-memory and --memory-limit into options.
func memoryOptions(maxMem, limit float64) (sim.Options, error) {
	if !(maxMem > 0) {
		return sim.Options{}, usageError{fmt.Errorf("--max-memory must be > 0 GB, got %v", maxMem)}
	}
	if !(limit >= 0) || math.IsInf(limit, 0) {
		return sim.Options{}, usageError{fmt.Errorf("--memory-limit must be a number of GB > 0, got %v", limit)}
	}
	gb := func(x float64) int64 { return int64(math.Min(x*1e9, math.MaxInt64/2)) }
	return sim.Options{MaxMemory: gb(maxMem), MemoryLimit: gb(limit)}, nil
}

func cmdDevices(stdout io.Writer) error {
	auto, autoErr := backend.Lookup("auto")
	for _, r := range backend.Registered() {
		b := r.Backend
		mark := " "
		if autoErr == nil && auto.Name() == b.Name() {
			mark = "*"
		}
		devs, err := b.Devices()
		if err != nil {
			fmt.Fprintf(stdout, "%s %-6s unavailable: %v\n", mark, b.Name(), err)
			continue
		}
		for i, d := range devs {
			name := b.Name()
			if i > 0 {
				name = ""
			}
			fmt.Fprintf(stdout, "%s %-6s %s — %s\n", mark, name, d.Name, d.Detail)
		}
	}
	fmt.Fprintln(stdout, "(* = what --backend auto picks)")
	return nil
}

func cmdExamples(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		for _, n := range spec.Examples() {
			fmt.Fprintln(stdout, n)
		}
		for _, n := range spec.BuiltInCircuits.Names() {
			fmt.Fprintf(stdout, "%s (circuit)\n", n)
		}
		return nil
	}
	data, err := spec.Example(args[0])
	if err != nil {
		if c, cerr := spec.BuiltInCircuits.Read(args[0]); cerr == nil {
			data, err = c, nil
		}
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(data)
	return err
}
