package output

import (
	"fmt"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/spec"
)

// WeightSegment locates one connection's values inside a weight snapshot:
// snapshot[Offset : Offset+prod(Shape)] reshaped to Shape. Whole matrices
// and block means are (post, pre), i.e. nn4n's (out, in) like the
// final_weights_* arrays; synapses are (count,) in the order listed.
type WeightSegment struct {
	Connection string `json:"connection"`
	Offset     int    `json:"offset"`
	Shape      []int  `json:"shape"`
}

// PlasticityInfo is meta.json's account of a plastic run.
type PlasticityInfo struct {
	// Weights is shared or per_trial; Matrices the first dimension of
	// weights and final_weights_* (1, or one per trial).
	Weights     string   `json:"weights"`
	Matrices    int      `json:"matrices"`
	Connections []string `json:"plastic_connections"`
	Populations []string `json:"populations"`
	// What is whole, synapses, block_means or none; Every the snapshot
	// stride in steps; Snapshots the number of snapshots in weights
	// (snapshot 0 is the initial weights, at time 0).
	What      string            `json:"what"`
	Every     int               `json:"every"`
	Snapshots int               `json:"snapshots"`
	Layout    []WeightSegment   `json:"layout"`
	Synapses  []spec.SynapseRef `json:"synapses,omitempty"`
	// InMemory: snapshots are held in memory during the run (never
	// streamed), so they must fit --max-memory.
	InMemory bool `json:"in_memory"`
}

// Weights is a plastic run's weight snapshots and final weights, held in
// memory.
type Weights[T backend.Float] struct {
	plan  *spec.PlasticityPlan
	p     *backend.Program[T]
	width int // W, values per snapshot
	mats  int // Mx, 1 or B
	snaps int // S = 1 + the engine's snapshots; 0 when none are recorded
	segs  []WeightSegment
	// engine blocks: (a, b) of each segment in the engine's layout, to be
	// transposed to (b, a); a = 0 copies as is.
	blocks [][2]int

	snapshots []T // (Mx, S, W)
	times     []float64
	final     [3][]T // per connection, (Mx, out, in); nil when static
	buf       []T
}

// NewWeights prepares the weight record of program p (built from plan pl)
// for a run of the given steps at dt ms: snapshot 0 is p's initial weights.
func NewWeights[T backend.Float](pl *spec.PlasticityPlan, p *backend.Program[T], steps int, dt float64) *Weights[T] {
	w := &Weights[T]{plan: pl, p: p, mats: p.Matrices()}
	if pl.Record.Stride > 0 {
		w.width = p.WeightWidth()
		w.snaps = 1 + p.WeightsRecorded(0, steps)
	}
	P := len(pl.PopNames)
	off := 0
	for l, c := range pl.Conns {
		if c == nil || w.snaps == 0 {
			continue
		}
		a, b := pl.Dims[l][0], pl.Dims[l][1]
		switch pl.Record.What {
		case backend.SnapSynapses:
			continue
		case backend.SnapBlockMeans:
			a, b = P, P
			if l == int(backend.LayerInput) {
				a = 1
			}
			if l == int(backend.LayerReadout) {
				b = 1
			}
		}
		w.segs = append(w.segs, WeightSegment{Connection: spec.ConnectionNames[l], Offset: off, Shape: []int{b, a}})
		w.blocks = append(w.blocks, [2]int{a, b})
		off += a * b
	}
	if w.snaps > 0 && pl.Record.What == backend.SnapSynapses {
		w.segs = []WeightSegment{{Connection: "synapses", Offset: 0, Shape: []int{w.width}}}
		w.blocks = [][2]int{{0, w.width}}
	}
	if w.snaps == 0 {
		return w
	}
	w.snapshots = make([]T, w.mats*w.snaps*w.width)
	w.times = make([]float64, w.snaps)
	for s := 1; s < w.snaps; s++ {
		w.times[s] = float64(s*pl.Record.Stride) * dt
	}
	// Snapshot 0: the initial weights (every matrix starts from Drive).
	row := make([]T, w.width)
	backend.Snapshot(p, p.Drive, p.Readout, row)
	for m := 0; m < w.mats; m++ {
		w.reorder(row, w.snapshots[m*w.snaps*w.width:])
	}
	return w
}

// Bytes is the memory the snapshots take.
func (w *Weights[T]) Bytes() int64 {
	return int64(w.mats) * int64(w.snaps) * int64(w.width) * int64(elemSize[T]())
}

