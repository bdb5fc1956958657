//go:build cuda && cudaemu

package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/gpu/internal/emu"
	"github.com/ratesim/ratesim/kernels"
)

// l5Case is one configuration of the L5 plasticity that TestL5PlasticityBits
// runs on the emulated device and with backend's Update.
type l5Case struct {
	rule       backend.L5Rule
	integ      backend.L5Integrator
	window     int
	structural bool
	signs      bool
	masks      bool // Pre, Post and Inhibitory
	phases     bool // cyclic phases with rows and a Rest
	clip       bool
	perTrial   bool // K instances × B trials with per-trial weights, else B = 1
	input      int  // 0 none, 1 per instance, 2 shared
	huge       bool // a learning rate that overflows the weights
	// perInstance gives instance 1 its own Window, Eta and ThetaRate
	// (L5Plasticity.PerInstance; instance 0 keeps window).
	perInstance bool
	// failAt > 0 marks instance 1's dynamics failed at that step: it must
	// neither push nor learn there, instance 0 must (the run then stops).
	failAt int
	steps  int
	warmup int
}

func (c l5Case) String() string {
	return fmt.Sprintf("%v/%v/L=%d/structural=%v/sign=%v/masks=%v/phases=%v/clip=%v/pertrial=%v/input=%d/huge=%v/perinstance=%v/failat=%d",
		c.rule, map[backend.L5Integrator]string{backend.L5Euler: "euler", backend.L5RK4: "rk4"}[c.integ], c.window,
		c.structural, c.signs, c.masks, c.phases, c.clip, c.perTrial, c.input, c.huge, c.perInstance, c.failAt)
}

// l5Cases covers every rule, integrator, structural/dense and sign option,
// with windows shorter and longer than the history (the whole history
// too, past the ring's first capacity), masks, phases with Rest, clipping,
// both weight layouts and input layouts.
func l5Cases() []l5Case {
	var cs []l5Case
	n := 0
	for rule := backend.L5None; rule <= backend.L5Covariance; rule++ {
		for _, integ := range []backend.L5Integrator{backend.L5Euler, backend.L5RK4} {
			for _, structural := range []bool{false, true} {
				for _, signs := range []bool{false, true} {
					windows := []int{0, 3, 4, 50, 1}
					if rule == backend.L5SlidingBCM || rule == backend.L5Covariance {
						windows[4] = 2 // m = 1 would make θ = 0 or δ = 0
					}
					input := n % 3
					if rule == backend.L5BCM || rule == backend.L5SlidingBCM {
						input = 1 + n%2 // G = 0 without input
					}
					cs = append(cs, l5Case{rule: rule, integ: integ, window: windows[n%len(windows)], structural: structural,
						signs: signs, masks: n%3 != 1, phases: n%4 >= 2, clip: n%3 == 2, perTrial: n%2 == 0, input: input,
						steps: 30, warmup: n % 3, perInstance: n%5 == 3})
					n++
				}
			}
		}
	}
	cs = append(cs,
		l5Case{rule: backend.L5Covariance, integ: backend.L5Euler, window: 4, masks: true, perTrial: true, input: 1, huge: true, steps: 8},
		l5Case{rule: backend.L5Oja, integ: backend.L5RK4, window: 0, structural: true, signs: true, perTrial: true, input: 2, huge: true, steps: 8},
		l5Case{rule: backend.L5SlidingBCM, integ: backend.L5RK4, window: 0, masks: true, phases: true, perTrial: true, input: 1, steps: 30, perInstance: true},
		l5Case{rule: backend.L5SlidingBCM, integ: backend.L5Euler, window: 3, signs: true, input: 2, steps: 30, perInstance: true},
		l5Case{rule: backend.L5Covariance, integ: backend.L5Euler, window: 3, masks: true, perTrial: true, input: 1, steps: 8, failAt: 5},
		l5Case{rule: backend.L5Oja, integ: backend.L5RK4, window: 0, perTrial: true, input: 2, steps: 8, failAt: 4},
		l5Case{rule: backend.L5SlidingBCM, integ: backend.L5RK4, window: 4, input: 1, steps: 8, failAt: 6},
	)
	return cs
}

