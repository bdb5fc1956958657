package backendtest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// DelayCase is a suite case with synaptic delays (backend.Delays).
type DelayCase struct {
	Case
	// Max is the program's largest allowed delay D.
	Max int
	// Blocks gives every connection between three groups of units one
	// delay (per-connection delays); otherwise each synapse draws its own.
	Blocks bool
	// CSR adds the sparse form of the drive (backend.SparseDrive).
	CSR bool
	// Chunks are the Advance call sizes the case also runs in (cycled);
	// the delays' ring buffer must carry across them.
	Chunks []int
}

func (c DelayCase) String() string {
	return fmt.Sprintf("%v_D%d_blocks%v_csr%v", c.Case, c.Max, c.Blocks, c.CSR)
}

// NewDelayProgram builds the program of c: NewProgram's, with delays in
// [0, Max] drawn from a stream of their own (about a quarter of them 0, so
// delayed and undelayed synapses mix in every sum; some equal to Max).
func NewDelayProgram[T backend.Float](c DelayCase) *backend.Program[T] {
	p := NewProgram[T](c.Case)
	rng := rand.New(rand.NewPCG(c.Seed, 0xde1a))
	K, N := p.Instances, p.Units
	d := &backend.Delays{Max: c.Max, Steps: make([]uint16, K*N*N)}
	draw := func() uint16 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return uint16(c.Max)
		}
		return uint16(rng.IntN(c.Max + 1))
	}
	group := func(u int) int { return 3 * u / N }
	for k := 0; k < K; k++ {
		var block [3][3]uint16
		for a := range block {
			for b := range block[a] {
				block[a][b] = draw()
			}
		}
		for j := 0; j < N; j++ {
			for i := 0; i < N; i++ {
				x := &d.Steps[(k*N+j)*N+i]
				if c.Blocks {
					*x = block[group(j)][group(i)]
				} else {
					*x = draw()
				}
			}
		}
	}
	p.Delays = d
	if c.CSR {
		p.Sparse = backend.NewSparseDrive(p.Shape, p.Drive)
	}
	return p
}

// DelayCases returns the delay cases of the suite: sizes around block
// edges, small and large maximal delays (one longer than the run, so only
// r_0's history is read), per-synapse and per-connection delays, with and
// without inputs, noise, the sparse form, and chunks of Advance calls
// shorter than, equal to and longer than the delays.
func DelayCases(short bool) []DelayCase {
	var cs []DelayCase
	seed := uint64(700)
	add := func(c DelayCase) {
		c.Seed = seed
		seed++
		cs = append(cs, c)
	}
	acts := backend.Activations()
	maxes := []int{1, 2, 7, 33}
	for i, n := range []int{1, 2, 31, 32, 33, 128, 129} {
		steps := 120
		if n >= 128 {
			steps = 40
			if short {
				steps = 15
			}
		}
		D := maxes[i%len(maxes)]
		add(DelayCase{Case: Case{Shape: backend.Shape{Instances: 1 + i%2, Trials: []int{1, 3, 33}[i%3], Units: n, Inputs: []int{0, 2, 1}[i%3], Outputs: i % 3},
			Activation: acts[i%len(acts)], Noise: i%2 == 0, Init: i%3 != 1, Shared: i%4 == 1, Sparse: i%3 == 2, Stride: 1 + i%2, Steps: steps},
			Max: D, Blocks: i%2 == 1, CSR: i%3 == 0, Chunks: []int{1, D, D + 1, 3}})
	}
	// A maximal delay longer than the run, and a long one with few units.
	add(DelayCase{Case: Case{Shape: backend.Shape{Instances: 2, Trials: 2, Units: 9, Inputs: 1, Outputs: 1},
		Activation: backend.Tanh, Noise: true, Init: true, Stride: 1, Steps: 30}, Max: 300, Chunks: []int{7}})
	add(DelayCase{Case: Case{Shape: backend.Shape{Instances: 1, Trials: 4, Units: 20, Inputs: 2, Outputs: 0},
		Activation: backend.Tanh, Noise: true, Init: true, Stride: 1, Steps: 250}, Max: 65, Blocks: true, Chunks: []int{64, 1, 66}})
	return cs
}

