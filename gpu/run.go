//go:build cuda

package gpu

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/kernels"
)

// run is a program on the device. Device memory is allocated per run: the
// program's arrays, v, r (twice: the step reads r_{t−1} from one buffer and
// writes r_t to the other, buffer t&1), the error key, and per-segment
// input and recording buffers that grow as needed.
type run[T backend.Float] struct {
	b    *Backend
	drv  driver
	p    *backend.Program[T]
	pl   plan
	elem int64

	drive, readout, decay, alpha, pre, post, v, errKey dptr
	r                                                  [2]dptr
	in                                                 devBuf
	rec                                                [3]devBuf // rates, states, outputs
	stage                                              []T       // host staging for partial copies

	// pd is the plasticity state of a plastic program (plastic.go); wPer
	// says its weights are per trial.
	pd   *plasticDev[T]
	wPer bool

	segSteps int
	done     int
	failed   error
	closed   bool
}

type devBuf struct {
	p   dptr
	cap int64
}

// ensure makes b hold at least n bytes.
func (b *devBuf) ensure(c calls, n int64, what string) error {
	if n <= b.cap {
		return nil
	}
	if b.p != 0 {
		c.free(b.p)
		b.p, b.cap = 0, 0
	}
	p, err := c.alloc(n, what)
	if err != nil {
		return err
	}
	b.p, b.cap = p, n
	return nil
}

func start[T backend.Float](b *Backend, p *backend.Program[T]) (*run[T], error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	plastic := p.Plasticity != nil
	if plastic {
		if err := checkPlastic(p); err != nil {
			return nil, err
		}
	}
	drv, err := b.open()
	if err != nil {
		return nil, err
	}
	prec := backend.PrecisionOf[T]()
	want := b.kernel
	if plastic {
		// The plasticity kernel runs between steps: the step path.
		want = Step
	}
	pl, err := choosePlan(p.Shape, prec, drv.info(), want)
	if err != nil {
		return nil, err
	}
	wPer := plastic && p.Plasticity.PerTrial
	switch {
	case wPer:
		// One matrix per trial: one trial per step tile.
		pl = pl.withTile(prec, "s")
	case b.tile != "" && pl.kernel == Step:
		pl = pl.withTile(prec, b.tile)
	}
	K, B, N, I, O := p.Instances, p.Trials, p.Units, p.Inputs, p.Outputs
	if plastic {
		pl.plastic = "plastic_" + prec.String()
	}
	run := &run[T]{b: b, drv: drv, p: p, pl: pl, elem: int64(pl.elem), wPer: wPer}
	kk := K
	if p.SharedInput {
		kk = 1
	}
	nrec := 0
	if p.Record.Rates {
		nrec += N
	}
	if p.Record.States {
		nrec += N
	}
	if p.Record.Outputs {
		nrec += O
	}
	run.segSteps = segmentSteps(recShape{
		inputBytesPerStep: int64(kk*B*I) * run.elem,
		recordBytes:       int64(K*B*nrec) * run.elem,
		stride:            p.Record.Every(),
	}, b.budget, pl)

	// v_0 and r_0 = f(v_0) on the host, with the reference's own code.
	v0 := make([]T, K*B*N)
	if p.Init != nil {
		copy(v0, p.Init)
	}
	f := backend.FuncsFor[T]()
	r0 := make([]T, len(v0))
	for i, v := range v0 {
		r0[i] = backend.Activate(p.Activation, v, f)
	}

	// The weights: one copy per matrix (Program.Matrices).
	drive, readout := p.Drive, p.Readout
	if M := p.Matrices(); M > 1 {
		drive, readout = repeatMatrices(drive, K, M), repeatMatrices(readout, K, M)
	}

	err = drv.do(func(c calls) error {
		up := func(dst *dptr, src []T, what string) error {
			n := int64(len(src)) * run.elem
			if n == 0 {
				return nil
			}
			d, err := c.alloc(n, what)
			if err != nil {
				return err
			}
			*dst = d
			return c.htod(d, unsafe.Pointer(&src[0]), n)
		}
		for _, a := range []struct {
			dst  *dptr
			src  []T
			what string
		}{
			{&run.drive, drive, "Drive"}, {&run.readout, readout, "Readout"},
			{&run.decay, p.Decay, "Decay"}, {&run.alpha, p.Alpha, "Alpha"},
			{&run.pre, p.PreNoise, "PreNoise"}, {&run.post, p.PostNoise, "PostNoise"},
			{&run.v, v0, "state v"}, {&run.r[0], r0, "rates r"},
		} {
			if err := up(a.dst, a.src, a.what); err != nil {
				return err
			}
		}
		var err error
		if run.r[1], err = c.alloc(int64(len(r0))*run.elem, "rates r"); err != nil {
			return err
		}
		if run.errKey, err = c.alloc(8, "error record"); err != nil {
			return err
		}
		if plastic {
			run.pd, err = newPlasticDev(c, p, run.elem)
		}
		return err
	})
	if err != nil {
		run.release()
		return nil, err
	}
	return run, nil
}

