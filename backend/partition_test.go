package backend_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// output is everything a run produced, gathered by this file's own loops
// (not by the partitioner under test): per instance–trial row (per weight
// matrix for snapshots) the concatenation of every call's values.
type output[T backend.Float] struct {
	rates, states, outputs, weights []T
	v, r, drive, readout            []T
	err                             error
}

// runAll runs p on run in Advance calls of the given sizes (cyclically).
func runAll[T backend.Float](t *testing.T, run backend.Run[T], p *backend.Program[T], in []T, steps int, sizes []int) *output[T] {
	t.Helper()
	defer run.Close()
	K, B, N, O, I := p.Instances, p.Trials, p.Units, p.Outputs, p.Inputs
	kk := K
	if p.SharedInput {
		kk = 1
	}
	MM, width := p.Matrices(), p.WeightWidth()
	rows := func(n int) [][]T { return make([][]T, n) }
	rates, states, outs, weights := rows(K*B), rows(K*B), rows(K*B), rows(K*MM)
	res := &output[T]{}
	for t0, i := 0, 0; t0 < steps; i++ {
		n := min(sizes[i%len(sizes)], steps-t0)
		var cin []T
		if in != nil {
			for kb := 0; kb < kk*B; kb++ {
				cin = append(cin, in[(kb*steps+t0)*I:(kb*steps+t0+n)*I]...)
			}
		}
		c := backend.NewChunkFor(p, t0, n)
		err := run.Advance(n, cin, c)
		m, mw := p.Record.Recorded(t0, n), p.WeightsRecorded(t0, n)
		for kb := 0; kb < K*B; kb++ {
			if c.Rates != nil {
				rates[kb] = append(rates[kb], c.Rates[kb*m*N:(kb+1)*m*N]...)
			}
			if c.States != nil {
				states[kb] = append(states[kb], c.States[kb*m*N:(kb+1)*m*N]...)
			}
			if c.Outputs != nil {
				outs[kb] = append(outs[kb], c.Outputs[kb*m*O:(kb+1)*m*O]...)
			}
		}
		for km := 0; km < K*MM && mw > 0; km++ {
			weights[km] = append(weights[km], c.Weights[km*mw*width:(km+1)*mw*width]...)
		}
		if err != nil {
			res.err = err
			return res
		}
		t0 += n
	}
	flat := func(rs [][]T) []T {
		var a []T
		for _, r := range rs {
			a = append(a, r...)
		}
		return a
	}
	res.rates, res.states, res.outputs, res.weights = flat(rates), flat(states), flat(outs), flat(weights)
	res.v, res.r = make([]T, K*B*N), make([]T, K*B*N)
	if err := run.State(res.v, res.r); err != nil {
		t.Fatal(err)
	}
	res.drive, res.readout = make([]T, K*MM*p.DriveRows()*N), make([]T, K*MM*(N+1)*O)
	if err := backend.Weights(run, res.drive, res.readout); err != nil {
		t.Fatal(err)
	}
	return res
}

// same fails t at the first value that differs in its bits.
func same[T backend.Float](t *testing.T, what string, got, want *output[T]) {
	t.Helper()
	if (got.err == nil) != (want.err == nil) || got.err != nil && got.err.Error() != want.err.Error() {
		t.Fatalf("%s: error %v, want %v", what, got.err, want.err)
	}
	if want.err != nil {
		return
	}
	for _, x := range []struct {
		name string
		g, w []T
	}{
		{"rates", got.rates, want.rates}, {"states", got.states, want.states}, {"outputs", got.outputs, want.outputs},
		{"weight snapshots", got.weights, want.weights}, {"final v", got.v, want.v}, {"final r", got.r, want.r},
		{"final drive", got.drive, want.drive}, {"final readout", got.readout, want.readout},
	} {
		if len(x.g) != len(x.w) {
			t.Fatalf("%s: %d %s, want %d", what, len(x.g), x.name, len(x.w))
		}
		for i := range x.w {
			if backendtest.Bits(x.g[i]) != backendtest.Bits(x.w[i]) {
				t.Fatalf("%s: %s[%d] = %v, want %v", what, x.name, i, x.g[i], x.w[i])
			}
		}
	}
}

