//go:build cuda

package gpu

import (
	"fmt"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/kernels"
)

// The layer-5 rule's low-rank form (backend.L5LowRank) on the device: the
// drive stays W0, so the run takes the gathered path (useGather); before
// each product launch phase 0 of kernels/lowrank.cu computes every trial's
// σ_f from the rates the product multiplies, which gather.cu adds as
// T(P_fi·σ_f); after the step's dynamics phase 1 pushes r_t and, when the
// step learns, updates P. The scalars that depend only on the step and the
// instance are computed here, once, for every step the temporal factors
// cover (lowRankTables), with backend.L5LowRankWeight's bits.

// lowRankThreads is the block size of both phases.
const lowRankThreads = 128

// The words of lowrank.cu's tables and its flag bits.
const (
	lrTabWords  = 13 // g, ed, es, sc, e0, e1, eo2, eo, third, half, rate, eta, dt
	lrItabWords = 4  // flags, m, cap, live row
	lrRebase    = 1
	lrDrop      = 2
	lrLearn     = 4
)

// lowRankDev is a run's low-rank state on the device.
type lowRankDev[T backend.Float] struct {
	kernel               string
	elem                 int64
	K, B, N, F, cap      int
	firstK, firstB       int
	perTrial             bool
	s, p, sig, acc, ring dptr
	tab, itab, temporal  dptr
	live                 dptr
	bufs                 []dptr
}

// lowRankTables are the per-step, per-instance scalars of lowrank.cu's
// phase 1 for steps 1 … steps, and the ring's capacity per instance: the
// arithmetic of backend.L5LowRankState.Push and threshold, whose origin
// moves to s at every multiple of backend.L5LowRankRebase (s − s mod 64)
// and whose window is full from sample Window on.
func lowRankTables[T backend.Float](p *backend.Program[T], steps int) (tab []T, itab []int64, caps []int, live []uint8) {
	l5 := p.Plasticity.L5
	K, N := p.Instances, p.Units
	R := backend.L5LowRankRebase
	caps = make([]int, K)
	for k := range K {
		if w := l5.ForInstance(k).Window; w > 0 {
			caps[k] = w
		} else {
			caps[k] = steps + 1
		}
	}
	// live rows: one per phase (row 0 without phases), Post and the
	// phase's rows combined.
	rows := max(1, len(l5.Phases))
	live = make([]uint8, rows*N)
	for q := range rows {
		for i := range N {
			ok := l5.Post == nil || l5.Post[i]
			if len(l5.Phases) > 0 && l5.Phases[q].Post != nil {
				ok = ok && l5.Phases[q].Post[i]
			}
			if ok {
				live[q*N+i] = 1
			}
		}
	}
	tab = make([]T, steps*K*lrTabWords)
	itab = make([]int64, steps*K*lrItabWords)
	sched := p.Plasticity.Schedule
	for t := 1; t <= steps; t++ {
		s := t
		origin := s - s%R
		for k := range K {
			l := l5.ForInstance(k)
			E := func(d int) T { return backend.L5LowRankWeight(d, l.Dt, l.ThetaRate) }
			tb := tab[((t-1)*K+k)*lrTabWords : ((t-1)*K+k+1)*lrTabWords]
			it := itab[((t-1)*K+k)*lrItabWords : ((t-1)*K+k+1)*lrItabWords]
			flags := int64(0)
			if s%R == 0 {
				flags |= lrRebase
				tb[0] = E(-R)
			}
			L := l.Window
			m := s + 1
			if L > 0 && s >= L {
				flags |= lrDrop
				tb[1] = E(s - L - origin)
			}
			if L > 0 {
				m = min(L, s+1)
			}
			tb[2], tb[3] = E(s-origin), E(-(s - origin))
			tb[4], tb[5], tb[6], tb[7] = E(0), E(-(1 % m)), E(-max(m-2, 0)), E(-(m - 1))
			tb[8], tb[9], tb[10], tb[11], tb[12] = T(l.Dt/3), T(0.5*l.Dt), l.ThetaRate, l.Eta, l.Dt
			if l.Learns(&sched, t) {
				flags |= lrLearn
			}
			it[0], it[1], it[2] = flags, int64(m), int64(caps[k])
			if len(l5.Phases) > 0 {
				it[3] = int64((t - 1) % len(l5.Phases))
			}
		}
	}
	return tab, itab, caps, live
}

