package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// group assigns each point its packing group and, within it, its noise
// instance.
//
// Points can share one backend.Program when their programs have the same
// shape (trials, dims), activation, steps, precision and seed: the seed
// because a program has one Philox key, the rest because a program has one
// shape. Inside a program instance k draws its noise at FirstInstance+k,
// so the instances of a program must carry consecutive noise indices. The
// global point index would not do: points of one group are not consecutive
// when an axis changes the seed or the dims, or when repeats interleave
// seeds. So a point's noise instance is its rank among the points of its
// group, in point order: every group is 0 … G−1, any consecutive range of
// it runs as one program, and the point run alone with noise_instance set
// to its rank (Point.YAML carries it) draws the same numbers. Ranks depend
// on the whole sweep's point list only, never on chunking or sharding.
func group(points []*Point) [][]*Point {
	index := map[string]int{}
	var groups [][]*Point
	for _, p := range points {
		k := groupKey(p.Spec)
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, nil)
		}
		p.NoiseInstance = len(groups[g])
		groups[g] = append(groups[g], p)
	}
	return groups
}

func groupKey(s *spec.Spec) string {
	return fmt.Sprintf("%d|%v|%s|%d|%s|%d%s", s.Trials, s.Dims, s.Activation, s.Steps, s.Precision, s.Seed, plasticKey(s))
}

// Options are a sweep run's choices that are not part of the sweep spec.
type Options struct {
	// Backend overrides the base spec's backend (auto, cpu, …).
	Backend string
	// ChunkPoints overrides the sweep's chunk_points (0: neither).
	ChunkPoints int
	// MemoryLimit is the host memory one chunk's program may take (0: a
	// quarter of the memory available, at most DefaultChunkMemory).
	MemoryLimit int64
	// Progress receives a progress line over points (nil: none).
	Progress io.Writer
	// KeepFinal keeps each point's final state and rates in its Row.
	KeepFinal bool
	// Shard is the part of the sweep Execute runs (zero: all of it).
	Shard Shard
	// Picture is what Execute draws into DIR/sweep.png.
	Picture PictureOptions

	// tick, when set, hears that a program of k points has done t steps.
	tick func(k, t int)
	// observe, in tests, sees every recorded row of every point.
	observe func(point, trial, step int, rates, states, outputs []float64)
	// callSteps, in tests, sets the steps per backend call (0: callSteps).
	callSteps int
}

// DefaultChunkMemory is the most memory a chunk's program takes by default.
const DefaultChunkMemory = 256 << 20

// Row is one point's outcome.
type Row struct {
	Point   *Point
	Metrics []float64
	// Status is "ok" or why the point has no metrics (a non-finite run).
	Status string
	// Wall is the point's share of its chunk's wall time.
	Wall time.Duration
	// FinalState and FinalRates are v and r after the last step, B × N,
	// kept only when Options.KeepFinal is set.
	FinalState, FinalRates []float64
	// Arrays are the point's recordings when the sweep has a record:
	// section (nil otherwise, and for a point that went non-finite);
	// ArraysFile and ArraysIndex say where its chunk's archive keeps them.
	Arrays      *PointArrays
	ArraysFile  string
	ArraysIndex int
}

// Result is a finished sweep.
type Result struct {
	Rows    []*Row
	Chunks  []Chunk
	Backend string
	Device  string
	Wall    time.Duration
}

// Chunk is a range of one group's points run as one program.
type Chunk struct {
	Group  int   `json:"group"`
	Points []int `json:"points"`
	// WallS is the chunk's wall time in seconds, once it ran.
	WallS float64 `json:"wall_s,omitempty"`
}

// Plan is how a sweep will run: its chunks and what each needs.
type Plan struct {
	Chunks      []Chunk
	ChunkPoints []int // per group
	// Bytes is the largest chunk's estimated host memory.
	Bytes int64
	Limit int64
}