func partitionCases() map[string]backendtest.Case {
	s := backend.Shape{Instances: 5, Trials: 6, Units: 9, Inputs: 2, Outputs: 3}
	base := backendtest.Case{Shape: s, Activation: backend.Tanh, Noise: true, Init: true, Stride: 2, Steps: 40, Seed: 71}
	shared := base
	shared.Shared = true
	plastic := func(perTrial bool) backendtest.Case {
		c := base
		c.Sparse = true
		c.Plastic = &backendtest.PlasticCase{Layers: []backend.Layer{backend.LayerRecurrent, backend.LayerInput, backend.LayerReadout},
			Kinds: []backend.RuleKind{backend.Hebbian, backend.Oja}, Optimizer: backend.Adam, PerTrial: perTrial, Growth: true}
		return c
	}
	return map[string]backendtest.Case{"static": base, "shared input": shared, "shared weights": plastic(false), "per-trial weights": plastic(true)}
}

// The reference run as the parts of a partition gives the bits of the
// reference run whole: recordings, weight snapshots, final state and
// weights, for several shapes of partition and of Advance calls.
func TestPartitionedReferenceIsWhole(t *testing.T) {
	for name, c := range partitionCases() {
		t.Run(name, func(t *testing.T) {
			p := backendtest.NewProgram[float64](c)
			in := backendtest.NewInput(p, c.Steps, 5)
			r, err := backend.Start(backend.Reference, p)
			if err != nil {
				t.Fatal(err)
			}
			want := runAll(t, r, p, in, c.Steps, []int{c.Steps})
			splitsTrials := c.Plastic == nil || c.Plastic.PerTrial
			for _, sh := range []struct {
				maxK, maxB int
				trials     bool
			}{{2, 0, false}, {1, 0, false}, {0, 4, true}, {2, 4, true}, {3, 1, true}, {1, 1, true}} {
				if sh.trials && !splitsTrials {
					continue
				}
				pt, err := backend.Split(p, sh.maxK, sh.maxB)
				if err != nil {
					t.Fatal(err)
				}
				for _, sizes := range [][]int{{c.Steps}, {7, 1, 12}} {
					run, err := backend.StartSharded(backend.Reference, pt)
					if err != nil {
						t.Fatal(err)
					}
					got := runAll(t, run, p, in, c.Steps, sizes)
					same(t, fmt.Sprintf("split ≤ %d instances × ≤ %d trials (%d parts), calls %v", sh.maxK, sh.maxB, len(pt.Parts), sizes), got, want)
				}
			}
			if splitsTrials {
				// Uneven, as a memory cap's halving cuts.
				pt, err := backend.NewPartition(p, []backend.Span{{0, 2, 0, 6}, {2, 3, 0, 1}, {2, 3, 1, 6}, {3, 5, 0, 3}, {3, 5, 3, 6}})
				if err != nil {
					t.Fatal(err)
				}
				run, err := backend.StartSharded(backend.Reference, pt)
				if err != nil {
					t.Fatal(err)
				}
				same(t, "uneven partition", runAll(t, run, p, in, c.Steps, []int{3, 30}), want)
			}
		})
	}
}

// A partition of one part is the part's own run.
func TestPartitionOfOnePart(t *testing.T) {
	p := backendtest.NewProgram[float32](partitionCases()["static"])
	pt, err := backend.Split(p, 0, 0)
	if err != nil || len(pt.Parts) != 1 || !pt.Parts[0].IsWhole() || pt.Parts[0].Program != p {
		t.Fatalf("Split(p, 0, 0) = %v, %v: want the whole program as one part", pt, err)
	}
	r, err := backend.StartSharded(backend.Reference, pt)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*backend.ShardedRun[float32]); ok {
		t.Fatal("one part started as a sharded run")
	}
}

// code is the input value of instance k, trial b, step t, input i.
func code(k, b, t, i int) float32 { return float32(k*1000 + b*100 + t*10 + i) }