// lowRankBytes is the device memory newLowRankDev allocates for p.
func lowRankBytes[T backend.Float](p *backend.Program[T]) int64 {
	if !backend.IsL5LowRank(p) {
		return 0
	}
	l5 := p.Plasticity.L5
	elem := int64(elemSize[T]())
	K, B, N, F, steps := int64(p.Instances), int64(p.Trials), int64(p.Units), int64(l5.LowRank.Factors), int64(l5.LowRank.Steps())
	cap := int64(0)
	for k := range p.Instances {
		c := int64(l5.ForInstance(k).Window)
		if c == 0 {
			c = steps + 1
		}
		cap = max(cap, c)
	}
	rows := int64(max(1, len(l5.Phases)))
	return elem*(2*K*B*F*N+K*B*F+2*K*B*N+K*B*cap*N+steps*K*lrTabWords+steps*F) + 8*steps*K*lrItabWords + rows*N
}

// SupportsL5LowRank reports that the backend runs the L5 rule's low-rank
// form (backend.L5LowRankCapable), with kernels/lowrank.cu.
func (b *Backend) SupportsL5LowRank() bool { return true }

// L5LowRankFactors copies a low-rank run's factors (backend.L5LowRankRun).
func (r *run[T]) L5LowRankFactors(P []T) error {
	if r.closed {
		return backend.ErrClosed
	}
	if r.lr == nil {
		return fmt.Errorf("cuda: L5LowRankFactors: the program has no L5 low-rank form")
	}
	return r.drv.do(func(c calls) error {
		if err := r.current(c); err != nil {
			return err
		}
		return r.lr.factors(c, P)
	})
}

// newLowRankDev uploads p's low-rank state: S', P = +0, the parity sums
// holding r_0² (E(0) = 1), the ring holding r_0 in slot 0, the tables.
func newLowRankDev[T backend.Float](c calls, p *backend.Program[T], r0 []T, elem int64) (*lowRankDev[T], error) {
	lr := p.Plasticity.L5.LowRank
	K, B, N, F := p.Instances, p.Trials, p.Units, lr.Factors
	steps := lr.Steps()
	d := &lowRankDev[T]{kernel: "lowrank_" + backend.PrecisionOf[T]().String(), elem: elem, K: K, B: B, N: N, F: F,
		firstK: p.FirstInstance, firstB: p.FirstTrial, perTrial: p.Plasticity.PerTrial}
	if ceilDiv(K*B*N, lowRankThreads) > maxGridX {
		return nil, tooLarge{fmt.Errorf("cuda: %d instances × %d trials × %d units exceed the low-rank kernel's grid", K, B, N)}
	}
	tab, itab, caps, live := lowRankTables(p, steps)
	for _, c := range caps {
		d.cap = max(d.cap, c)
	}
	KB := K * B
	S := make([]T, 0, KB*F*N)
	for kb := range KB {
		S = append(S, backend.L5LowRankPresynaptic(p, kb)...)
	}
	acc := make([]T, 2*KB*N)
	ring := make([]T, KB*d.cap*N)
	for kb := range KB {
		for i := range N {
			x := r0[kb*N+i]
			acc[kb*N+i] = T(backend.L5LowRankWeight(0, p.Plasticity.L5.Dt, p.Plasticity.L5.ThetaRate) * T(x*x))
			ring[kb*d.cap*N+i] = x
		}
	}
	up := func(dst *dptr, src unsafe.Pointer, n int64, what string) error {
		if n == 0 {
			return nil
		}
		ptr, err := c.alloc(n, what)
		if err != nil {
			return err
		}
		d.bufs = append(d.bufs, ptr)
		*dst = ptr
		return c.htod(ptr, src, n)
	}
	vals := func(dst *dptr, v []T, what string) error {
		return up(dst, unsafe.Pointer(&v[0]), int64(len(v))*elem, what)
	}
	err := vals(&d.s, S, "L5 low-rank S'")
	if err == nil {
		err = vals(&d.p, make([]T, KB*F*N), "L5 low-rank factors")
	}
	if err == nil {
		err = vals(&d.sig, make([]T, KB*F), "L5 low-rank σ")
	}
	if err == nil {
		err = vals(&d.acc, acc, "L5 low-rank sums")
	}
	if err == nil {
		err = vals(&d.ring, ring, "L5 low-rank window")
	}
	if err == nil {
		err = vals(&d.tab, tab, "L5 low-rank table")
	}
	if err == nil {
		err = up(&d.itab, unsafe.Pointer(&itab[0]), int64(len(itab))*8, "L5 low-rank table")
	}
	if err == nil {
		err = vals(&d.temporal, lr.Temporal, "L5 low-rank temporal factors")
	}
	if err == nil {
		err = up(&d.live, unsafe.Pointer(&live[0]), int64(len(live)), "L5 low-rank live units")
	}
	if err != nil {
		d.release(c)
		return nil, err
	}
	return d, nil
}