// reorder turns one engine snapshot row into the result's layout.
func (w *Weights[T]) reorder(src, dst []T) {
	at := 0
	for _, ab := range w.blocks {
		a, b := ab[0], ab[1]
		if a == 0 {
			copy(dst[at:at+b], src[at:at+b])
			at += b
			continue
		}
		for i := 0; i < b; i++ {
			for j := 0; j < a; j++ {
				dst[at+i*a+j] = src[at+j*b+i]
			}
		}
		at += a * b
	}
}

// Chunk returns the chunk's weight buffer for steps t0+1 … t0+n.
func (w *Weights[T]) Chunk(t0, n int) []T {
	k := w.p.WeightsRecorded(t0, n)
	if k == 0 || w.snaps == 0 {
		return nil
	}
	need := w.mats * k * w.width
	if len(w.buf) < need {
		w.buf = make([]T, need)
	}
	return w.buf[:need]
}

// Put stores the snapshots the chunk of steps t0+1 … t0+n took.
func (w *Weights[T]) Put(t0, n int, c []T) {
	k := w.p.WeightsRecorded(t0, n)
	if k == 0 || w.snaps == 0 {
		return
	}
	s0 := 1 + w.p.WeightsRecorded(0, t0)
	for m := 0; m < w.mats; m++ {
		for q := 0; q < k; q++ {
			src := c[(m*k+q)*w.width : (m*k+q+1)*w.width]
			w.reorder(src, w.snapshots[(m*w.snaps+s0+q)*w.width:])
		}
	}
}

// Finish copies the run's final weights into (Mx, out, in) per plastic
// connection.
func (w *Weights[T]) Finish(run backend.Run[T]) error {
	p := w.p
	N, O, M := p.Units, p.Outputs, w.mats
	drive := make([]T, M*p.DriveRows()*N)
	var readout []T
	if O > 0 {
		readout = make([]T, M*(N+1)*O)
	}
	if err := backend.Weights(run, drive, readout); err != nil {
		return fmt.Errorf("reading the final weights: %w", err)
	}
	for l, c := range w.plan.Conns {
		if c == nil {
			continue
		}
		a, b := w.plan.Dims[l][0], w.plan.Dims[l][1]
		out := make([]T, M*a*b)
		for m := 0; m < M; m++ {
			var rd []T
			if readout != nil {
				rd = readout[m*(N+1)*O:]
			}
			v, ld := backend.LayerView(p.Shape, backend.Layer(l), drive[m*p.DriveRows()*N:], rd)
			for i := 0; i < b; i++ {
				for j := 0; j < a; j++ {
					out[(m*b+i)*a+j] = v[j*ld+i]
				}
			}
		}
		w.final[l] = out
	}
	return nil
}

// info describes the record for meta.json.
func (w *Weights[T]) info(ps *spec.PlasticitySpec) *PlasticityInfo {
	pi := &PlasticityInfo{Weights: "shared", Matrices: w.mats, Populations: w.plan.PopNames,
		Every: w.plan.Record.Stride, Snapshots: w.snaps, Layout: w.segs, InMemory: true,
		Connections: []string{}}
	if w.plan.PerTrial {
		pi.Weights = "per_trial"
	}
	for l, c := range w.plan.Conns {
		if c != nil {
			pi.Connections = append(pi.Connections, spec.ConnectionNames[l])
		}
	}
	switch {
	case w.snaps == 0:
		pi.What = "none"
	case w.plan.Record.What == backend.SnapSynapses:
		pi.What = "synapses"
		pi.Synapses = ps.Record.Synapses
	case w.plan.Record.What == backend.SnapBlockMeans:
		pi.What = "block_means"
	default:
		pi.What = "whole"
	}
	if pi.Layout == nil {
		pi.Layout = []WeightSegment{}
	}
	return pi
}

// finalShape is the shape of final_weights_NAME for connection l.
func (w *Weights[T]) finalShape(l int) []int {
	return []int{w.mats, w.plan.Dims[l][1], w.plan.Dims[l][0]}
}

// SnapshotBytes is the size of one snapshot of every weight matrix, 0 when
// no snapshots are recorded (or w is nil: static weights).
func (w *Weights[T]) SnapshotBytes() int64 {
	if w == nil || w.snaps == 0 {
		return 0
	}
	return int64(w.mats) * int64(w.width) * int64(elemSize[T]())
}

// Snapshots returns the record: the snapshots (Mx, S, W) at their times in
// ms (snapshot 0 is the initial weights), their layout, and the final
// weights per connection (recurrent, input, readout; nil when static), each
// (Mx, out, in).
func (w *Weights[T]) Snapshots() (snapshots []T, times []float64, layout []WeightSegment, final [3][]T) {
	return w.snapshots, w.times, w.segs, w.final
}
