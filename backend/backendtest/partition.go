package backendtest

import (
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// Partition is the entry point for partition invariance: one program gives
// the same bits run as one Advance call or as uneven chunks of steps, and
// run as the parts of partitions of its instances and trials (instance
// ranges, trial ranges, grids, the uneven cuts a memory cap's halving
// makes), each part a program of its own on the
// backend composed by the partitioner (backend.StartSharded), with shared
// and per-instance input. (Plastic programs' partitions are part of
// Plasticity.)
func Partition(t *testing.T, b backend.Backend) {
	bothPrecisions(t, func(t *testing.T) { testPartition[float32](t, b) }, func(t *testing.T) { testPartition[float64](t, b) })
}

func testPartition[T backend.Float](t *testing.T, b backend.Backend) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			c := Case{Shape: backend.Shape{Instances: 5, Trials: 7, Units: 40, Inputs: 3, Outputs: 2},
				Activation: backend.Tanh, Noise: true, Init: true, Shared: shared, Stride: 2, Steps: 150, Seed: 4242}
			p := NewProgram[T](c)
			in := NewInput(p, c.Steps, 11)
			whole := Expect(t, b, p, in, c.Steps, nil)
			if whole.Err != nil {
				t.Fatalf("the reference run failed: %v", whole.Err)
			}
			if !shared {
				expectChunks(t, b, p, in, c.Steps, whole, [][]int{{1}, {7, 1, 30}, {149, 1}, {0, 50}})
				expectPartitions(t, b, p, in, c.Steps, whole, cutInstances|cutTrials)
				return
			}
			// Shared input: the parts of some of its trials.
			expectChunks(t, b, p, in, c.Steps, whole, [][]int{{7, 1, 30}})
			expectPartitions(t, b, p, in, c.Steps, whole, cutTrials)
		})
	}
}

// expectChunks runs p in Advance calls of each of sizes and requires the
// bits of whole, its run in one call.
func expectChunks[T backend.Float](t *testing.T, b backend.Backend, p *backend.Program[T], in []T, steps int, whole *Result[T], sizes [][]int) {
	t.Helper()
	for _, sz := range sizes {
		got, err := RunChunked(b, p, in, steps, sz)
		if err != nil {
			t.Fatal(err)
		}
		if d := Compare(got, whole, p.Record.Every()); d != nil {
			t.Fatalf("%s: steps chunked %v vs one call: %s", b.Name(), sz, d)
		}
	}
}

// expectPartitions runs p as each of partitions(p, cuts) and requires the
// bits of whole, its run as one program.
func expectPartitions[T backend.Float](t *testing.T, b backend.Backend, p *backend.Program[T], in []T, steps int, whole *Result[T], cuts cut) {
	t.Helper()
	sizes := [][]int{{64}, nil, {7, 1, 30}}
	for i, np := range partitions(p, cuts) {
		sz := sizes[i%len(sizes)]
		got, err := RunPartitioned(b, np.Partition, in, steps, sz)
		if err != nil {
			t.Fatalf("%s partition: %v", np.Name, err)
		}
		if d := Compare(got, whole, p.Record.Every()); d != nil {
			t.Fatalf("%s: %s partition (%s; chunks %v) vs one program: %s", b.Name(), np.Name, spans(np.Partition), sz, d)
		}
	}
}

// namedPartition is a partition of the partition tests.
type namedPartition[T backend.Float] struct {
	Name      string
	Partition *backend.Partition[T]
}

// cut selects partitions of the partition tests.
type cut uint8

const (
	cutInstances cut = 1 << iota // instance ranges, all trials of each
	cutTrials                    // trial ranges (not for shared plastic weights)
)

// partitions returns the partitions the suite runs p as: for cutInstances
// halves of its instances and one instance per part, for cutTrials thirds
// of its trials, a grid, and uneven cuts like those of a memory cap's
// halving, one of them a single instance–trial pair (p needs ≥ 3 instances
// and ≥ 2 trials for the last).
func partitions[T backend.Float](p *backend.Program[T], cuts cut) []namedPartition[T] {
	K, B := p.Instances, p.Trials
	var ps []namedPartition[T]
	add := func(name string, pt *backend.Partition[T], err error) {
		if err != nil {
			panic(fmt.Sprintf("backendtest: %s partition of %d × %d: %v", name, K, B, err))
		}
		ps = append(ps, namedPartition[T]{name, pt})
	}
	if cuts&cutInstances != 0 {
		pt, err := backend.Split(p, (K+1)/2, 0)
		add("instance halves", pt, err)
		pt, err = backend.Split(p, 1, 0)
		add("one instance per part", pt, err)
	}
	if cuts&cutTrials == 0 {
		return ps
	}
	pt, err := backend.Split(p, 0, (B+2)/3)
	add("trial thirds", pt, err)
	pt, err = backend.Split(p, 2, 3)
	add("grid of ≤ 2 instances × ≤ 3 trials", pt, err)
	if K >= 3 && B >= 2 {
		pt, err = backend.NewPartition(p, []backend.Span{
			{K0: 0, K1: 1, B0: 0, B1: B},
			{K0: 1, K1: 2, B0: 0, B1: 1}, {K0: 1, K1: 2, B0: 1, B1: B},
			{K0: 2, K1: K, B0: 0, B1: B / 2}, {K0: 2, K1: K, B0: B / 2, B1: B},
		})
		add("uneven", pt, err)
	}
	return ps
}

// spans lists the spans of pt's parts, compactly.
func spans[T backend.Float](pt *backend.Partition[T]) string {
	s := ""
	for i, q := range pt.Parts {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("[%d,%d)×[%d,%d)", q.K0, q.K1, q.B0, q.B1)
	}
	return s
}
