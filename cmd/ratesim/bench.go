package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/bench"
)

// peerList is the value of --peers: a comma-separated list of peer names.
// Given alone (--peers), it means the PyTorch loop, as it always has.
type peerList []string

var _ flag.Value = (*peerList)(nil)

func (p *peerList) String() string   { return strings.Join(*p, ",") }
func (p *peerList) IsBoolFlag() bool { return true }
func (p *peerList) Set(s string) error {
	*p = nil
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		*p = peerList{"torch"}
		return nil
	case "false", "none", "":
		return nil
	case "all":
		*p = append(peerList(nil), bench.PeerNames...)
		return nil
	}
	for _, n := range strings.Split(s, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if _, ok := bench.Peers[n]; !ok {
			return fmt.Errorf("unknown peer %q (peers: %s, all, none)", n, strings.Join(bench.PeerNames, ", "))
		}
		if !slices.Contains(*p, n) {
			*p = append(*p, n)
		}
	}
	return nil
}

// joinPeersArg turns "--peers torch,jax" into "--peers=torch,jax": --peers
// is also a boolean flag, and Go's flag package would read the list after a
// space as a positional argument. bench takes no positional arguments.
func joinPeersArg(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if (a == "--peers" || a == "-peers") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

// benchCall is what the bench flags ask for: with from, a replay of those
// files (table holds --peak-gflops); without, a run of opt on b.
type benchCall struct {
	from  []string
	table bench.TableOptions
	b     backend.Backend
	opt   bench.Options
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseBench(args, stderr)
	if err != nil {
		return err
	}
	if c.from != nil {
		return bench.Replay(c.from, c.table, stdout)
	}
	return bench.Run(ctx, c.b, c.opt, stdout)
}

// parseBench reads the bench flags into a benchCall; progress goes to
// stderr. The backend is looked up between the checks of the flags that do
// not depend on it and those that do, in the order they have always had.
func parseBench(args []string, stderr io.Writer) (benchCall, error) {
	var c benchCall
	fs := newFlags("bench", "bench [flags]", stderr)
	backendName := fs.String("backend", "auto", "backend to measure")
	gridName := fs.String("grid", "", "one-network grid: cpu (N ∈ {64,256,1024,2048} × B ∈ {1,32,64}) or gpu (N ∈ {256,1024,4096} × B ∈ {1,32,256}); default gpu for the cuda backend, else cpu")
	sizes := fs.String("sizes", "", "one-network N×B pairs, e.g. 64x1,256x32, instead of the grid; none: no one-network sizes")
	sweeps := fs.String("sweeps", "", "sweep K×N pairs (K instances of N units, each its own weights, one shared input), e.g. 256x128,1024x256; none: no sweeps (default: K ∈ {256,1024,4096} × N ∈ {128,256} for the cuda backend, none otherwise)")
	sweepTrials := fs.Int("sweep-trials", bench.SweepTrials, "trials B of every sweep instance")
	precision := fs.String("precision", "f32", "f32 or f64")
	noise := fs.Bool("noise", true, "pre- and post-activation noise on (σ = 0.05)")
	reps := fs.Int("reps", 5, "repetitions; the median is reported")
	repTime := fs.Duration("rep-time", 300*time.Millisecond, "target duration of one repetition (ratesim and peers)")
	var peers peerList
	fs.Var(&peers, "peers", "also run these peers and print ratios: torch (a PyTorch loop), jax (jit + lax.scan), all; --peers alone means torch")
	python := fs.String("python", bench.DefaultPython(), "Python interpreter for the peers")
	device := fs.String("peer-device", "", "device the peers run on, cpu or cuda (default: cuda for the cuda backend, else cpu)")
	peerTimeout := fs.Duration("peer-timeout", 0, "stop a peer's run of one grid after this long, keeping its results so far (0: no limit)")
	peak := fs.Float64("peak-gflops", 0, "the device's exact-mode ceiling in GFLOP/s (float32 on a GPU: the non-FMA rate, half the FMA peak; H100 SXM ≈ 33500); adds a column with the fraction reached")
	ceiling := fs.Bool("ceiling", false, "first measure the ceiling in the same run: ratesim's exact 2048³ product through the backend and torch.mm (with --python); the tables then show the fraction of torch.mm's rate (unless --peak-gflops)")
	jsonOut := fs.String("json", "", "also write every result as JSON lines to this file, each as soon as it is measured")
	from := fs.String("from", "", "measure nothing: print the tables (and goals) from these JSON-lines files, comma-separated")
	plastic := fs.String("plastic", "", "measure a plastic step against the static one, size by size in the same run: the recurrent weights learn every step by RULE[-adam][-pertrial], RULE one of hebbian, bcm, oja, covariance (bounds [-1, 1], no snapshots)")
	pos, err := parse(fs, joinPeersArg(args))
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usageError{fmt.Errorf("unexpected arguments %v", pos)}
	}
	if *from != "" {
		c.from, c.table = strings.Split(*from, ","), bench.TableOptions{PeakGFLOPS: *peak}
		return c, nil
	}
	o := &c.opt
	o.Config = bench.DefaultConfig()
	if o.Config.Precision, err = backend.ParsePrecision(*precision); err != nil {
		return c, usageError{err}
	}
	o.Config.Noise, o.Config.Reps, o.Config.RepTime = *noise, *reps, *repTime
	if *plastic != "" {
		pr, err := bench.ParsePlastic(*plastic)
		if err != nil {
			return c, usageError{fmt.Errorf("--plastic %w", err)}
		}
		if len(peers) > 0 {
			return c, usageError{fmt.Errorf("--plastic compares ratesim with itself; leave out --peers")}
		}
		if *ceiling {
			return c, usageError{fmt.Errorf("--plastic measures no ceiling; leave out --ceiling")}
		}
		o.Plastic = &pr
	}
	if *peak < 0 {
		return c, usageError{fmt.Errorf("--peak-gflops %g: must be positive", *peak)}
	}
	if c.b, err = backend.Lookup(*backendName); err != nil {
		return c, err
	}
	switch *sizes {
	case "none":
		o.Sizes = []bench.Size{}
	case "":
		if o.Grid, err = bench.ParseGrid(*gridName); err != nil {
			return c, usageError{fmt.Errorf("--grid %w", err)}
		}
	default:
		if o.Sizes, err = bench.ParseSizes(*sizes); err != nil {
			return c, usageError{fmt.Errorf("--sizes: %w", err)}
		}
	}
	if *sweepTrials < 1 {
		return c, usageError{fmt.Errorf("--sweep-trials %d: must be ≥ 1", *sweepTrials)}
	}
	switch *sweeps {
	case "none":
		o.Sweeps = []bench.Size{}
	case "":
	default:
		if o.Sweeps, err = bench.ParseSweeps(*sweeps, *sweepTrials); err != nil {
			return c, usageError{fmt.Errorf("--sweeps: %w", err)}
		}
	}
	o.SweepTrials, o.Peers, o.Python, o.PeerDevice, o.PeerTimeout = *sweepTrials, peers, *python, *device, *peerTimeout
	o.PeakGFLOPS, o.Ceiling, o.JSONFile, o.Progress = *peak, *ceiling, *jsonOut, stderr
	return c, nil
}