// TestL5PlasticityBits runs the L5 kernel through its launcher on the
// emulated device, step after step, against backend's L5Window and
// L5Plasticity.Update on the host, and compares every weight (the whole
// Drive, so a stray write shows) after every step bit for bit, and the
// first non-finite weight with backend.L5FirstNonFinite's.
func TestL5PlasticityBits(t *testing.T) {
	if _, ok := emu.Signature("plasticl5_f32"); !ok {
		t.Skip("the emulator has no plasticl5 kernels: gpu/internal/emu/emu.cc must include kernels/plasticl5.cu and list plasticl5_f32, plasticl5_f64 in its entries")
	}
	defer func(n int) { l5FirstSlots = n }(l5FirstSlots)
	l5FirstSlots = 2 // the whole-history window grows several times
	for ci, c := range l5Cases() {
		t.Run(c.String(), func(t *testing.T) {
			l5Check[float32](t, c, uint64(ci))
			l5Check[float64](t, c, uint64(ci))
		})
	}
}

func l5Bits[T backend.Float](x T) uint64 {
	if v, ok := any(x).(float32); ok {
		return uint64(math.Float32bits(v))
	}
	return math.Float64bits(float64(x))
}

// l5Program returns a program for c: random W0 (a fifth of it exactly ±0),
// r_0 in the rate form, and the L5 plasticity with its options.
func l5Program[T backend.Float](c l5Case, rng *rand.Rand) *backend.Program[T] {
	K, B, N := 2, 1, 7
	if c.perTrial {
		B = 3
	}
	rows := N + N + 1
	p := &backend.Program[T]{Shape: backend.Shape{Instances: K, Trials: B, Units: N, Inputs: N}, Form: backend.RateForm,
		Activation: backend.Identity, SharedInput: c.input == 2}
	p.Drive = make([]T, K*rows*N)
	for e := range p.Drive {
		switch x := rng.Float64(); {
		case x < 0.1:
			p.Drive[e] = 0
		case x < 0.2:
			p.Drive[e] = T(math.Copysign(0, -1))
		default:
			p.Drive[e] = T(rng.NormFloat64() * 0.5)
		}
	}
	p.Init = make([]T, K*B*N)
	for i := range p.Init {
		p.Init[i] = T(0.05 + 2*rng.Float64())
	}
	l5 := &backend.L5Plasticity[T]{Rule: c.rule, Integrator: c.integ, Window: c.window,
		Dt: T(0.037), Eta: T(20.0 / 7.0), ThetaRate: T(1 / 0.29), ClipAtZero: c.clip, Structural: c.structural}
	if c.huge {
		huge := math.MaxFloat64 / 4
		if _, ok := any(l5.Eta).(float32); ok {
			huge = math.MaxFloat32 / 4
		}
		l5.Eta = T(huge)
	}
	mask := func(p float64) []bool {
		m := make([]bool, N)
		for i := range m {
			m[i] = rng.Float64() < p
		}
		return m
	}
	if c.masks {
		l5.Pre, l5.Post, l5.Inhibitory = mask(0.8), mask(0.8), mask(0.35)
	}
	if c.perInstance {
		other := map[int]int{0: 5, 1: 0, 2: 0, 3: 8, 4: 2, 50: 3}[c.window]
		l5.PerInstance = []backend.L5Rates[T]{{Window: c.window, Eta: l5.Eta, ThetaRate: l5.ThetaRate},
			{Window: other, Eta: T(1.3), ThetaRate: T(1 / 0.41)}}
	}
	if c.phases {
		l5.Phases = []backend.L5Phase{{Post: mask(0.5)}, {Rest: true}, {}, {Post: mask(0.7)}}
	}
	if c.signs {
		l5.Sign = make([]int8, N)
		for j := range l5.Sign {
			l5.Sign[j] = int8(rng.IntN(3) - 1)
		}
	}
	p.Plasticity = &backend.Plasticity[T]{PerTrial: c.perTrial, Schedule: backend.Schedule{Warmup: c.warmup}, L5: l5}
	return p
}

