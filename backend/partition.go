package backend

import (
	"errors"
	"fmt"
)

// This file is the partitioner: it cuts a program into parts of instances
// and trials (Span, Part, Partition), moves inputs, recordings, states and
// weights between a part's layout and the whole's, and composes the runs of
// the parts into one Run (ShardedRun). A backend that cannot hold a program
// in one run (device memory, launch limits), the conformance suite's
// partition tests and a sweep that spreads its instances over calls,
// devices or machines all shard with this one piece of code.
//
// A partition is exact by construction of Sub: every part draws its random
// numbers and reports its errors at the whole program's instance and trial
// indices, so its runs together give the bits of one run of the whole.

// ErrSharedTrials is the error of a span that splits the trials of a
// program whose plastic weights are shared by all trials of an instance:
// their update sums ΔW over every trial, so no part may hold only some.
var ErrSharedTrials = errors.New("the trials of a program with plastic weights shared by all trials cannot be split")

// Span is a rectangle of a program's instances and trials: instances
// [K0,K1) and trials [B0,B1) of every one of them.
type Span struct{ K0, K1, B0, B1 int }

// Instances is the number of instances of s.
func (s Span) Instances() int { return s.K1 - s.K0 }

// Trials is the number of trials of s.
func (s Span) Trials() int { return s.B1 - s.B0 }

func (s Span) String() string {
	return fmt.Sprintf("instances [%d,%d) × trials [%d,%d)", s.K0, s.K1, s.B0, s.B1)
}

// WholeSpan is the span of all of p.
func (p *Program[T]) WholeSpan() Span { return Span{0, p.Instances, 0, p.Trials} }

// CheckSpan reports whether s is a span of p that Sub can cut out: not
// empty, inside p, and (ErrSharedTrials) not splitting the trials of shared
// plastic weights.
func (p *Program[T]) CheckSpan(s Span) error {
	if s.K0 < 0 || s.K1 > p.Instances || s.K0 >= s.K1 || s.B0 < 0 || s.B1 > p.Trials || s.B0 >= s.B1 {
		return fmt.Errorf("%v is empty or outside the program's %d instances × %d trials", s, p.Instances, p.Trials)
	}
	if p.Plasticity != nil && !p.Plasticity.PerTrial && (s.B0 != 0 || s.B1 != p.Trials) {
		return fmt.Errorf("%v of %d trials: %w", s, p.Trials, ErrSharedTrials)
	}
	return nil
}

// Part is the sub-program of a whole program on one span. Its methods move
// values between the part's layouts (K = Span.Instances(), B =
// Span.Trials()) and the whole's.
type Part[T Float] struct {
	Span
	Whole *Program[T]
	// Program is Whole.Sub on Span, or Whole itself when Span is all of it.
	Program *Program[T]
}

// NewPart returns the part of p on s, or CheckSpan's error.
func NewPart[T Float](p *Program[T], s Span) (Part[T], error) {
	if err := p.CheckSpan(s); err != nil {
		return Part[T]{}, err
	}
	q := Part[T]{Span: s, Whole: p, Program: p}
	if !q.IsWhole() {
		q.Program = p.Sub(s.K0, s.K1, s.B0, s.B1)
	}
	return q, nil
}

// WholePart is the part of p that is all of it.
func WholePart[T Float](p *Program[T]) Part[T] {
	return Part[T]{Span: p.WholeSpan(), Whole: p, Program: p}
}

// IsWhole reports whether q is all of its whole program.
func (q Part[T]) IsWhole() bool { return q.Span == q.Whole.WholeSpan() }

// Input cuts the part's input out of the whole's: in holds the whole
// program's input for steps steps, laid out [K][B][steps][I] (or
// [B][steps][I] when SharedInput is set); Input returns the part's input
// for the steps t0+1 … t0+n of those, [K'][B'][n][I] in the part's
// instances and trials (one instance when shared). A nil in (zero input)
// or a program without inputs gives nil. The values are appended to
// buf[:0], except when they are all of in, which is then returned itself.
func (q Part[T]) Input(in []T, steps, t0, n int, buf []T) []T {
	p := q.Whole
	if in == nil || p.Inputs == 0 {
		return nil
	}
	if q.inputIsAll(steps, t0, n) {
		return in
	}
	k0, k1 := q.K0, q.K1
	if p.SharedInput {
		k0, k1 = 0, 1
	}
	I := p.Inputs
	out := buf[:0]
	for k := k0; k < k1; k++ {
		for b := q.B0; b < q.B1; b++ {
			at := ((k*p.Trials+b)*steps + t0) * I
			out = append(out, in[at:at+n*I]...)
		}
	}
	return out
}