// pointBytes estimates the host memory one point takes in a chunk: its
// program's arrays, its input and recordings for one backend call, its
// metric accumulators and final state, and its per-point arrays.
func pointBytes(s *spec.Spec, sw *Sweep) int64 {
	elem := int64(4)
	if s.Precision == "f64" || s.Precision == "float64" {
		elem = 8
	}
	B, I, N, O := int64(s.Trials), int64(s.Dims[0]), int64(s.Dims[1]), int64(s.Dims[2])
	n := int64(callSteps(s, 1)) // the most one point's share of a call can be
	prog := ((N+I+1)*N + (N+1)*O + 4*N + B*N) * elem
	calls := B * n * (I + 2*N + O) * elem
	rows := (2*N + O) * 8
	acc := int64(len(sw.Metrics)) * B * 4 * 8
	// The host network (float64 weights) is built per point, and the
	// final state twice, once in T and once in float64.
	net := ((N+I)*N + N*O + 4*N) * 8
	// Per-point arrays (record:) are kept, as float64, until the chunk is
	// written, and once more while its archive is assembled.
	var arrays int64
	if sw.Record != nil {
		if pl, err := sw.Record.Plan(s); err == nil {
			arrays = 2 * int64(pl.B*pl.M) * int64(pl.RowWidth(len(pl.Units))) * 8
		}
	}
	// A plastic point's learning state: its weights (per trial with
	// weights: per_trial), scales and the rules' averages and moments,
	// about four copies of its connections.
	var plastic, packed int64
	if s.Plasticity != nil {
		copies := int64(4)
		if s.Plasticity.Weights == "per_trial" {
			copies += B
		}
		plastic = copies * ((N+I)*N + N*O) * elem
	} else {
		// The CPU backend keeps a static drive and readout a second time,
		// packed for its kernels.
		packed = ((N+I+1)*(N+31) + N*(O+31)) * elem
	}
	return prog + calls + rows + acc + net + arrays + plastic + packed + B*N*(2*elem+16)
}

// callSteps is the steps per backend call of a program of k points: about
// 8 MB of input and recordings for the whole program, so that what one
// call writes is still in the cache when the metrics read it back (a
// budget per point made a 256-point chunk write and reread 250 MB per
// call, from memory). One step per call at the least.
func callSteps(s *spec.Spec, k int) int {
	per := int64(k) * int64(s.Trials) * int64(s.Dims[0]+2*s.Dims[1]+s.Dims[2]) * 8
	return int(max(1, min(int64(s.Steps), (8<<20)/max(1, per))))
}

// MakePlan cuts the sweep's groups into chunks of consecutive points of at
// most ChunkPoints each; chunk boundaries depend only on point ranks.
func MakePlan(sw *Sweep, opt Options) (*Plan, error) {
	return planFor(sw, sw.Points, opt)
}

