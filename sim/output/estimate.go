package output

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/spec"
)

// Sizes of a run, estimated from its spec before anything is allocated,
// and the limits they are checked against (sim checks them before a run
// builds its network, and `ratesim validate` runs the same check). The
// estimate counts what the run is still to allocate: the host memory of
// each part at its peak (the network is built in float64, then laid out
// in the run's precision; the backend's states and buffers; the chunk
// buffers; the recordings when held in memory; the time axis; an input
// file's values; a plastic run's learning state, per-synapse arrays, weight
// snapshots and final weights), and the disk the run writes into its
// staging directory beside the output directory (streamed recordings,
// then result.npz and the pictures beside them).
// It is an estimate, meant to be within tens of percent: it refuses the
// runs that cannot fit, whose allocation would kill the process.

// Use is one part of a run's footprint.
type Use struct {
	What  string
	Bytes int64
	// Hints say what makes the part smaller, in the spec's or the command
	// line's words.
	Hints []string
}

// Footprint is a run's estimated host memory and disk, part by part.
type Footprint struct {
	Host, Disk []Use
	// Streamed says the recordings go to spill files in the run's staging
	// directory rather than memory.
	Streamed bool
	// Recordings is the size of the recorded arrays, Snapshots of a
	// plastic run's weight snapshots (always held in memory).
	Recordings, Snapshots int64
}

// HostBytes is the host memory the run needs in all.
func (f *Footprint) HostBytes() int64 { return total(f.Host) }

// DiskBytes is the disk space the run needs in its output directory.
func (f *Footprint) DiskBytes() int64 { return total(f.Disk) }

func total(us []Use) int64 {
	var n float64
	for _, u := range us {
		n += float64(u.Bytes)
	}
	return clamp(n)
}

// RunSize describes a run for Estimate.
type RunSize struct {
	Spec *spec.Spec // valid
	Plan *spec.RecordPlan
	// Plasticity is the plasticity plan (a validation plan will do), nil
	// for static weights.
	Plasticity *spec.PlasticityPlan
	Precision  backend.Precision
	// Streamed: the recordings stream to disk.
	Streamed bool
	// Input is the memory an input file's values still take to load (0:
	// none, or already loaded); InitState whether v₀ still comes from a
	// file (B × N values).
	Input     int64
	InitState bool
	// Workers is the CPU backend's goroutines (its per-task scratch).
	Workers int
}

// Overhead is what every run needs besides its arrays: the program, the Go
// runtime, the pictures.
const Overhead = 64 << 20

// clamp turns a float64 byte count into an int64, saturating.
func clamp(x float64) int64 {
	if x >= math.MaxInt64 || math.IsNaN(x) {
		return math.MaxInt64
	}
	return int64(math.Ceil(x))
}

// f multiplies whole numbers in float64, which cannot overflow.
func f(xs ...int) float64 {
	p := 1.0
	for _, x := range xs {
		p *= float64(x)
	}
	return p
}

func precisionBytes(p backend.Precision) int {
	if p == backend.F64 {
		return 8
	}
	return 4
}

// ChunkSteps is the steps per backend call of a run of B trials, N units,
// O outputs and I inputs in elements of elem bytes: about 32 MB of input
// and recordings per call (at least one step), and, for a plastic run
// whose weight snapshots take snapshot bytes every stride steps, about
// 32 MB of snapshots too.
func ChunkSteps(B, N, O, I, steps, elem int, snapshot int64, stride int) int {
	const budget = 32 << 20
	perStep := f(B, 2*N+O+I, elem)
	chunk := int(max(1, min(float64(steps), math.Floor(budget/max(perStep, 1)))))
	if snapshot > 0 && stride > 0 {
		chunk = min(chunk, int(min(float64(stride)*max(1, math.Floor(budget/float64(snapshot))), float64(math.MaxInt32))))
	}
	return max(chunk, 1)
}