// inputIsAll reports whether the part's input for steps t0+1 … t0+n of a
// whole input for steps steps is all of it.
func (q Part[T]) inputIsAll(steps, t0, n int) bool {
	p := q.Whole
	return t0 == 0 && n == steps && q.B0 == 0 && q.B1 == p.Trials &&
		(p.SharedInput || q.K0 == 0 && q.K1 == p.Instances)
}

// Scatter copies c, the part's chunk for its steps done+1 … done+n, into
// whole, the whole program's chunk for the steps start+1 … start+total,
// which must contain them: the recorded rates, states and outputs
// ([K][B][m][·]) and the weight snapshots ([K][M][w][width], M the
// matrices: a part holds whole instances' shared weights, or a range of an
// instance's per-trial ones). Splitting the steps of a run into calls is a
// partition too: the whole part's Scatter puts each call's chunk into a
// chunk for all steps.
func (q Part[T]) Scatter(whole *Chunk[T], start, total int, c *Chunk[T], done, n int) {
	p := q.Whole
	if done < start || done+n > start+total {
		panic(fmt.Sprintf("backend: Part.Scatter: steps %d+%d outside the whole chunk's %d+%d", done, n, start, total))
	}
	rec := p.Record
	if m := rec.Recorded(done, n); m > 0 {
		M, m0 := rec.Recorded(start, total), rec.Recorded(start, done-start)
		for _, x := range []struct {
			on       bool
			dst, src []T
			width    int
		}{
			{rec.Rates, whole.Rates, c.Rates, p.Units},
			{rec.States, whole.States, c.States, p.Units},
			{rec.Outputs, whole.Outputs, c.Outputs, p.Outputs},
		} {
			if x.on && x.width > 0 {
				scatterBlocks(x.dst, x.src, q.K0, q.K1, q.B0, q.B1, p.Trials, M*x.width, m0*x.width, m*x.width)
			}
		}
	}
	if w := p.WeightsRecorded(done, n); w > 0 {
		W, w0, width := p.WeightsRecorded(start, total), p.WeightsRecorded(start, done-start), p.WeightWidth()
		x0, x1 := q.matrices()
		scatterBlocks(whole.Weights, c.Weights, q.K0, q.K1, x0, x1, p.Matrices(), W*width, w0*width, w*width)
	}
}

// matrices is the part's range of its instances' weight matrices.
func (q Part[T]) matrices() (int, int) {
	if q.Whole.Matrices() > 1 {
		return q.B0, q.B1
	}
	return 0, 1
}

// ScatterState copies the part's v (or r), K' × B' × N, into the whole's,
// K × B × N.
func (q Part[T]) ScatterState(whole, part []T) {
	p := q.Whole
	scatterBlocks(whole, part, q.K0, q.K1, q.B0, q.B1, p.Trials, p.Units, 0, p.Units)
}

// ScatterWeights copies the part's weights (see WeightRun: drive K' × M' ×
// (N+I+1) × N and readout K' × M' × (N+1) × O) into the whole's, K × M × ….
// A nil whole slice is skipped.
func (q Part[T]) ScatterWeights(drive, readout, partDrive, partReadout []T) {
	p := q.Whole
	x0, x1 := q.matrices()
	dn, rn := p.DriveRows()*p.Units, (p.Units+1)*p.Outputs
	if drive != nil {
		scatterBlocks(drive, partDrive, q.K0, q.K1, x0, x1, p.Matrices(), dn, 0, dn)
	}
	if readout != nil && rn > 0 {
		scatterBlocks(readout, partReadout, q.K0, q.K1, x0, x1, p.Matrices(), rn, 0, rn)
	}
}

// scatterBlocks copies part, laid out [k1−k0][x1−x0][n], into whole, laid
// out [K][X][row], block (k, x) of the part to the values at offset off of
// row (k0+k, x0+x).
func scatterBlocks[T Float](whole, part []T, k0, k1, x0, x1, X, row, off, n int) {
	nx := x1 - x0
	if off == 0 && n == row {
		// Whole rows: one copy per instance.
		for k := k0; k < k1; k++ {
			copy(whole[(k*X+x0)*row:(k*X+x1)*row], part[(k-k0)*nx*n:(k-k0+1)*nx*n])
		}
		return
	}
	for k := k0; k < k1; k++ {
		for x := x0; x < x1; x++ {
			src := part[((k-k0)*nx+x-x0)*n : ((k-k0)*nx+x-x0+1)*n]
			at := (k*X+x)*row + off
			copy(whole[at:at+n], src)
		}
	}
}

// Partition is a program cut into parts that together hold each of its
// instance–trial pairs exactly once. The parts are in order: instance
// ranges ascending, each cut into trial ranges ascending (the ranges of one
// instance range are consecutive parts with the same K0 and K1).
type Partition[T Float] struct {
	Whole *Program[T]
	Parts []Part[T]
}

