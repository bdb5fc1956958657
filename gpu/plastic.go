//go:build cuda

package gpu

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/kernels"
)

// The CUDA backend's plasticity: the weights live in the run's Drive and
// Readout device arrays (K × M matrices, M = Program.Matrices()), which the
// step and readout kernels read; after each step's dynamics the kernel of
// kernels/plastic.cu runs its phases (averages every step, the fused update
// on update steps, a snapshot on snapshot steps). Plastic programs always
// take the step path, with the one-trial tile when weights are per trial.
//
// The kernel reads its constants from descriptor tables of u64 words whose
// layout kernels/plastic.cu holds too (the enums cWords, rWords, aWords,
// sWords there).

const (
	cLayer, cPre, cPost, cScale, cSign, cGrowth, cGrowW, cBounded, cMin, cMax, cFreeze, cNRules, cRule0, cSynOff, cWords = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16
)

const (
	rKind = iota
	rRate
	rPrePops
	rPostPops
	rPreInput
	rPreW
	rPostW
	rDivTheta
	rSoftBound
	rL1
	rL2
	rNegate
	rFlip
	rOpt
	rBeta1
	rBeta2
	rEps
	rOneMinusB1
	rOneMinusB2
	rC1
	rC2
	rM
	rV
	rPreMean
	rPostMean
	rWords = 32
)

const (
	aWhat, aLayer, aPreInput, aDim, aWindow, aCoef, aState, aMean, aOff, aWords = 0, 1, 2, 3, 4, 5, 6, 7, 8, 10
)

const sWords = 4

// plasticDev is a run's plasticity state on the device.
type plasticDev[T backend.Float] struct {
	pl                        *backend.Plasticity[T]
	M                         int
	nConns, nAvgs, D, S, P, Q int
	width                     int
	ruleTab                   []uint64
	steps                     []*backend.Step[T] // per rule of ruleTab
	conns, rules, avgs, snaps dptr               // rules: the table before the first update
	pops, y                   dptr
	bufs                      []dptr // everything else allocated for it
}

func f64bits[T backend.Float](x T) uint64 { return math.Float64bits(float64(x)) }

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// checkPlastic reports what the device cannot run.
func checkPlastic[T backend.Float](p *backend.Program[T]) error {
	pl := p.Plasticity
	P, Q := 0, 0
	if pl.L5 != nil {
		P, Q = p.Units, p.Units // the L5 kernel's recurrent weights (plasticl5.go)
	}
	for l, c := range pl.Connections() {
		if c != nil {
			a, b := p.Shape.LayerDims(backend.Layer(l))
			P, Q = max(P, a), max(Q, b)
		}
	}
	hi, lo := bits.Mul64(uint64(p.Instances*p.Matrices()*3*4), uint64(P)*uint64(Q))
	if hi != 0 || lo > 1<<62 {
		return tooLarge{fmt.Errorf("cuda: %d instances × %d weight matrices are too many for one plastic run", p.Instances, p.Matrices())}
	}
	return nil
}

