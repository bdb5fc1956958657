package cpu

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ratesim/ratesim/backend"
)

func init() { backend.Register(New(), 10) }

// Backend runs programs on the CPU.
type Backend struct {
	workers    int
	trialBlock int
}

// Option configures a Backend.
type Option func(*Backend)

// Workers sets the number of goroutines (default GOMAXPROCS).
func Workers(n int) Option { return func(b *Backend) { b.workers = n } }

// TrialBlock sets how many trials of an instance one task handles (default:
// chosen so every worker has at least two tasks).
func TrialBlock(n int) Option { return func(b *Backend) { b.trialBlock = n } }

// New returns a CPU backend.
func New(opts ...Option) *Backend {
	b := &Backend{}
	for _, o := range opts {
		o(b)
	}
	return b
}

func (b *Backend) Name() string { return "cpu" }

func (b *Backend) nworkers() int {
	if b.workers > 0 {
		return b.workers
	}
	return runtime.GOMAXPROCS(0)
}

func (b *Backend) Devices() ([]backend.Device, error) {
	return []backend.Device{{
		Name:   fmt.Sprintf("%d CPU cores (%s/%s)", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH),
		Detail: fmt.Sprintf("%d worker goroutines, gonum BLAS", b.nworkers()),
	}}, nil
}

func (b *Backend) Start32(p *backend.Program[float32]) (backend.Run[float32], error) {
	return start(b, p)
}

func (b *Backend) Start64(p *backend.Program[float64]) (backend.Run[float64], error) {
	return start(b, p)
}

// task is one instance's block of trials [b0, b1) with its own buffers.
type task[T backend.Float] struct {
	k, b0, b1 int
	z         []T // rows × (N+I+1): [r; u; 1] per trial
	v, x      []T // rows × N
	y         []T // rows × O
	rowErr    []*backend.NonFiniteError
	err       *backend.NonFiniteError
	pl        *taskPlastic[T] // nil for a static program
	rate      *rateBuffers[T] // the rate form's stage buffers; nil in the v-form
	hist      *history[T]     // the gathered product's inputs; nil for Gemm
}

type run[T backend.Float] struct {
	p       *backend.Program[T]
	f       *backend.Funcs[T]
	key     [2]uint32
	workers int
	tasks   []*task[T]
	spare   int         // 1 + the workers without a task: the parts a task may split its work into
	pl      *plastic[T] // nil for a static program (and the L5 low-rank form)
	// lr is the L5 low-rank form's state per instance and trial
	// (lowrank.go); its drive stays W0, so the run is otherwise static.
	lr      []*backend.L5LowRankState[T]
	csr     []*csrDrive[T] // per instance, when the drive runs gathered (delays, sparse)
	packed  []*packedB[T]  // per instance, a static drive packed for the kernels (nil entries: none)
	packedR []*packedB[T]  // per instance, a static readout packed likewise (nil entries: none)
	done    int
	err     error
	closed  bool
}

