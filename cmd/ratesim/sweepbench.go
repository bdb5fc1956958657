package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/bench"
	"github.com/ratesim/ratesim/sim/sweep"
)

const sweepBenchSynopsis = `sweep bench [--sizes KxN,...] [--trials B] [--steps T] [--reps R] [--backend B] [--peers torch] [--json FILE]

  Runs sweeps of K points of N units (B trials, T steps, an axis of K values of τ, one metric:
  the mean of the outputs) through the sweep path — networks built and packed, input generated,
  run, metrics reduced — and the same batched program alone on the backend, alternating, and
  prints the medians and the sweep machinery's overhead. With --peers torch it measures, in the
  same run, the same sweep in PyTorch both ways users run it: one network at a time (a Python
  loop over the K networks: K × the time of one network, measured here) and batched with
  torch.baddbmm over the instance axis.`

// sweepBenchRow is one line of `ratesim sweep bench`: the sweep, its raw
// program and, when measured, the two PyTorch peers, in µs per step of
// the whole sweep (all K points).
type sweepBenchRow struct {
	Kind        string  `json:"kind"` // "sweep-bench"
	Backend     string  `json:"backend"`
	Device      string  `json:"device"`
	Dtype       string  `json:"dtype"`
	K           int     `json:"K"`
	N           int     `json:"N"`
	B           int     `json:"B"`
	I           int     `json:"I"`
	O           int     `json:"O"`
	T           int     `json:"T"`
	Reps        int     `json:"reps"`
	Noise       bool    `json:"noise"`
	SweepUS     float64 `json:"sweep_us_per_step"`
	RawUS       float64 `json:"raw_us_per_step"`
	Overhead    float64 `json:"overhead"` // sweep / raw − 1
	TorchLoopUS float64 `json:"torch_loop_us_per_step,omitempty"`
	TorchBmmUS  float64 `json:"torch_bmm_us_per_step,omitempty"`
	PeerNote    string  `json:"peer_note,omitempty"`
}

func cmdSweepBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sweep bench", sweepBenchSynopsis, stderr)
	sizes := fs.String("sizes", "256x128", "sweeps as K×N pairs, comma-separated")
	trials := fs.Int("trials", bench.SweepTrials, "trials B per point")
	steps := fs.Int("steps", 500, "steps T per run")
	reps := fs.Int("reps", 3, "repetitions of each side (the median is reported)")
	backendName := fs.String("backend", "cpu", "backend: cpu (cuda in CUDA builds), reference")
	precision := fs.String("precision", "f32", "f32 or f64")
	noise := fs.Bool("noise", true, "σ_pre = σ_post = 0.05, as the peers")
	peers := fs.String("peers", "", "torch: also measure the PyTorch loop and torch.baddbmm in this run")
	python := fs.String("python", bench.DefaultPython(), "interpreter for the peers")
	jsonOut := fs.String("json", "", "also write one JSON line per sweep to this file")
	memory := fs.Float64("memory-limit", 4, "GB the sweep's one program may take")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("ratesim sweep bench takes no positional arguments, got %q", pos[0])}
	}
	if *steps < 1 || *reps < 1 || *trials < 1 {
		return usageError{fmt.Errorf("--steps, --reps and --trials must be ≥ 1")}
	}
	if *peers != "" && *peers != "torch" {
		return usageError{fmt.Errorf("--peers: only torch is a sweep peer, got %q", *peers)}
	}
	prec, err := backend.ParsePrecision(*precision)
	if err != nil {
		return usageError{fmt.Errorf("--precision: %w", err)}
	}
	shapes, err := bench.ParseSweeps(*sizes, *trials)
	if err != nil {
		return usageError{fmt.Errorf("--sizes: %w", err)}
	}
	be, err := backend.Lookup(*backendName)
	if err != nil {
		return err
	}
	device := "cpu"
	if be.Name() == "cuda" {
		device = "cuda"
	}
	var js io.Writer
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		defer f.Close()
		js = f
	}
	cfg := bench.DefaultConfig()
	cfg.Precision, cfg.Noise, cfg.Reps = prec, *noise, *reps
	fmt.Fprintf(stdout, "sweep bench on %s, %s, noise %v, %d steps, median of %d\n\n", be.Name(), prec, *noise, *steps, *reps)
	fmt.Fprintln(stdout, "|     K |    N |   B | sweep µs/step | raw µs/step | overhead | torch loop µs/step | torch bmm µs/step | vs loop | vs bmm |")
	fmt.Fprintln(stdout, "|------:|-----:|----:|--------------:|------------:|---------:|-------------------:|------------------:|--------:|-------:|")
	for _, sz := range shapes {
		sw, err := sweep.BenchSweep(sweep.BenchSize{K: sz.K, N: sz.N, B: sz.B, I: cfg.Inputs, O: cfg.Outputs, Steps: *steps,
			Activation: cfg.Activation, Noise: cfg.Noise, Precision: prec.String()})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "measuring K=%d N=%d B=%d: %d × (sweep + raw) …\n", sz.K, sz.N, sz.B, *reps)
		o, err := sweep.MeasureOverhead(ctx, be, sw, *reps, int64(*memory*(1<<30)))
		if err != nil {
			return fmt.Errorf("sweep bench K=%d N=%d: %w", sz.K, sz.N, err)
		}
		row := sweepBenchRow{Kind: "sweep-bench", Backend: be.Name(), Device: device, Dtype: prec.String(),
			K: sz.K, N: sz.N, B: sz.B, I: cfg.Inputs, O: cfg.Outputs, T: *steps, Reps: *reps, Noise: cfg.Noise,
			SweepUS: perStep(o.Sweep, *steps), RawUS: perStep(o.Raw, *steps), Overhead: o.Ratio() - 1}
		if *peers == "torch" {
			fmt.Fprintf(stderr, "measuring the PyTorch peers (one network, and K=%d batched) …\n", sz.K)
			row.TorchLoopUS, row.TorchBmmUS, row.PeerNote = torchPeers(ctx, *python, cfg, sz, device)
		}
		fmt.Fprintln(stdout, row.line())
		if js != nil {
			b, _ := json.Marshal(row)
			if _, err := fmt.Fprintf(js, "%s\n", b); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(stdout, "\nsweep/raw is the sweep machinery's cost; vs loop and vs bmm are the PyTorch time over ratesim's sweep path.")
	return nil
}