// l5Check runs case c in precision T (see TestL5PlasticityBits).
func l5Check[T backend.Float](t *testing.T, c l5Case, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	p := l5Program[T](c, rng)
	l5 := p.Plasticity.L5
	K, B, N, I := p.Instances, p.Trials, p.Units, p.Inputs
	rows := p.DriveRows()
	M := p.Matrices()
	elem := int64(unsafe.Sizeof(T(0)))
	prec := backend.PrecisionOf[T]()

	// Rates and inputs of every step.
	rates := make([][]T, c.steps+1)
	for s := 1; s <= c.steps; s++ {
		rates[s] = make([]T, K*B*N)
		for i := range rates[s] {
			rates[s][i] = T(0.05 + 2*rng.Float64())
			if c.huge {
				rates[s][i] *= 4
			}
		}
	}
	kin := K
	if p.SharedInput {
		kin = 1
	}
	var in []T // [kin][B][steps][I], the device's segment layout
	if c.input > 0 {
		in = make([]T, kin*B*c.steps*I)
		for i := range in {
			in[i] = T(rng.Float64()*2 - 1)
		}
	}
	input := func(k, b, s int) []T { // u_s of instance k, trial b
		u := make([]T, I)
		if in != nil {
			if p.SharedInput {
				k = 0
			}
			copy(u, in[((k*B+b)*c.steps+s-1)*I:])
		}
		return u
	}

	// The host: backend's windows and Update on each trial's matrix.
	want := repeatMatrices(p.Drive, K, M)
	wins := make([]*backend.L5Window[T], K*B)
	for kb := range wins {
		wins[kb] = backend.NewL5Window(l5.ForInstance(kb/B).Window, backend.L5InitialRates(p, kb))
	}
	scratch := backend.NewL5Scratch[T](N)

	drv, err := New().open()
	if err != nil {
		t.Fatal(err)
	}
	perStep := uint64(K * B * 3 * N * 4)
	err = drv.do(func(cl calls) error {
		var bufs []dptr
		defer func() {
			for _, b := range bufs {
				cl.free(b)
			}
		}()
		up := func(src unsafe.Pointer, n int64) (dptr, error) {
			d, err := cl.alloc(n, "test")
			if err != nil {
				return 0, err
			}
			bufs = append(bufs, d)
			if src != nil {
				err = cl.htod(d, src, n)
			}
			return d, err
		}
		drive, err := up(unsafe.Pointer(&want[0]), int64(len(want))*elem)
		if err != nil {
			return err
		}
		var rbuf [2]dptr
		for q := range rbuf {
			if rbuf[q], err = up(nil, int64(K*B*N)*elem); err != nil {
				return err
			}
		}
		var inPtr dptr
		if in != nil {
			if inPtr, err = up(unsafe.Pointer(&in[0]), int64(len(in))*elem); err != nil {
				return err
			}
		}
		noKeys := []uint64{^uint64(0), ^uint64(0)}
		keys, err := up(unsafe.Pointer(&noKeys[0]), 16)
		if err != nil {
			return err
		}
		st, err := cl.newStream()
		if err != nil {
			return err
		}
		defer cl.destroyStream(st)
		used := cl.(*emuDriver).used
		d, err := newL5Dev(cl, p, elem)
		if err != nil {
			return err
		}
		defer d.release(cl)
		if got, want := cl.(*emuDriver).used-used, l5Bytes(p, 0); got != want {
			return fmt.Errorf("%v: newL5Dev allocated %d bytes, l5Bytes says %d", prec, got, want)
		}
		launch := func(kernel string, _ int, grid, block [3]uint32, shmem int, args kernels.Args) error {
			return cl.launch(st, kernel, grid, block, shmem, args)
		}
		got := make([]T, len(want))
		for s := 1; s <= c.steps; s++ {
			if err := cl.htod(rbuf[s&1], unsafe.Pointer(&rates[s][0]), int64(K*B*N)*elem); err != nil {
				return err
			}
			failed := []uint64{perStep/uint64(K) + 7, ^uint64(0)} // a dynamics error of instance 1
			if s == c.failAt {
				if err := cl.htod(keys, unsafe.Pointer(&failed[0]), 16); err != nil {
					return err
				}
			}
			if err := d.step(cl, l5Step{T: s, Drive: drive, Rates: rbuf[s&1], In: inPtr, S: s - 1, Ns: c.steps,
				InShared: p.SharedInput, Err: keys, Werr: keys + 8, Base: 0, PerStep: perStep}, launch); err != nil {
				return err
			}
			var first *backend.NonFiniteError
			for kb := range K * B {
				k, b := kb/B, kb%B
				if s == c.failAt && k >= 1 {
					continue
				}
				wins[kb].Push(rates[s][kb*N : (kb+1)*N])
				lk := l5.ForInstance(k)
				if !lk.Learns(&p.Plasticity.Schedule, s) {
					continue
				}
				W := want[kb*rows*N : (kb+1)*rows*N]
				lk.Update(scratch, W, N, p.Drive[k*rows*N:(k+1)*rows*N], wins[kb].Rows(), input(k, b, s), s)
				trial := -1
				if c.perTrial {
					trial = b
				}
				if e := backend.L5FirstNonFinite(W, N, N, k, trial, s); e != nil && e.Before(first) {
					first = e
				}
			}
			if err := cl.dtoh(unsafe.Pointer(&got[0]), drive, int64(len(got))*elem); err != nil {
				return err
			}
			for e := range want {
				if l5Bits(got[e]) != l5Bits(want[e]) {
					kb, x := e/(rows*N), e%(rows*N)
					return fmt.Errorf("%v: step %d, matrix %d, Drive[%d][%d] (index %d): got %v (%#x), want %v (%#x)",
						prec, s, kb, x/N, x%N, e, got[e], l5Bits(got[e]), want[e], l5Bits(want[e]))
				}
			}
			hk := make([]uint64, 2)
			if err := cl.dtoh(unsafe.Pointer(&hk[0]), keys, 16); err != nil {
				return err
			}
			if s == c.failAt {
				if first != nil || hk[0] != failed[0] || hk[1] != failed[1] {
					return fmt.Errorf("%v: step %d: error keys %#x, %#x after instance 1's failure %#x (reference: %v)", prec, s, hk[0], hk[1], failed[0], first)
				}
				return errL5Stopped
			}
			if first == nil {
				if hk[0] != ^uint64(0) || hk[1] != ^uint64(0) {
					return fmt.Errorf("%v: step %d: error keys %#x, %#x with every weight finite", prec, s, hk[0], hk[1])
				}
				continue
			}
			if hk[0] != perStep-1 {
				return fmt.Errorf("%v: step %d: error key %#x, want the step's sentinel %#x", prec, s, hk[0], perStep-1)
			}
			e, w := *d.decodeWeight(hk[1], s), *first
			if math.IsNaN(e.Value) && math.IsNaN(w.Value) {
				e.Value, w.Value = 0, 0
			}
			if e != w {
				return fmt.Errorf("%v: step %d: %v, want %v", prec, s, &e, &w)
			}
			return errL5Stopped
		}
		if c.huge {
			return fmt.Errorf("%v: no weight overflowed", prec)
		}
		if got, want := cl.(*emuDriver).used-used, l5Bytes(p, c.steps); got != want {
			return fmt.Errorf("%v: the L5 state holds %d bytes after %d steps, l5Bytes says %d", prec, got, c.steps, want)
		}
		// The case must have learned: a rule other than none moves some
		// weight (none moves them only by the clip and the signs).
		moved := 0
		for kb := range K * B {
			k := kb / B
			for e, w := range want[kb*rows*N : kb*rows*N+N*N] {
				if w != p.Drive[k*rows*N+e] {
					moved++
				}
			}
		}
		if moved == 0 && c.rule != backend.L5None {
			return fmt.Errorf("%v: %d weights moved under rule %v", prec, moved, c.rule)
		}
		return nil
	})
	if err != nil && !((c.huge || c.failAt > 0) && errors.Is(err, errL5Stopped)) {
		t.Fatal(err)
	}
}

var errL5Stopped = errors.New("stopped at the first non-finite weight")