func start[T backend.Float](b *Backend, p *backend.Program[T]) (*run[T], error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	K, B, N, O := p.Instances, p.Trials, p.Units, p.Outputs
	rows := p.DriveRows()
	w := b.nworkers()
	block := b.trialBlock
	if block <= 0 && useGather(p) {
		block = gatherBlock(K, B, w)
	} else if block <= 0 {
		pieces := min(B, max(1, (2*w+K-1)/K))
		var z T
		switch drive := rows * N * int(sizeOf(z)); {
		case p.Plasticity != nil:
		case drive >= memoryDrive:
			// Each task reads the whole drive every step, from memory: one
			// task reads it once, its product split over the idle cores.
			// Tasks of memoryDriveRows trials or more still run side by
			// side (their serial parts would add up).
			pieces = min(pieces, (B+memoryDriveRows-1)/memoryDriveRows)
		case drive >= largeDrive:
			// From the last-level cache: not worth reading for fewer than
			// largeDriveRows trials, nor by more tasks than workers.
			pieces = min(pieces, w, max(1, B/largeDriveRows))
		}
		block = (B + pieces - 1) / pieces
	}
	r := &run[T]{p: p, f: backend.FuncsFor[T](), key: backend.SeedKey(p.Seed), workers: w}
	if backend.IsL5LowRank(p) {
		r.lr = newLowRank(p)
	} else if p.Plasticity != nil {
		r.pl = newPlastic(p)
		if r.pl.M == 1 {
			block = B // shared weights: one task sums all trials of an instance
		} else if b.trialBlock <= 0 {
			// Per-trial weights: each step reads a trial's matrix twice (the
			// product, then the update), so a task's matrices should stay
			// in a core's cache between the two.
			var z T
			matrix := (rows*N + (N+1)*O) * int(sizeOf(z))
			block = min(block, max(1, plasticCache/matrix))
		}
	}
	if useGather(p) {
		r.csr = make([]*csrDrive[T], K)
		for k := range r.csr {
			r.csr[k] = newCSRDrive(p, k)
		}
	} else if r.pl == nil {
		// A static drive is the same matrix every step: its copy in the
		// kernels' panels (packedB) is made once, here.
		r.packed = make([]*packedB[T], K)
		for k := range r.packed {
			r.packed[k] = packB(rows, N, p.Drive[k*rows*N:(k+1)*rows*N], N)
		}
		// The readout has few columns (O ≪ nr): unpacked, a task's product
		// of a few trials fell to gonum's one-column-at-a-time loop, a fifth
		// of a step at N = 256; its padded panel runs on the kernels.
		if O > 0 {
			r.packedR = make([]*packedB[T], K)
			for k := range r.packedR {
				r.packedR[k] = packB(N, O, p.Readout[k*(N+1)*O:k*(N+1)*O+N*O], O)
			}
		}
	}
	for k := 0; k < K; k++ {
		for b0 := 0; b0 < B; b0 += block {
			b1 := min(b0+block, B)
			n := b1 - b0
			t := &task[T]{k: k, b0: b0, b1: b1,
				z: make([]T, n*rows), v: make([]T, n*N), x: make([]T, n*N), y: make([]T, n*O),
				rowErr: make([]*backend.NonFiniteError, n)}
			if p.Form == backend.RateForm {
				initRates(p, t, k, b0, b1)
			} else {
				if p.Init != nil {
					copy(t.v, p.Init[(k*B+b0)*N:(k*B+b1)*N])
				}
				for j := 0; j < n; j++ {
					initActivate(p, r.f, t.v[j*N:(j+1)*N], t.z[j*rows:j*rows+N])
				}
			}
			for j := 0; j < n; j++ {
				t.z[j*rows+rows-1] = 1
			}
			if r.pl != nil {
				t.pl = newTaskPlastic(p, n, min(n, r.pl.M))
			}
			if r.csr != nil {
				t.hist = newHistory(p, t.z, n)
			}
			r.tasks = append(r.tasks, t)
		}
	}
	r.spare = max(1, w-len(r.tasks)+1)
	return r, nil
}

func (r *run[T]) Done() int { return r.done }

// SupportsPlasticity says that the CPU backend runs plastic programs.
func (b *Backend) SupportsPlasticity() bool { return true }

// SupportsRateForm says that the CPU backend runs rate-form programs and
// per-unit activations (backend.RateFormCapable).
func (b *Backend) SupportsRateForm() bool { return true }

// SupportsDelays says that the CPU backend runs programs with synaptic
// delays (backend.DelayCapable).
func (b *Backend) SupportsDelays() bool { return true }

// Weights copies the current weights (see backend.WeightRun).
func (r *run[T]) Weights(drive, readout []T) error {
	if r.closed {
		return backend.ErrClosed
	}
	if r.lr != nil {
		backend.L5LowRankWeights(r.p, r.lr, drive, readout)
		return nil
	}
	var w *backend.PlasticWeights[T]
	if r.pl != nil {
		w = r.pl.PlasticWeights
	}
	backend.CopyWeights(r.p, w, drive, readout)
	return nil
}

func (r *run[T]) Close() error {
	r.closed = true
	r.tasks, r.packed, r.packedR = nil, nil, nil
	return nil
}

func (r *run[T]) State(v, rr []T) error {
	if r.closed {
		return backend.ErrClosed
	}
	p := r.p
	N, B, rows := p.Units, p.Trials, p.DriveRows()
	for _, t := range r.tasks {
		for j := 0; j < t.b1-t.b0; j++ {
			at := (t.k*B + t.b0 + j) * N
			if v != nil {
				copy(v[at:at+N], t.v[j*N:(j+1)*N])
			}
			if rr != nil {
				copy(rr[at:at+N], t.z[j*rows:j*rows+N])
			}
		}
	}
	return nil
}

