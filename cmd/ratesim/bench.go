package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/bench"
)

// peerList is the value of --peers: a comma-separated list of peer names.
// Given alone (--peers), it means the PyTorch loop, as it always has.
type peerList []string

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
		if !contains(*p, n) {
			*p = append(*p, n)
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
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

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
	jsonOut := fs.String("json", "", "also write every result as JSON lines to this file, each as soon as it is measured")
	from := fs.String("from", "", "measure nothing: print the tables (and goals) from these JSON-lines files, comma-separated")
	plastic := fs.String("plastic", "", "measure a plastic step against the static one, size by size in the same run: the recurrent weights learn every step by RULE[-adam][-pertrial], RULE one of hebbian, bcm, oja, covariance (bounds [-1, 1], no snapshots)")
	pos, err := parse(fs, joinPeersArg(args))
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected arguments %v", pos)}
	}
	if *from != "" {
		return benchFrom(*from, *peak, stdout)
	}
	cfg := bench.DefaultConfig()
	if cfg.Precision, err = backend.ParsePrecision(*precision); err != nil {
		return usageError{err}
	}
	cfg.Noise, cfg.Reps, cfg.RepTime = *noise, max(1, *reps), *repTime
	var plasticRule *bench.Plastic
	if *plastic != "" {
		pr, err := bench.ParsePlastic(*plastic)
		if err != nil {
			return usageError{fmt.Errorf("--plastic %w", err)}
		}
		if len(peers) > 0 {
			return usageError{fmt.Errorf("--plastic compares ratesim with itself; leave out --peers")}
		}
		plasticRule = &pr
		// tanh keeps the rates bounded however the weights learn (within
		// their bounds), so long calibrated runs stay finite; the static
		// step it is compared with uses it too.
		cfg.Activation = "tanh"
	}
	if *peak < 0 {
		return usageError{fmt.Errorf("--peak-gflops %g: must be positive", *peak)}
	}
	b, err := backend.Lookup(*backendName)
	if err != nil {
		return err
	}
	onGPU := b.Name() == "cuda"
	var grid []bench.Size
	switch {
	case *sizes == "none":
	case *sizes != "":
		if grid, err = bench.ParseSizes(*sizes); err != nil {
			return usageError{fmt.Errorf("--sizes: %w", err)}
		}
	case *gridName == "gpu" || (*gridName == "" && onGPU):
		grid = bench.GPUSizes
	case *gridName == "cpu" || *gridName == "":
		grid = bench.DefaultSizes
	default:
		return usageError{fmt.Errorf("--grid %q: want gpu or cpu", *gridName)}
	}
	var sweepGrid []bench.Size
	if *sweepTrials < 1 {
		return usageError{fmt.Errorf("--sweep-trials %d: must be ≥ 1", *sweepTrials)}
	}
	switch {
	case *sweeps == "none":
	case *sweeps != "":
		if sweepGrid, err = bench.ParseSweeps(*sweeps, *sweepTrials); err != nil {
			return usageError{fmt.Errorf("--sweeps: %w", err)}
		}
	case onGPU:
		for _, s := range bench.DefaultSweeps {
			s.B = *sweepTrials
			sweepGrid = append(sweepGrid, s)
		}
	}
	if *device == "" {
		*device = "cpu"
		if onGPU {
			*device = "cuda"
		}
	}
	var js *json.Encoder
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		defer f.Close()
		js = json.NewEncoder(f)
	}
	emit := func(rs ...bench.Result) error {
		if js == nil {
			return nil
		}
		for _, r := range rs {
			if err := js.Encode(r); err != nil {
				return fmt.Errorf("--json %s: %w", *jsonOut, err)
			}
		}
		return nil
	}

	devs, _ := b.Devices()
	fmt.Fprintf(stdout, "ratesim bench: backend %s", b.Name())
	if len(devs) > 0 {
		fmt.Fprintf(stdout, " on %s (%s)", devs[0].Name, devs[0].Detail)
	}
	fmt.Fprintf(stdout, ", %s, I=%d O=%d, %s, noise %v, median of %d\n", cfg.Precision, cfg.Inputs, cfg.Outputs, cfg.Activation, cfg.Noise, cfg.Reps)
	if len(peers) > 0 {
		fmt.Fprintf(stdout, "peers: %s with %s on %s\n", peers.String(), *python, *device)
	}

	if plasticRule != nil {
		return benchPlastic(ctx, b, cfg, *plasticRule, append(append([]bench.Size(nil), grid...), sweepGrid...), emit, stdout, stderr)
	}

	var failures []string
	missing := map[string]bool{}
	var allOurs, allPeers []bench.Result
	parts := []struct {
		title string
		sizes []bench.Size
	}{
		{"one network: rates and outputs recorded every step", grid},
		{fmt.Sprintf("sweeps: K instances, each its own weights, B=%d, one shared input; ratesim records outputs (to the host), the peers rates and outputs (on the device)", *sweepTrials), sweepGrid},
	}
	for _, part := range parts {
		if len(part.sizes) == 0 {
			continue
		}
		var ours, peerRes []bench.Result
		for _, sz := range part.sizes {
			fmt.Fprintf(stderr, "  measuring %v …\n", sz)
			r, err := bench.Measure(ctx, b, cfg, sz)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				fmt.Fprintf(stderr, "ratesim bench: %v: %v\n", sz, err)
				failures = append(failures, fmt.Sprintf("ratesim at %v: %v", sz, err))
				continue
			}
			ours = append(ours, r)
			if err := emit(r); err != nil {
				return err
			}
		}
		for _, name := range peers {
			if missing[name] {
				continue
			}
			script := bench.Peers[name]
			fmt.Fprintf(stderr, "  running peer %s (%s) with %s on %s …\n", name, script, *python, *device)
			pctx, cancel := ctx, context.CancelFunc(func() {})
			if *peerTimeout > 0 {
				pctx, cancel = context.WithTimeout(ctx, *peerTimeout)
			}
			res, err := bench.RunPeer(pctx, *python, script, cfg, part.sizes, *device)
			cancel()
			peerRes = append(peerRes, res...)
			if e := emit(res...); e != nil {
				return e
			}
			var me *bench.MissingError
			switch {
			case errors.As(err, &me):
				missing[name] = true
				fmt.Fprintf(stdout, "peer %s: not measured: %v\n", name, me)
			case err != nil && ctx.Err() != nil:
				return err
			case err != nil:
				fmt.Fprintf(stderr, "ratesim bench: %v\n", err)
				failures = append(failures, fmt.Sprintf("peer %s: %s", name, firstLine(err.Error())))
			}
		}
		fmt.Fprintf(stdout, "\n%s\n", part.title)
		bench.WriteTable(stdout, ours, peerRes, bench.TableOptions{PeakGFLOPS: *peak})
		allOurs, allPeers = append(allOurs, ours...), append(allPeers, peerRes...)
	}
	if onGPU {
		fmt.Fprintf(stdout, "\ngoals (issue 4)\n")
		bench.Goals(stdout, allOurs, allPeers, *peak)
	}
	if *jsonOut != "" {
		fmt.Fprintf(stdout, "wrote %s\n", *jsonOut)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d failed: %s", len(failures), strings.Join(failures, "; "))
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// benchFrom prints the tables from recorded JSON lines: ratesim's results
// paired with the peers' by (N, B, K), one table for one network and one
// for sweeps, then the goals.
func benchFrom(files string, peak float64, stdout io.Writer) error {
	var ours, peers []bench.Result
	for _, name := range strings.Split(files, ",") {
		f, err := os.Open(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		line := 0
		for sc.Scan() {
			line++
			t := strings.TrimSpace(sc.Text())
			if t == "" {
				continue
			}
			var r bench.Result
			if err := json.Unmarshal([]byte(t), &r); err != nil {
				f.Close()
				return fmt.Errorf("%s:%d: %v", name, line, err)
			}
			if r.Peer == "ratesim" {
				ours = append(ours, r)
			} else {
				peers = append(peers, r)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	if len(ours) == 0 {
		return fmt.Errorf("%s: no ratesim results", files)
	}
	// Lines of `bench --plastic`: static and plastic steps in pairs.
	if pairs := bench.PairPlastic(ours); len(pairs) > 0 {
		fmt.Fprintf(stdout, "ratesim bench --plastic results from %s (%s on %s)\n\n", files, ours[0].Backend, ours[0].Device)
		bench.WritePlasticTable(stdout, pairs)
		return nil
	}
	split := func(rs []bench.Result) (one, sw []bench.Result) {
		for _, r := range rs {
			if r.Instances() > 1 {
				sw = append(sw, r)
			} else {
				one = append(one, r)
			}
		}
		return
	}
	o1, o2 := split(ours)
	p1, p2 := split(peers)
	devs := map[string]bool{}
	for _, r := range ours {
		devs[r.Backend+" on "+r.Device] = true
	}
	var dl []string
	for d := range devs {
		dl = append(dl, d)
	}
	sort.Strings(dl)
	fmt.Fprintf(stdout, "ratesim bench results from %s (%s)\n", files, strings.Join(dl, "; "))
	opt := bench.TableOptions{PeakGFLOPS: peak}
	if len(o1) > 0 {
		fmt.Fprintf(stdout, "\none network\n")
		bench.WriteTable(stdout, o1, p1, opt)
	}
	if len(o2) > 0 {
		fmt.Fprintf(stdout, "\nsweeps\n")
		bench.WriteTable(stdout, o2, p2, opt)
	}
	fmt.Fprintf(stdout, "\ngoals (issue 4)\n")
	bench.Goals(stdout, ours, peers, peak)
	return nil
}

var _ flag.Value = (*peerList)(nil)

// benchPlastic measures, for every size, the static step and then the
// plastic one, and prints them side by side with their ratio.
func benchPlastic(ctx context.Context, b backend.Backend, cfg bench.Config, pr bench.Plastic, sizes []bench.Size, emit func(...bench.Result) error, stdout, stderr io.Writer) error {
	var all []bench.Result
	pcfg := cfg
	pcfg.Plastic = &pr
	for _, sz := range sizes {
		for _, c := range []bench.Config{cfg, pcfg} {
			fmt.Fprintf(stderr, "  measuring %v %s …\n", sz, map[bool]string{true: pr.String(), false: "static"}[c.Plastic != nil])
			r, err := bench.Measure(ctx, b, c, sz)
			if err != nil {
				return fmt.Errorf("%v: %w", sz, err)
			}
			all = append(all, r)
			if err := emit(r); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "\nplastic step (recurrent weights learn by %s every step; tanh, bounds [-1, 1]) against the static step (tanh), same run\n", pr)
	bench.WritePlasticTable(stdout, bench.PairPlastic(all))
	return nil
}
