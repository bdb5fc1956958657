package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/sweep"
)

const sweepSynopsis = `sweep [validate|points|examples|merge|status|bench] [SWEEP.yaml|DIR] [flags]

  ratesim sweep SWEEP.yaml [--out DIR] [--backend B] [--csv] [--quiet]   run every point, write DIR/table.parquet, DIR/meta.json, DIR/sweep.png
  ratesim sweep SWEEP.yaml --out DIR --resume                            go on with a stopped sweep (rerunning into DIR does too)
  ratesim sweep SWEEP.yaml --out DIR --shard i/n                         run shard i of n (0 ≤ i < n) into DIR/shards/i-of-n
  ratesim sweep merge DIR [--csv]                                        join DIR's shards into DIR/table.parquet
  ratesim sweep status DIR                                               points and chunks done, missing, failed; shards done, running, failed
  ratesim sweep SWEEP.yaml --out DIR --slurm --shards n [--submit]       write (and submit) DIR/slurm/array.sh and merge.sh
  ratesim sweep --example tau_noise                                      run a built-in example sweep
  ratesim sweep validate SWEEP.yaml                                      check every point and the chunks' memory without running
  ratesim sweep points SWEEP.yaml [--write DIR]                          list the points (and write each one's spec for ratesim run)
  ratesim sweep examples [NAME]                                          list the built-in example sweeps, or print one
  ratesim sweep bench [--sizes KxN] [--peers torch]                      the sweep path vs its raw program (and PyTorch) in one run`