func (r *run[T]) Done() int { return r.done }

// release frees every device buffer of the run.
func (r *run[T]) release() {
	ptrs := []*dptr{&r.drive, &r.readout, &r.decay, &r.alpha, &r.pre, &r.post, &r.v, &r.errKey,
		&r.r[0], &r.r[1], &r.in.p, &r.rec[0].p, &r.rec[1].p, &r.rec[2].p}
	_ = r.drv.do(func(c calls) error {
		if r.pd != nil {
			r.pd.release(c)
		}
		for _, p := range ptrs {
			if *p != 0 {
				c.free(*p)
				*p = 0
			}
		}
		return nil
	})
	r.in.cap, r.rec[0].cap, r.rec[1].cap, r.rec[2].cap = 0, 0, 0, 0
}

func (r *run[T]) Close() error {
	if !r.closed {
		r.closed = true
		r.release()
	}
	return nil
}

func (r *run[T]) State(v, rr []T) error {
	if r.closed {
		return backend.ErrClosed
	}
	n := r.p.Instances * r.p.Trials * r.p.Units
	return r.drv.do(func(c calls) error {
		if err := r.copyOut(c, v, r.v, n); err != nil {
			return err
		}
		return r.copyOut(c, rr, r.r[r.done&1], n)
	})
}

// copyOut copies min(len(dst), n) values from src, as Go's copy would.
func (r *run[T]) copyOut(c calls, dst []T, src dptr, n int) error {
	if len(dst) == 0 || n == 0 {
		return nil
	}
	if len(dst) >= n {
		return c.dtoh(unsafe.Pointer(&dst[0]), src, int64(n)*r.elem)
	}
	s := r.staging(n)
	if err := c.dtoh(unsafe.Pointer(&s[0]), src, int64(n)*r.elem); err != nil {
		return err
	}
	copy(dst, s)
	return nil
}

func (r *run[T]) staging(n int) []T {
	if len(r.stage) < n {
		r.stage = make([]T, n)
	}
	return r.stage[:n]
}

func (r *run[T]) Advance(n int, in []T, out *backend.Chunk[T]) error {
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
	for s0, rec0, w0 := 0, 0, 0; s0 < n; {
		ns := min(r.segSteps, n-s0)
		ms := p.Record.Recorded(r.done, ns)
		mws := p.WeightsRecorded(r.done, ns)
		nf, err := r.segment(in, n, s0, ns, out, m, rec0, ms, mw, w0, mws)
		if err != nil {
			r.failed = fmt.Errorf("cuda: the run failed at steps %d–%d and cannot continue: %w", r.done+1, r.done+ns, err)
			return r.failed
		}
		if nf != nil {
			r.done = nf.Step
			r.failed = nf
			return nf
		}
		r.done += ns
		s0 += ns
		rec0 += ms
		w0 += mws
	}
	return nil
}

