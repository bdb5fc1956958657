//go:build cuda

package gpu

import (
	"errors"
	"fmt"

	"github.com/ratesim/ratesim/backend"
)

// This file splits a program that does not fit one device run (device
// memory, the grid limit, or the 64-bit error key) into shards of instances
// and, for a single instance, of trials, and runs them one after another
// behind one backend.Run. FirstInstance and FirstTrial put every shard's
// random numbers and error positions where the whole program has them, so
// the shards together give exactly the bits of one run (the conformance
// suite's partition test checks this property for every backend). A plastic
// program with weights shared by an instance's trials is split only into
// instances: its update sums over all of them.

// runBytes estimates the device memory a run of shape s holds between
// launches: the program's arrays, v and both rate buffers, plus one
// segment's input and recording buffers (bounded by the segment budget).
func runBytes(s backend.Shape, elem int, budget int64) int64 {
	K, B, N, I, O := int64(s.Instances), int64(s.Trials), int64(s.Units), int64(s.Inputs), int64(s.Outputs)
	n := K*(N+I+1)*N + K*(N+1)*O + 4*K*N + 3*K*B*N
	return n*int64(elem) + budget + 8
}

// startSharded starts p whole when it fits, else as shards.
func startSharded[T backend.Float](b *Backend, p *backend.Program[T]) (backend.Run[T], error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	drv, err := b.open()
	if err != nil {
		return nil, err
	}
	limit := b.maxRunBytes
	if limit <= 0 {
		limit = drv.info().totalMem / 10 * 9
	}
	var parts []shardPart[T]
	if err := startParts(b, p, 0, p.Instances, 0, p.Trials, limit, &parts); err != nil {
		for _, sp := range parts {
			sp.run.Close()
		}
		return nil, err
	}
	if len(parts) == 1 {
		return parts[0].run, nil
	}
	return &shardedRun[T]{p: p, parts: parts}, nil
}

// startParts starts instances [k0,k1) × trials [b0,b1) of p, halving the
// larger dimension until each part fits within limit bytes and starts.
func startParts[T backend.Float](b *Backend, p *backend.Program[T], k0, k1, b0, b1 int, limit int64, parts *[]shardPart[T]) error {
	q := p
	if k0 != 0 || k1 != p.Instances || b0 != 0 || b1 != p.Trials {
		q = p.Sub(k0, k1, b0, b1)
	}
	var err error
	if runBytes(q.Shape, elemSize[T](), b.budget)+plasticBytes(q) <= limit {
		var r *run[T]
		if r, err = start(b, q); err == nil {
			*parts = append(*parts, shardPart[T]{run: r, p: q, k0: k0, k1: k1, b0: b0, b1: b1})
			return nil
		}
		if !isTooLarge(err) {
			return err
		}
	}
	switch {
	case k1-k0 > 1:
		km := k0 + (k1-k0)/2
		if err := startParts(b, p, k0, km, b0, b1, limit, parts); err != nil {
			return err
		}
		return startParts(b, p, km, k1, b0, b1, limit, parts)
	case b1-b0 > 1 && (p.Plasticity == nil || p.Plasticity.PerTrial):
		// Shared plastic weights sum over all trials of an instance: its
		// trials are never split.
		bm := b0 + (b1-b0)/2
		if err := startParts(b, p, k0, k1, b0, bm, limit, parts); err != nil {
			return err
		}
		return startParts(b, p, k0, k1, bm, b1, limit, parts)
	}
	if err == nil {
		err = fmt.Errorf("cuda: one trial of %d units needs about %.1f MiB of device memory, more than the %.1f MiB available to a run",
			q.Units, mib(runBytes(q.Shape, elemSize[T](), b.budget)), mib(limit))
	}
	return err
}

func elemSize[T backend.Float]() int {
	if backend.PrecisionOf[T]() == backend.F64 {
		return 8
	}
	return 4
}

