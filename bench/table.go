package bench

import (
	"fmt"
	"io"
	"strings"
)

// TableOptions adjust Table's output.
type TableOptions struct {
	// PeakGFLOPS is the exact-mode ceiling of the device in GFLOP/s (for
	// float32 on a GPU: the non-FMA rate, about half the FMA peak). When > 0
	// a column shows ratesim's effective rate as a fraction of it.
	PeakGFLOPS float64
}

// key identifies a shape across ratesim and its peers.
type key struct{ N, B, K int }

func keyOf(r Result) key { return key{r.N, r.B, r.Instances()} }

// peerNames lists the peers in order of first appearance.
func peerNames(peers []Result) []string {
	var names []string
	seen := map[string]bool{}
	for _, p := range peers {
		if !seen[p.Peer] {
			seen[p.Peer] = true
			names = append(names, p.Peer)
		}
	}
	return names
}

// findPeer returns peer name's result for r's shape (N, B, K), or nil.
func findPeer(peers []Result, name string, r Result) *Result {
	for i := range peers {
		if peers[i].Peer == name && keyOf(peers[i]) == keyOf(r) {
			return &peers[i]
		}
	}
	return nil
}

// Table prints results side by side with each peer's time and ratio (peer
// time / ratesim time: > 1 means ratesim is faster), peers paired with
// ratesim's rows by (N, B, K).
func Table(w io.Writer, ours []Result, peers []Result) { WriteTable(w, ours, peers, TableOptions{}) }

// WriteTable is Table with options.
func WriteTable(w io.Writer, ours []Result, peers []Result, opt TableOptions) {
	sweep := false
	big := false
	for _, r := range append(append([]Result(nil), ours...), peers...) {
		sweep = sweep || r.Instances() > 1
		big = big || r.GFLOPS >= 1000
	}
	unit, scale := "GFLOP/s", 1.0
	if big {
		unit, scale = "TFLOP/s", 1e-3
	}
	names := peerNames(peers)
	var h, top strings.Builder
	if sweep {
		fmt.Fprintf(&h, "%6s ", "K")
	}
	fmt.Fprintf(&h, "%6s %4s | %12s %10s %9s", "N", "B", "µs/step", "steps/s", unit)
	if opt.PeakGFLOPS > 0 {
		fmt.Fprintf(&h, " %7s", "ceiling")
	}
	if len(names) > 0 {
		ourWidth := 12 + 1 + 10 + 1 + 9
		if opt.PeakGFLOPS > 0 {
			ourWidth += 8
		}
		if sweep {
			fmt.Fprintf(&top, "%6s ", "")
		}
		fmt.Fprintf(&top, "%6s %4s | %-*s", "", "", ourWidth, "ratesim")
	}
	for _, n := range names {
		fmt.Fprintf(&top, " | %-31s", n)
		fmt.Fprintf(&h, " | %12s %9s %8s", "µs/step", unit, "speedup")
	}
	if top.Len() > 0 {
		fmt.Fprintln(w, strings.TrimRight(top.String(), " "))
	}
	fmt.Fprintln(w, strings.TrimRight(h.String(), " "))
	for _, r := range ours {
		var l strings.Builder
		if sweep {
			fmt.Fprintf(&l, "%6d ", r.Instances())
		}
		fmt.Fprintf(&l, "%6d %4d | %12.2f %10.0f %9.2f", r.N, r.B, r.MedianUS, r.StepsPerS, r.GFLOPS*scale)
		if opt.PeakGFLOPS > 0 {
			fmt.Fprintf(&l, " %6.1f%%", 100*r.GFLOPS/opt.PeakGFLOPS)
		}
		for _, n := range names {
			if p := findPeer(peers, n, r); p != nil {
				fmt.Fprintf(&l, " | %12.2f %9.2f %7.2fx", p.MedianUS, p.GFLOPS*scale, p.MedianUS/r.MedianUS)
			} else {
				fmt.Fprintf(&l, " | %12s %9s %8s", "-", "-", "-")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(l.String(), " "))
	}
}

// Goals prints the CUDA issue's goals next to what was measured: ≥ 20× the
// PyTorch loop and ≥ 5× JAX for N=256, B=1 and for the sweeps; sweeps at
// ≥ 10 TFLOP/s; N=4096, B=256 at ≥ 60 % of the exact-mode ceiling (when
// peakGFLOPS > 0). Rows that were not measured are left out.
func Goals(w io.Writer, ours, peers []Result, peakGFLOPS float64) {
	want := map[string]float64{"torch-loop": 20, "jax-scan": 5}
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	for _, r := range ours {
		sz := Size{N: r.N, B: r.B, K: r.K}
		isSweep := r.Instances() > 1
		if (r.N == 256 && r.B == 1 && !isSweep) || isSweep {
			for _, name := range peerNames(peers) {
				g, ok := want[name]
				if !ok {
					continue
				}
				if p := findPeer(peers, name, r); p != nil {
					x := p.MedianUS / r.MedianUS
					fmt.Fprintf(w, "  %-18s vs %-10s %7.2fx  (goal ≥ %gx)  %s\n", sz, name, x, g, mark(x >= g))
				}
			}
		}
		if isSweep {
			fmt.Fprintf(w, "  %-18s %7.2f TFLOP/s effective  (goal ≥ 10 on an H100)  %s\n", sz, r.GFLOPS/1e3, mark(r.GFLOPS >= 1e4))
		}
		if r.N == 4096 && r.B == 256 && !isSweep && peakGFLOPS > 0 {
			f := r.GFLOPS / peakGFLOPS
			fmt.Fprintf(w, "  %-18s %5.1f%% of the exact-mode ceiling (%.0f GFLOP/s)  (goal ≥ 60%%)  %s\n", sz, 100*f, peakGFLOPS, mark(f >= 0.6))
		}
	}
}

// CPUGoals prints the CPU issue's goals next to what was measured against
// the PyTorch loop (peer torch-loop) of the same run: with noise on, ≥ 1.5×
// the loop at every size; with noise off, ≥ 1.5× where the loop runs below
// two thirds of the ceiling and ≥ 0.9× where it runs above; and, when
// peakGFLOPS > 0, products with N ≥ 1024 and B ≥ 32 at ≥ 70 % of the
// ceiling. Rows without a loop result are left out of the ratios.
func CPUGoals(w io.Writer, ours, peers []Result, peakGFLOPS float64) {
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	for _, r := range ours {
		sz := Size{N: r.N, B: r.B, K: r.K}
		if p := findPeer(peers, "torch-loop", r); p != nil {
			x := p.MedianUS / r.MedianUS
			g := 1.5
			why := ""
			if !r.Noise && peakGFLOPS > 0 && p.GFLOPS >= 2*peakGFLOPS/3 {
				g, why = 0.9, ", the loop at the ceiling"
			}
			fmt.Fprintf(w, "  %-18s vs torch-loop %7.2fx  (goal ≥ %gx%s)  %s\n", sz, x, g, why, mark(x >= g))
		}
		if r.N >= 1024 && r.B >= 32 && r.Instances() == 1 && peakGFLOPS > 0 {
			f := r.GFLOPS / peakGFLOPS
			fmt.Fprintf(w, "  %-18s %5.1f%% of the ceiling (%.0f GFLOP/s)  (goal ≥ 70%%)  %s\n", sz, 100*f, peakGFLOPS, mark(f >= 0.7))
		}
	}
}
