package backendtest

import (
	"math/rand/v2"

	"github.com/ratesim/ratesim/backend"
)

// Case describes one random program of the suite.
type Case struct {
	Shape      backend.Shape
	Activation backend.Activation
	Noise      bool // pre- and post-activation noise on (on some units only when Sparse)
	Init       bool // a random initial state instead of zero
	Shared     bool // one input for all instances
	Sparse     bool // about half the weights exactly zero, as a sparsity mask makes them
	Stride     int
	Steps      int
	Seed       uint64
	// Plastic, when set, makes the program's weights learn (see PlasticCase).
	Plastic *PlasticCase
}

// NewProgram builds the program of c in T. Weights are scaled so that the
// network neither dies out nor explodes over hundreds of steps.
func NewProgram[T backend.Float](c Case) *backend.Program[T] {
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	s := c.Shape
	K, N, I, O := s.Instances, s.Units, s.Inputs, s.Outputs
	p := &backend.Program[T]{
		Shape:       s,
		Activation:  c.Activation,
		Seed:        c.Seed,
		SharedInput: c.Shared,
		Record:      backend.Record{Rates: true, States: true, Outputs: O > 0, Stride: c.Stride},
	}
	rows := s.DriveRows()
	p.Drive = make([]T, K*rows*N)
	scale := 1.5 / float64(N+I+1)
	for k := 0; k < K; k++ {
		for j := 0; j < rows; j++ {
			for i := 0; i < N; i++ {
				if c.Sparse && rng.IntN(2) == 0 {
					continue
				}
				w := (2*rng.Float64() - 1) * scale * 2
				if j >= N { // inputs and bias: larger, so they matter
					w *= 4
				}
				p.Drive[(k*rows+j)*N+i] = T(w)
			}
		}
	}
	if O > 0 {
		p.Readout = make([]T, K*(N+1)*O)
		for i := range p.Readout {
			p.Readout[i] = T(rng.NormFloat64() / float64(N))
		}
	}
	p.Decay, p.Alpha = make([]T, K*N), make([]T, K*N)
	p.PreNoise, p.PostNoise = make([]T, K*N), make([]T, K*N)
	for u := range p.Alpha {
		a := T(0.05 + 0.5*rng.Float64())
		p.Alpha[u], p.Decay[u] = a, 1-a
		if c.Noise && (!c.Sparse || rng.IntN(2) == 0) {
			p.PreNoise[u] = T(float64(a) * 0.1 * rng.Float64())
			p.PostNoise[u] = T(0.05 * rng.Float64())
		}
	}
	if c.Init {
		p.Init = make([]T, K*s.Trials*N)
		for i := range p.Init {
			p.Init[i] = T(rng.NormFloat64())
		}
	}
	if c.Plastic != nil {
		addPlasticity(p, c.Plastic, c.Steps, c.Seed)
	}
	return p
}

// NewInput builds the whole input, [K'][B][T][I] with K' = 1 when shared.
func NewInput[T backend.Float](p *backend.Program[T], steps int, seed uint64) []T {
	if p.Inputs == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x1ae))
	in := make([]T, p.InputLen(steps))
	for i := range in {
		in[i] = T(rng.NormFloat64())
	}
	return in
}