// Delays is the entry point for synaptic delays (backend.Delays): the
// programs of DelayCases in both precisions, each run as one Advance call
// and in chunks (the ring buffer carried across calls), and a delayed
// program run as the parts of partitions of its instances and trials (each
// part's buffer its own), all compared with the reference bit for bit. A
// backend that does not declare delays (backend.DelayCapable) must refuse
// delayed programs at Start with backend.ErrNoDelays.
func Delays(t *testing.T, b backend.Backend) {
	if !backend.SupportsDelays(b) {
		p := NewDelayProgram[float32](DelayCases(true)[0])
		run, err := backend.Start(b, p)
		if err == nil {
			run.Close()
			t.Fatalf("%s does not declare delays but started a delayed program", b.Name())
		}
		if want := backend.ErrNoDelays(b.Name()); err.Error() != want.Error() {
			t.Fatalf("Start of a delayed program = %v, want %v", err, want)
		}
		return
	}
	for _, c := range DelayCases(testing.Short()) {
		t.Run("f32/"+c.String(), func(t *testing.T) { failOn(t, CheckDelayCase[float32](b, c)) })
		t.Run("f64/"+c.String(), func(t *testing.T) { failOn(t, CheckDelayCase[float64](b, c)) })
	}
	bothPrecisions(t, func(t *testing.T) { testDelayPartition[float32](t, b) }, func(t *testing.T) { testDelayPartition[float64](t, b) })
	bothPrecisions(t, func(t *testing.T) { testDelayNonFinite[float32](t, b) }, func(t *testing.T) { testDelayNonFinite[float64](t, b) })
}

// testDelayNonFinite runs NonFinite's exploding program with delays: the
// run stops with the reference's error, whole and in chunks.
func testDelayNonFinite[T backend.Float](t *testing.T, b backend.Backend) {
	p, in, steps := explodingProgram[T]()
	N := p.Units
	p.Delays = &backend.Delays{Max: 5, Steps: make([]uint16, p.Instances*N*N)}
	for x := range p.Delays.Steps {
		p.Delays.Steps[x] = uint16(x % 6)
	}
	want := Expect(t, b, p, in, steps, []int{37})
	if want.Err == nil {
		t.Fatal("the delayed exploding program did not blow up on the reference")
	}
	Expect(t, b, p, in, steps, nil)
}

// CheckDelayCase runs c on b as one call and in c.Chunks and compares both
// with the reference; it returns the first difference as an error.
func CheckDelayCase[T backend.Float](b backend.Backend, c DelayCase) error {
	p := NewDelayProgram[T](c)
	in := NewInput(p, c.Steps, c.Seed)
	want, err := RunChunked(backend.Reference, p, in, c.Steps, nil)
	if err != nil {
		return err
	}
	if want.Err != nil {
		return fmt.Errorf("the reference run failed: %v (the case's weights are too large)", want.Err)
	}
	if c.Steps > 2 && allEqual(want.Rates) {
		return fmt.Errorf("degenerate case: every recorded rate equals %v", want.Rates[0])
	}
	for _, sizes := range [][]int{nil, c.Chunks} {
		got, err := RunChunked(b, p, in, c.Steps, sizes)
		if err != nil {
			return err
		}
		if d := Compare(got, want, p.Record.Every()); d != nil {
			return fmt.Errorf("%s vs reference (chunks %v): %s", b.Name(), sizes, d)
		}
	}
	return nil
}

// failOn fails t with err, if any.
func failOn(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testDelayPartition[T backend.Float](t *testing.T, b backend.Backend) {
	for _, csr := range []bool{false, true} {
		t.Run(fmt.Sprintf("csr=%v", csr), func(t *testing.T) {
			c := DelayCase{Case: Case{Shape: backend.Shape{Instances: 5, Trials: 7, Units: 40, Inputs: 3, Outputs: 2},
				Activation: backend.Tanh, Noise: true, Init: true, Stride: 2, Steps: 90, Seed: 4343}, Max: 12, CSR: csr}
			p := NewDelayProgram[T](c)
			in := NewInput(p, c.Steps, 12)
			whole := Expect(t, b, p, in, c.Steps, []int{5, 13})
			if whole.Err != nil {
				t.Fatalf("the reference run failed: %v", whole.Err)
			}
			expectPartitions(t, b, p, in, c.Steps, whole, cutInstances|cutTrials)
		})
	}
}