// Input cuts a part's instances, trials and steps out of the whole input,
// per instance and shared.
func TestPartInput(t *testing.T) {
	for _, shared := range []bool{false, true} {
		c := backendtest.Case{Shape: backend.Shape{Instances: 3, Trials: 4, Units: 2, Inputs: 2, Outputs: 1},
			Activation: backend.ReLU, Shared: shared, Stride: 1, Steps: 6, Seed: 1}
		p := backendtest.NewProgram[float32](c)
		kk := 3
		if shared {
			kk = 1
		}
		in := make([]float32, p.InputLen(c.Steps))
		for k := 0; k < kk; k++ {
			for b := 0; b < 4; b++ {
				for s := 0; s < c.Steps; s++ {
					for i := 0; i < 2; i++ {
						in[((k*4+b)*c.Steps+s)*2+i] = code(k, b, s, i)
					}
				}
			}
		}
		q, err := backend.NewPart(p, backend.Span{K0: 1, K1: 3, B0: 1, B1: 3})
		if err != nil {
			t.Fatal(err)
		}
		const t0, n = 2, 3
		got := q.Input(in, c.Steps, t0, n, nil)
		if len(got) != q.Program.InputLen(n) {
			t.Fatalf("shared %v: %d input values, want %d", shared, len(got), q.Program.InputLen(n))
		}
		qk := 2
		if shared {
			qk = 1
		}
		for k := 0; k < qk; k++ {
			for b := 0; b < 2; b++ {
				for s := 0; s < n; s++ {
					for i := 0; i < 2; i++ {
						gk := k + 1
						if shared {
							gk = 0
						}
						if g, w := got[((k*2+b)*n+s)*2+i], code(gk, b+1, t0+s, i); g != w {
							t.Fatalf("shared %v: part input (%d,%d,%d,%d) = %v, want %v", shared, k, b, s, i, g, w)
						}
					}
				}
			}
		}
		// Buffers are reused; all of the input is the input itself.
		buf := make([]float32, 0, 100)
		if again := q.Input(in, c.Steps, t0, n, buf); &again[0] != &buf[:1][0] {
			t.Errorf("shared %v: Input did not use the buffer", shared)
		}
		if all := backend.WholePart(p).Input(in, c.Steps, 0, c.Steps, buf); &all[0] != &in[0] {
			t.Errorf("shared %v: the whole part's whole input was copied", shared)
		}
		if q.Input(nil, c.Steps, 0, 1, buf) != nil {
			t.Errorf("shared %v: nil input did not stay nil", shared)
		}
		if shared {
			// All trials of some instances: the shared input itself.
			q2, _ := backend.NewPart(p, backend.Span{K0: 1, K1: 2, B0: 0, B1: 4})
			if all := q2.Input(in, c.Steps, 0, c.Steps, buf); &all[0] != &in[0] {
				t.Error("the shared input of an instance range was copied")
			}
		}
	}
}

// Shared plastic weights sum over an instance's trials: no part may hold
// only some of them.
func TestSplitSharedPlasticTrials(t *testing.T) {
	shared := backendtest.NewProgram[float32](partitionCases()["shared weights"])
	perTrial := backendtest.NewProgram[float32](partitionCases()["per-trial weights"])
	if _, err := backend.Split(shared, 0, 3); !errors.Is(err, backend.ErrSharedTrials) {
		t.Errorf("Split by trials of shared plastic weights: %v, want ErrSharedTrials", err)
	}
	if _, err := backend.NewPart(shared, backend.Span{K0: 0, K1: 1, B0: 0, B1: 5}); !errors.Is(err, backend.ErrSharedTrials) {
		t.Errorf("NewPart of some trials of shared plastic weights: %v, want ErrSharedTrials", err)
	}
	if _, err := backend.NewPartition(shared, []backend.Span{{0, 5, 0, 3}, {0, 5, 3, 6}}); !errors.Is(err, backend.ErrSharedTrials) {
		t.Errorf("NewPartition by trials of shared plastic weights: %v, want ErrSharedTrials", err)
	}
	if pt, err := backend.Split(shared, 2, 0); err != nil || len(pt.Parts) != 3 {
		t.Errorf("Split by instances of shared plastic weights: %v, %v", pt, err)
	}
	if pt, err := backend.Split(perTrial, 2, 3); err != nil || len(pt.Parts) != 6 {
		t.Errorf("Split of per-trial plastic weights: %v, %v", pt, err)
	}
}