// Estimate estimates the footprint of run r.
func Estimate(r RunSize) *Footprint {
	s, plan := r.Spec, r.Plan
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	B, steps, T := s.Trials, s.Steps, precisionBytes(r.Precision)
	U, M := len(plan.Units), plan.M
	fp := &Footprint{Streamed: r.Streamed}
	host := func(what string, bytes float64, hints ...string) {
		if bytes > 0 {
			fp.Host = append(fp.Host, Use{What: what, Bytes: clamp(bytes), Hints: hints})
		}
	}
	disk := func(what string, bytes float64, hints ...string) {
		if bytes > 0 {
			fp.Disk = append(fp.Disk, Use{What: what, Bytes: clamp(bytes), Hints: hints})
		}
	}
	const (
		hintUnits    = "fewer hidden units (dims)"
		hintF32      = "precision f32"
		hintTrials   = "fewer trials (trials, --trials)"
		hintSteps    = "record fewer steps (record.every, record.window or record.steps)"
		hintRecUnits = "record fewer units (record.units) or arrays (record.rates, record.states, record.outputs: false)"
		hintStream   = "a lower --max-memory, to stream the recordings to disk"
		hintInput    = "a smaller input file (fewer trials or steps)"
		hintSnapshot = "fewer weight snapshots (plasticity.record.every, or what: block_means or synapses)"
		hintShared   = "plasticity.weights: shared rather than per_trial"
	)

	// The network, built in float64: weights and biases, arrays read from
	// files, masks (files are kept and transposed; a structure's are drawn
	// and converted).
	layer := [3]float64{f(N, I), f(N, N), f(O, N)}
	var net float64
	for l := 0; l < 3; l++ {
		copies := 1.0
		if s.Weights.PerLayer()[l].Array != nil {
			copies++
		}
		for _, lm := range []*spec.LayerMasks{&s.SparsityMasks, &s.EIMasks, &s.PlasticityMasks} {
			if lm.PerLayer()[l] != nil {
				copies += 2
			}
		}
		if st := s.Structure; st != nil {
			copies += 2
			if st.Type == "multi_area_ei" && l > 0 {
				copies += 2
			}
		}
		if l == 1 && s.SelfConnections != nil && !*s.SelfConnections {
			copies++
		}
		net += copies * layer[l] * 8
	}
	net += f(2*N+O, 8)
	host("the network's weights and masks (built in float64)", net, hintUnits)
	hintsF32 := []string{hintUnits}
	if T == 8 {
		hintsF32 = append(hintsF32, hintF32)
	}
	host("the weights in the run's precision", f(N+I+1, N, T)+f(N+1, O, T)+f(4, N, T), hintsF32...)
	if r.Plasticity == nil {
		// The CPU backend keeps a static drive (N+I+1 rows: with the bias)
		// and readout a second time, packed in its kernels' column panels
		// (at most 31 columns of padding each).
		host("the weights packed for the CPU's kernels", f(N+I+1, N+31, T)+f(N, O+31, T), hintsF32...)
	}

	// Initial states: B × N in the run's precision, and in float64 when
	// they come from the spec (per trial) or a file.
	if s.InitState.Array != nil || s.InitState.From != "" || r.InitState {
		init := f(B, N, T) + f(B, N, 8)
		if r.InitState {
			init += f(B, N, 8) // read, then repeated per trial
		}
		host("the initial states", init, hintTrials)
	} else if s.InitState.Values != nil {
		host("the initial states", f(B, N, T), hintTrials)
	}

	// The backend's states and per-trial buffers, the final state.
	host("the states of every trial during the run", f(B, 3*N+I+1+O, T)+f(B, 8), hintTrials, hintUnits)
	host("the final states and rates", f(2, B, N, T), hintTrials, hintUnits)

	// Chunk buffers: what the backend records in one call, its input, the
	// picked units.
	var snapshot float64
	var stride int
	pl := r.Plasticity
	mats := 1
	if pl != nil && pl.PerTrial {
		mats = B
	}
	width := 0
	if pl != nil {
		width = snapshotWidth(pl)
		stride = pl.Record.Stride
		snapshot = f(mats, width, T)
	}
	chunk := ChunkSteps(B, N, O, I, steps, T, clamp(snapshot), stride)
	rows := chunk/plan.Every + 1
	buffers := f(rows, B, plan.RowWidth(N), T) + f(B, chunk, I, T)
	if !plan.All {
		buffers += f(rows, U, T)
	}
	host("the buffers of one backend call", buffers, hintTrials)

	// Recordings and their time axis.
	recBytes := f(B, M, plan.RowWidth(U), T)
	fp.Recordings = clamp(recBytes)
	if r.Streamed {
		disk("the streamed recordings", recBytes, hintSteps, hintRecUnits, hintTrials)
	} else {
		host("the recordings", recBytes, hintSteps, hintRecUnits, hintStream)
	}
	host("the time of each recorded step", f(M, 8), hintSteps)
	host("the input file's values", float64(r.Input), hintInput)

	// Plasticity: the per-synapse arrays (plan in float64, program in T),
	// the learning state (weight matrices per trial, Adam, averages, the
	// CPU's per-task scratch), the weight snapshots and final weights.
	var result float64
	if pl != nil {
		var synapses, state float64
		maxA, maxC := 0, 0
		for l, c := range pl.Conns {
			if c == nil {
				continue
			}
			a, b := pl.Dims[l][0], pl.Dims[l][1]
			maxA, maxC = max(maxA, a), max(maxC, b)
			arrays := 1 // scale
			if c.Grows {
				arrays += 2
			}
			synapses += f(arrays, a, b, 8+T)
			state += f(3, a, b, T)
			for _, rule := range c.Rules {
				if rule.Optimizer == backend.Adam {
					state += f(2, mats, a, b, T)
				}
				state += f(2, B, a+b, max(1, rule.Average.Window), T)
			}
		}
		state += f(mats-1, (N+I+1)*N+(N+1)*O, T) + f(B, O, T)
		tasks := 1
		if pl.PerTrial {
			tasks = min(B, 2*max(1, r.Workers))
		}
		state += f(tasks, maxA, maxC, T) + f(tasks, maxA+maxC, B/tasks+1, T)
		host("plasticity's per-synapse arrays", synapses, hintUnits)
		host("plasticity's learning state", state, hintUnits, hintShared, hintTrials)
		snaps := 0
		if stride > 0 {
			snaps = 1 + steps/stride
		}
		fp.Snapshots = clamp(f(mats, snaps, width, T))
		host("the weight snapshots (held in memory)", f(mats, snaps, width, T), hintSnapshot, hintShared)
		final := f(mats, (N+I+1)*N+(N+1)*O, T)
		for l, c := range pl.Conns {
			if c != nil {
				final += f(mats, pl.Dims[l][0], pl.Dims[l][1], T)
				result += f(mats, pl.Dims[l][0], pl.Dims[l][1], T)
			}
		}
		host("the final weights", final, hintUnits, hintShared)
		result += f(mats, snaps, width, T) + f(snaps, 8)
	}
	host("the program and runtime", Overhead)

	// result.npz: the recordings, final states, time, units and weights.
	result += recBytes + f(2, B, N, T) + f(M, 8) + f(U, 8) + 64<<10
	disk("result.npz", result, hintSteps, hintRecUnits, hintTrials)
	disk("the pictures and meta.json", 16<<20)
	return fp
}