// cmdSweep runs `ratesim sweep`.
func cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		switch args[0] {
		case "validate", "points", "examples", "merge", "status":
			sub, args = args[0], args[1:]
		case "bench":
			return cmdSweepBench(ctx, args[1:], stdout, stderr)
		}
	}
	if sub == "examples" {
		if len(args) == 0 {
			for _, n := range sweep.Examples() {
				fmt.Fprintln(stdout, n)
			}
			return nil
		}
		data, err := sweep.Example(args[0])
		if err != nil {
			return err
		}
		_, err = stdout.Write(data)
		return err
	}
	if sub == "status" {
		if len(args) != 1 {
			return usageError{fmt.Errorf("ratesim sweep status takes one DIR")}
		}
		r, err := sweep.Status(args[0])
		if err != nil {
			return err
		}
		r.Write(stdout)
		return nil
	}
	fs := newFlags("sweep", sweepSynopsis, stderr)
	example := fs.String("example", "", "run a built-in example sweep instead of SWEEP.yaml (see ratesim sweep examples)")
	out := fs.String("out", "", "output directory (default ratesim-sweep/NAME)")
	backendName := fs.String("backend", "", "backend: auto, cpu (cuda in CUDA builds); overrides the base spec")
	withCSV := fs.Bool("csv", false, "also write DIR/table.csv")
	quiet := fs.Bool("quiet", false, "no progress line")
	chunk := fs.Int("chunk-points", 0, "points per batched program (0: the sweep's chunk_points, else from memory)")
	write := fs.String("write", "", "with points: write each point's spec into this directory")
	shardFlag := fs.String("shard", "", "run only shard i/n (0 ≤ i < n): a contiguous range of points, into DIR/shards/i-of-n")
	resume := fs.Bool("resume", false, "go on with the sweep in DIR (an error if DIR has none); rerunning into DIR resumes too")
	noPlot := fs.Bool("no-plot", false, "no DIR/sweep.png")
	plotMetric := fs.String("plot-metric", "", "the metric DIR/sweep.png shows (default: the first)")
	plotAxes := fs.String("plot-axes", "", "one axis (lines) or two, comma-separated (heat map) for DIR/sweep.png (default: the first two of a product)")
	slurm := fs.Bool("slurm", false, "write DIR/slurm/array.sh (one array task per shard) and DIR/slurm/merge.sh instead of running")
	submit := fs.Bool("submit", false, "with --slurm: submit both with sbatch (the merge after the array succeeds)")
	shards := fs.Int("shards", 0, "with --slurm: shards, one per array task (default: the sweep's slurm: shards, else the plan's chunks, at most 100)")
	program := fs.String("ratesim", "", "with --slurm: the ratesim the jobs run (default: this one)")
	var sl sweep.Slurm
	// Each resource flag overrides the sweep file's slurm: section.
	fs.StringVar(&sl.Partition, "partition", "", "with --slurm: sbatch --partition")
	fs.StringVar(&sl.Time, "time", "", "with --slurm: sbatch --time (e.g. 1:00:00)")
	fs.StringVar(&sl.GPUsPerTask, "gpus-per-task", "", "with --slurm: sbatch --gpus-per-task")
	fs.StringVar(&sl.CPUsPerTask, "cpus-per-task", "", "with --slurm: sbatch --cpus-per-task")
	fs.StringVar(&sl.Mem, "mem", "", "with --slurm: sbatch --mem (e.g. 8G)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	pic := sweep.PictureOptions{Off: *noPlot, Metric: *plotMetric}
	if *plotAxes != "" {
		pic.Axes = strings.Split(*plotAxes, ",")
	}
	if sub == "merge" {
		if len(pos) != 1 {
			return usageError{fmt.Errorf("ratesim sweep merge takes one DIR")}
		}
		m, err := sweep.Merge(pos[0], *withCSV, pic)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "merged %d shards: %d points, %d failed\ntable: %s\n", m.Shards, m.Points, m.Failed, m.Files.Table)
		if m.Files.CSV != "" {
			fmt.Fprintf(stdout, "csv:   %s\n", m.Files.CSV)
		}
		fmt.Fprintf(stdout, "meta:  %s\n", m.Files.Meta)
		printPicture(stdout, stderr, m.Picture, m.PictureErr)
		return nil
	}
	var sw *sweep.Sweep
	name := *example
	switch {
	case len(pos) == 1 && *example == "":
		sw, err = sweep.Load(pos[0])
		name = strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	case len(pos) == 0 && *example != "":
		sw, err = sweep.LoadExample(*example)
	default:
		return usageError{fmt.Errorf("expected one SWEEP file or --example NAME")}
	}
	if err != nil {
		return err
	}
	if *chunk < 0 {
		return usageError{fmt.Errorf("--chunk-points must be ≥ 0, got %d", *chunk)}
	}
	opt := sweep.Options{Backend: *backendName, ChunkPoints: *chunk, Picture: pic}
	if *shardFlag != "" {
		if opt.Shard, err = sweep.ParseShard(*shardFlag); err != nil {
			return usageError{fmt.Errorf("--shard: %w", err)}
		}
	}
	switch sub {
	case "validate":
		pl, err := sweep.Check(sw, opt)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d points are valid specs; %d chunks on backend %s (largest ≈ %s of %s allowed)\n",
			sw.File, len(sw.Points), len(pl.Chunks), sw.BackendName(opt), output.FormatBytes(pl.Bytes), output.FormatBytes(pl.Limit))
		return nil
	case "points":
		for _, p := range sw.Points {
			fmt.Fprintf(stdout, "%s seed=%d noise_instance=%d\n", sw.Label(p), p.Seed, p.NoiseInstance)
		}
		if *write != "" {
			files, err := sweep.WritePoints(*write, sw)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %d point specs to %s (run one with ratesim run %s)\n", len(files), *write, files[0])
		}
		return nil
	}
	if *write != "" {
		return usageError{fmt.Errorf("--write belongs to ratesim sweep points")}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("ratesim-sweep", name)
	}
	if *slurm {
		if *shardFlag != "" || *resume {
			return usageError{fmt.Errorf("--slurm makes its own shards; leave out --shard and --resume")}
		}
		return writeSlurm(sw, dir, *example, pos, opt, *withCSV, *shards, *program, *submit, &sl, stdout)
	}
	if *submit || *shards != 0 {
		return usageError{fmt.Errorf("--submit and --shards belong to --slurm")}
	}
	if *resume {
		if _, err := os.Stat(filepath.Join(opt.Shard.Dir(dir), "journal", "sweep.json")); err != nil {
			return fmt.Errorf("--resume: %s has no sweep to resume (%v)", opt.Shard.Dir(dir), err)
		}
	}
	if !*quiet && output.IsTerminal(os.Stderr) {
		opt.Progress = stderr
	}
	res, err := sweep.Execute(ctx, sw, dir, opt, *withCSV)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%d points", res.Points)
	if opt.Shard.N != 0 {
		what = fmt.Sprintf("shard %s: %d points", opt.Shard, res.Points)
	}
	fmt.Fprintf(stdout, "%s (%d resumed, %d computed in %d chunks) on %s in %.2fs; %d failed\n",
		what, res.Resumed, res.Computed, res.Chunks, res.Backend, res.Wall.Seconds(), res.Failed)
	files := res.Files
	fmt.Fprintf(stdout, "table: %s\n", files.Table)
	if files.CSV != "" {
		fmt.Fprintf(stdout, "csv:   %s\n", files.CSV)
	}
	fmt.Fprintf(stdout, "meta:  %s\n", files.Meta)
	if opt.Shard.N != 0 {
		fmt.Fprintf(stdout, "when every shard is done: ratesim sweep merge %s\n", dir)
		return nil
	}
	printPicture(stdout, stderr, res.Picture, res.PictureErr)
	if files.CSV != "" {
		// pandas reads CSV with nothing else installed.
		fmt.Fprintf(stdout, "read it: python3 -c \"import pandas; print(pandas.read_csv('%s'))\"\n", files.CSV)
	} else {
		fmt.Fprintf(stdout, "read it: python3 -c \"import pandas; print(pandas.read_parquet('%s'))\"  (needs pyarrow; --csv also writes table.csv)\n", files.Table)
	}
	return nil
}

