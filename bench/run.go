package bench

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
)

// Grid names the one-network grid Run measures when Options.Sizes is nil.
type Grid string

const (
	GridAuto Grid = ""    // GridGPU on the cuda backend, GridCPU on any other
	GridCPU  Grid = "cpu" // DefaultSizes
	GridGPU  Grid = "gpu" // GPUSizes
)

// ParseGrid reads a grid name: cpu, gpu, or "" (by backend).
func ParseGrid(s string) (Grid, error) {
	switch g := Grid(s); g {
	case GridAuto, GridCPU, GridGPU:
		return g, nil
	}
	return "", fmt.Errorf("%q: want gpu or cpu", s)
}

// sizes is the grid's shapes on b.
func (g Grid) sizes(b backend.Backend) []Size {
	if g == GridGPU || (g == GridAuto && onGPU(b)) {
		return GPUSizes
	}
	return DefaultSizes
}

func onGPU(b backend.Backend) bool { return b.Name() == "cuda" }

// Options is one run of `ratesim bench`: what to measure, which peers to
// measure it with, and where the results go. Options{Config:
// DefaultConfig()} measures the backend's default grids and runs no peers.
type Options struct {
	// Config is what every measurement shares (DefaultConfig is nn4n's
	// and the peers'). Reps below 1 count as 1; with Plastic, Run measures
	// with the tanh activation whatever Config says.
	Config Config

	// Sizes are the one-network shapes, in order. Nil means Grid's; an
	// empty, non-nil slice measures none.
	Sizes []Size
	// Grid is the one-network grid when Sizes is nil.
	Grid Grid
	// Sweeps are the sweep shapes (K > 1), in order. Nil means
	// DefaultSweeps, with SweepTrials trials each, on the cuda backend and
	// none on any other; an empty, non-nil slice measures none.
	Sweeps []Size
	// SweepTrials is B of the default sweeps and is named in the sweep
	// table's title (0: the package's SweepTrials). ParseSweeps gives
	// explicit sweeps theirs.
	SweepTrials int

	// Peers are the peers (names in Peers) run after ratesim on every part
	// (the one-network sizes, then the sweeps), each on all the part's
	// sizes, and paired with ratesim's results in the tables. A peer that
	// cannot run here (a *MissingError) is reported once and not tried
	// again; one that fails is a failure of the run, after its tables.
	Peers []string
	// Python is the interpreter the peers run with (DefaultPython is the
	// usual one).
	Python string
	// PeerDevice is the device the peers run on, cpu or cuda ("": cuda on
	// the cuda backend, cpu on any other).
	PeerDevice string
	// PeerTimeout, when > 0, stops a peer's run of one part after this
	// long, keeping its results so far; the stop is a failure of the run.
	PeerTimeout time.Duration

	// PeakGFLOPS is the device's exact-mode ceiling (see TableOptions);
	// when > 0 the tables and goals show the fraction of it reached.
	PeakGFLOPS float64
	// Ceiling measures the ceiling first, in the same run: ratesim's exact
	// product at CeilingN³ through the backend (MeasureExactCeiling) and
	// torch.mm with Python (MeasureTorchMM); the tables then compare with
	// torch.mm's rate (or the exact product's without torch) unless
	// PeakGFLOPS is set. Not with Plastic.
	Ceiling bool

	// Plastic, when set, measures every size (one-network sizes, then
	// sweeps) twice, the static step and then the plastic one by this
	// rule, and prints them side by side instead of the peer tables (see
	// WritePlasticTable). It runs no peers.
	Plastic *Plastic

	// JSONFile, when set, is created and gets every result as a JSON line
	// (a Result) as soon as it is measured: ratesim's and the peers'. Replay
	// prints the tables again from it.
	JSONFile string

	// Progress, when set, gets a line as each measurement starts, and every
	// failure as it happens (the report goes to Run's out).
	Progress io.Writer
}

// plan is what o measures on b: the one-network sizes, then the sweeps,
// with trials the B of the default sweeps, and the device of the peers.
type plan struct {
	sizes, sweeps []Size
	trials        int
	device        string
}

func (o Options) plan(b backend.Backend) plan {
	p := plan{sizes: o.Sizes, sweeps: o.Sweeps, trials: o.SweepTrials, device: o.PeerDevice}
	if p.trials == 0 {
		p.trials = SweepTrials
	}
	if p.sizes == nil {
		p.sizes = o.Grid.sizes(b)
	}
	if p.sweeps == nil && onGPU(b) {
		for _, s := range DefaultSweeps {
			s.B = p.trials
			p.sweeps = append(p.sweeps, s)
		}
	}
	if p.device == "" {
		p.device = "cpu"
		if onGPU(b) {
			p.device = "cuda"
		}
	}
	return p
}