// NewPartition returns the partition of p into the parts on spans, which
// must be in the order and tile p as Partition says.
func NewPartition[T Float](p *Program[T], spans []Span) (*Partition[T], error) {
	pt := &Partition[T]{Whole: p, Parts: make([]Part[T], len(spans))}
	for i, s := range spans {
		q, err := NewPart(p, s)
		if err != nil {
			return nil, fmt.Errorf("partition part %d: %w", i, err)
		}
		pt.Parts[i] = q
	}
	if err := pt.Check(); err != nil {
		return nil, err
	}
	return pt, nil
}

// Split returns the partition of p into parts of at most maxK instances
// and maxB trials (≤ 0: no limit): the instances cut into ⌈K/maxK⌉ ranges
// and the trials into ⌈B/maxB⌉, each as even as possible, instance ranges
// outer. Splitting the trials of shared plastic weights is ErrSharedTrials.
func Split[T Float](p *Program[T], maxK, maxB int) (*Partition[T], error) {
	cuts := func(n, most int) []int {
		parts := 1
		if most > 0 {
			parts = (n + most - 1) / most
		}
		c := make([]int, parts+1)
		for i := range c {
			c[i] = i * n / parts
		}
		return c
	}
	if p.Instances < 1 || p.Trials < 1 {
		return nil, fmt.Errorf("cannot split a program of %d instances × %d trials", p.Instances, p.Trials)
	}
	ks, bs := cuts(p.Instances, maxK), cuts(p.Trials, maxB)
	var spans []Span
	for i := 1; i < len(ks); i++ {
		for j := 1; j < len(bs); j++ {
			spans = append(spans, Span{ks[i-1], ks[i], bs[j-1], bs[j]})
		}
	}
	return NewPartition(p, spans)
}

// Check verifies that pt is a partition of pt.Whole (for partitions whose
// parts were made one by one with NewPart): every part of the whole, in
// order, each instance–trial pair once.
func (pt *Partition[T]) Check() error {
	p := pt.Whole
	if len(pt.Parts) == 0 {
		return errors.New("partition has no parts")
	}
	k, b, kEnd := 0, 0, 0 // the instance range [k,kEnd) is done up to trial b
	for i, q := range pt.Parts {
		if q.Whole != p || q.Program == nil {
			return fmt.Errorf("partition part %d (%v) is not a part of this program", i, q.Span)
		}
		if err := p.CheckSpan(q.Span); err != nil {
			return fmt.Errorf("partition part %d: %w", i, err)
		}
		if b == 0 {
			kEnd = q.K1
		}
		if q.K0 != k || q.K1 != kEnd || q.B0 != b {
			return fmt.Errorf("partition part %d (%v) does not continue it: want instances [%d,%d) from trial %d", i, q.Span, k, kEnd, b)
		}
		if b = q.B1; b == p.Trials {
			k, b = kEnd, 0
		}
	}
	if k != p.Instances || b != 0 {
		return fmt.Errorf("partition covers instances [0,%d) and trials [0,%d) of instance %d, not all %d × %d", k, b, k, p.Instances, p.Trials)
	}
	return nil
}

// StartSharded starts every part of pt on b and returns them as one run
// (NewShardedRun); a partition of one part is that part's run itself.
func StartSharded[T Float](b Backend, pt *Partition[T]) (Run[T], error) {
	if err := pt.Check(); err != nil {
		return nil, err
	}
	if err := CheckFeatures(b, pt.Whole); err != nil {
		return nil, err
	}
	runs := make([]Run[T], len(pt.Parts))
	for i, q := range pt.Parts {
		r, err := Start(b, q.Program)
		if err != nil {
			for _, r := range runs[:i] {
				r.Close()
			}
			return nil, fmt.Errorf("%s: part %d (%v): %w", b.Name(), i, q.Span, err)
		}
		runs[i] = r
	}
	if len(runs) == 1 {
		return runs[0], nil
	}
	return NewShardedRun(b.Name(), pt, runs), nil
}

// ShardedRun is one Run of a partitioned program made of one run per part,
// advanced one after another. It records into the whole program's layout,
// reports the first non-finite value over all parts in the contract's
// order (NonFiniteError.Before), as one run would, and gathers states and
// weights (WeightRun) from its parts.
type ShardedRun[T Float] struct {
	name   string
	pt     *Partition[T]
	runs   []Run[T]
	chunks []*Chunk[T]
	ins    [][]T
	done   int
	failed error
	closed bool
}