func printPicture(stdout, stderr io.Writer, name string, err error) {
	if err != nil {
		// The table is the result; a picture that cannot be drawn is a note.
		fmt.Fprintf(stderr, "ratesim: %v\n", err)
	} else if name != "" {
		fmt.Fprintf(stdout, "plot:  %s\n", name)
	}
}

// writeSlurm writes (and with submit submits) the Slurm scripts of the
// sweep: every array task runs this command's sweep arguments with
// --shard, so the shards compute what an unsharded run would.
func writeSlurm(sw *sweep.Sweep, dir, example string, pos []string, opt sweep.Options, withCSV bool, shards int, program string, submit bool,
	sl *sweep.Slurm, stdout io.Writer) error {
	// The sweep file's slurm: section fills what the flags leave out.
	file := sw.Spec.Slurm
	for _, f := range []struct {
		flag *string
		file string
	}{{&sl.Partition, file.Partition}, {&sl.Time, file.Time}, {&sl.GPUsPerTask, file.GPUsPerTask}, {&sl.CPUsPerTask, file.CPUsPerTask}, {&sl.Mem, file.Mem}} {
		if *f.flag == "" {
			*f.flag = f.file
		}
	}
	if shards == 0 {
		shards = file.Shards
	}
	if shards < 0 {
		return usageError{fmt.Errorf("--shards (or slurm: shards:) must be ≥ 1, got %d", shards)}
	}
	if shards == 0 {
		pl, err := sweep.Check(sw, opt)
		if err != nil {
			return err
		}
		shards = min(len(pl.Chunks), 100)
	}
	shards = min(shards, len(sw.Points))
	abs := func(p string) (string, error) { return filepath.Abs(p) }
	var err error
	if sl.Dir, err = abs(dir); err != nil {
		return err
	}
	if program == "" {
		if program, err = os.Executable(); err != nil {
			return fmt.Errorf("cannot find this program for the jobs (give --ratesim PATH): %w", err)
		}
	}
	if sl.Program, err = abs(program); err != nil {
		return err
	}
	if example != "" {
		sl.Args = []string{"--example", example}
		sl.Name = example
	} else {
		f, err := abs(pos[0])
		if err != nil {
			return err
		}
		sl.Args = []string{f}
		sl.Name = strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
	}
	sl.Args = append(sl.Args, "--out", sl.Dir)
	if opt.Backend != "" {
		sl.Args = append(sl.Args, "--backend", opt.Backend)
	}
	if opt.ChunkPoints != 0 {
		sl.Args = append(sl.Args, "--chunk-points", fmt.Sprint(opt.ChunkPoints))
	}
	if withCSV {
		sl.Args = append(sl.Args, "--csv")
		sl.MergeArgs = append(sl.MergeArgs, "--csv")
	}
	if opt.Picture.Off {
		sl.MergeArgs = append(sl.MergeArgs, "--no-plot")
	}
	if opt.Picture.Metric != "" {
		sl.MergeArgs = append(sl.MergeArgs, "--plot-metric", opt.Picture.Metric)
	}
	if len(opt.Picture.Axes) > 0 {
		sl.MergeArgs = append(sl.MergeArgs, "--plot-axes", strings.Join(opt.Picture.Axes, ","))
	}
	sl.Shards = shards
	files, err := sweep.WriteSlurm(sl)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d points in %d shards\narray: %s\nmerge: %s\n", len(sw.Points), shards, files.Array, files.Merge)
	if !submit {
		fmt.Fprintf(stdout, "submit: id=$(sbatch --parsable %s) && sbatch --dependency=afterok:$id %s\n", files.Array, files.Merge)
		return nil
	}
	array, merge, err := sweep.SubmitSlurm(files)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "submitted: array job %s (%d tasks), merge job %s (after the array succeeds)\nwatch: ratesim sweep status %s\n", array, shards, merge, dir)
	return nil
}