// newPlasticDev uploads p's plasticity. up allocates and copies a slice of
// T; alloc allocates zeroed... (the caller's calls).
func newPlasticDev[T backend.Float](c calls, p *backend.Program[T], elem int64) (*plasticDev[T], error) {
	pl := p.Plasticity
	K, B, N, O := p.Instances, p.Trials, p.Units, p.Outputs
	M := p.Matrices()
	pd := &plasticDev[T]{pl: pl, M: M, width: p.WeightWidth()}
	if pl.L5 != nil {
		pd.P, pd.Q = N, N // the L5 kernel's weight error key (plasticl5.go)
	}
	upBytes := func(src unsafe.Pointer, n int64, what string) (dptr, error) {
		if n == 0 {
			return 0, nil
		}
		d, err := c.alloc(n, what)
		if err != nil {
			return 0, err
		}
		pd.bufs = append(pd.bufs, d)
		return d, c.htod(d, src, n)
	}
	upT := func(a []T, what string) (dptr, error) {
		if len(a) == 0 {
			return 0, nil
		}
		return upBytes(unsafe.Pointer(&a[0]), int64(len(a))*elem, what)
	}
	upU := func(a []uint64, what string) (dptr, error) {
		if len(a) == 0 {
			a = []uint64{0}
		}
		return upBytes(unsafe.Pointer(&a[0]), int64(len(a))*8, what)
	}
	zeros := func(n int, what string) (dptr, error) { return upT(make([]T, n), what) }

	var connTab, avgTab, snapTab []uint64
	for l, cn := range pl.Connections() {
		if cn == nil {
			continue
		}
		L := backend.Layer(l)
		a, b := p.Shape.LayerDims(L)
		pd.P, pd.Q = max(pd.P, a), max(pd.Q, b)
		cw := make([]uint64, cWords)
		cw[cLayer], cw[cPre], cw[cPost] = uint64(L), uint64(a), uint64(b)
		var err error
		var ptr dptr
		if ptr, err = upT(cn.Scale, "plasticity Scale"); err != nil {
			return pd, err
		}
		cw[cScale] = uint64(ptr)
		if len(cn.Sign) > 0 {
			if ptr, err = upBytes(unsafe.Pointer(&cn.Sign[0]), int64(len(cn.Sign)), "plasticity Sign"); err != nil {
				return pd, err
			}
			cw[cSign] = uint64(ptr)
		}
		if ptr, err = upT(cn.Growth, "plasticity Growth"); err != nil {
			return pd, err
		}
		cw[cGrowth] = uint64(ptr)
		if ptr, err = upT(cn.GrowWeight, "plasticity GrowWeight"); err != nil {
			return pd, err
		}
		cw[cGrowW] = uint64(ptr)
		cw[cBounded], cw[cMin], cw[cMax] = b2u(cn.Bounded), f64bits(cn.Min), f64bits(cn.Max)
		cw[cFreeze] = b2u(cn.FreezeZero)
		cw[cNRules], cw[cRule0] = uint64(len(cn.Rules)), uint64(len(pd.ruleTab)/rWords)
		cw[cSynOff] = uint64(pd.S)
		pd.S += a * b
		connTab = append(connTab, cw...)
		pd.nConns++

		steps := backend.NewSteps(cn)
		for ri := range cn.Rules {
			r := &cn.Rules[ri]
			rw := make([]uint64, rWords)
			rw[rKind] = uint64(r.Kind)
			if ptr, err = upT(r.Rate, "plasticity Rate"); err != nil {
				return pd, err
			}
			rw[rRate] = uint64(ptr)
			rw[rPrePops], rw[rPostPops], rw[rPreInput] = r.PrePops, r.PostPops, b2u(r.PreInput)
			rw[rPreW], rw[rPostW], rw[rDivTheta] = f64bits(r.PreWeight), f64bits(r.PostWeight), b2u(r.DivideByTheta)
			rw[rSoftBound], rw[rL1], rw[rL2] = f64bits(r.SoftBound), f64bits(r.L1), f64bits(r.L2)
			rw[rNegate], rw[rFlip], rw[rOpt] = b2u(r.Negate), b2u(r.FlipInhibitory), uint64(r.Optimizer)
			rw[rBeta1], rw[rBeta2], rw[rEps] = f64bits(r.Beta1), f64bits(r.Beta2), f64bits(r.Epsilon)
			rw[rOneMinusB1], rw[rOneMinusB2] = f64bits(steps[ri].OneMinusB1), f64bits(steps[ri].OneMinusB2)
			if r.Optimizer == backend.Adam {
				if ptr, err = zeros(K*M*a*b, "plasticity Adam m"); err != nil {
					return pd, err
				}
				rw[rM] = uint64(ptr)
				if ptr, err = zeros(K*M*a*b, "plasticity Adam v"); err != nil {
					return pd, err
				}
				rw[rV] = uint64(ptr)
			}
			// Running averages: (what, dim) per averaged vector.
			type av struct {
				what, dim int
				mean      *uint64
			}
			var vs []av
			switch r.Kind {
			case backend.BCM:
				vs = []av{{0, b, &rw[rPostMean]}}
			case backend.Covariance:
				vs = []av{{1, a, &rw[rPreMean]}, {2, b, &rw[rPostMean]}}
			}
			for _, v := range vs {
				aw := make([]uint64, aWords)
				aw[aWhat], aw[aLayer], aw[aPreInput], aw[aDim] = uint64(v.what), uint64(L), b2u(r.PreInput), uint64(v.dim)
				aw[aWindow], aw[aCoef] = uint64(r.Average.Window), f64bits(r.Average.Coef)
				var state []T
				if w := r.Average.Window; w > 0 {
					state = make([]T, K*B*v.dim*w)
				} else {
					state = make([]T, K*B*v.dim)
					for x := range state {
						state[x] = r.Average.Init
					}
				}
				if ptr, err = upT(state, "plasticity running average"); err != nil {
					return pd, err
				}
				aw[aState] = uint64(ptr)
				if ptr, err = zeros(K*B*v.dim, "plasticity means"); err != nil {
					return pd, err
				}
				aw[aMean] = uint64(ptr)
				*v.mean = uint64(ptr)
				aw[aOff] = uint64(pd.D)
				pd.D += v.dim
				avgTab = append(avgTab, aw...)
				pd.nAvgs++
			}
			pd.ruleTab = append(pd.ruleTab, rw...)
			pd.steps = append(pd.steps, &steps[ri])
		}
	}

	// Snapshot table.
	switch pl.Record.What {
	case backend.SnapSynapses:
		for _, sy := range pl.Record.Synapses {
			snapTab = append(snapTab, 0, uint64(sy.Layer), uint64(sy.Pre), uint64(sy.Post))
		}
	case backend.SnapBlockMeans:
		np := pl.NumPopulations()
		for l, cn := range pl.Connections() {
			if cn == nil {
				continue
			}
			pp, qp := np, np
			switch backend.Layer(l) {
			case backend.LayerInput:
				pp = 1
			case backend.LayerReadout:
				qp = 1
			}
			for x := 0; x < pp; x++ {
				for y := 0; y < qp; y++ {
					snapTab = append(snapTab, 1, uint64(l), uint64(x), uint64(y))
				}
			}
		}
	default:
		for l, cn := range pl.Connections() {
			if cn == nil {
				continue
			}
			a, b := p.Shape.LayerDims(backend.Layer(l))
			for j := 0; j < a; j++ {
				for i := 0; i < b; i++ {
					snapTab = append(snapTab, 0, uint64(l), uint64(j), uint64(i))
				}
			}
		}
	}

	var err error
	if pd.conns, err = upU(connTab, "plasticity tables"); err != nil {
		return pd, err
	}
	if pd.rules, err = upU(pd.ruleTab, "plasticity tables"); err != nil {
		return pd, err
	}
	if pd.avgs, err = upU(avgTab, "plasticity tables"); err != nil {
		return pd, err
	}
	if pd.snaps, err = upU(snapTab, "plasticity tables"); err != nil {
		return pd, err
	}
	pops := make([]uint8, max(N, 1))
	copy(pops, pl.Populations)
	if pd.pops, err = upBytes(unsafe.Pointer(&pops[0]), int64(len(pops)), "plasticity populations"); err != nil {
		return pd, err
	}
	if O > 0 {
		if pd.y, err = zeros(K*B*O, "outputs y"); err != nil {
			return pd, err
		}
	}
	return pd, nil
}