// Split cuts as evenly as it can; NewPartition accepts what tiles the
// program in order and nothing else.
func TestPartitionShapes(t *testing.T) {
	p := backendtest.NewProgram[float32](partitionCases()["static"]) // 5 × 6
	pt, err := backend.Split(p, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []backend.Span
	for _, q := range pt.Parts {
		got = append(got, q.Span)
		if q.Program.Instances != q.Instances() || q.Program.Trials != q.Trials() || q.Program.FirstInstance != q.K0 || q.Program.FirstTrial != q.B0 {
			t.Errorf("part %v: program of %d × %d from (%d,%d)", q.Span, q.Program.Instances, q.Program.Trials, q.Program.FirstInstance, q.Program.FirstTrial)
		}
	}
	want := []backend.Span{{0, 1, 0, 3}, {0, 1, 3, 6}, {1, 3, 0, 3}, {1, 3, 3, 6}, {3, 5, 0, 3}, {3, 5, 3, 6}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Split(5 × 6, 2, 4) = %v, want %v", got, want)
	}
	for _, bad := range [][]backend.Span{
		nil,
		{{0, 5, 0, 5}},               // a trial missing
		{{0, 2, 0, 6}, {3, 5, 0, 6}}, // an instance missing
		{{0, 2, 0, 6}, {1, 5, 0, 6}}, // overlap
		{{2, 5, 0, 6}, {0, 2, 0, 6}}, // out of order
		{{0, 2, 0, 3}, {0, 3, 3, 6}, {3, 5, 0, 6}}, // trial ranges of different instance ranges
		{{0, 5, 0, 6}, {0, 5, 0, 6}},               // twice
		{{0, 6, 0, 6}},                             // outside
		{{0, 5, 0, 3}, {0, 5, 3, 3}, {0, 5, 3, 6}}, // empty
	} {
		if _, err := backend.NewPartition(p, bad); err == nil {
			t.Errorf("NewPartition accepted %v", bad)
		}
	}
}

// A partitioned run that blows up stops with the error of the whole run:
// the first non-finite value over all parts in the contract's order, at
// the whole program's indices; the error sticks, and calls on a closed
// run fail.
func TestShardedRunErrors(t *testing.T) {
	c := backendtest.Case{Shape: backend.Shape{Instances: 4, Trials: 3, Units: 7, Inputs: 1, Outputs: 1},
		Activation: backend.Identity, Init: true, Stride: 1, Steps: 300, Seed: 9}
	p := backendtest.NewProgram[float32](c)
	N, rows := p.Units, p.DriveRows()
	for _, k := range []int{1, 3} { // two instances explode, 3 first (larger gain)
		for j := 0; j < rows*N; j++ {
			p.Drive[k*rows*N+j] = float32(2 + k/2)
		}
		for i := 0; i < N; i++ {
			p.Alpha[k*N+i], p.Decay[k*N+i] = 1, 0
		}
	}
	in := backendtest.NewInput(p, c.Steps, 2)
	r, _ := backend.Start(backend.Reference, p)
	want := runAll(t, r, p, in, c.Steps, []int{c.Steps})
	var nf *backend.NonFiniteError
	if !errors.As(want.err, &nf) {
		t.Fatalf("the whole run did not stop: %v", want.err)
	}
	pt, _ := backend.Split(p, 1, 2)
	run, err := backend.StartSharded(backend.Reference, pt)
	if err != nil {
		t.Fatal(err)
	}
	got := runAll(t, run, p, in, c.Steps, []int{50})
	same(t, "partitioned", got, want)
	if err := run.State(nil, nil); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("State after Close = %v", err)
	}
	run, _ = backend.StartSharded(backend.Reference, pt)
	defer run.Close()
	if err := run.Advance(2, make([]float32, 3), backend.NewChunk(p, 2)); err == nil {
		t.Error("a wrong input length was accepted")
	}
	if err := run.State(make([]float32, 5), nil); err == nil {
		t.Error("State accepted a short v")
	}
	first := run.Advance(c.Steps, in, backend.NewChunkFor(p, 0, c.Steps))
	if first == nil || first.Error() != want.err.Error() || run.Done() != nf.Step {
		t.Errorf("one call: %v after %d steps, want %v", first, run.Done(), want.err)
	}
	if err := run.Advance(1, nil, backend.NewChunkFor(p, run.Done(), 1)); err == nil || err.Error() != want.err.Error() {
		t.Errorf("Advance after the error = %v, want %v", err, want.err)
	}
	if nf.Instance != 3 {
		t.Errorf("the whole run stopped at %v, want instance 3 first", nf)
	}
}