// snapshotWidth is the values in one weight snapshot of plan pl (as
// backend.Program.WeightWidth).
func snapshotWidth(pl *spec.PlasticityPlan) int {
	if pl.Record.Stride <= 0 {
		return 0
	}
	switch pl.Record.What {
	case backend.SnapSynapses:
		return len(pl.Record.Synapses)
	case backend.SnapBlockMeans:
		P := max(1, len(pl.PopNames))
		n := 0
		for l, c := range pl.Conns {
			if c == nil {
				continue
			}
			if backend.Layer(l) == backend.LayerRecurrent {
				n += P * P
			} else {
				n += P
			}
		}
		return n
	}
	n := 0
	for l, c := range pl.Conns {
		if c != nil {
			n += pl.Dims[l][0] * pl.Dims[l][1]
		}
	}
	return n
}

// LimitError refuses a run that would need more of a resource than there
// is: the estimate, the limit and what to change.
type LimitError struct {
	// File is the spec's file ("" when none).
	File string
	// Resource is "memory", "disk space in DIR" or "device memory".
	Resource string
	Need     int64
	Limit    int64
	// Source says where the limit comes from and how to set another.
	Source string
	// Parts are the largest parts of the estimate.
	Parts []Use
}

func (e *LimitError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	fmt.Fprintf(&b, "the run needs about %s of %s, more than the %s %s", FormatBytes(e.Need), e.Resource, FormatBytes(e.Limit), e.Source)
	parts := append([]Use(nil), e.Parts...)
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].Bytes > parts[j].Bytes })
	var shown []string
	var hints []string
	seen := map[string]bool{}
	for _, p := range parts {
		if len(shown) == 3 || float64(p.Bytes) < 0.05*float64(e.Need) {
			break
		}
		shown = append(shown, fmt.Sprintf("%s %s", p.What, FormatBytes(p.Bytes)))
		for _, h := range p.Hints {
			if !seen[h] {
				seen[h] = true
				hints = append(hints, h)
			}
		}
	}
	if len(shown) > 0 {
		fmt.Fprintf(&b, ". Most of it: %s", strings.Join(shown, ", "))
	}
	if len(hints) > 0 {
		fmt.Fprintf(&b, ". To fit, try: %s", strings.Join(hints, "; "))
	}
	return b.String()
}

// FormatBytes writes a byte count in decimal units (1 GB = 10⁹ bytes, as
// --max-memory counts them).
func FormatBytes(n int64) string {
	x := float64(n)
	for _, u := range []struct {
		unit string
		size float64
	}{{"PB", 1e15}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}} {
		if x >= u.size {
			if n == math.MaxInt64 {
				return "more than 9 EB"
			}
			return fmt.Sprintf("%.3g %s", x/u.size, u.unit)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