// plasticTableWords is the length of the rule table of pl (rWords per rule).
func plasticTableWords[T backend.Float](pl *backend.Plasticity[T]) int {
	n := 0
	for _, cn := range pl.Connections() {
		if cn != nil {
			n += len(cn.Rules)
		}
	}
	return n * rWords
}

// release frees the device buffers.
func (pd *plasticDev[T]) release(c calls) {
	for _, p := range pd.bufs {
		c.free(p)
	}
	pd.bufs = nil
}

// ruleTables are the rule tables of one segment's update steps, uploaded
// with the segment (the kernel reads the Adam bias corrections c1, c2 from
// the table, and they change every update): the distinct tables one after
// another, and per step of the segment the index of its table, −1 on a step
// without an update.
type ruleTables struct {
	words []uint64
	idx   []int
	n     int // words per table
}

func (t *ruleTables) bytes() int64 {
	if t == nil {
		return 0
	}
	return int64(len(t.words)) * 8
}

func (t *ruleTables) tableBytes() int64 { return int64(t.n) * 8 }

func (t *ruleTables) at(s int) int {
	if t == nil {
		return -1
	}
	return t.idx[s]
}

// segmentTables advances the Adam counters (backend.Step.Advance, on the
// host, as every backend does) over the update steps of steps t0 …
// t0+ns−1 and returns their tables; an update whose table equals the one
// before shares it (without Adam, or once β^n has rounded to 0).
func (pd *plasticDev[T]) segmentTables(t0, ns int) *ruleTables {
	if len(pd.ruleTab) == 0 {
		return nil
	}
	n := len(pd.ruleTab)
	tabs := &ruleTables{idx: make([]int, ns), n: n}
	for s := range ns {
		tabs.idx[s] = -1
		if !pd.pl.Schedule.Updates(t0 + s) {
			continue
		}
		for ri, st := range pd.steps {
			st.Advance()
			pd.ruleTab[ri*rWords+rC1], pd.ruleTab[ri*rWords+rC2] = f64bits(st.C1), f64bits(st.C2)
		}
		if k := len(tabs.words); k == 0 || !slices.Equal(tabs.words[k-n:], pd.ruleTab) {
			tabs.words = append(tabs.words, pd.ruleTab...)
		}
		tabs.idx[s] = len(tabs.words)/n - 1
	}
	return tabs
}

