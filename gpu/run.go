//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/kernels"
)

// run is a program on the device. Device memory is allocated per run: the
// program's arrays, v, r (twice: the step reads r_{t−1} from one buffer and
// writes r_t to the other, buffer t&1), and per-segment buffers that grow
// as needed.
//
// An Advance call is cut into segments, and segments run as a pipeline of
// two slots, each with its own device buffers (input, error keys,
// recordings, plastic rule tables) and pinned host staging (up, down): the
// host fills slot i&1's up buffer and queues segment i's uploads and
// launches on the compute stream, records its computed event, and queues
// the copies of its recordings and error keys into the slot's down buffer
// on the copy stream after that event, then records copied. It waits for
// segment i−1's copied event only after segment i is queued, so one
// segment's copies overlap the next one's kernels, and then copies the
// recordings out into the caller's chunk. A slot is reused (segment i+2)
// only after the host has drained it, so no buffer is written while a copy
// still reads it. Every call is drained before Advance returns.
type run[T backend.Float] struct {
	b    *Backend
	drv  driver
	gen  uint64 // the context generation the run's memory belongs to
	p    *backend.Program[T]
	pl   plan
	elem int64

	drive, readout, decay, alpha, pre, post, v dptr
	r                                          [2]dptr
	stage                                      []T // host staging for partial copies of State and Weights

	compute, copier stream
	slots           [2]slot

	// pd is the plasticity state of a plastic program (plastic.go); wPer
	// says its weights are per trial.
	pd *plasticDev[T]
	// l5 is the L5 plasticity's state (plasticl5.go) when the program has
	// the L5 rules.
	l5 *l5Dev[T]
	// lr is the L5 rule's low-rank state (lowrank.go) when the program runs
	// it; such a program is otherwise static (pd and l5 nil) and gathered.
	lr   *lowRankDev[T]
	wPer bool
	// gd is the gathered drive of a program with delays or a sparse drive
	// (gather.go); nil when the tiled kernels read Drive.
	gd *gatherDev
	// rd is the rate form's and per-unit activations' state (rateform.go);
	// its form is formV for a v-form program with one activation.
	rd *rateDev

	segSteps int
	done     int
	failed   error
	closed   bool
}

// slot is one segment's place in the pipeline.
type slot struct {
	in, rec0, rec1, rec2, recW, rules devBuf
	keys                              dptr // the error key and the weight error key
	up, down                          pinBuf
	computed, copied                  event
}

func (s *slot) rec(q int) *devBuf { return [3]*devBuf{&s.rec0, &s.rec1, &s.rec2}[q] }

type devBuf struct {
	p   dptr
	cap int64
}

// ensure makes b hold at least n bytes. Its old contents are lost.
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

func (b *devBuf) release(c calls) {
	if b.p != 0 {
		c.free(b.p)
	}
	*b = devBuf{}
}

// pinBuf is a pinned host buffer that grows as needed.
type pinBuf struct{ h hostBuf }

func (b *pinBuf) ensure(c calls, n int64, what string) error {
	if n <= b.h.n {
		return nil
	}
	if b.h.p != nil {
		c.freeHost(b.h)
		b.h = hostBuf{}
	}
	// Round up to 64 KiB so that small growths do not pin pages each call.
	h, err := c.allocHost((n+65535)&^65535, what)
	if err != nil {
		return err
	}
	b.h = h
	return nil
}

func (b *pinBuf) release(c calls) {
	if b.h.p != nil {
		c.freeHost(b.h)
	}
	b.h = hostBuf{}
}

// pipelineSlots is the depth of the segment pipeline (double buffering).
const pipelineSlots = 2

// overlapBytes is the size of a call's recordings above which the call is
// cut into at least pipelineMinSegments segments even when one would do,
// so that copying them back overlaps the kernels.
const (
	overlapBytes        = 1 << 20
	pipelineMinSegments = 4
)