// NewShardedRun returns the run of pt made of runs, runs[i] a fresh run of
// pt.Parts[i].Program. name (a backend's) prefixes its argument errors.
// Closing it closes them all.
func NewShardedRun[T Float](name string, pt *Partition[T], runs []Run[T]) *ShardedRun[T] {
	if len(runs) != len(pt.Parts) {
		panic(fmt.Sprintf("backend: NewShardedRun: %d runs for %d parts", len(runs), len(pt.Parts)))
	}
	return &ShardedRun[T]{name: name, pt: pt, runs: runs,
		chunks: make([]*Chunk[T], len(runs)), ins: make([][]T, len(runs))}
}

// Partition is the partition r runs.
func (r *ShardedRun[T]) Partition() *Partition[T] { return r.pt }

// Done is the number of steps run so far.
func (r *ShardedRun[T]) Done() int { return r.done }

// Close closes every part's run and returns the first error.
func (r *ShardedRun[T]) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var first error
	for _, run := range r.runs {
		if err := run.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Advance runs every part n steps and scatters their recordings into out.
// A part that meets a non-finite value stops; the error returned is the
// first in the contract's order over all parts. What parts recorded after
// that step is unspecified, as for any run that stops.
func (r *ShardedRun[T]) Advance(n int, in []T, out *Chunk[T]) error {
	p := r.pt.Whole
	switch {
	case r.closed:
		return ErrClosed
	case r.failed != nil:
		return r.failed
	}
	if _, err := CheckAdvance(p, r.done, n, in, out); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	var first *NonFiniteError
	for i, q := range r.pt.Parts {
		c := r.chunks[i]
		if c == nil || CheckChunk(q.Program, c, q.Program.Record.Recorded(r.done, n)) != nil || CheckWeightChunk(q.Program, c, r.done, n) != nil {
			c = NewChunkFor(q.Program, r.done, n)
			r.chunks[i] = c
		}
		sin := q.Input(in, n, 0, n, r.ins[i])
		if sin != nil && !q.inputIsAll(n, 0, n) {
			r.ins[i] = sin
		}
		err := r.runs[i].Advance(n, sin, c)
		var nf *NonFiniteError
		if err != nil && !errors.As(err, &nf) {
			r.failed = err
			return err
		}
		if nf != nil && nf.Before(first) {
			first = nf
		}
		q.Scatter(out, r.done, n, c, r.done, n)
	}
	if first != nil {
		r.done = first.Step
		r.failed = first
		return first
	}
	r.done += n
	return nil
}

// State gathers v and r of every part into the whole program's layout
// (K × B × N each; either may be nil).
func (r *ShardedRun[T]) State(v, rr []T) error {
	if r.closed {
		return ErrClosed
	}
	p := r.pt.Whole
	want := p.Instances * p.Trials * p.Units
	if v != nil && len(v) < want || rr != nil && len(rr) < want {
		return fmt.Errorf("%s: State: v and r need %d values, have %d and %d", r.name, want, len(v), len(rr))
	}
	for i, q := range r.pt.Parts {
		cnt := q.Instances() * q.Trials() * p.Units
		var sv, sr []T
		if v != nil {
			sv = make([]T, cnt)
		}
		if rr != nil {
			sr = make([]T, cnt)
		}
		if err := r.runs[i].State(sv, sr); err != nil {
			return err
		}
		if v != nil {
			q.ScatterState(v, sv)
		}
		if rr != nil {
			q.ScatterState(rr, sr)
		}
	}
	return nil
}

// Weights gathers the current weights of every part (WeightRun); either
// slice may be nil.
func (r *ShardedRun[T]) Weights(drive, readout []T) error {
	if r.closed {
		return ErrClosed
	}
	p := r.pt.Whole
	if p.Plasticity == nil {
		copy(drive, p.Drive)
		copy(readout, p.Readout)
		return nil
	}
	M := p.Matrices()
	dn, rn := p.DriveRows()*p.Units, (p.Units+1)*p.Outputs
	if drive != nil && len(drive) < p.Instances*M*dn || readout != nil && len(readout) < p.Instances*M*rn {
		return fmt.Errorf("%s: Weights: drive and readout need %d and %d values, have %d and %d",
			r.name, p.Instances*M*dn, p.Instances*M*rn, len(drive), len(readout))
	}
	for i, q := range r.pt.Parts {
		sm := q.Program.Matrices()
		var sd, sr []T
		if drive != nil {
			sd = make([]T, q.Instances()*sm*dn)
		}
		if readout != nil {
			sr = make([]T, q.Instances()*sm*rn)
		}
		if err := Weights(r.runs[i], sd, sr); err != nil {
			return err
		}
		q.ScatterWeights(drive, readout, sd, sr)
	}
	return nil
}
