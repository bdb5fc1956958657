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
  ratesim validate SPEC.yaml        check a spec without running it
  ratesim inspect SPEC.yaml [--masks DIR]   print the structure (areas, E/I, densities, spectral radius)
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
		err = cmdValidate(args[1:], stdout)
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
		fmt.Fprintf(stderr, "ratesim %s: %v\n", args[0], err)
		return 1
	}
	return 0
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

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run [SPEC.yaml] [flags]", stderr)
	backendName := fs.String("backend", "", "backend: auto, cpu (cuda in CUDA builds); overrides the spec")
	out := fs.String("out", "", "output directory (default ratesim-out/NAME)")
	seed := fs.Uint64("seed", 0, "random seed; overrides the spec's seed when set")
	precision := fs.String("precision", "", "f32 or f64; overrides the spec")
	trials := fs.Int("trials", 0, "number of trials; overrides the spec when > 0")
	steps := fs.Int("steps", 0, "number of steps; overrides the spec when > 0")
	example := fs.String("example", spec.DefaultExample, "built-in example to run when no SPEC is given")
	quiet := fs.Bool("quiet", false, "no progress line")
	maxMem := fs.Float64("max-memory", float64(sim.DefaultMaxMemory)/1e9, "GB of recordings held in memory; larger recordings stream to disk in the output directory")
	inputFile := fs.String("input", "", "input array X.npy shaped (trials, steps, inputs), batch-first as nn4n; sets trials and steps")
	initFile := fs.String("init-state", "", "initial states V0.npy shaped (trials, units) or (units,)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError{fmt.Errorf("expected one SPEC file, got %d arguments: %v", len(pos), pos)}
	}
	var sp *spec.Spec
	source := ""
	if len(pos) == 1 {
		source = pos[0]
		sp, err = spec.Load(source)
	} else {
		source = "built-in example " + *example
		sp, err = spec.LoadExample(*example)
	}
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["backend"] {
		sp.Backend = *backendName
	}
	if set["seed"] {
		sp.Seed = *seed
	}
	if set["precision"] {
		sp.Precision = *precision
	}
	if *trials > 0 {
		sp.Trials = *trials
	}
	if *steps > 0 {
		sp.Steps = *steps
	}
	var input *stimulus.InputArray
	if *inputFile != "" {
		if input, err = stimulus.LoadInput(*inputFile); err != nil {
			return err
		}
		if err := sim.ApplyInput(sp, input); err != nil {
			return err
		}
	}
	if err := sp.Validate(); err != nil {
		return fmt.Errorf("after applying flags: %w", err)
	}
	var init []float64
	if *initFile != "" {
		if init, err = spec.LoadInitState(*initFile, sp.Trials, sp.Dims[1]); err != nil {
			return err
		}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("ratesim-out", sp.Name)
	}
	if !(*maxMem > 0) {
		return usageError{fmt.Errorf("--max-memory must be > 0 GB, got %v", *maxMem)}
	}
	opt := sim.Options{Out: dir, SpecFile: source, Input: input, InitState: init, InitStateFile: *initFile,
		MaxMemory: int64(math.Min(*maxMem*1e9, math.MaxInt64/2))}
	if f, ok := stderr.(*os.File); ok && !*quiet && output.IsTerminal(f) {
		opt.Progress = stderr
	}
	fmt.Fprintf(stderr, "ratesim: running %s: %d units, %d trials × %d steps, %s, backend %s\n",
		source, sp.Dims[1], sp.Trials, sp.Steps, sp.Precision, sp.Backend)
	sum, err := sim.Run(ctx, sp, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ran on %s (%s) in %.3g s: %.0f steps/s × %d trials\n",
		sum.Backend, sum.Device, sum.Wall.Seconds(), sum.StepsPerSecond, sum.Trials)
	fmt.Fprintf(stdout, "results: %s\n", sum.ResultFile)
	if sum.Streamed {
		fmt.Fprintf(stdout, "  (recordings over --max-memory were streamed to disk)\n")
	}
	for _, name := range []string{"rates", "outputs", "states", "final_state", "final_rates", "time", "units",
		"weights", "weights_time", "final_weights_recurrent", "final_weights_input", "final_weights_readout"} {
		if shape, ok := sum.Arrays[name]; ok {
			fmt.Fprintf(stdout, "  %-12s %v\n", name, npz.FormatShape(shape))
		}
	}
	fmt.Fprintf(stdout, "meta:    %s\n", sum.MetaFile)
	if sum.PlotFile != "" {
		fmt.Fprintf(stdout, "picture: %s (trial 0: rates, units × time; outputs below)\n", sum.PlotFile)
	}
	if sum.WeightsPlotFile != "" {
		fmt.Fprintf(stdout, "weights: %s (first and last snapshot, out × in; recorded weights over time below)\n", sum.WeightsPlotFile)
	}
	fmt.Fprintf(stdout, "in Python: d = numpy.load(%q); d[\"rates\"]  # (trials, steps, units)\n", sum.ResultFile)
	return nil
}

func cmdValidate(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("expected one SPEC file")}
	}
	s, err := spec.Load(args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%s: %d inputs, %d units, %d outputs, %s; %d trials × %d steps)\n",
		args[0], s.Name, s.Dims[0], s.Dims[1], s.Dims[2], s.Activation, s.Trials, s.Steps)
	return nil
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
		return nil
	}
	data, err := spec.Example(args[0])
	if err != nil {
		return err
	}
	_, err = stdout.Write(data)
	return err
}
