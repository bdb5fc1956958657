//go:build cuda

package gpu

import (
	"fmt"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/kernels"
)

// The layer-5 model's plasticity (backend.L5Plasticity) on the device: the
// kernel of kernels/plasticl5.cu, which repeats backend's
// L5Plasticity.Update operation for operation for every trial at once, and
// l5Dev, its state and launcher.
//
// The run loop's contract (what a run of an L5 program must do):
//
//   - Make the state with newL5Dev(c, p, elem) inside drv.do: p is the
//     run's program (its Plasticity.L5 set; a part's own program when the
//     run is sharded, since the windows start afresh with it), elem the
//     bytes per value. It uploads what the rules read (the column and row
//     masks of every phase, Sign, W0's support when Structural, every
//     instance's Window, Eta and ThetaRate from L5Plasticity.ForInstance)
//     and the windows, each holding the trial's r_0
//     (backend.L5InitialRates).
//   - After the dynamics of every step t = 1, 2, … in order (the rate step
//     and, with outputs, the readout: everything the reference does before
//     its plasticity), call step with an l5Step: Drive is the run's drive
//     (K·M matrices of DriveRows × N, M = Matrices(), the step kernels' own
//     layout), Rates the buffer holding r_t (run.r[t&1]), In the segment's
//     input buffer ([K or 1][B][Ns][I], or 0 without input) with the step's
//     index S in it, Err and Werr the slot's error keys with Base = S·perStep
//     and PerStep the plan's. Call it on every step, learning or not: it
//     pushes r_t into the windows every step and updates the weights only
//     when L5Plasticity.Learns(&Schedule, t). It queues its launches through
//     launch (the run loop's, on the compute stream), so later steps' and the
//     copies' ordering is the stream's.
//   - Non-finite weights: the write phase checks every weight of every
//     matrix it updated and records the first in the contract's order
//     (instance, trial, pre j, post i: backend.L5FirstNonFinite's, trial
//     by trial) in Werr as kernels/plastic.cu's key with layer 0, P = Q = N
//     and M = Matrices(), and the step's sentinel Base + PerStep − 1 in
//     Err, as the other plastic kernel does. finish's test of a weight
//     error against a dynamics error therefore holds with P = Q = N and
//     M = Matrices() (the run's plasticDev of an L5 program has no
//     connections, so its P and Q are 0: use N), and decodeWeight turns
//     the key into backend.L5FirstNonFinite's error. An instance whose
//     dynamics failed at this step (or an earlier instance's), or any
//     instance after an earlier failing step, is left alone, as
//     plastic.cu's skipInstance does.
//   - release(c) frees everything.
//
// The windows' ring grows on the device: step (or
// reserve, once per segment) doubles its ring when step t needs more slots,
// with a copy launch and a free of the old ring (free waits for the work in
// flight).

// l5Threads is the block size of every phase.
const l5Threads = 128

// l5 rules' kernel constants (kernels/plasticl5.cu's enums).
const (
	l5ColPre, l5ColFlip = 1, 2
	l5FacWords          = 6
)

// l5Launch queues one kernel on the run's compute stream (plasticStep's
// launch).
type l5Launch func(kernel string, t int, grid, block [3]uint32, shmem int, args kernels.Args) error

// l5Dev is a run's L5 plasticity on the device.
type l5Dev[T backend.Float] struct {
	l5       *backend.L5Plasticity[T]
	sched    backend.Schedule
	kernel   string
	elem     int64
	K, B, N  int
	I        int
	firstK   int
	firstB   int
	perTrial bool

	// whole says that an instance's Window (L5Plasticity.ForInstance) is
	// 0, the whole history; maxSlots is otherwise the longest Window, the
	// most slots the ring grows to.
	whole    bool
	maxSlots int
	// ring holds slots × K·B rate vectors, slot-major (kernels/plasticl5.cu);
	// ew the sliding threshold's weights, K × slots.
	ring, ew dptr
	slots    int
	pushed   int  // the last step pushed into the windows (0: r_0 only)
	fac      dptr // K·B × l5FacWords × N per-unit vectors
	// wins, etas and thetas are the instances' Window (int64), Eta and
	// ThetaRate (T).
	wins, etas, thetas dptr
	cols               dptr // per presynaptic unit: l5ColPre | l5ColFlip
	sign               dptr // Sign (int8) or 0
	live               dptr // per phase (one row without phases): the rows that learn
	support            dptr // Structural: K × N × N bytes, W0's nonzero synapses; else 0
	bufs               []dptr
}

