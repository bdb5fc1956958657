package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/bench"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [flags]", stderr)
	backendName := fs.String("backend", "auto", "backend to measure")
	sizes := fs.String("sizes", "", "N×B pairs, e.g. 64x1,256x32 (default: N ∈ {64,256,1024,2048} × B ∈ {1,32,64})")
	precision := fs.String("precision", "f32", "f32 or f64")
	noise := fs.Bool("noise", true, "pre- and post-activation noise on (σ = 0.05)")
	reps := fs.Int("reps", 5, "repetitions; the median is reported")
	peers := fs.Bool("peers", false, "also run the PyTorch loop peer (needs python3 with torch) and print ratios")
	python := fs.String("python", bench.DefaultPython(), "Python interpreter for the peers")
	device := fs.String("peer-device", "cpu", "device the peers run on (cpu or cuda)")
	jsonOut := fs.String("json", "", "also write every result as JSON lines to this file")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg := bench.DefaultConfig()
	var err error
	if cfg.Precision, err = backend.ParsePrecision(*precision); err != nil {
		return usageError{err}
	}
	cfg.Noise, cfg.Reps = *noise, max(1, *reps)
	grid := bench.DefaultSizes
	if *sizes != "" {
		if grid, err = bench.ParseSizes(*sizes); err != nil {
			return usageError{err}
		}
	}
	b, err := backend.Lookup(*backendName)
	if err != nil {
		return err
	}
	devs, _ := b.Devices()
	fmt.Fprintf(stdout, "ratesim bench: backend %s", b.Name())
	if len(devs) > 0 {
		fmt.Fprintf(stdout, " on %s (%s)", devs[0].Name, devs[0].Detail)
	}
	fmt.Fprintf(stdout, ", %s, I=%d O=%d, %s, noise %v, median of %d\n", cfg.Precision, cfg.Inputs, cfg.Outputs, cfg.Activation, cfg.Noise, cfg.Reps)
	var ours []bench.Result
	for _, sz := range grid {
		fmt.Fprintf(stderr, "  measuring N=%d B=%d …\n", sz.N, sz.B)
		r, err := bench.Measure(ctx, b, cfg, sz)
		if err != nil {
			return err
		}
		ours = append(ours, r)
	}
	var peerRes []bench.Result
	if *peers {
		fmt.Fprintf(stderr, "  running the PyTorch loop peer with %s …\n", *python)
		peerRes, err = bench.RunPeer(ctx, *python, "torch_ctrnn.py", cfg, grid, *device)
		if err != nil {
			return err
		}
	}
	bench.Table(stdout, ours, peerRes)
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		for _, r := range append(ours, peerRes...) {
			if err := enc.Encode(r); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *jsonOut)
	}
	return nil
}