// planFor cuts todo, a subset of the sweep's points in point order, into
// chunks: each group's points of todo are split into runs of consecutive
// ranks (noise instances), and each run into chunks of at most the
// group's chunk size, so that every chunk can run as one program. For the
// whole point list each group is one run, and the chunks are MakePlan's.
func planFor(sw *Sweep, todo []*Point, opt Options) (*Plan, error) {
	limit := opt.MemoryLimit
	if limit <= 0 {
		limit = DefaultChunkMemory
		if m, _, ok := output.HostMemory(); ok && m/4 < limit {
			limit = m / 4
		}
	}
	cp := sw.ChunkPoints
	if opt.ChunkPoints > 0 {
		cp = opt.ChunkPoints
	}
	pl := &Plan{Limit: limit}
	groups := groupsOf(sw)
	todoOf := map[string][]*Point{}
	for _, p := range todo {
		k := groupKey(p.Spec)
		todoOf[k] = append(todoOf[k], p)
	}
	for g, pts := range groups {
		per := pointBytes(pts[0].Spec, sw)
		if per > limit {
			return nil, &output.LimitError{File: sw.File, Resource: "memory", Need: per, Limit: limit, Source: "allowed for one chunk of the sweep",
				Parts: []output.Use{{What: "one point (" + sw.Label(pts[0]) + ")", Bytes: per, Hints: []string{"fewer hidden units or trials"}}}}
		}
		n := cp
		if n <= 0 {
			n = int(min(int64(len(pts)), limit/per))
		}
		n = min(n, len(pts))
		pl.ChunkPoints = append(pl.ChunkPoints, n)
		mine := todoOf[groupKey(pts[0].Spec)]
		for i := 0; i < len(mine); {
			// A run of consecutive ranks, cut into chunks of n.
			j := i + 1
			for j < len(mine) && mine[j].NoiseInstance == mine[j-1].NoiseInstance+1 && j-i < n {
				j++
			}
			c := Chunk{Group: g}
			for _, p := range mine[i:j] {
				c.Points = append(c.Points, p.Index)
			}
			pl.Chunks = append(pl.Chunks, c)
			pl.Bytes = max(pl.Bytes, per*int64(len(c.Points)))
			i = j
		}
	}
	if pl.Bytes > limit {
		return nil, &output.LimitError{File: sw.File, Resource: "memory", Need: pl.Bytes, Limit: limit, Source: "allowed for one chunk of the sweep",
			Parts: []output.Use{{What: "one chunk", Bytes: pl.Bytes, Hints: []string{"a smaller chunk_points"}}}}
	}
	return pl, nil
}

// groupsOf regroups the points by packing group (the ranks are set).
func groupsOf(sw *Sweep) [][]*Point {
	index := map[string]int{}
	var groups [][]*Point
	for _, p := range sw.Points {
		k := groupKey(p.Spec)
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], p)
	}
	return groups
}

// BackendName is the backend the sweep runs on.
func (sw *Sweep) BackendName(opt Options) string {
	if opt.Backend != "" {
		return opt.Backend
	}
	return sw.Points[0].Spec.Backend
}

// Check refuses what the sweep cannot run yet and returns its plan.
func Check(sw *Sweep, opt Options) (*Plan, error) {
	if err := checkRunnable(sw, opt); err != nil {
		return nil, err
	}
	return MakePlan(sw, opt)
}

func checkRunnable(sw *Sweep, opt Options) error {
	for _, p := range sw.Points {
		if b := p.Spec.Backend; opt.Backend == "" && b != sw.Points[0].Spec.Backend {
			return fmt.Errorf("%s: %s: backend %s differs from point 0's %s; a sweep runs on one backend (choose it with --backend)", sw.File, sw.Label(p), b, sw.Points[0].Spec.Backend)
		}
	}
	return nil
}