// segment runs steps done+1 … done+ns (the call's steps s0 … s0+ns−1 of
// n) on the device and copies their ms recorded steps into out at slot
// rec0 of m. It returns the first non-finite value, if any.
// With plasticity it also copies the segment's mws weight snapshots into
// out.Weights at slot w0 of mw.
func (r *run[T]) segment(in []T, n, s0, ns int, out *backend.Chunk[T], m, rec0, ms, mw, w0, mws int) (*backend.NonFiniteError, error) {
	p, pl := r.p, r.pl
	K, B, N, I, O := p.Instances, p.Trials, p.Units, p.Inputs, p.Outputs
	kk := K
	if p.SharedInput {
		kk = 1
	}
	var inHost []T
	if in != nil && I > 0 {
		inHost = in
		if ns != n {
			inHost = gather(in, kk*B, n, s0, ns, I)
		}
	}
	t0 := r.done + 1
	stride := p.Record.Every()
	recOff := (t0 - 1) / stride
	key, wkey := ^uint64(0), ^uint64(0)
	pd := r.pd

	type recording struct {
		on    bool
		dst   []T
		width int
	}
	recs := [3]recording{{p.Record.Rates, out.Rates, N}, {p.Record.States, out.States, N}, {p.Record.Outputs, out.Outputs, O}}

	err := r.drv.do(func(c calls) error {
		var inPtr dptr
		if inHost != nil {
			nb := int64(len(inHost)) * r.elem
			if err := r.in.ensure(c, nb, "input"); err != nil {
				return err
			}
			if err := c.htod(r.in.p, unsafe.Pointer(&inHost[0]), nb); err != nil {
				return err
			}
			inPtr = r.in.p
		}
		var recPtr [3]dptr
		for q, rc := range recs {
			if rc.on && ms > 0 && rc.width > 0 {
				if err := r.rec[q].ensure(c, int64(K*B*ms*rc.width)*r.elem, "recording buffer"); err != nil {
					return err
				}
				recPtr[q] = r.rec[q].p
			}
		}
		if err := c.htod(r.errKey, unsafe.Pointer(&key), 8); err != nil {
			return err
		}
		var recW dptr
		if pd != nil {
			if err := c.htod(pd.werr, unsafe.Pointer(&wkey), 8); err != nil {
				return err
			}
			if mws > 0 && pd.width > 0 {
				if err := pd.recW.ensure(c, int64(K*pd.M*mws*pd.width)*r.elem, "weight recording buffer"); err != nil {
					return err
				}
				recW = pd.recW.p
			}
		}

		U := int64(pl.unitsOrOut)
		shared := b2i64(p.SharedInput)
		if pl.kernel == Persistent {
			args := kernels.PersistentArgs{
				Drive: r.drive, Readout: r.readout, Decay: r.decay, Alpha: r.alpha, Pre: r.pre, Post: r.post,
				V: r.v, Rin: r.r[(t0-1)&1], Rout: r.r[(t0+ns-1)&1], In: inPtr,
				RecR: recPtr[0], RecV: recPtr[1], RecY: recPtr[2], Err: r.errKey,
				K: int64(K), B: int64(B), N: int64(N), I: int64(I), O: int64(O), U: U, Act: int64(p.Activation), Seed: p.Seed,
				FirstK: int64(p.FirstInstance), FirstB: int64(p.FirstTrial),
				T0: int64(t0), Ns: int64(ns), InShared: shared, Stride: int64(stride), RecOff: int64(recOff), M: int64(ms),
				PerStep: pl.perStep, Tb: int64(pl.tb), WShared: b2i64(pl.wShared),
			}
			if err := c.launch(pl.persistent, [3]uint32{uint32(pl.persistentBlocks), 1, 1}, [3]uint32{uint32(pl.threads), 1, 1}, pl.shmem, args); err != nil {
				return err
			}
		} else {
			tl := pl.stepTile
			// The per-step fields (rates buffers, t, s, base) are set in the loop.
			step := kernels.StepArgs{
				Drive: r.drive, Decay: r.decay, Alpha: r.alpha, Pre: r.pre, Post: r.post, V: r.v,
				In: inPtr, RecR: recPtr[0], RecV: recPtr[1], Err: r.errKey,
				K: int64(K), B: int64(B), N: int64(N), I: int64(I), U: U, Act: int64(p.Activation), Seed: p.Seed,
				FirstK: int64(p.FirstInstance), FirstB: int64(p.FirstTrial),
				Ns: int64(ns), InShared: shared, Stride: int64(stride), RecOff: int64(recOff), M: int64(ms),
				WPerTrial: b2i64(r.wPer),
			}
			var yOut dptr
			if pd != nil {
				yOut = pd.y
			}
			readout := kernels.ReadoutArgs{
				Readout: r.readout, RecY: recPtr[2], YOut: yOut, WPerTrial: b2i64(r.wPer), Err: r.errKey,
				K: int64(K), B: int64(B), N: int64(N), O: int64(O), U: U, Stride: int64(stride), RecOff: int64(recOff), M: int64(ms),
			}
			var plastic *kernels.PlasticArgs
			if pd != nil {
				plastic = &kernels.PlasticArgs{
					Conns: pd.conns, Rules: pd.rules, Avgs: pd.avgs, Snaps: pd.snaps,
					Drive: r.drive, Readout: r.readout, In: inPtr, Y: pd.y, Pops: pd.pops, RecW: recW,
					Err: r.errKey, Werr: pd.werr, K: int64(K), B: int64(B), M: int64(pd.M), N: int64(N), I: int64(I), O: int64(O),
					NConns: int64(pd.nConns), NAvgs: int64(pd.nAvgs), D: int64(pd.D), NSyn: int64(pd.S), Width: int64(pd.width),
					Seed: p.Seed, FirstK: int64(p.FirstInstance), FirstB: int64(b2i(r.wPer) * p.FirstTrial),
					Ns: int64(ns), InShared: shared, Ms: int64(mws), PerStep: pl.perStep, P: int64(pd.P), Q: int64(pd.Q),
				}
			}
			recW0 := 0
			if pd != nil && p.Plasticity.Record.Stride > 0 {
				recW0 = r.done / p.Plasticity.Record.Stride
			}
			for s := 0; s < ns; s++ {
				t := t0 + s
				base := uint64(s) * pl.perStep
				step.Rprev, step.Rnext = r.r[(t-1)&1], r.r[t&1]
				step.T, step.S, step.Base = int64(t), int64(s), base
				if err := c.launch(pl.step, [3]uint32{uint32(pl.stepGrid), 1, 1}, [3]uint32{uint32(tl.tx), uint32(tl.ty), 1}, 0, step); err != nil {
					return err
				}
				if O > 0 {
					readout.Rates, readout.T, readout.Base = r.r[t&1], int64(t), base
					if err := c.launch(pl.readout, [3]uint32{uint32(pl.readoutGrid), 1, 1}, [3]uint32{readoutThreads, 1, 1}, 0, readout); err != nil {
						return err
					}
				}
				if pd != nil {
					if err := r.plasticStep(c, pd, plastic, t, s, base, recW0); err != nil {
						return err
					}
				}
			}
		}
		if err := c.dtoh(unsafe.Pointer(&key), r.errKey, 8); err != nil {
			return err
		}
		if pd != nil {
			if err := c.dtoh(unsafe.Pointer(&wkey), pd.werr, 8); err != nil {
				return err
			}
			if recW != 0 {
				if err := r.copyRecorded(c, out.Weights, recW, K*pd.M, mw, w0, mws, pd.width); err != nil {
					return err
				}
			}
		}
		for q, rc := range recs {
			if recPtr[q] == 0 {
				continue
			}
			if err := r.copyRecorded(c, rc.dst, recPtr[q], K*B, m, rec0, ms, rc.width); err != nil {
				return err
			}
		}
		return c.sync()
	})
	if err != nil {
		return nil, err
	}
	if key == ^uint64(0) {
		return nil, nil
	}
	if pd != nil {
		// A weight error at step s marks the error key with the step's
		// sentinel; an earlier instance's weight error comes before a
		// dynamics error at the same step.
		s, rem := key/pl.perStep, key%pl.perStep
		if rem == pl.perStep-1 || wkey != ^uint64(0) && int(wkey/4/uint64(pd.Q)/uint64(pd.P)/3)/pd.M < int(rem/(pl.perStep/uint64(K))) {
			return pd.decodeWeight(p, wkey, t0+int(s)), nil
		}
	}
	return r.decode(key, t0), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func b2i64(b bool) int64 { return int64(b2i(b)) }

// repeatMatrices returns K × M copies of the K per-instance matrices in a.
func repeatMatrices[T any](a []T, K, M int) []T {
	if len(a) == 0 {
		return a
	}
	n := len(a) / K
	out := make([]T, 0, len(a)*M)
	for k := 0; k < K; k++ {
		for m := 0; m < M; m++ {
			out = append(out, a[k*n:(k+1)*n]...)
		}
	}
	return out
}

// Weights copies the current weights (backend.WeightRun).
func (r *run[T]) Weights(drive, readout []T) error {
	if r.closed {
		return backend.ErrClosed
	}
	p := r.p
	M := p.Matrices()
	return r.drv.do(func(c calls) error {
		if err := r.copyOut(c, drive, r.drive, p.Instances*M*p.DriveRows()*p.Units); err != nil {
			return err
		}
		return r.copyOut(c, readout, r.readout, p.Instances*M*(p.Units+1)*p.Outputs)
	})
}

// copyRecorded copies a segment's recordings [kb][ms][w] into the call's
// chunk [kb][m][w] at slot rec0: straight when the segment is the call.
func (r *run[T]) copyRecorded(c calls, dst []T, src dptr, kb, m, rec0, ms, w int) error {
	n := kb * ms * w
	if ms == m {
		return c.dtoh(unsafe.Pointer(&dst[0]), src, int64(n)*r.elem)
	}
	s := r.staging(n)
	if err := c.dtoh(unsafe.Pointer(&s[0]), src, int64(n)*r.elem); err != nil {
		return err
	}
	for i := 0; i < kb; i++ {
		copy(dst[(i*m+rec0)*w:(i*m+rec0+ms)*w], s[i*ms*w:(i+1)*ms*w])
	}
	return nil
}

// gather cuts steps [s0, s0+ns) out of an input laid out [rows][n][I].
func gather[T any](in []T, rows, n, s0, ns, I int) []T {
	out := make([]T, rows*ns*I)
	for i := 0; i < rows; i++ {
		copy(out[i*ns*I:(i+1)*ns*I], in[(i*n+s0)*I:(i*n+s0+ns)*I])
	}
	return out
}

var quantities = [3]string{"state", "rate", "output"}

// decode turns the device's error key (model.cuh: reportNonFinite) back into
// the error's position, with global instance and trial numbers.
func (r *run[T]) decode(key uint64, t0 int) *backend.NonFiniteError {
	p, pl := r.p, r.pl
	s, rem := key/pl.perStep, key%pl.perStep
	cls := rem % 4
	rem /= 4
	U := uint64(pl.unitsOrOut)
	unit := rem % U
	rem /= U
	q := rem % 3
	rem /= 3
	b := rem % uint64(p.Trials)
	k := rem / uint64(p.Trials)
	return &backend.NonFiniteError{
		Instance: p.FirstInstance + int(k), Trial: p.FirstTrial + int(b), Step: t0 + int(s),
		Unit: int(unit), Quantity: quantities[q], Value: nonFiniteValue(cls),
	}
}

// nonFiniteValue is the value an error key's class stands for
// (model.cuh: 0 NaN, 1 +Inf, 2 −Inf).
func nonFiniteValue(cls uint64) float64 {
	switch cls {
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	}
	return math.NaN()
}