// plasticStep launches the plasticity kernel's phases after step t (the
// segment's s-th, whose error key starts at base) through launch; args are
// the kernel's arguments with the per-step ones still to fill (Rules is
// the step's table). recW0 is the number of snapshots taken before the
// segment.
func (r *run[T]) plasticStep(pd *plasticDev[T], args *kernels.PlasticArgs, t, s int, base uint64, recW0 int,
	launch func(kernel string, t int, grid, block [3]uint32, shmem int, args kernels.Args) error) error {
	p := r.p
	K, B := p.Instances, p.Trials
	pl := p.Plasticity
	upd := pl.Schedule.Updates(t)
	args.Rates = r.r[t&1]
	args.T, args.S = int64(t), int64(s)
	args.Learn, args.Upd = pl.Schedule.Learning(t), b2i64(upd)
	args.Base = base
	phase := func(phase, n int) error {
		if n == 0 {
			return nil
		}
		args.Phase = int64(phase)
		return launch(r.pl.plastic, t, [3]uint32{uint32(ceilDiv(n, plasticThreads)), 1, 1}, [3]uint32{plasticThreads, 1, 1}, 0, *args)
	}
	if pd.nAvgs > 0 {
		if err := phase(0, K*B*pd.D); err != nil {
			return err
		}
	}
	if upd {
		if err := phase(1, K*pd.M*pd.S); err != nil {
			return err
		}
	}
	if st := pl.Record.Stride; st > 0 && t%st == 0 && pd.width > 0 {
		args.Rec = int64(t/st - recW0 - 1)
		if err := phase(2, K*pd.M*pd.width); err != nil {
			return err
		}
	}
	return nil
}

// decodeWeight turns a weight error key (kernels/plastic.cu) into the error
// at step t.
func (pd *plasticDev[T]) decodeWeight(p *backend.Program[T], key uint64, t int) *backend.NonFiniteError {
	cls := key % 4
	key /= 4
	post := key % uint64(pd.Q)
	key /= uint64(pd.Q)
	pre := key % uint64(pd.P)
	key /= uint64(pd.P)
	layer := backend.Layer(key % 3)
	km := key / 3
	k, m := int(km)/pd.M, int(km)%pd.M
	trial := -1
	if pd.pl.PerTrial {
		trial = p.FirstTrial + m
	}
	return &backend.NonFiniteError{Instance: p.FirstInstance + k, Trial: trial, Step: t, Unit: int(post), Pre: int(pre),
		Quantity: layer.String() + " weight", Value: nonFiniteValue(cls)}
}