// l5Step is one step's buffers for l5Dev.step.
type l5Step struct {
	T        int  // the absolute step, 1-based
	Drive    dptr // the run's weights, K·M matrices of DriveRows × N
	Rates    dptr // r_t, K × B × N
	In       dptr // the segment's input, [K or 1][B][Ns][I]; 0 for none
	S, Ns    int  // the step's index in the segment, the segment's steps
	InShared bool // In holds one instance's input for all
	// Err and Werr are the segment's error key and weight error key (0:
	// none), Base the step's offset in Err and PerStep the plan's stride.
	Err, Werr     dptr
	Base, PerStep uint64
}

// l5FirstSlots is the whole-history ring's first capacity in vectors (a
// variable so that tests make the ring grow).
var l5FirstSlots = 64

// l5Bytes is the device memory newL5Dev allocates for p, and what the
// windows grow to by step steps (the whole history's ring holds steps+1
// vectors then, rounded up to its doubling): the shard planner's estimate
// of an L5 program's state beyond the plastic weights.
func l5Bytes[T backend.Float](p *backend.Program[T], steps int) int64 {
	l5 := p.Plasticity.L5
	K, B, N := int64(p.Instances), int64(p.Trials), int64(p.Units)
	elem := int64(unsafe.Sizeof(T(0)))
	slots, whole := 0, false
	for k := range p.Instances {
		w := l5.ForInstance(k).Window
		slots, whole = max(slots, w), whole || w == 0
	}
	// The ring's capacity after steps steps (reserve's doubling).
	limit := slots
	if whole {
		limit = 0
	}
	slots = l5FirstSlots
	if limit > 0 {
		slots = min(slots, limit)
	}
	for slots < steps+1 && (limit == 0 || slots < limit) {
		slots *= 2
		if limit > 0 {
			slots = min(slots, limit)
		}
	}
	n := int64(N) // cols
	if l5.Sign != nil {
		n += N
	}
	n += int64(max(len(l5.Phases), 1)) * N // live rows
	if l5.Structural {
		n += K * N * N
	}
	n += K * 8                                                    // wins
	n += elem * (K*B*l5FacWords*N + 2*K + int64(slots)*(K*B*N+K)) // fac, etas, thetas, ring, ew
	return n
}

// newL5Dev uploads p's L5 plasticity (p.Plasticity.L5 non-nil).
func newL5Dev[T backend.Float](c calls, p *backend.Program[T], elem int64) (*l5Dev[T], error) {
	l5 := p.Plasticity.L5
	K, B, N := p.Instances, p.Trials, p.Units
	d := &l5Dev[T]{l5: l5, sched: p.Plasticity.Schedule, kernel: "plasticl5_" + backend.PrecisionOf[T]().String(),
		elem: elem, K: K, B: B, N: N, I: p.Inputs, firstK: p.FirstInstance, firstB: p.FirstTrial, perTrial: p.Plasticity.PerTrial}
	if ceilDiv(K*B*N*N, l5Threads) > maxGridX {
		return nil, tooLarge{fmt.Errorf("cuda: %d instances × %d trials × %d² synapses exceed the L5 plasticity kernel's grid", K, B, N)}
	}
	if err := d.upload(c, p); err != nil {
		d.release(c)
		return nil, err
	}
	return d, nil
}