func start[T backend.Float](b *Backend, p *backend.Program[T]) (*run[T], error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	lowRank := backend.IsL5LowRank(p)
	plastic := p.Plasticity != nil && !lowRank
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
	gather := useGather(p)
	if plastic || gather {
		// The plasticity kernel runs between steps, the gathered drive
		// replaces the step tile: the step path.
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
	case gather:
		if pl, err = pl.withGather(prec); err != nil {
			return nil, err
		}
	case b.tile != "" && pl.kernel == Step:
		pl = pl.withTile(prec, b.tile)
	case pl.kernel == Persistent && (b.persistentTB > 0 || b.persistentWGlobal):
		tb := pl.tb
		if b.persistentTB > 0 {
			tb = min(b.persistentTB, persistentMaxTrials)
		}
		pl = pl.withPersistent(prec, tb, pl.wShared && !b.persistentWGlobal)
	}
	K, B, N, I, O := p.Instances, p.Trials, p.Units, p.Inputs, p.Outputs
	if plastic {
		pl.plastic = "plastic_" + prec.String()
	}
	if pl.kernel == Persistent && p.NeedsRateForm() {
		if pl, err = withRateForm(p, pl, prec, drv.info()); err != nil {
			return nil, err
		}
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
	inBytes := int64(kk*B*I) * run.elem
	if plastic {
		// Each update step uploads its rule table (plastic.go).
		every := int64(max(p.Plasticity.Schedule.Every, 1))
		inBytes += (int64(plasticTableWords(p.Plasticity))*8 + every - 1) / every
	}
	// Two slots share the segment budget: the device memory a run holds
	// stays what runBytes (shard.go) estimates.
	run.segSteps = segmentSteps(recShape{
		inputBytesPerStep: inBytes,
		recordBytes:       int64(K*B*nrec) * run.elem,
		stride:            p.Record.Every(),
	}, b.budget/pipelineSlots, pl)

	// v_0 and r_0 on the host, with the reference's own code.
	v0, r0 := initialState(p)

	// The weights: one copy per matrix (Program.Matrices).
	drive, readout := p.Drive, p.Readout
	if M := p.Matrices(); M > 1 && !lowRank {
		drive, readout = repeatMatrices(drive, K, M), repeatMatrices(readout, K, M)
	}

	err = drv.do(func(c calls) error {
		run.gen = c.generation()
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
		if run.compute, err = c.newStream(); err != nil {
			return err
		}
		if run.copier, err = c.newStream(); err != nil {
			return err
		}
		for i := range run.slots {
			sl := &run.slots[i]
			if sl.keys, err = c.alloc(16, "error record"); err != nil {
				return err
			}
			if sl.computed, err = c.newEvent(); err != nil {
				return err
			}
			if sl.copied, err = c.newEvent(); err != nil {
				return err
			}
		}
		if plastic {
			run.pd, err = newPlasticDev(c, p, run.elem)
			if err == nil && p.Plasticity.L5 != nil {
				run.l5, err = newL5Dev(c, p, run.elem)
			}
		}
		if gather && err == nil {
			run.gd, err = uploadGather(c, p, r0)
		}
		if lowRank && err == nil {
			run.lr, err = newLowRankDev(c, p, r0, run.elem)
		}
		if err == nil {
			run.rd, err = uploadRate(c, p)
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

// current fails when the run's context is gone (see driver).
func (r *run[T]) current(c calls) error {
	if c.generation() != r.gen {
		return errContextLost
	}
	return nil
}

// release frees every device and pinned buffer, stream and event of the
// run, after the work in flight; in a context the driver has replaced
// there is nothing left to free.
func (r *run[T]) release() {
	ptrs := []*dptr{&r.drive, &r.readout, &r.decay, &r.alpha, &r.pre, &r.post, &r.v, &r.r[0], &r.r[1]}
	_ = r.drv.do(func(c calls) error {
		if r.current(c) != nil {
			return nil
		}
		_ = c.sync()
		if r.pd != nil {
			r.pd.release(c)
		}
		if r.l5 != nil {
			r.l5.release(c)
		}
		if r.lr != nil {
			r.lr.release(c)
		}
		if r.gd != nil {
			r.gd.release(c)
		}
		if r.rd != nil {
			r.rd.release(c)
		}
		for _, p := range ptrs {
			if *p != 0 {
				c.free(*p)
				*p = 0
			}
		}
		for i := range r.slots {
			sl := &r.slots[i]
			for _, b := range []*devBuf{&sl.in, &sl.rec0, &sl.rec1, &sl.rec2, &sl.recW, &sl.rules} {
				b.release(c)
			}
			if sl.keys != 0 {
				c.free(sl.keys)
				sl.keys = 0
			}
			sl.up.release(c)
			sl.down.release(c)
			for _, e := range []*event{&sl.computed, &sl.copied} {
				if *e != 0 {
					c.destroyEvent(*e)
					*e = 0
				}
			}
		}
		for _, s := range []*stream{&r.compute, &r.copier} {
			if *s != nullStream {
				c.destroyStream(*s)
				*s = nullStream
			}
		}
		return nil
	})
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
		if err := r.current(c); err != nil {
			return err
		}
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

// span is one segment of an Advance call: the call's steps s0 … s0+ns−1,
// whose ms recorded steps go to slot rec0 of the call's chunk and whose
// mws weight snapshots to slot w0.
type span struct{ s0, ns, rec0, ms, w0, mws int }

// spans cuts a call of n steps, starting after step done, into segments.
func (r *run[T]) spans(done, n int) []span {
	p := r.p
	seg := r.segSteps
	if r.recordBytes(p.Record.Recorded(done, n)) >= overlapBytes {
		seg = min(seg, max(1, n/pipelineMinSegments))
	}
	var out []span
	for s0, rec0, w0 := 0, 0, 0; s0 < n; {
		ns := min(seg, n-s0)
		sp := span{s0: s0, ns: ns, rec0: rec0, ms: p.Record.Recorded(done+s0, ns), w0: w0, mws: p.WeightsRecorded(done+s0, ns)}
		out = append(out, sp)
		s0, rec0, w0 = s0+ns, rec0+sp.ms, w0+sp.mws
	}
	return out
}

// recordBytes is the size of m recorded steps.
func (r *run[T]) recordBytes(m int) int64 {
	p := r.p
	w := 0
	if p.Record.Rates {
		w += p.Units
	}
	if p.Record.States {
		w += p.Units
	}
	if p.Record.Outputs {
		w += p.Outputs
	}
	return int64(p.Instances*p.Trials*m*w) * r.elem
}

// job is a segment in the pipeline: what its slot's down buffer holds and
// what it launched (for error messages).
type job struct {
	span
	slot    int
	t0      int      // its first step
	kernels []string // the kernels it launched, each once, in order
	recOff  [3]int64 // offsets of the recordings in the down buffer (−1: none)
	recWOff int64    // offset of the weight snapshots (−1: none)
}

func (j *job) launched(kernel string) {
	for _, k := range j.kernels {
		if k == kernel {
			return
		}
	}
	j.kernels = append(j.kernels, kernel)
}

// launchFault is a device fault a launch reported itself (launch-blocking
// mode): the kernel and step are exactly the faulting ones.
type launchFault struct {
	kernel string
	step   int
	err    error
}

func (e *launchFault) Error() string {
	return fmt.Sprintf("cuda: %s at step %d: %v", e.kernel, e.step, e.err)
}
func (e *launchFault) Unwrap() error { return e.err }

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
	base := r.done
	spans := r.spans(base, n)
	depth := pipelineSlots
	var flight []*job
	next := 0
	for next < len(spans) || len(flight) > 0 {
		var nf *backend.NonFiniteError
		var fin *job
		err := r.drv.do(func(c calls) error {
			if err := r.current(c); err != nil {
				return err
			}
			if next < len(spans) && len(flight) < depth {
				j := &job{span: spans[next], slot: r.slotOf(next), t0: base + spans[next].s0 + 1}
				flight = append(flight, j)
				next++
				if err := r.enqueue(c, j, in, n); err != nil {
					return err
				}
				if len(flight) < depth && next < len(spans) {
					return nil // queue the next segment before waiting for this one
				}
			}
			fin = flight[0]
			var err error
			if nf, err = r.finish(c, fin, out, m, mw); err != nil {
				return err
			}
			flight = flight[1:]
			if nf != nil {
				// What runs after the error is unspecified; let it end.
				return c.sync()
			}
			return nil
		})
		if err != nil {
			r.failed = r.describe(err, flight)
			return r.failed
		}
		if fin == nil {
			continue
		}
		if nf != nil {
			r.done = nf.Step
			r.failed = nf
			return nf
		}
		r.done = base + fin.s0 + fin.ns
	}
	return nil
}

// slotOf is the slot of a call's segment i; the sharedSlot test hook puts
// every segment in slot 0, a planted bug the emulator's delayed copies
// expose.
func (r *run[T]) slotOf(i int) int {
	if r.b.sharedSlot {
		return 0
	}
	return i % pipelineSlots
}

// describe turns an error of the pipeline into the run's error: a device
// fault names the kernels and steps that were in flight.
func (r *run[T]) describe(err error, flight []*job) error {
	var lf *launchFault
	switch {
	case errors.As(err, &lf):
		return fmt.Errorf("%w; the run cannot continue (the device's context is made anew for the next run)", lf)
	case isDeviceFault(err) && len(flight) > 0:
		var names []string
		for _, j := range flight {
			for _, k := range j.kernels {
				if !contains(names, k) {
					names = append(names, k)
				}
			}
		}
		first, last := flight[0].t0, flight[len(flight)-1].t0+flight[len(flight)-1].ns-1
		steps := fmt.Sprintf("step %d", first)
		if last > first {
			steps = fmt.Sprintf("steps %d–%d", first, last)
		}
		what := strings.Join(names, " or ")
		if what == "" {
			what = "a copy"
		}
		return fmt.Errorf("cuda: %s at %s: %w; the run cannot continue (the device's context is made anew for the next run; CUDA_LAUNCH_BLOCKING=1 names the kernel and step exactly)", what, steps, err)
	case errors.Is(err, errContextLost):
		return err
	}
	first, last := r.done+1, r.done+1
	if len(flight) > 0 {
		first, last = flight[0].t0, flight[len(flight)-1].t0+flight[len(flight)-1].ns-1
	}
	return fmt.Errorf("cuda: the run failed at steps %d–%d and cannot continue: %w", first, last, err)
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// enqueue queues segment j in its slot: the uploads, the launches, the
// copies back, and the slot's events.
func (r *run[T]) enqueue(c calls, j *job, in []T, n int) error {
	p, pl := r.p, r.pl
	K, B, N, I, O := p.Instances, p.Trials, p.Units, p.Inputs, p.Outputs
	sl := &r.slots[j.slot]
	kk := K
	if p.SharedInput {
		kk = 1
	}
	ns, ms, mws, t0 := j.ns, j.ms, j.mws, j.t0
	stride := p.Record.Every()
	recOff := (t0 - 1) / stride
	pd := r.pd

	// The up buffer: [error keys: 16 B][input][rule tables].
	inVals := 0
	if in != nil && I > 0 {
		inVals = kk * B * ns * I
	}
	inBytes := (int64(inVals)*r.elem + 7) &^ 7
	var tabs *ruleTables
	if pd != nil {
		tabs = pd.segmentTables(t0, ns)
	}
	upBytes := 16 + inBytes + tabs.bytes()
	if err := sl.up.ensure(c, upBytes, "pinned input staging"); err != nil {
		return err
	}
	keys := hostSlice[uint64](sl.up.h, 2)
	keys[0], keys[1] = ^uint64(0), ^uint64(0)
	if err := c.htodAsync(sl.keys, sl.up.h.at(0, 16), r.compute); err != nil {
		return err
	}
	var inPtr dptr
	if inVals > 0 {
		gatherInto(hostSlice[T](sl.up.h.at(16, inBytes), inVals), in, kk*B, n, j.s0, ns, I)
		if err := sl.in.ensure(c, inBytes, "input"); err != nil {
			return err
		}
		if err := c.htodAsync(sl.in.p, sl.up.h.at(16, int64(inVals)*r.elem), r.compute); err != nil {
			return err
		}
		inPtr = sl.in.p
	}
	rulesPtr := dptr(0)
	if tb := tabs.bytes(); tb > 0 {
		copy(hostSlice[uint64](sl.up.h.at(16+inBytes, tb), len(tabs.words)), tabs.words)
		if err := sl.rules.ensure(c, tb, "plasticity rule tables"); err != nil {
			return err
		}
		if err := c.htodAsync(sl.rules.p, sl.up.h.at(16+inBytes, tb), r.compute); err != nil {
			return err
		}
		rulesPtr = sl.rules.p
	}

	// The down buffer: [error keys: 16 B][rates][states][outputs][weights].
	widths := [3]int{0, 0, 0}
	for q, on := range [3]bool{p.Record.Rates, p.Record.States, p.Record.Outputs} {
		if on {
			widths[q] = [3]int{N, N, O}[q]
		}
	}
	downBytes := int64(16)
	var recPtr [3]dptr
	for q, w := range widths {
		j.recOff[q] = -1
		if w == 0 || ms == 0 {
			continue
		}
		nb := int64(K*B*ms*w) * r.elem
		if err := sl.rec(q).ensure(c, nb, "recording buffer"); err != nil {
			return err
		}
		recPtr[q] = sl.rec(q).p
		j.recOff[q] = downBytes
		downBytes += (nb + 7) &^ 7
	}
	var recW dptr
	j.recWOff = -1
	if pd != nil && mws > 0 && pd.width > 0 {
		nb := int64(K*pd.M*mws*pd.width) * r.elem
		if err := sl.recW.ensure(c, nb, "weight recording buffer"); err != nil {
			return err
		}
		recW = sl.recW.p
		j.recWOff = downBytes
		downBytes += nb
	}
	if err := sl.down.ensure(c, downBytes, "pinned recording staging"); err != nil {
		return err
	}
	errKey, werr := sl.keys, sl.keys+8

	launch := func(kernel string, t int, grid, block [3]uint32, shmem int, args kernels.Args) error {
		j.launched(kernel)
		err := c.launch(r.compute, kernel, grid, block, shmem, args)
		if err != nil && c.launchBlocking() && isDeviceFault(err) {
			return &launchFault{kernel: kernel, step: t, err: err}
		}
		return err
	}
	U := int64(pl.unitsOrOut)
	shared := b2i64(p.SharedInput)
	if pl.kernel == Persistent {
		args := kernels.PersistentArgs{
			Drive: r.drive, Readout: r.readout, Decay: r.decay, Alpha: r.alpha, Pre: r.pre, Post: r.post,
			V: r.v, Rin: r.r[(t0-1)&1], Rout: r.r[(t0+ns-1)&1], In: inPtr,
			RecR: recPtr[0], RecV: recPtr[1], RecY: recPtr[2], Err: errKey,
			K: int64(K), B: int64(B), N: int64(N), I: int64(I), O: int64(O), U: U, Act: int64(p.Activation), Seed: p.Seed,
			FirstK: int64(p.FirstInstance), FirstB: int64(p.FirstTrial),
			T0: int64(t0), Ns: int64(ns), InShared: shared, Stride: int64(stride), RecOff: int64(recOff), M: int64(ms),
			PerStep: pl.perStep, Tb: int64(pl.tb), WShared: b2i64(pl.wShared),
			InvTau: r.rd.invTau, Acts: r.rd.acts, Form: r.rd.form, Clip: r.rd.clip, DtBits: r.rd.dtBits,
		}
		if err := launch(pl.persistent, t0, [3]uint32{uint32(pl.persistentBlocks), 1, 1}, [3]uint32{uint32(pl.threads), 1, 1}, pl.shmem, args); err != nil {
			return err
		}
	} else {
		tl := pl.stepTile
		// The per-step fields (rates buffers, t, s, base) are set in the loop.
		step := kernels.StepArgs{
			Drive: r.drive, Decay: r.decay, Alpha: r.alpha, Pre: r.pre, Post: r.post, V: r.v,
			In: inPtr, RecR: recPtr[0], RecV: recPtr[1], Err: errKey,
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
			Readout: r.readout, RecY: recPtr[2], YOut: yOut, WPerTrial: b2i64(r.wPer), Err: errKey,
			K: int64(K), B: int64(B), N: int64(N), O: int64(O), U: U, Stride: int64(stride), RecOff: int64(recOff), M: int64(ms),
		}
		var plastic *kernels.PlasticArgs
		if pd != nil {
			plastic = &kernels.PlasticArgs{
				Conns: pd.conns, Rules: pd.rules, Avgs: pd.avgs, Snaps: pd.snaps,
				Drive: r.drive, Readout: r.readout, In: inPtr, Y: pd.y, Pops: pd.pops, RecW: recW,
				Err: errKey, Werr: werr, K: int64(K), B: int64(B), M: int64(pd.M), N: int64(N), I: int64(I), O: int64(O),
				NConns: int64(pd.nConns), NAvgs: int64(pd.nAvgs), D: int64(pd.D), NSyn: int64(pd.S), Width: int64(pd.width),
				Seed: p.Seed, FirstK: int64(p.FirstInstance), FirstB: int64(b2i(r.wPer) * p.FirstTrial),
				Ns: int64(ns), InShared: shared, Ms: int64(mws), PerStep: pl.perStep, P: int64(pd.P), Q: int64(pd.Q),
			}
		}
		var gather kernels.GatherArgs
		if gd := r.gd; gd != nil {
			gather = kernels.GatherArgs{
				RowStart: gd.rowStart, Col: gd.col, Val: gd.val, Dsel: gd.delay,
				Decay: r.decay, Alpha: r.alpha, Pre: r.pre, Post: r.post, V: r.v, Hist: gd.hist,
				In: inPtr, RecR: recPtr[0], RecV: recPtr[1], Err: errKey,
				K: int64(K), B: int64(B), N: int64(N), I: int64(I), U: U, Act: int64(p.Activation), Seed: p.Seed,
				FirstK: int64(p.FirstInstance), FirstB: int64(p.FirstTrial),
				Ns: int64(ns), InShared: shared, Stride: int64(stride), RecOff: int64(recOff), M: int64(ms),
				Slots: int64(gd.slots),
			}
		}
		recW0 := 0
		if pd != nil && p.Plasticity.Record.Stride > 0 {
			recW0 = (t0 - 1) / p.Plasticity.Record.Stride
		}
		stages := rateStages(p)
		for s := 0; s < ns; s++ {
			t := t0 + s
			base := uint64(s) * pl.perStep
			// One launch per step, or RK4's stages 1 … 4 (rateform.go).
			for st := 1; st <= stages; st++ {
				stage := st
				if stages == 1 {
					stage = 0
				}
				if pl.gather {
					r.rd.setGather(&gather, r.r, t, stage)
					gather.T, gather.S, gather.Base = int64(t), int64(s), base
					if r.lr != nil {
						if err := r.lr.sigma(t, gather.Rprev, &gather, launch); err != nil {
							return err
						}
					}
					if err := launch(pl.step, t, [3]uint32{uint32(pl.stepGrid), 1, 1}, [3]uint32{gatherThreads, 1, 1}, 0, gather); err != nil {
						return err
					}
				} else {
					r.rd.setStep(&step, r.r, t, stage)
					step.T, step.S, step.Base = int64(t), int64(s), base
					if err := launch(pl.step, t, [3]uint32{uint32(pl.stepGrid), 1, 1}, [3]uint32{uint32(tl.tx), uint32(tl.ty), 1}, 0, step); err != nil {
						return err
					}
				}
			}
			if O > 0 {
				readout.Rates, readout.T, readout.Base = r.r[t&1], int64(t), base
				if err := launch(pl.readout, t, [3]uint32{uint32(pl.readoutGrid), 1, 1}, [3]uint32{readoutThreads, 1, 1}, 0, readout); err != nil {
					return err
				}
			}
			if pd != nil {
				if tab := tabs.at(s); tab >= 0 {
					plastic.Rules = rulesPtr + dptr(int64(tab)*tabs.tableBytes())
				}
				if err := r.plasticStep(pd, plastic, t, s, base, recW0, launch); err != nil {
					return err
				}
			}
			if r.l5 != nil {
				// The L5 rules after the step's dynamics (plasticl5.go's contract).
				if err := r.l5.step(c, l5Step{T: t, Drive: r.drive, Rates: r.r[t&1], In: inPtr, S: s, Ns: ns, InShared: p.SharedInput,
					Err: errKey, Werr: werr, Base: base, PerStep: pl.perStep}, launch); err != nil {
					return err
				}
			}
			if r.lr != nil {
				// The low-rank form after the step's dynamics (lowrank.go).
				if err := r.lr.step(t, r.r[t&1], errKey, werr, base, pl.perStep, launch); err != nil {
					return err
				}
			}
		}
	}
	if err := c.record(sl.computed, r.compute); err != nil {
		return err
	}
	// The copies back, on the copy stream once the kernels are done.
	if err := c.wait(r.copier, sl.computed); err != nil {
		return err
	}
	if err := c.dtohAsync(sl.down.h.at(0, 16), sl.keys, r.copier); err != nil {
		return err
	}
	for q, w := range widths {
		if j.recOff[q] >= 0 {
			if err := c.dtohAsync(sl.down.h.at(j.recOff[q], int64(K*B*ms*w)*r.elem), recPtr[q], r.copier); err != nil {
				return err
			}
		}
	}
	if j.recWOff >= 0 {
		if err := c.dtohAsync(sl.down.h.at(j.recWOff, int64(K*pd.M*mws*pd.width)*r.elem), recW, r.copier); err != nil {
			return err
		}
	}
	return c.record(sl.copied, r.copier)
}

// finish waits for segment j's copies, copies its recordings out into the
// call's chunk out (m recorded steps, mw snapshots) and returns the first
// non-finite value it met, if any.
func (r *run[T]) finish(c calls, j *job, out *backend.Chunk[T], m, mw int) (*backend.NonFiniteError, error) {
	p, pl, pd := r.p, r.pl, r.pd
	sl := &r.slots[j.slot]
	if err := c.syncEvent(sl.copied); err != nil {
		return nil, err
	}
	K, B, N, O := p.Instances, p.Trials, p.Units, p.Outputs
	keys := hostSlice[uint64](sl.down.h, 2)
	key, wkey := keys[0], keys[1]
	for q, dst := range [3][]T{out.Rates, out.States, out.Outputs} {
		if off := j.recOff[q]; off >= 0 {
			w := [3]int{N, N, O}[q]
			copyRecorded(dst, hostSlice[T](sl.down.h.at(off, int64(K*B*j.ms*w)*r.elem), K*B*j.ms*w), K*B, m, j.rec0, j.ms, w)
		}
	}
	if off := j.recWOff; off >= 0 {
		n := K * pd.M * j.mws * pd.width
		copyRecorded(out.Weights, hostSlice[T](sl.down.h.at(off, int64(n)*r.elem), n), K*pd.M, mw, j.w0, j.mws, pd.width)
	}
	if key == ^uint64(0) {
		return nil, nil
	}
	if r.lr != nil {
		// As the plastic weights' below, with lowrank.cu's key (kb·N + i).
		s, rem := key/pl.perStep, key%pl.perStep
		if rem == pl.perStep-1 || wkey != ^uint64(0) && int(wkey/4/uint64(N))/B < int(rem/(pl.perStep/uint64(K))) {
			return r.lr.decodeWeight(wkey, j.t0+int(s)), nil
		}
	}
	if pd != nil {
		// A weight error at step s marks the error key with the step's
		// sentinel; an earlier instance's weight error comes before a
		// dynamics error at the same step.
		s, rem := key/pl.perStep, key%pl.perStep
		if rem == pl.perStep-1 || wkey != ^uint64(0) && int(wkey/4/uint64(pd.Q)/uint64(pd.P)/3)/pd.M < int(rem/(pl.perStep/uint64(K))) {
			return pd.decodeWeight(p, wkey, j.t0+int(s)), nil
		}
	}
	return r.decode(key, j.t0), nil
}

// copyRecorded copies a segment's recordings src, laid out [kb][ms][w], into
// the call's chunk dst, laid out [kb][m][w], at slot rec0.
func copyRecorded[T any](dst, src []T, kb, m, rec0, ms, w int) {
	if ms == m {
		copy(dst[:kb*ms*w], src)
		return
	}
	for i := 0; i < kb; i++ {
		copy(dst[(i*m+rec0)*w:(i*m+rec0+ms)*w], src[i*ms*w:(i+1)*ms*w])
	}
}

// gatherInto copies steps [s0, s0+ns) of an input laid out [rows][n][I]
// into dst, laid out [rows][ns][I].
func gatherInto[T any](dst, in []T, rows, n, s0, ns, I int) {
	if ns == n {
		copy(dst, in[:rows*n*I])
		return
	}
	for i := 0; i < rows; i++ {
		copy(dst[i*ns*I:(i+1)*ns*I], in[(i*n+s0)*I:(i*n+s0+ns)*I])
	}
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
	if r.lr != nil {
		P := make([]T, p.Instances*p.Trials*r.lr.F*p.Units)
		if err := r.L5LowRankFactors(P); err != nil {
			return err
		}
		backend.L5LowRankWeightsOf(p, P, drive, readout)
		return nil
	}
	return r.drv.do(func(c calls) error {
		if err := r.current(c); err != nil {
			return err
		}
		if err := r.copyOut(c, drive, r.drive, p.Instances*M*p.DriveRows()*p.Units); err != nil {
			return err
		}
		return r.copyOut(c, readout, r.readout, p.Instances*M*(p.Units+1)*p.Outputs)
	})
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
