package backendtest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// SparseCase is a suite case whose drive has the given density and its
// CSR form (backend.SparseDrive).
type SparseCase struct {
	Case
	// Density is the fraction of the drive's weights (recurrent, input and
	// bias rows) that stay nonzero, each kept independently.
	Density float64
	// ZeroEntries keeps some zeroed weights as explicit zero entries of
	// the CSR, which the contract allows.
	ZeroEntries bool
	// DenseHint marks some units as better run by the dense product
	// (SparseDrive.Dense): a third of them from unit 0, and the middle
	// unit, as a drive mixing dense and sparse target groups has.
	DenseHint bool
}

func (c SparseCase) String() string {
	return fmt.Sprintf("%v_density%g_zeroentries%v_densehint%v", c.Case, c.Density, c.ZeroEntries, c.DenseHint)
}

// denseHint returns DenseHint's ranges for n units.
func denseHint(n int) []backend.ColumnRange {
	var rs []backend.ColumnRange
	if n/3 > 0 {
		rs = append(rs, backend.ColumnRange{Lo: 0, Hi: n / 3})
	}
	if m := n / 2; m >= n/3 {
		rs = append(rs, backend.ColumnRange{Lo: m, Hi: m + 1})
	}
	return rs
}

// NewSparseProgram builds the program of c: NewProgram's with every weight
// of the drive kept with probability Density (a stream of its own) and the
// sparse form of what is left.
func NewSparseProgram[T backend.Float](c SparseCase) *backend.Program[T] {
	p := NewProgram[T](c.Case)
	rng := rand.New(rand.NewPCG(c.Seed, 0x5ba55e))
	var zeroed []int
	for x := range p.Drive {
		if rng.Float64() >= c.Density {
			if p.Drive[x] != 0 {
				zeroed = append(zeroed, x)
			}
			p.Drive[x] = 0
		}
	}
	if !c.ZeroEntries {
		p.Sparse = backend.NewSparseDrive(p.Shape, p.Drive)
		if c.DenseHint {
			p.Sparse.Dense = denseHint(p.Units)
		}
		return p
	}
	// Build the CSR with some of the zeroed weights as explicit entries.
	keep := map[int]bool{}
	for _, x := range zeroed {
		if rng.IntN(3) == 0 {
			keep[x] = true
		}
	}
	K, N, rows := p.Instances, p.Units, p.DriveRows()
	sp := &backend.SparseDrive[T]{}
	for k := 0; k < K; k++ {
		for i := 0; i < N; i++ {
			sp.RowStart = append(sp.RowStart, int32(len(sp.Col)))
			for j := 0; j < rows; j++ {
				x := (k*rows+j)*N + i
				if p.Drive[x] != 0 || keep[x] {
					sp.Col = append(sp.Col, int32(j))
					sp.Value = append(sp.Value, p.Drive[x])
				}
			}
		}
		sp.RowStart = append(sp.RowStart, int32(len(sp.Col)))
	}
	if c.DenseHint {
		sp.Dense = denseHint(N)
	}
	p.Sparse = sp
	return p
}

// SparseCases returns the sparse cases of the suite: densities 0, 0.01,
// 0.1, 0.5 and 1 at sizes around block edges, trials and inputs around
// them too, noise, explicit zero entries, dense hints, both ways of
// sharing input.
func SparseCases(short bool) []SparseCase {
	var cs []SparseCase
	seed := uint64(900)
	acts := backend.Activations()
	densities := []float64{0, 0.01, 0.1, 0.5, 1}
	i := 0
	for _, n := range []int{1, 31, 32, 33, 127, 128, 129, 257} {
		if short && n > 129 {
			continue
		}
		for _, d := range densities {
			if n < 31 && d > 0 && d < 0.5 {
				continue // a single unit has only its bias and input weights
			}
			steps := 60
			if n >= 127 {
				steps = 20
			}
			cs = append(cs, SparseCase{Case: Case{
				Shape:      backend.Shape{Instances: 1 + i%2, Trials: []int{1, 2, 31, 32, 33}[i%5], Units: n, Inputs: []int{0, 1, 3, 33}[i%4], Outputs: []int{2, 1, 0}[i%3]},
				Activation: acts[i%len(acts)], Noise: i%2 == 0, Init: true, Shared: i%3 == 1, Stride: 1 + i%2, Steps: steps, Seed: seed},
				Density: d, ZeroEntries: i%3 == 2, DenseHint: i%4 == 1})
			i++
			seed++
		}
	}
	return cs
}

// Sparse is the entry point for the sparse drive (backend.SparseDrive):
// the programs of SparseCases in both precisions, each run as one Advance
// call and in chunks, and a sparse program run as the parts of partitions
// of its instances and trials (Program.Sub slices the CSR), compared with
// the reference, which runs the dense Drive, bit for bit. Every backend
// runs sparse programs (one that ignores the CSR runs Drive, with the
// same bits), so there is nothing to refuse.
func Sparse(t *testing.T, b backend.Backend) {
	for _, c := range SparseCases(testing.Short()) {
		t.Run("f32/"+c.String(), func(t *testing.T) { failOn(t, CheckSparseCase[float32](b, c)) })
		t.Run("f64/"+c.String(), func(t *testing.T) { failOn(t, CheckSparseCase[float64](b, c)) })
	}
	bothPrecisions(t, func(t *testing.T) { testSparsePartition[float32](t, b) }, func(t *testing.T) { testSparsePartition[float64](t, b) })
}

// CheckSparseCase runs c on b as one call and in chunks and compares both
// with the reference; it returns the first difference as an error.
func CheckSparseCase[T backend.Float](b backend.Backend, c SparseCase) error {
	p := NewSparseProgram[T](c)
	in := NewInput(p, c.Steps, c.Seed)
	want, err := RunChunked(backend.Reference, p, in, c.Steps, nil)
	if err != nil {
		return err
	}
	if want.Err != nil {
		return fmt.Errorf("the reference run failed: %v (the case's weights are too large)", want.Err)
	}
	for _, sizes := range [][]int{nil, {1, 7, 3}} {
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

func testSparsePartition[T backend.Float](t *testing.T, b backend.Backend) {
	c := SparseCase{Case: Case{Shape: backend.Shape{Instances: 5, Trials: 7, Units: 40, Inputs: 3, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Init: true, Stride: 2, Steps: 90, Seed: 4545}, Density: 0.1}
	p := NewSparseProgram[T](c)
	in := NewInput(p, c.Steps, 13)
	whole := Expect(t, b, p, in, c.Steps, []int{5, 13})
	if whole.Err != nil {
		t.Fatalf("the reference run failed: %v", whole.Err)
	}
	expectPartitions(t, b, p, in, c.Steps, whole, cutInstances|cutTrials)
}