// check says what is wrong with o, before anything is measured.
func (o Options) check() error {
	for _, n := range o.Peers {
		if _, ok := Peers[n]; !ok {
			return fmt.Errorf("bench: unknown peer %q (peers: %s)", n, strings.Join(PeerNames, ", "))
		}
	}
	if o.Sizes == nil {
		if _, err := ParseGrid(string(o.Grid)); err != nil {
			return fmt.Errorf("bench: grid %w", err)
		}
	}
	switch {
	case o.Plastic != nil && len(o.Peers) > 0:
		return fmt.Errorf("bench: a plastic run compares ratesim with itself; it runs no peers")
	case o.Plastic != nil && o.Ceiling:
		return fmt.Errorf("bench: a plastic run measures no ceiling")
	case o.PeakGFLOPS < 0:
		return fmt.Errorf("bench: peak %g GFLOP/s: must be positive", o.PeakGFLOPS)
	case o.SweepTrials < 0:
		return fmt.Errorf("bench: sweep trials %d: must be ≥ 1", o.SweepTrials)
	}
	return nil
}

// Run measures ratesim on b as o says and prints the report to out, as
// `ratesim bench` does: a header naming the backend, its device and the
// configuration; one table per part (one network, then sweeps) with the
// peers' times and ratesim's speedup over each; on the cuda backend the
// goals of the CUDA issue (see Goals); and "wrote FILE" for o.JSONFile. With
// o.Plastic it prints the plastic table instead (and no "wrote" line).
//
// A size that ratesim fails to measure and a peer that fails are reported
// on o.Progress as they happen; the run goes on and then returns an error
// listing them all. With o.Plastic the first size that fails stops the run
// with its error. A cancelled ctx stops the run with ctx's error.
func Run(ctx context.Context, b backend.Backend, o Options, out io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	cfg := o.Config
	cfg.Reps = max(1, cfg.Reps)
	if o.Plastic != nil {
		// tanh keeps the rates bounded however the weights learn (within
		// their bounds), so long calibrated runs stay finite; the static
		// step it is compared with uses it too.
		cfg.Activation = "tanh"
	}
	pl := o.plan(b)
	var js *json.Encoder
	if o.JSONFile != "" {
		f, err := os.Create(o.JSONFile)
		if err != nil {
			return err
		}
		defer f.Close()
		js = json.NewEncoder(f)
	}
	emit := func(rs ...Result) error {
		if js == nil {
			return nil
		}
		for _, r := range rs {
			if err := js.Encode(r); err != nil {
				return fmt.Errorf("--json %s: %w", o.JSONFile, err)
			}
		}
		return nil
	}

	devs, _ := b.Devices()
	fmt.Fprintf(out, "ratesim bench: backend %s", b.Name())
	if len(devs) > 0 {
		fmt.Fprintf(out, " on %s (%s)", devs[0].Name, devs[0].Detail)
	}
	fmt.Fprintf(out, ", %s, I=%d O=%d, %s, noise %v, median of %d\n", cfg.Precision, cfg.Inputs, cfg.Outputs, cfg.Activation, cfg.Noise, cfg.Reps)
	if len(o.Peers) > 0 {
		fmt.Fprintf(out, "peers: %s with %s on %s\n", strings.Join(o.Peers, ","), o.Python, pl.device)
	}

	if o.Plastic != nil {
		return runPlastic(ctx, b, cfg, *o.Plastic, append(append([]Size(nil), pl.sizes...), pl.sweeps...), emit, out, progress)
	}

	var failures []string
	missing := map[string]bool{}
	var allOurs, allPeers []Result
	peak := o.PeakGFLOPS
	if o.Ceiling {
		var cs []Result
		fmt.Fprintf(progress, "  measuring the ceiling: ratesim's exact %d³ product …\n", CeilingN)
		r, err := MeasureExactCeiling(ctx, b, cfg)
		switch {
		case err != nil && ctx.Err() != nil:
			return err
		case err != nil:
			fmt.Fprintf(progress, "ratesim bench: ceiling: %v\n", err)
			failures = append(failures, fmt.Sprintf("ceiling (exact product): %v", err))
		default:
			cs = append(cs, r)
		}
		fmt.Fprintf(progress, "  measuring the ceiling: torch.mm %d³ with %s on %s …\n", CeilingN, o.Python, pl.device)
		r, err = MeasureTorchMM(ctx, o.Python, cfg, pl.device)
		var me *MissingError
		switch {
		case errors.As(err, &me):
			fmt.Fprintf(out, "ceiling torch.mm: not measured: %v\n", me)
		case err != nil && ctx.Err() != nil:
			return err
		case err != nil:
			fmt.Fprintf(progress, "ratesim bench: ceiling: %v\n", err)
			failures = append(failures, fmt.Sprintf("ceiling (torch.mm): %s", firstLine(err.Error())))
		default:
			cs = append(cs, r)
		}
		if err := emit(cs...); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nceiling, measured in this run\n")
		if p := WriteCeilings(out, cs); peak == 0 {
			peak = p
		}
	}
	parts := []struct {
		title string
		sizes []Size
	}{
		{"one network: rates and outputs recorded every step", pl.sizes},
		{fmt.Sprintf("sweeps: K instances, each its own weights, B=%d, one shared input; ratesim records outputs (to the host), the peers rates and outputs (on the device)", pl.trials), pl.sweeps},
	}
	for _, part := range parts {
		if len(part.sizes) == 0 {
			continue
		}
		var ours, peerRes []Result
		for _, sz := range part.sizes {
			fmt.Fprintf(progress, "  measuring %v …\n", sz)
			r, err := Measure(ctx, b, cfg, sz)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				fmt.Fprintf(progress, "ratesim bench: %v: %v\n", sz, err)
				failures = append(failures, fmt.Sprintf("ratesim at %v: %v", sz, err))
				continue
			}
			ours = append(ours, r)
			if err := emit(r); err != nil {
				return err
			}
		}
		for _, name := range o.Peers {
			if missing[name] {
				continue
			}
			script := Peers[name]
			fmt.Fprintf(progress, "  running peer %s (%s) with %s on %s …\n", name, script, o.Python, pl.device)
			pctx, cancel := ctx, context.CancelFunc(func() {})
			if o.PeerTimeout > 0 {
				pctx, cancel = context.WithTimeout(ctx, o.PeerTimeout)
			}
			res, err := RunPeer(pctx, o.Python, script, cfg, part.sizes, pl.device)
			cancel()
			if ref := ReferenceBLAS(res); ref != nil {
				fmt.Fprintf(out, "peer %s: warning: it ran on the reference BLAS (%s), about 10x slower than an optimized one; "+
					"install OpenBLAS (make bench-deps, or apt-get install libopenblas0-pthread) for a fair comparison\n", name, ref.BLAS)
			}
			peerRes = append(peerRes, res...)
			if e := emit(res...); e != nil {
				return e
			}
			var me *MissingError
			switch {
			case errors.As(err, &me):
				missing[name] = true
				fmt.Fprintf(out, "peer %s: not measured: %v\n", name, me)
			case err != nil && ctx.Err() != nil:
				return err
			case err != nil:
				fmt.Fprintf(progress, "ratesim bench: %v\n", err)
				failures = append(failures, fmt.Sprintf("peer %s: %s", name, firstLine(err.Error())))
			}
		}
		fmt.Fprintf(out, "\n%s\n", part.title)
		WriteTable(out, ours, peerRes, TableOptions{PeakGFLOPS: peak})
		allOurs, allPeers = append(allOurs, ours...), append(allPeers, peerRes...)
	}
	if onGPU(b) {
		fmt.Fprintf(out, "\ngoals (issue 4)\n")
		Goals(out, allOurs, allPeers, peak)
	} else if len(allPeers) > 0 {
		fmt.Fprintf(out, "\ngoals (issue 15, %s)\n", map[bool]string{true: "noise on", false: "noise off"}[cfg.Noise])
		CPUGoals(out, allOurs, allPeers, peak)
	}
	if o.JSONFile != "" {
		fmt.Fprintf(out, "wrote %s\n", o.JSONFile)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d failed: %s", len(failures), strings.Join(failures, "; "))
	}
	return nil
}

// runPlastic measures, for every size, the static step and then the
// plastic one, and prints them side by side with their ratio. The first
// size that fails to measure stops it.
func runPlastic(ctx context.Context, b backend.Backend, cfg Config, pr Plastic, sizes []Size, emit func(...Result) error, out, progress io.Writer) error {
	var all []Result
	pcfg := cfg
	pcfg.Plastic = &pr
	for _, sz := range sizes {
		for _, c := range []Config{cfg, pcfg} {
			fmt.Fprintf(progress, "  measuring %v %s …\n", sz, map[bool]string{true: pr.String(), false: "static"}[c.Plastic != nil])
			r, err := Measure(ctx, b, c, sz)
			if err != nil {
				return fmt.Errorf("%v: %w", sz, err)
			}
			all = append(all, r)
			if err := emit(r); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(out, "\nplastic step (recurrent weights learn by %s every step; tanh, bounds [-1, 1]) against the static step (tanh), same run\n", pr)
	WritePlasticTable(out, PairPlastic(all))
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