// Run runs every point of sw, chunk by chunk, and returns one row per
// point in point order. A point that goes non-finite gets its error in its
// row; the others in its chunk run again without it.
func Run(ctx context.Context, sw *Sweep, opt Options) (*Result, error) {
	pl, err := Check(sw, opt)
	if err != nil {
		return nil, err
	}
	b, err := lookupBackend(sw, opt)
	if err != nil {
		return nil, err
	}
	res := &Result{Rows: make([]*Row, len(sw.Points)), Chunks: pl.Chunks, Backend: b.Name(), Device: deviceName(b)}
	start := time.Now()
	err = runPlan(ctx, sw, b, pl.Chunks, opt, len(sw.Points), 0, func(i int, rows []*Row, wall time.Duration) error {
		res.Chunks[i].WallS = wall.Seconds()
		for _, r := range rows {
			res.Rows[r.Point.Index] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Wall = time.Since(start)
	return res, nil
}

func lookupBackend(sw *Sweep, opt Options) (backend.Backend, error) {
	b, err := backend.Lookup(sw.BackendName(opt))
	if err != nil {
		return nil, fmt.Errorf("%s: backend: %w", sw.File, err)
	}
	return b, nil
}

func deviceName(b backend.Backend) string {
	if devs, err := b.Devices(); err == nil && len(devs) > 0 {
		return devs[0].Name
	}
	return ""
}

// runPlan runs chunks in order and hands each one's rows (in point order)
// and wall time to done, which may stop the sweep by returning an error.
// The progress line counts total points, of which already were done before.
func runPlan(ctx context.Context, sw *Sweep, b backend.Backend, chunks []Chunk, opt Options, total, already int,
	done func(i int, rows []*Row, wall time.Duration) error) error {
	prog := output.NewProgress(opt.Progress, "", int64(total), "points")
	defer prog.Finish()
	finished := already
	prog.Update(int64(finished))
	for i, c := range chunks {
		pts := make([]*Point, len(c.Points))
		for i, idx := range c.Points {
			pts[i] = sw.Points[idx]
		}
		t0 := time.Now()
		var rows []*Row
		var err error
		// The line moves within a chunk too, by the share of its steps done.
		steps := int64(pts[0].Spec.Steps)
		opt.tick = func(k, t int) { prog.Update(int64(finished) + int64(k)*int64(t)/steps) }
		if pts[0].Spec.Precision == "f64" || pts[0].Spec.Precision == "float64" {
			rows, err = runChunk[float64](ctx, b, sw, pts, opt)
		} else {
			rows, err = runChunk[float32](ctx, b, sw, pts, opt)
		}
		if err != nil {
			return err
		}
		wall := time.Since(t0)
		share := wall / time.Duration(len(pts))
		for k, r := range rows {
			r.Wall = share
			if sw.Record != nil {
				r.ArraysFile, r.ArraysIndex = filepath.ToSlash(arraysName(sw, rows[0].Point.Index)), k
			}
		}
		if err := done(i, rows, wall); err != nil {
			return err
		}
		finished += len(pts)
		prog.Update(int64(finished))
	}
	return nil
}

// needs says which quantities the metrics read.
func needs(sw *Sweep) backend.Record {
	var r backend.Record
	for _, m := range sw.Metrics {
		switch m.Of {
		case "rates":
			r.Rates = true
		case "states":
			r.States = true
		case "outputs":
			r.Outputs = true
		}
	}
	if sw.Record != nil {
		pl, err := sw.Record.Plan(sw.Points[0].Spec)
		if err != nil {
			panic(fmt.Sprintf("sweep: the record section of a checked sweep does not plan: %v", err))
		}
		r.Rates, r.States, r.Outputs = r.Rates || pl.Rates, r.States || pl.States, r.Outputs || pl.Outputs
	}
	r.Stride = 1
	return r
}

// runChunk runs consecutive points of one group as one program. When the
// backend reports a point non-finite, that point gets the error and the
// points before and after it run again as two programs (consecutive noise
// instances each), so the others' rows are what they would be without it.
func runChunk[T backend.Float](ctx context.Context, b backend.Backend, sw *Sweep, pts []*Point, opt Options) ([]*Row, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	rows, err := tryChunk[T](ctx, b, sw, pts, opt)
	var nf *backend.NonFiniteError
	if !errors.As(err, &nf) {
		return rows, err
	}
	k := nf.Instance - pts[0].NoiseInstance
	if k < 0 || k >= len(pts) {
		return nil, fmt.Errorf("backend %s reported instance %d outside the chunk: %w", b.Name(), nf.Instance, err)
	}
	before, err := runChunk[T](ctx, b, sw, pts[:k], opt)
	if err != nil {
		return nil, err
	}
	after, err := runChunk[T](ctx, b, sw, pts[k+1:], opt)
	if err != nil {
		return nil, err
	}
	bad := &Row{Point: pts[k], Status: "non-finite: " + nf.Error()}
	return append(append(before, bad), after...), nil
}

// buildPrograms builds each point's program on the host: its network
// (sharedNetworks, which draws each distinct network once) laid out in T.
func buildPrograms[T backend.Float](pts []*Point, trials int, rec backend.Record) ([]*backend.Program[T], []*network.Network) {
	nets := sharedNetworks(pts)
	progs := make([]*backend.Program[T], len(pts))
	parallel(len(pts), func(k int) {
		progs[k] = network.Program[T](nets[k], trials, pts[k].Seed, rec)
	})
	return progs, nets
}

// packProgram packs pts, points of one group, as the instances of one
// program: each point's own network (buildPrograms), the instances
// numbered by the points' noise instances (see group). When every point
// gets the same input (sameInput), the program takes it once
// (SharedInput) and the caller fills one instance's input per call.
func packProgram[T backend.Float](pts []*Point, rec backend.Record) *backend.Program[T] {
	s0 := pts[0].Spec
	K, B, N, I, O := len(pts), s0.Trials, s0.Dims[1], s0.Dims[0], s0.Dims[2]
	p := &backend.Program[T]{
		Shape:         backend.Shape{Instances: K, Trials: B, Units: N, Inputs: I, Outputs: O},
		Seed:          s0.Seed,
		Record:        rec,
		FirstInstance: pts[0].NoiseInstance,
		SharedInput:   sameInput(pts),
	}
	p.Drive, p.Readout = make([]T, 0, K*(N+I+1)*N), make([]T, 0, K*(N+1)*O)
	p.Decay, p.Alpha = make([]T, 0, K*N), make([]T, 0, K*N)
	p.PreNoise, p.PostNoise = make([]T, 0, K*N), make([]T, 0, K*N)
	progs, nets := buildPrograms[T](pts, B, rec)
	p.Plasticity = packPlasticity[T](pts, nets)
	for _, q := range progs {
		p.Activation = q.Activation
		p.Drive = append(p.Drive, q.Drive...)
		p.Readout = append(p.Readout, q.Readout...)
		p.Decay = append(p.Decay, q.Decay...)
		p.Alpha = append(p.Alpha, q.Alpha...)
		p.PreNoise = append(p.PreNoise, q.PreNoise...)
		p.PostNoise = append(p.PostNoise, q.PostNoise...)
	}
	for _, q := range progs {
		if q.Init != nil {
			p.Init = make([]T, K*B*N)
			for k, q := range progs {
				copy(p.Init[k*B*N:], q.Init)
			}
			break
		}
	}
	return p
}

// tryChunk runs pts as one program and computes their metrics.
func tryChunk[T backend.Float](ctx context.Context, b backend.Backend, sw *Sweep, pts []*Point, opt Options) ([]*Row, error) {
	s0 := pts[0].Spec
	K, B, N, I, O, steps := len(pts), s0.Trials, s0.Dims[1], s0.Dims[0], s0.Dims[2], s0.Steps
	rec := needs(sw)
	p := packProgram[T](pts, rec)
	gens := make([]*stimulus.Generator, K)
	accs := make([][]*accumulator, K)
	var recs []*pointRecorder // per point, when the sweep records arrays
	if sw.Record != nil {
		recs = make([]*pointRecorder, K)
	}
	for k, pt := range pts {
		gens[k] = stimulus.NewGenerator(pt.Spec)
		if recs != nil {
			recs[k] = newPointRecorder(sw.Record, pt.Spec)
		}
		for i := range sw.Metrics {
			mp, err := sw.Metrics[i].plan(pt.Spec)
			if err != nil {
				return nil, err
			}
			accs[k] = append(accs[k], newAccumulator(&sw.Metrics[i], mp, B))
		}
	}
	run, err := backend.Start(b, p)
	if err != nil {
		return nil, fmt.Errorf("starting on backend %s: %w", b.Name(), err)
	}
	defer run.Close()

	// Which recordings the metrics need as float64 rows: those of the
	// metrics that do not sum straight from the backend's rows, and all of
	// them for a test's observer.
	var convert struct{ rates, states, outputs bool }
	for _, a := range accs[0] {
		if !a.direct || opt.observe != nil {
			switch a.m.Of {
			case "rates":
				convert.rates = true
			case "states":
				convert.states = true
			case "outputs":
				convert.outputs = true
			}
		}
	}
	if opt.observe != nil {
		convert.rates, convert.states, convert.outputs = true, true, true
	}
	// Each point's float64 rows, for the metrics that take them.
	var rowBufs []float64
	if convert.rates || convert.states || convert.outputs {
		rowBufs = make([]float64, K*(2*N+O))
	}

	chunk := callSteps(s0, K)
	if opt.callSteps > 0 {
		chunk = opt.callSteps
	}
	inBuf := make([]T, K*B*chunk*I)
	rates, states, outs := make([]float64, N), make([]float64, N), make([]float64, O)

	// reduceCall folds one backend call's rows (steps t0+1 … t0+n, in c)
	// into the metrics of each point: points are independent, so they
	// reduce in parallel (a test's observer sees the rows in order, one
	// point after another).
	reduceCall := func(t0, n int, c *backend.Chunk[T]) {
		reduce := func(k int, rates, states, outs []float64) {
			pt := pts[k]
			for bb := 0; bb < B; bb++ {
				for j := 0; j < n; j++ {
					row := (k*B+bb)*n + j
					t := t0 + j + 1
					if c.Rates != nil && convert.rates {
						toF64(rates, c.Rates[row*N:(row+1)*N])
					}
					if c.States != nil && convert.states {
						toF64(states, c.States[row*N:(row+1)*N])
					}
					if c.Outputs != nil && convert.outputs {
						toF64(outs, c.Outputs[row*O:(row+1)*O])
					}
					for _, a := range accs[k] {
						switch {
						case a.direct && a.m.Of == "rates":
							addSumRow(a, bb, t, c.Rates[row*N:(row+1)*N])
						case a.direct && a.m.Of == "states":
							addSumRow(a, bb, t, c.States[row*N:(row+1)*N])
						case a.direct:
							addSumRow(a, bb, t, c.Outputs[row*O:(row+1)*O])
						case a.m.Of == "rates":
							a.add(bb, t, rates, nil)
						case a.m.Of == "states":
							a.add(bb, t, states, nil)
						case a.m.Of == "outputs":
							var target []float64
							if a.m.Kind == "mse" {
								target = a.m.targetRow(bb, t, steps, O)
							}
							a.add(bb, t, outs, target)
						}
					}
					if recs != nil {
						take(recs[k], bb, t, rowOf(c.Rates, row, N), rowOf(c.States, row, N), rowOf(c.Outputs, row, O))
					}
					if opt.observe != nil {
						opt.observe(pt.Index, bb, t, pick(c.Rates, rates), pick(c.States, states), pick(c.Outputs, outs))
					}
				}
			}
		}
		if opt.observe != nil {
			for k := range pts {
				reduce(k, rates, states, outs)
			}
		} else {
			parallel(K, func(k int) {
				if rowBufs == nil {
					reduce(k, nil, nil, nil) // every metric sums straight from the rows
					return
				}
				r := rowBufs[k*(2*N+O) : (k+1)*(2*N+O)]
				reduce(k, r[:N], r[N:2*N], r[2*N:])
			})
		}
		if opt.tick != nil {
			opt.tick(K, t0+n)
		}
	}

	// The calls run one ahead of the metrics: call i's rows go into one of
	// two chunks while call i−1's, in the other, are reduced, so the
	// backend never waits for the reduction (nor the reduction for the
	// backend) and both keep the cores busy. The input buffer is refilled
	// only after the call that read it returned.
	var chunks [2]*backend.Chunk[T]
	var fulls [2]backend.Chunk[T]
	for i := range chunks {
		chunks[i] = backend.NewChunk(p, chunk)
		fulls[i] = *chunks[i]
	}
	type done struct{ t0, n, chunk int }
	var prev *done
	advanced := make(chan error, 1)
	for t0, i := 0, 0; t0 < steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sweep interrupted: %w", err)
		}
		n := min(chunk, steps-t0)
		var in []T
		if I > 0 {
			in = fillInputs(p, gens, t0, n, inBuf)
		}
		c, full := chunks[i%2], &fulls[i%2]
		if full.Rates != nil {
			c.Rates = full.Rates[:K*B*n*N]
		}
		if full.States != nil {
			c.States = full.States[:K*B*n*N]
		}
		if full.Outputs != nil {
			c.Outputs = full.Outputs[:K*B*n*O]
		}
		go func() { advanced <- run.Advance(n, in, c) }()
		if prev != nil {
			reduceCall(prev.t0, prev.n, chunks[prev.chunk])
		}
		if err := <-advanced; err != nil {
			var nf *backend.NonFiniteError
			if errors.As(err, &nf) {
				return nil, err
			}
			return nil, fmt.Errorf("backend %s at step %d: %w", b.Name(), t0, err)
		}
		prev = &done{t0, n, i % 2}
		t0 += n
	}
	if prev != nil {
		reduceCall(prev.t0, prev.n, chunks[prev.chunk])
	}
	v, r := make([]T, K*B*N), make([]T, K*B*N)
	if err := run.State(v, r); err != nil {
		return nil, err
	}
	var drive, readout []T
	for _, m := range sw.Metrics {
		if isWeightMetric(m.Kind) {
			if drive, readout, err = finalWeights(run, p); err != nil {
				return nil, fmt.Errorf("the final weights on backend %s: %w", b.Name(), err)
			}
			break
		}
	}
	rows := make([]*Row, K)
	for k, pt := range pts {
		row := &Row{Point: pt, Status: "ok"}
		final, rates := make([]float64, B*N), make([]float64, B*N)
		toF64(final, v[k*B*N:(k+1)*B*N])
		toF64(rates, r[k*B*N:(k+1)*B*N])
		if opt.KeepFinal {
			row.FinalState, row.FinalRates = final, rates
		}
		if recs != nil {
			row.Arrays = recs[k].out
		}
		for _, a := range accs[k] {
			if a.m.Kind == "final_state_mean" {
				for bb := 0; bb < B; bb++ {
					a.add(bb, steps, final[bb*N:(bb+1)*N], nil)
				}
			}
			if isWeightMetric(a.m.Kind) {
				row.Metrics = append(row.Metrics, weightValue(a.m, pt.Spec, p, k, drive, readout))
				continue
			}
			row.Metrics = append(row.Metrics, a.value())
		}
		rows[k] = row
	}
	return rows, nil
}

func (m *ResolvedMetric) targetRow(b, t, steps, O int) []float64 {
	i := (t - 1) * O
	if m.targetB {
		i += b * steps * O
	}
	return m.target[i : i+O]
}

// fillInputs fills buf with the input of steps t0+1 … t0+n of p's
// instances, one per generator (only the first when p.SharedInput), and
// returns the filled part; an instance without input gets zeros.
func fillInputs[T backend.Float](p *backend.Program[T], gens []*stimulus.Generator, t0, n int, buf []T) []T {
	filled := p.Instances
	if p.SharedInput {
		filled = 1
	}
	per := p.Trials * n * p.Inputs
	in := buf[:filled*per]
	for k := range filled {
		part := in[k*per : (k+1)*per]
		if stimulus.Fill(gens[k], t0, n, part) == nil {
			clear(part)
		}
	}
	return in
}

// rowOf is row i (of width w) of a chunk's recording, nil when c is.
func rowOf[T backend.Float](c []T, i, w int) []T {
	if c == nil {
		return nil
	}
	return c[i*w : (i+1)*w]
}

func pick[T backend.Float](c []T, row []float64) []float64 {
	if c == nil {
		return nil
	}
	return row
}

func toF64[T backend.Float](dst []float64, src []T) {
	for i, x := range src {
		dst[i] = float64(x)
	}
}