func perStep(d time.Duration, steps int) float64 { return float64(d.Microseconds()) / float64(steps) }

// torchPeers measures one network of the sweep's shape (the loop's unit:
// a Python loop over K networks steps each in turn, so a step of the whole
// sweep costs K of them) and the K networks batched with baddbmm. A peer
// that cannot run leaves its number 0 and says why.
func torchPeers(ctx context.Context, python string, cfg bench.Config, sz bench.Size, device string) (loop, bmm float64, note string) {
	one := sz
	one.K = 0
	var notes []string
	if res, err := bench.RunPeer(ctx, python, bench.Peers["torch"], cfg, []bench.Size{one}, device); err == nil && len(res) == 1 {
		loop = float64(sz.K) * res[0].MedianUS
	} else {
		notes = append(notes, "loop: "+peerWhy(err))
	}
	if res, err := bench.RunPeer(ctx, python, bench.Peers["torch"], cfg, []bench.Size{sz}, device); err == nil && len(res) == 1 {
		bmm = res[0].MedianUS
	} else {
		notes = append(notes, "bmm: "+peerWhy(err))
	}
	return loop, bmm, strings.Join(notes, "; ")
}

func peerWhy(err error) string {
	if err == nil {
		return "no result"
	}
	var me *bench.MissingError
	if errors.As(err, &me) {
		return me.Reason
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	return first
}

func (r sweepBenchRow) line() string {
	cell := func(v float64) string {
		if v == 0 {
			return "—"
		}
		return fmt.Sprintf("%.0f", v)
	}
	ratio := func(v float64) string {
		if v == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f×", v/r.SweepUS)
	}
	s := fmt.Sprintf("| %5d | %4d | %3d | %13.0f | %11.0f | %+7.1f%% | %18s | %17s | %7s | %6s |",
		r.K, r.N, r.B, r.SweepUS, r.RawUS, 100*r.Overhead, cell(r.TorchLoopUS), cell(r.TorchBmmUS), ratio(r.TorchLoopUS), ratio(r.TorchBmmUS))
	if r.PeerNote != "" {
		s += " " + r.PeerNote
	}
	return s
}