// plasticBytes estimates the device memory a plastic program adds to
// runBytes: the extra weight matrices, the per-synapse arrays and Adam
// state, and the running averages.
func plasticBytes[T backend.Float](p *backend.Program[T]) int64 {
	pl := p.Plasticity
	if pl == nil {
		return 0
	}
	K, B, N, O, M := int64(p.Instances), int64(p.Trials), int64(p.Units), int64(p.Outputs), int64(p.Matrices())
	n := (M-1)*K*(int64(p.DriveRows())*N+(N+1)*O) + K*B*O
	for l, c := range pl.Connections() {
		if c == nil {
			continue
		}
		a, b := p.Shape.LayerDims(backend.Layer(l))
		n += 3 * K * int64(a*b)
		for _, r := range c.Rules {
			if r.Optimizer == backend.Adam {
				n += 2 * K * M * int64(a*b)
			}
			n += 2 * K * B * int64(a+b) * int64(max(1, r.Average.Window))
		}
	}
	return n * int64(elemSize[T]())
}

type shardPart[T backend.Float] struct {
	run            *run[T]
	p              *backend.Program[T]
	k0, k1, b0, b1 int
	chunk          *backend.Chunk[T]
	in             []T
	done           int
}

// shardedRun runs its parts one after another for each Advance.
type shardedRun[T backend.Float] struct {
	p      *backend.Program[T]
	parts  []shardPart[T]
	done   int
	failed error
	closed bool
}

func (r *shardedRun[T]) Done() int { return r.done }

func (r *shardedRun[T]) Close() error {
	if !r.closed {
		r.closed = true
		for _, sp := range r.parts {
			sp.run.Close()
		}
	}
	return nil
}

// Advance runs every part n steps and scatters their recordings into out.
// A part that meets a non-finite value stops; the error returned is the
// first in the contract's order (backend.NonFiniteError.Before) over all
// parts, as one run would report it. What parts recorded after that step is
// unspecified, as for any run that stops.
func (r *shardedRun[T]) Advance(n int, in []T, out *backend.Chunk[T]) error {
	p := r.p
	switch {
	case r.closed:
		return backend.ErrClosed
	case r.failed != nil:
		return r.failed
	}
	m, err := backend.CheckAdvance(p, r.done, n, in, out)
	if err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	mw := p.WeightsRecorded(r.done, n)
	var first *backend.NonFiniteError
	for i := range r.parts {
		sp := &r.parts[i]
		if sp.chunk == nil || !fits(sp.p, sp.chunk, m) || backend.CheckWeightChunk(sp.p, sp.chunk, r.done, n) != nil {
			sp.chunk = backend.NewChunkFor(sp.p, r.done, n)
		}
		var sin []T
		if in != nil {
			sin = sp.input(p, in, n)
		}
		err := sp.run.Advance(n, sin, sp.chunk)
		var nf *backend.NonFiniteError
		if err != nil && !errors.As(err, &nf) {
			r.failed = err
			return err
		}
		if nf != nil && nf.Before(first) {
			first = nf
		}
		sp.scatter(p, out, m)
		sp.scatterWeights(p, out, mw)
	}
	if first != nil {
		r.done = first.Step
		r.failed = first
		return first
	}
	r.done += n
	return nil
}

func fits[T backend.Float](p *backend.Program[T], c *backend.Chunk[T], m int) bool {
	return backend.CheckChunk(p, c, m) == nil
}

// input cuts the part's rows out of the whole program's input chunk, laid
// out [K][B][n][I] (or [B][n][I] when shared).
func (sp *shardPart[T]) input(p *backend.Program[T], in []T, n int) []T {
	per := n * p.Inputs
	if per == 0 {
		return nil
	}
	k0, k1 := sp.k0, sp.k1
	if p.SharedInput {
		k0, k1 = 0, 1
	}
	if k0 == 0 && k1 == p.Instances && sp.b0 == 0 && sp.b1 == p.Trials {
		return in
	}
	sp.in = sp.in[:0]
	for k := k0; k < k1; k++ {
		sp.in = append(sp.in, in[(k*p.Trials+sp.b0)*per:(k*p.Trials+sp.b1)*per]...)
	}
	return sp.in
}

