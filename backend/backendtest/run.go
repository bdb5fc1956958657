package backendtest

import (
	"fmt"

	"github.com/ratesim/ratesim/backend"
)

// Result is everything a run produced, with recordings laid out [K][B][M][·]
// over all M recorded steps.
type Result[T backend.Float] struct {
	Shape                  backend.Shape
	Recorded               int
	Rates, States, Outputs []T
	V, R                   []T // final state, K × B × N
	Err                    error

	// Plastic programs: the plasticity, the weight snapshots laid out
	// [K][M][Snapshots][width] and the final weights (K × M matrices).
	Plasticity     *backend.Plasticity[T]
	Snapshots      int
	Weights        []T
	Drive, Readout []T
}

// RunChunked runs p for steps, split into Advance calls of the given sizes
// (repeated cyclically; nil means one call), feeding the matching slices of
// input (laid out as NewInput makes it).
func RunChunked[T backend.Float](b backend.Backend, p *backend.Program[T], input []T, steps int, sizes []int) (*Result[T], error) {
	run, err := backend.Start(b, p)
	if err != nil {
		return nil, fmt.Errorf("%s: start: %w", b.Name(), err)
	}
	return collect(b.Name(), run, p, input, steps, sizes)
}

// RunPartitioned is RunChunked for pt.Whole run as the parts of pt, each
// started on b as a program of its own and composed by the partitioner
// (backend.StartSharded).
func RunPartitioned[T backend.Float](b backend.Backend, pt *backend.Partition[T], input []T, steps int, sizes []int) (*Result[T], error) {
	run, err := backend.StartSharded(b, pt)
	if err != nil {
		return nil, fmt.Errorf("%s: start: %w", b.Name(), err)
	}
	return collect(b.Name(), run, pt.Whole, input, steps, sizes)
}

// collect advances run, a fresh run of p, and gathers what it produces.
func collect[T backend.Float](name string, run backend.Run[T], p *backend.Program[T], input []T, steps int, sizes []int) (*Result[T], error) {
	defer run.Close()
	K, B, N, O := p.Instances, p.Trials, p.Units, p.Outputs
	M := p.Record.Recorded(0, steps)
	res := &Result[T]{Shape: p.Shape, Recorded: M}
	alloc := func(on bool, n int) []T {
		if on {
			return make([]T, K*B*M*n)
		}
		return nil
	}
	res.Rates, res.States, res.Outputs = alloc(p.Record.Rates, N), alloc(p.Record.States, N), alloc(p.Record.Outputs, O)
	MM, MW, width := p.Matrices(), p.WeightsRecorded(0, steps), p.WeightWidth()
	if p.Plasticity != nil {
		res.Plasticity, res.Snapshots = p.Plasticity, MW
		res.Weights = make([]T, K*MM*MW*width)
	}
	if len(sizes) == 0 {
		sizes = []int{steps}
	}
	// The calls are a partition of the steps: the whole part's Input and
	// Scatter move each call's slice of the input and its chunk.
	whole := backend.WholePart(p)
	all := &backend.Chunk[T]{Rates: res.Rates, States: res.States, Outputs: res.Outputs, Weights: res.Weights}
	for t0, i := 0, 0; t0 < steps; i++ {
		n := min(sizes[i%len(sizes)], steps-t0)
		c := backend.NewChunkFor(p, t0, n)
		err := run.Advance(n, whole.Input(input, steps, t0, n, nil), c)
		whole.Scatter(all, 0, steps, c, t0, n)
		if err != nil {
			res.Err = err
			return res, nil
		}
		if got := run.Done(); got != t0+n {
			return nil, fmt.Errorf("%s: Done() = %d after %d steps", name, got, t0+n)
		}
		t0 += n
	}
	res.V, res.R = make([]T, K*B*N), make([]T, K*B*N)
	if err := run.State(res.V, res.R); err != nil {
		return nil, fmt.Errorf("%s: state: %w", name, err)
	}
	if p.Plasticity != nil {
		res.Drive, res.Readout = make([]T, K*MM*p.DriveRows()*N), make([]T, K*MM*(N+1)*O)
		if err := backend.Weights(run, res.Drive, res.Readout); err != nil {
			return nil, fmt.Errorf("%s: weights: %w", name, err)
		}
	}
	return res, nil
}