func (r *run[T]) Advance(n int, in []T, out *backend.Chunk[T]) error {
	p := r.p
	switch {
	case r.closed:
		return backend.ErrClosed
	case r.err != nil:
		return r.err
	}
	m, err := backend.CheckAdvance(p, r.done, n, in, out)
	if err != nil {
		return fmt.Errorf("cpu: %w", err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(r.workers, len(r.tasks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			busyCores.Add(1) // see claimCores
			defer busyCores.Add(-1)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(r.tasks) {
					return
				}
				r.runTask(r.tasks[i], n, in, out, m)
			}
		}()
	}
	wg.Wait()
	var first *backend.NonFiniteError
	for _, t := range r.tasks {
		if t.err != nil && t.err.Before(first) {
			first = t.err
		}
	}
	if first != nil {
		r.done = first.Step
		r.err = first
		return first
	}
	r.done += n
	return nil
}

// plasticCache is the bytes of per-trial weight matrices one task should
// keep (about half of a core's L2 cache on current x86 and ARM cores).
var plasticCache = 512 << 10

// largeDrive is the bytes of a static drive matrix above what a core's
// share of the last-level cache keeps between tasks (at N = 2048 in
// float32 it is 16 MB), and memoryDrive the bytes above what the whole
// last-level cache keeps (32 MB on a Zen 4 CCD).
const (
	largeDrive  = 8 << 20
	memoryDrive = 32 << 20
)

// largeDriveRows is the fewest trials a task of a large drive runs. At
// N = 2048 in float32 (16 MB) on two Zen 4 cores, B = 4 and 8 ran 15–45 %
// faster as one task than as four of 1–2 trials; B = 16 … 128 ran 5–20 %
// faster as tasks of 8 or more trials than as one whose product and unit
// step split over the cores and join twice a step, and as two tasks (one a
// worker) about 10 % faster than four with noise off. In float64 (34 MB,
// from memory) one task was 20 % faster at B = 32 (`ratesim bench`,
// 2026-12-04).
const largeDriveRows = 8

// memoryDriveRows is the trials per task from which a drive read from
// memory runs as more than one task: at N = B = 2048 one task ran the step
// 40 % slower than four.
const memoryDriveRows = 256

// unitMinWork is the number of units below which a part of a task's unit
// step is not worth a goroutine.
var unitMinWork = 4096

// runTask advances one task by n steps.
func (r *run[T]) runTask(t *task[T], n int, in []T, out *backend.Chunk[T], m int) {
	p := r.p
	B, N, I, O := p.Trials, p.Units, p.Inputs, p.Outputs
	rows := p.DriveRows()
	nb := t.b1 - t.b0
	W := p.Drive[t.k*rows*N : (t.k+1)*rows*N]
	var R []T
	if O > 0 {
		R = p.Readout[t.k*(N+1)*O : (t.k+1)*(N+1)*O]
	}
	perTrial := false
	var packed, packedR *packedB[T]
	if r.packed != nil {
		packed = r.packed[t.k]
	}
	if r.packedR != nil {
		packedR = r.packedR[t.k]
	}
	if r.pl != nil {
		W, R = r.pl.Matrix(p, t.k, 0)
		perTrial = r.pl.M > 1
	}
	mw, width := p.WeightsRecorded(r.done, n), p.WeightWidth()
	if t.pl != nil {
		t.pl.recW = 0
	}
	units := backend.UnitsOf(p, r.f, r.key, t.k)
	gk := units.Instance
	var rate *backend.RateUnits[T]
	if p.Form == backend.RateForm {
		ru := backend.RateUnitsOf(p, r.f, r.key, t.k)
		rate = &ru
	}
	kin := t.k
	if p.SharedInput {
		kin = 0
	}
	// A static gathered drive without a dense part reads u_t only from the
	// history: it goes there from the input chunk directly, not through z.
	direct := in != nil && t.hist != nil && r.pl == nil && len(r.csr[t.k].dense) == 0
	// Its row kernel may even read u_t from the chunk itself.
	fused := direct && r.lr == nil && r.csr[t.k].fusesInput(t.hist, N)
	rec := 0
	for s := 0; s < n; s++ {
		step := r.done + s + 1
		// u_t into the input columns of z.
		for j := 0; j < nb && !direct; j++ {
			zu := t.z[j*rows+N : j*rows+N+I]
			if in == nil {
				clear(zu)
			} else {
				at := ((kin*B+t.b0+j)*n + s) * I
				copy(zu, in[at:at+I])
			}
		}
		if fused {
			t.hist.beginInputs(step, t.z, in[((kin*B+t.b0)*n+s)*I:], n*I)
		} else if direct {
			t.hist.beginFrom(step, t.z, in[((kin*B+t.b0)*n+s)*I:], n*I, I)
		} else if t.hist != nil {
			t.hist.begin(step, t.z, rows)
		}
		// product sets x to the drive of the rates in z's first N columns.
		product := func() {
			if r.nextProduct(t, step) {
				return
			}
			if t.hist != nil {
				r.csr[t.k].product(t.hist, t.x, N)
			} else if perTrial {
				for j := 0; j < nb; j++ {
					Wj, _ := r.pl.Matrix(p, t.k, t.b0+j)
					gemm(1, N, rows, t.z[j*rows:(j+1)*rows], rows, Wj, N, t.x[j*N:(j+1)*N], N)
				}
			} else {
				gemmPacked(nb, N, rows, t.z, rows, W, N, packed, t.x, N)
			}
			if r.lr != nil {
				r.lowRankProduct(t)
			}
		}
		var first *backend.NonFiniteError
		if rate != nil {
			r.rateStep(t, rate, step, product)
		} else {
			product()
			// The leak, noise and activation: the reference's own code, the
			// trials split over idle workers (a task of shared plastic
			// weights holds all of an instance's trials).
			splitRows(nb, nb*N, unitMinWork, r.spare, func(j0, j1 int) bool {
				for j := j0; j < j1; j++ {
					gb := p.FirstTrial + t.b0 + j
					x, v, rr := t.x[j*N:(j+1)*N], t.v[j*N:(j+1)*N], t.z[j*rows:j*rows+N]
					t.rowErr[j] = nil
					if !unitStep(&units, gb, step, x, v, rr) {
						t.rowErr[j] = backend.FirstNonFinite(v, rr, nil, gk, gb, step)
					}
				}
				return true
			})
		}
		if t.hist != nil {
			t.hist.end(step, t.z, rows)
		}
		if O > 0 && perTrial {
			for j := 0; j < nb; j++ {
				_, Rj := r.pl.Matrix(p, t.k, t.b0+j)
				gemm(1, O, N, t.z[j*rows:(j+1)*rows], rows, Rj, O, t.y[j*O:(j+1)*O], O)
				y, bias := t.y[j*O:(j+1)*O], Rj[N*O:(N+1)*O]
				for o := range y {
					y[o] = y[o] + bias[o]
				}
			}
		} else if O > 0 {
			gemmPacked(nb, O, N, t.z, rows, R, O, packedR, t.y, O)
			bias := R[N*O : (N+1)*O]
			for j := 0; j < nb; j++ {
				y := t.y[j*O : (j+1)*O]
				for o := range y {
					y[o] = y[o] + bias[o]
				}
			}
		}
		// Contract order: by trial; within a trial states, rates, outputs.
		for j := 0; j < nb && first == nil; j++ {
			if first = t.rowErr[j]; first == nil {
				first = backend.FirstNonFinite(nil, nil, t.y[j*O:(j+1)*O], gk, p.FirstTrial+t.b0+j, step)
			}
		}
		if step%p.Record.Every() == 0 {
			for j := 0; j < nb; j++ {
				at := (t.k*B+t.b0+j)*m + rec
				if out.Rates != nil {
					copy(out.Rates[at*N:(at+1)*N], t.z[j*rows:j*rows+N])
				}
				if out.States != nil {
					copy(out.States[at*N:(at+1)*N], t.v[j*N:(j+1)*N])
				}
				if out.Outputs != nil {
					copy(out.Outputs[at*O:(at+1)*O], t.y[j*O:(j+1)*O])
				}
			}
			rec++
		}
		if first == nil && t.pl != nil {
			first = r.plasticStep(t, step, out, mw, width)
		}
		if first == nil && r.lr != nil {
			first = r.lowRankStep(t, step)
		}
		if first != nil {
			t.err = first
			return
		}
	}
}