func (d *l5Dev[T]) upload(c calls, p *backend.Program[T]) error {
	l5 := d.l5
	K, B, N := d.K, d.B, d.N
	up := func(src unsafe.Pointer, n int64, what string) (dptr, error) {
		if n == 0 {
			return 0, nil
		}
		ptr, err := c.alloc(n, what)
		if err != nil {
			return 0, err
		}
		d.bufs = append(d.bufs, ptr)
		return ptr, c.htod(ptr, src, n)
	}
	bytes := func(b []uint8, what string) (dptr, error) {
		if len(b) == 0 {
			return 0, nil
		}
		return up(unsafe.Pointer(&b[0]), int64(len(b)), what)
	}
	flips := l5.Rule == backend.L5SlidingBCM || l5.Rule == backend.L5Oja || l5.Rule == backend.L5Covariance // backend's L5Rule.flips
	cols := make([]uint8, N)
	for j := range cols {
		if l5.Pre == nil || l5.Pre[j] {
			cols[j] |= l5ColPre
		}
		if flips && l5.Inhibitory != nil && l5.Inhibitory[j] {
			cols[j] |= l5ColFlip
		}
	}
	var err error
	if d.cols, err = bytes(cols, "L5 plasticity masks"); err != nil {
		return err
	}
	if l5.Sign != nil {
		if d.sign, err = up(unsafe.Pointer(&l5.Sign[0]), int64(N), "L5 plasticity signs"); err != nil {
			return err
		}
	}
	phases := max(len(l5.Phases), 1)
	live := make([]uint8, phases*N)
	for ph := range phases {
		var rows []bool
		if len(l5.Phases) > 0 {
			rows = l5.Phases[ph].Post
		}
		for i := range N {
			if (l5.Post == nil || l5.Post[i]) && (rows == nil || rows[i]) {
				live[ph*N+i] = 1
			}
		}
	}
	if d.live, err = bytes(live, "L5 plasticity masks"); err != nil {
		return err
	}
	if l5.Structural {
		rows := p.DriveRows()
		sup := make([]uint8, K*N*N)
		for k := range K {
			w0 := p.Drive[k*rows*N : k*rows*N+N*N]
			for e, w := range w0 {
				if w != 0 {
					sup[k*N*N+e] = 1
				}
			}
		}
		if d.support, err = bytes(sup, "L5 plasticity support"); err != nil {
			return err
		}
	}
	fac := make([]T, K*B*l5FacWords*N)
	if d.fac, err = up(unsafe.Pointer(&fac[0]), int64(len(fac))*d.elem, "L5 plasticity vectors"); err != nil {
		return err
	}
	wins, etas, thetas := make([]int64, K), make([]T, K), make([]T, K)
	for k := range K {
		lk := l5.ForInstance(k)
		d.whole = d.whole || lk.Window == 0
		d.slots = max(d.slots, lk.Window)
		wins[k], etas[k], thetas[k] = int64(lk.Window), lk.Eta, lk.ThetaRate
	}
	if d.wins, err = up(unsafe.Pointer(&wins[0]), int64(K)*8, "L5 plasticity windows"); err != nil {
		return err
	}
	if d.etas, err = up(unsafe.Pointer(&etas[0]), int64(K)*d.elem, "L5 plasticity rates"); err != nil {
		return err
	}
	if d.thetas, err = up(unsafe.Pointer(&thetas[0]), int64(K)*d.elem, "L5 plasticity rates"); err != nil {
		return err
	}
	// The windows: slot 0 holds r_0 of every trial. The ring starts small
	// and grows with the steps (reserve) up to the longest window, which
	// may be far longer than the run (L5's τ_θ ≥ 1: ≥ 230 000 steps).
	d.maxSlots = d.slots
	if d.whole {
		d.maxSlots = 0
	}
	d.slots = l5FirstSlots
	if d.maxSlots > 0 {
		d.slots = min(d.slots, d.maxSlots)
	}
	if d.ring, err = c.alloc(int64(d.slots*K*B*N)*d.elem, "L5 plasticity window"); err != nil {
		return err
	}
	r0 := make([]T, 0, K*B*N)
	for kb := range K * B {
		r0 = append(r0, backend.L5InitialRates(p, kb)...)
	}
	if err := c.htod(d.ring, unsafe.Pointer(&r0[0]), int64(len(r0))*d.elem); err != nil {
		return err
	}
	if d.ew, err = c.alloc(int64(K*d.slots)*d.elem, "L5 plasticity window weights"); err != nil {
		return err
	}
	return nil
}

// args returns the kernel's arguments for step st with the run-wide fields
// filled.
func (d *l5Dev[T]) args(st l5Step) kernels.Plasticl5Args {
	l5 := d.l5
	kin := b2i64(st.InShared)
	return kernels.Plasticl5Args{
		Drive: st.Drive, Rates: st.Rates, In: st.In, Ring: d.ring, Ew: d.ew, Fac: d.fac,
		Wins: d.wins, Etas: d.etas, Thetas: d.thetas,
		Cols: d.cols, Sign: d.sign, Live: d.live, Support: d.support, Err: st.Err, Werr: st.Werr,
		K: int64(d.K), B: int64(d.B), N: int64(d.N), I: int64(d.I),
		T: int64(st.T), S: int64(st.S), Ns: int64(st.Ns), InShared: kin, Slots: int64(d.slots),
		Rule: int64(l5.Rule), Rk4: b2i64(l5.Integrator == backend.L5RK4), Clip: b2i64(l5.ClipAtZero),
		Dt: f64bits(l5.Dt), S6: f64bits(T(1.0 / 6.0)), S3: f64bits(T(1.0 / 3.0)),
		Base: st.Base, PerStep: st.PerStep,
	}
}

