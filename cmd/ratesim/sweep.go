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

const sweepSynopsis = `sweep [validate|points|examples] [SWEEP.yaml] [flags]

  ratesim sweep SWEEP.yaml [--out DIR] [--backend B] [--csv] [--quiet]   run every point, write DIR/table.parquet and DIR/meta.json
  ratesim sweep --example tau_noise                                      run a built-in example sweep
  ratesim sweep validate SWEEP.yaml                                      check every point and the chunks' memory without running
  ratesim sweep points SWEEP.yaml [--write DIR]                          list the points (and write each one's spec for ratesim run)
  ratesim sweep examples [NAME]                                          list the built-in example sweeps, or print one`

// cmdSweep runs `ratesim sweep`.
func cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		switch args[0] {
		case "validate", "points", "examples":
			sub, args = args[0], args[1:]
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
	fs := newFlags("sweep", sweepSynopsis, stderr)
	example := fs.String("example", "", "run a built-in example sweep instead of SWEEP.yaml (see ratesim sweep examples)")
	out := fs.String("out", "", "output directory (default ratesim-sweep/NAME)")
	backendName := fs.String("backend", "", "backend: auto, cpu (cuda in CUDA builds); overrides the base spec")
	withCSV := fs.Bool("csv", false, "also write DIR/table.csv")
	quiet := fs.Bool("quiet", false, "no progress line")
	chunk := fs.Int("chunk-points", 0, "points per batched program (0: the sweep's chunk_points, else from memory)")
	write := fs.String("write", "", "with points: write each point's spec into this directory")
	pos, err := parse(fs, args)
	if err != nil {
		return err
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
	opt := sweep.Options{Backend: *backendName, ChunkPoints: *chunk}
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
	if !*quiet && output.IsTerminal(os.Stderr) {
		opt.Progress = stderr
	}
	res, err := sweep.Run(ctx, sw, opt)
	if err != nil {
		return err
	}
	files, err := sweep.Write(dir, sw, res, *withCSV)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range res.Rows {
		if r.Status != "ok" {
			failed++
		}
	}
	fmt.Fprintf(stdout, "%d points in %d chunks on %s in %.2fs (%.1f points/s); %d failed\n",
		len(res.Rows), len(res.Chunks), res.Backend, res.Wall.Seconds(), float64(len(res.Rows))/res.Wall.Seconds(), failed)
	fmt.Fprintf(stdout, "table: %s\n", files.Table)
	if files.CSV != "" {
		fmt.Fprintf(stdout, "csv:   %s\n", files.CSV)
	}
	fmt.Fprintf(stdout, "meta:  %s\n", files.Meta)
	fmt.Fprintf(stdout, "read it: python3 -c \"import pandas; print(pandas.read_parquet('%s'))\"\n", files.Table)
	return nil
}
