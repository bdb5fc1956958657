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
	m0, w0 := 0, 0
	for t0, i := 0, 0; t0 < steps; i++ {
		n := min(sizes[i%len(sizes)], steps-t0)
		m, mw := p.Record.Recorded(t0, n), p.WeightsRecorded(t0, n)
		c := backend.NewChunkFor(p, t0, n)
		err := run.Advance(n, inputChunk(p, input, steps, t0, n), c)
		scatter(res.Rates, c.Rates, K*B, M, m0, m, N)
		scatter(res.States, c.States, K*B, M, m0, m, N)
		scatter(res.Outputs, c.Outputs, K*B, M, m0, m, O)
		scatter(res.Weights, c.Weights, K*MM, MW, w0, mw, width)
		if err != nil {
			res.Err = err
			return res, nil
		}
		if got := run.Done(); got != t0+n {
			return nil, fmt.Errorf("%s: Done() = %d after %d steps", b.Name(), got, t0+n)
		}
		t0 += n
		m0 += m
		w0 += mw
	}
	res.V, res.R = make([]T, K*B*N), make([]T, K*B*N)
	if err := run.State(res.V, res.R); err != nil {
		return nil, fmt.Errorf("%s: state: %w", b.Name(), err)
	}
	if p.Plasticity != nil {
		res.Drive, res.Readout = make([]T, K*MM*p.DriveRows()*N), make([]T, K*MM*(N+1)*O)
		if err := backend.Weights(run, res.Drive, res.Readout); err != nil {
			return nil, fmt.Errorf("%s: weights: %w", b.Name(), err)
		}
	}
	return res, nil
}

// scatter copies a chunk [KB][m][w] into the whole [KB][M][w] at step m0.
func scatter[T backend.Float](whole, chunk []T, kb, M, m0, m, w int) {
	if whole == nil || m == 0 {
		return
	}
	for i := 0; i < kb; i++ {
		copy(whole[(i*M+m0)*w:(i*M+m0+m)*w], chunk[i*m*w:(i+1)*m*w])
	}
}