// reserve makes the ring hold the slots of step t (r_0 … r_t, or the
// longest window's), growing it (doubling, at most to maxSlots) with a copy
// launch.
func (d *l5Dev[T]) reserve(c calls, t int, launch l5Launch) error {
	need := t + 1
	if d.maxSlots > 0 {
		need = min(need, d.maxSlots)
	}
	if need <= d.slots {
		return nil
	}
	slots := max(2*d.slots, need)
	if d.maxSlots > 0 {
		slots = min(slots, d.maxSlots)
	}
	kbn := d.K * d.B * d.N
	ring, err := c.alloc(int64(slots*kbn)*d.elem, "L5 plasticity window")
	if err != nil {
		return err
	}
	n := d.slots * kbn
	g := ceilDiv(n, l5Threads)
	if g > maxGridX {
		c.free(ring)
		return tooLarge{fmt.Errorf("cuda: the L5 window of %d steps exceeds the copy's grid", t)}
	}
	a := kernels.Plasticl5Args{Phase: 4, Dst: ring, Src: d.ring, Count: int64(n)}
	if err := launch(d.kernel, t, [3]uint32{uint32(g), 1, 1}, [3]uint32{l5Threads, 1, 1}, 0, a); err != nil {
		c.free(ring)
		return err
	}
	ew, err := c.alloc(int64(d.K*slots)*d.elem, "L5 plasticity window weights")
	if err != nil {
		c.free(ring)
		return err
	}
	// free waits for the work in flight: the copy has read the old ring.
	c.free(d.ring)
	c.free(d.ew)
	d.ring, d.ew, d.slots = ring, ew, slots
	return nil
}

// step queues step st.T's launches: the push of r_t into the windows and,
// when the step learns, the update of every trial's weights (see the
// contract above).
func (d *l5Dev[T]) step(c calls, st l5Step, launch l5Launch) error {
	l5 := d.l5
	t := st.T
	if t != d.pushed+1 {
		return fmt.Errorf("cuda: L5 plasticity: step %d after step %d (every step must be pushed in order)", t, d.pushed)
	}
	if err := d.reserve(c, t, launch); err != nil {
		return err
	}
	learn := l5.Learns(&d.sched, t)
	a := d.args(st)
	a.Learn = b2i64(learn)
	if len(l5.Phases) > 0 {
		a.Live = d.live + dptr((t-1)%len(l5.Phases)*d.N)
	}
	grid := func(n int) [3]uint32 { return [3]uint32{uint32(max(1, ceilDiv(n, l5Threads))), 1, 1} }
	block := [3]uint32{l5Threads, 1, 1}
	KBN := d.K * d.B * d.N
	phase := func(ph, stage, n int) error {
		a.Phase, a.Stage = int64(ph), int64(stage)
		return launch(d.kernel, t, grid(n), block, 0, a)
	}
	if learn && l5.Rule == backend.L5SlidingBCM {
		if err := phase(0, 0, d.K*d.slots); err != nil {
			return err
		}
	}
	if err := phase(1, 0, KBN); err != nil {
		return err
	}
	d.pushed = t
	if !learn {
		return nil
	}
	if l5.Rule == backend.L5Oja && l5.Integrator == backend.L5RK4 {
		for stage := 2; stage <= 4; stage++ {
			if err := phase(2, stage, KBN); err != nil {
				return err
			}
		}
	}
	return phase(3, 0, KBN*d.N)
}

// decodeWeight turns a weight error key of the write phase into
// backend.L5FirstNonFinite's error at step t.
func (d *l5Dev[T]) decodeWeight(key uint64, t int) *backend.NonFiniteError {
	N := uint64(d.N)
	cls := key % 4
	key /= 4
	post := key % N
	key /= N
	pre := key % N
	key /= N
	kb := int(key / 3)
	trial := -1
	if d.perTrial {
		trial = d.firstB + kb%d.B
	}
	return &backend.NonFiniteError{Instance: d.firstK + kb/d.B, Trial: trial, Step: t, Unit: int(post), Pre: int(pre),
		Quantity: backend.LayerRecurrent.String() + " weight", Value: nonFiniteValue(cls)}
}

// release frees the device buffers.
func (d *l5Dev[T]) release(c calls) {
	for _, p := range append(d.bufs, d.ring, d.ew) {
		if p != 0 {
			c.free(p)
		}
	}
	d.bufs, d.ring, d.ew = nil, 0, 0
}