// scatter copies the part's m recorded steps into the whole chunk.
func (sp *shardPart[T]) scatter(p *backend.Program[T], out *backend.Chunk[T], m int) {
	for _, q := range []struct {
		on       bool
		dst, src []T
		width    int
	}{
		{p.Record.Rates, out.Rates, sp.chunk.Rates, p.Units},
		{p.Record.States, out.States, sp.chunk.States, p.Units},
		{p.Record.Outputs, out.Outputs, sp.chunk.Outputs, p.Outputs},
	} {
		if !q.on || m == 0 || q.width == 0 {
			continue
		}
		row := m * q.width // one trial's recording
		for k := sp.k0; k < sp.k1; k++ {
			src := q.src[(k-sp.k0)*(sp.b1-sp.b0)*row : (k-sp.k0+1)*(sp.b1-sp.b0)*row]
			copy(q.dst[(k*p.Trials+sp.b0)*row:], src)
		}
	}
}

// scatterWeights copies the part's mw weight snapshots into the whole
// chunk, laid out [K][M][mw][width]: a part holds whole instances, or (per-
// trial weights) a range of one instance's matrices.
func (sp *shardPart[T]) scatterWeights(p *backend.Program[T], out *backend.Chunk[T], mw int) {
	if p.Plasticity == nil || mw == 0 {
		return
	}
	M, sm := p.Matrices(), sp.p.Matrices()
	row := mw * p.WeightWidth() // one matrix's snapshots
	m0 := 0
	if M > 1 {
		m0 = sp.b0
	}
	for k := sp.k0; k < sp.k1; k++ {
		src := sp.chunk.Weights[(k-sp.k0)*sm*row : (k-sp.k0+1)*sm*row]
		copy(out.Weights[(k*M+m0)*row:], src)
	}
}

// Weights gathers the current weights of every part (backend.WeightRun).
func (r *shardedRun[T]) Weights(drive, readout []T) error {
	if r.closed {
		return backend.ErrClosed
	}
	p := r.p
	if p.Plasticity == nil {
		copy(drive, p.Drive)
		copy(readout, p.Readout)
		return nil
	}
	M := p.Matrices()
	dn, rn := p.DriveRows()*p.Units, (p.Units+1)*p.Outputs
	for i := range r.parts {
		sp := &r.parts[i]
		sm := sp.p.Matrices()
		sd, sr := make([]T, sp.p.Instances*sm*dn), make([]T, sp.p.Instances*sm*rn)
		if err := sp.run.Weights(sd, sr); err != nil {
			return err
		}
		m0 := 0
		if M > 1 {
			m0 = sp.b0
		}
		for k := sp.k0; k < sp.k1; k++ {
			at := k*M + m0
			if x := at * dn; x < len(drive) {
				copy(drive[x:], sd[(k-sp.k0)*sm*dn:(k-sp.k0+1)*sm*dn])
			}
			if x := at * rn; x < len(readout) {
				copy(readout[x:], sr[(k-sp.k0)*sm*rn:(k-sp.k0+1)*sm*rn])
			}
		}
	}
	return nil
}

// State gathers v and r of every part into the whole program's layout.
func (r *shardedRun[T]) State(v, rr []T) error {
	if r.closed {
		return backend.ErrClosed
	}
	p := r.p
	N := p.Units
	for i := range r.parts {
		sp := &r.parts[i]
		nb := sp.b1 - sp.b0
		cnt := (sp.k1 - sp.k0) * nb * N
		var sv, sr []T
		if v != nil {
			sv = make([]T, cnt)
		}
		if rr != nil {
			sr = make([]T, cnt)
		}
		if err := sp.run.State(sv, sr); err != nil {
			return err
		}
		for k := sp.k0; k < sp.k1; k++ {
			src := (k - sp.k0) * nb * N
			dst := (k*p.Trials + sp.b0) * N
			if v != nil && dst < len(v) {
				copy(v[dst:], sv[src:src+nb*N])
			}
			if rr != nil && dst < len(rr) {
				copy(rr[dst:], sr[src:src+nb*N])
			}
		}
	}
	return nil
}