func (d *lowRankDev[T]) args() kernels.LowrankArgs {
	return kernels.LowrankArgs{S: d.s, P: d.p, Sig: d.sig, Acc: d.acc, Ring: d.ring, Tab: d.tab, Itab: d.itab,
		Temporal: d.temporal, Live: d.live, K: int64(d.K), B: int64(d.B), N: int64(d.N), F: int64(d.F), Cap: int64(d.cap)}
}

// sigma queues phase 0 of step t for the rates q and points the gathered
// kernel's arguments at the factors and σ.
func (d *lowRankDev[T]) sigma(t int, q dptr, g *kernels.GatherArgs, launch l5Launch) error {
	a := d.args()
	a.Phase, a.Q, a.T = 0, q, int64(t)
	g.LrP, g.LrSigma, g.LrF = d.p, d.sig, int64(d.F)
	return launch(d.kernel, t, [3]uint32{uint32(max(1, ceilDiv(d.K*d.B*d.F, lowRankThreads))), 1, 1}, [3]uint32{lowRankThreads, 1, 1}, 0, a)
}

// step queues phase 1 of step t (the rates r_t in rates; the slot's error
// keys as l5Step's).
func (d *lowRankDev[T]) step(t int, rates, errKey, werr dptr, base, perStep uint64, launch l5Launch) error {
	a := d.args()
	a.Phase, a.Rates, a.T, a.Err, a.Werr, a.Base, a.PerStep = 1, rates, int64(t), errKey, werr, base, perStep
	return launch(d.kernel, t, [3]uint32{uint32(max(1, ceilDiv(d.K*d.B*d.N, lowRankThreads))), 1, 1}, [3]uint32{lowRankThreads, 1, 1}, 0, a)
}

// decodeWeight turns phase 1's error key into the error of a non-finite
// factor at step t.
func (d *lowRankDev[T]) decodeWeight(key uint64, t int) *backend.NonFiniteError {
	cls := key % 4
	key /= 4
	i, kb := int(key%uint64(d.N)), int(key/uint64(d.N))
	trial := -1
	if d.perTrial {
		trial = d.firstB + kb%d.B
	}
	return backend.L5LowRankNonFinite(d.firstK+kb/d.B, trial, t, i, nonFiniteValue(cls))
}

// factors copies P to the host.
func (d *lowRankDev[T]) factors(c calls, P []T) error {
	n := d.K * d.B * d.F * d.N
	if len(P) < n {
		return fmt.Errorf("cuda: L5LowRankFactors: %d values, want %d", len(P), n)
	}
	return c.dtoh(unsafe.Pointer(&P[0]), d.p, int64(n)*d.elem)
}

// release frees the device buffers.
func (d *lowRankDev[T]) release(c calls) {
	for _, p := range d.bufs {
		c.free(p)
	}
	d.bufs = nil
}
