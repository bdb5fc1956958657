//go:build cuda

package gpu

import (
	"fmt"

	"github.com/ratesim/ratesim/backend"
)

// This file is the GPU's policy for programs that do not fit one device run
// (device memory, the grid limit, or the 64-bit error key): how much memory
// a run needs, and a plan that halves the instances and, for a single
// instance, the trials until every part fits and starts. Everything else is
// the partitioner's (backend.Partition, backend.ShardedRun): the parts are
// backend.Program.Sub's sub-programs, whose FirstInstance and FirstTrial put
// their random numbers and error positions where the whole program has
// them, and the sharded run slices the input, scatters the parts'
// recordings and gathers their states and weights, with exactly the bits of
// one run (the conformance suite's Partition entry point checks this for
// every backend). A plastic program with weights shared by an instance's
// trials is split only into instances: its update sums over all of them.

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
	sp := &shardPlan[T]{b: b, p: p, limit: limit}
	if err := sp.start(p.WholeSpan()); err != nil {
		sp.close()
		return nil, err
	}
	if len(sp.runs) == 1 {
		return sp.runs[0], nil
	}
	pt := &backend.Partition[T]{Whole: p, Parts: sp.parts}
	if err := pt.Check(); err != nil {
		sp.close()
		return nil, fmt.Errorf("cuda: shard plan: %w", err)
	}
	return &shardedRun[T]{ShardedRun: backend.NewShardedRun("cuda", pt, sp.runs), parts: sp.plan}, nil
}

// shardPlan collects the parts of p that start, in the partition's order.
type shardPlan[T backend.Float] struct {
	b     *Backend
	p     *backend.Program[T]
	limit int64
	parts []backend.Part[T]
	runs  []backend.Run[T]
	plan  []shardPart
}

// shardPart is one part of a plan: instances [k0,k1) × trials [b0,b1), and
// the device memory it is estimated to need.
type shardPart struct {
	k0, k1, b0, b1 int
	bytes          int64
}

// shardedRun is a program run as shards: the partitioner's run of the parts
// and the plan that cut them, one shardPart per part.
type shardedRun[T backend.Float] struct {
	*backend.ShardedRun[T]
	parts []shardPart
}

func (sp *shardPlan[T]) close() {
	for _, r := range sp.runs {
		r.Close()
	}
}

// start starts the part of p on s, halving the larger dimension of s until
// each part fits within the limit and starts.
func (sp *shardPlan[T]) start(s backend.Span) error {
	p, b := sp.p, sp.b
	q, err := backend.NewPart(p, s)
	if err != nil {
		return err
	}
	need := partBytes(backend.SizeOf(q.Program), b.budget) + gatherBytes(q.Program) + rateBytes(q.Program) + lowRankBytes(q.Program)
	if need <= sp.limit {
		var r *run[T]
		if r, err = start(b, q.Program); err == nil {
			sp.parts = append(sp.parts, q)
			sp.runs = append(sp.runs, r)
			sp.plan = append(sp.plan, shardPart{k0: s.K0, k1: s.K1, b0: s.B0, b1: s.B1, bytes: need})
			return nil
		}
		if !isTooLarge(err) {
			return err
		}
	}
	switch {
	case s.Instances() > 1:
		km := s.K0 + s.Instances()/2
		if err := sp.start(backend.Span{K0: s.K0, K1: km, B0: s.B0, B1: s.B1}); err != nil {
			return err
		}
		return sp.start(backend.Span{K0: km, K1: s.K1, B0: s.B0, B1: s.B1})
	case s.Trials() > 1 && (p.Plasticity == nil || p.Plasticity.PerTrial):
		// Shared plastic weights sum over all trials of an instance: its
		// trials are never split.
		bm := s.B0 + s.Trials()/2
		if err := sp.start(backend.Span{K0: s.K0, K1: s.K1, B0: s.B0, B1: bm}); err != nil {
			return err
		}
		return sp.start(backend.Span{K0: s.K0, K1: s.K1, B0: bm, B1: s.B1})
	}
	if err == nil {
		err = fmt.Errorf("cuda: one trial of %d units needs about %.1f MiB of device memory, more than the %.1f MiB available to a run",
			q.Program.Units, mib(need), mib(sp.limit))
	}
	return err
}

func elemSize[T backend.Float]() int {
	if backend.PrecisionOf[T]() == backend.F64 {
		return 8
	}
	return 4
}

// plasticBytes estimates the device memory plastic program p adds to
// runBytes (see plasticSizeBytes).
func plasticBytes[T backend.Float](p *backend.Program[T]) int64 {
	return plasticSizeBytes(backend.SizeOf(p))
}

// plasticSizeBytes estimates the device memory a plastic program of size s
// adds to runBytes: the extra weight matrices, the per-synapse arrays and
// Adam state, and the running averages.
func plasticSizeBytes(s backend.ProgramSize) int64 {
	pl := s.Plastic
	if pl == nil {
		return 0
	}
	K, B, N, O := int64(s.Instances), int64(s.Trials), int64(s.Units), int64(s.Outputs)
	M := int64(1)
	if pl.PerTrial {
		M = B
	}
	n := (M-1)*K*(int64(s.DriveRows())*N+(N+1)*O) + K*B*O
	for l, c := range pl.Connections {
		if c == nil {
			continue
		}
		a, b := s.LayerDims(backend.Layer(l))
		n += 3 * K * int64(a) * int64(b)
		for i, adam := range c.Adam {
			if adam {
				n += 2 * K * M * int64(a) * int64(b)
			}
			n += 2 * K * B * int64(a+b) * int64(max(1, c.Windows[i]))
		}
	}
	return n * int64(precisionBytes(s.Precision))
}

func precisionBytes(p backend.Precision) int {
	if p == backend.F64 {
		return 8
	}
	return 4
}

// partBytes is the device memory a run of a program of size s needs.
func partBytes(s backend.ProgramSize, budget int64) int64 {
	return runBytes(s.Shape, precisionBytes(s.Precision), budget) + plasticSizeBytes(s)
}

// EstimateMemory says what a program of size s needs of the device at the
// least (backend.MemoryEstimator): its smallest part, the one the shard
// plan cannot split further (one trial of one instance, or one instance's
// trials when they share plastic weights), against the memory one run may
// hold. The sizes are those startSharded plans with.
func (b *Backend) EstimateMemory(s backend.ProgramSize) (backend.MemoryEstimate, error) {
	drv, err := b.open()
	if err != nil {
		return backend.MemoryEstimate{}, err
	}
	limit := b.maxRunBytes
	if limit <= 0 {
		limit = drv.info().totalMem / 10 * 9
	}
	part := s
	part.Instances = min(s.Instances, 1)
	if s.Plastic == nil || s.Plastic.PerTrial {
		part.Trials = min(s.Trials, 1)
	}
	return backend.MemoryEstimate{Need: partBytes(part, b.budget), Limit: limit,
		Device: fmt.Sprintf("%s (device %d)", drv.info().name, b.ordinal)}, nil
}
