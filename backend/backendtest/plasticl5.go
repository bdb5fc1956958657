package backendtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// L5Case describes a program with the layer-5 model's plasticity
// (backend.L5Plasticity) for the Plasticity entry point.
type L5Case struct {
	Rule       backend.L5Rule
	Integrator backend.L5Integrator
	Window     int // 0: the whole history
	Clip       bool
	Masks      bool // neuron masks (Pre, Post) and the inhibitory flip
	Phases     bool // a cyclic phase list with Rest and row-only phases
	Structural bool
	Signs      bool
	PerTrial   bool // else one trial
	// PerInstance gives every instance its own window, Eta and ThetaRate
	// (L5Plasticity.PerInstance), the first instance's window Window.
	PerInstance bool
	// Rate steps the rates in the rate form (L5's dynamics) with this
	// integrator and the clip at zero, instead of the v-form.
	Rate      bool
	RateInteg backend.Integrator
	Warmup    int
	// Identity makes the input block the identity (u_i drives unit i
	// alone, as in a layer-5 circuit), and some inputs ±0 (L5Input).
	Identity bool
	// LowRank runs the rule in low-rank form (L5Plasticity.LowRank) with
	// two factors drawn from the seed.
	LowRank bool
	K, B, N int
	Steps   int
	Seed    uint64
}

func (c L5Case) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v_int%d_win%d_w%d_%dx%dx%d", c.Rule, c.Integrator, c.Window, c.Warmup, c.K, c.B, c.N)
	for _, f := range []struct {
		on   bool
		name string
	}{{c.Clip, "clip"}, {c.Masks, "masks"}, {c.Phases, "phases"}, {c.Structural, "structural"}, {c.Signs, "signs"}, {c.PerTrial, "pertrial"}, {c.Rate, "rateform"}, {c.PerInstance, "perinstance"}, {c.Identity, "identity"}, {c.LowRank, "lowrank"}} {
		if f.on {
			b.WriteString("_" + f.name)
		}
	}
	return b.String()
}

// L5Cases returns the suite's L5 programs: every rule, Euler and RK4,
// windows shorter and longer than the run, masks, phases with Rest,
// warm-up, dense and structural, signs kept and free, per-trial weights.
func L5Cases() []L5Case {
	bcm, slide, oja, cov, none := backend.L5BCM, backend.L5SlidingBCM, backend.L5Oja, backend.L5Covariance, backend.L5None
	eu, rk := backend.L5Euler, backend.L5RK4
	cs := []L5Case{
		{Rule: bcm, Integrator: eu, Window: 9, Masks: true, K: 2, B: 1, N: 12, Steps: 60},
		{Rule: bcm, Integrator: rk, Window: 0, Clip: true, PerTrial: true, Phases: true, K: 1, B: 3, N: 9, Steps: 50},
		{Rule: slide, Integrator: eu, Window: 10, Masks: true, Warmup: 5, K: 1, B: 2, N: 11, PerTrial: true, Steps: 60},
		{Rule: slide, Integrator: rk, Window: 0, Structural: true, Signs: true, K: 2, B: 1, N: 8, Steps: 41},
		{Rule: slide, Integrator: eu, Window: 200, Phases: true, K: 1, B: 1, N: 7, Steps: 33},
		{Rule: oja, Integrator: eu, Window: 4, Masks: true, Signs: true, K: 1, B: 2, N: 10, PerTrial: true, Steps: 60},
		{Rule: oja, Integrator: rk, Window: 0, Clip: true, Phases: true, Warmup: 7, K: 2, B: 1, N: 9, Steps: 50},
		{Rule: oja, Integrator: rk, Window: 3, Structural: true, Masks: true, K: 1, B: 3, N: 13, PerTrial: true, Steps: 40},
		{Rule: cov, Integrator: eu, Window: 6, Structural: true, Signs: true, Phases: true, K: 2, B: 2, N: 8, PerTrial: true, Steps: 60},
		{Rule: cov, Integrator: rk, Window: 0, Masks: true, K: 1, B: 1, N: 12, Steps: 50},
		{Rule: none, Integrator: rk, Clip: true, K: 1, B: 1, N: 6, Steps: 20},
		{Rule: slide, Integrator: rk, Window: 12, Clip: true, Masks: true, Phases: true, Rate: true, RateInteg: backend.RK4,
			K: 2, B: 2, N: 10, PerTrial: true, Warmup: 4, Steps: 50},
		{Rule: oja, Integrator: eu, Window: 0, Rate: true, RateInteg: backend.Euler, K: 1, B: 1, N: 9, Steps: 40},
		{Rule: slide, Integrator: eu, Window: 6, PerInstance: true, Masks: true, K: 3, B: 2, N: 9, PerTrial: true, Steps: 40},
		{Rule: bcm, Integrator: rk, Window: 0, PerInstance: true, Structural: true, Rate: true, RateInteg: backend.Euler,
			K: 2, B: 2, N: 8, PerTrial: true, Warmup: 3, Steps: 40},
		// The circuits' identity input block, in both forms and with both
		// rate integrators.
		{Rule: slide, Integrator: eu, Window: 0, Identity: true, Rate: true, RateInteg: backend.Euler, Structural: true, Signs: true,
			Phases: true, Warmup: 3, K: 2, B: 2, N: 10, PerTrial: true, Steps: 40},
		{Rule: bcm, Integrator: eu, Window: 5, Identity: true, Masks: true, Rate: true, RateInteg: backend.RK4, K: 1, B: 1, N: 9, Steps: 40},
		{Rule: cov, Integrator: eu, Window: 4, Identity: true, K: 1, B: 3, N: 11, PerTrial: true, Steps: 40},
		// The low-rank form: windows that drop samples and the origin's
		// rebase (runs past L5LowRankRebase samples), the whole history,
		// masks, phases, per-instance rates, both forms and rate
		// integrators.
		{Rule: slide, Integrator: eu, Window: 10, Masks: true, Warmup: 5, LowRank: true, K: 1, B: 2, N: 11, PerTrial: true, Steps: 150},
		{Rule: slide, Integrator: eu, Window: 0, Phases: true, PerInstance: true, LowRank: true, Rate: true, RateInteg: backend.RK4,
			K: 2, B: 2, N: 10, PerTrial: true, Warmup: 4, Steps: 80},
		{Rule: slide, Integrator: eu, Window: 7, Identity: true, Masks: true, LowRank: true, Rate: true, RateInteg: backend.Euler,
			K: 1, B: 1, N: 9, Steps: 140},
	}
	for i := range cs {
		cs[i].Seed = 9100 + uint64(i)
	}
	return cs
}

// NewL5Program builds c's program in T: a v-form network (the rules read
// only the rates, however they were stepped) with I = N and sigmoid rates,
// so BCM's θ stays positive, or with Rate the same network in the rate form
// (L5's dynamics), its r_0 positive.
func NewL5Program[T backend.Float](c L5Case) *backend.Program[T] {
	p := NewProgram[T](Case{Shape: backend.Shape{Instances: c.K, Trials: c.B, Units: c.N, Inputs: c.N},
		Activation: backend.Sigmoid, Init: true, Sparse: c.Structural || c.LowRank && c.Identity, Stride: 1, Steps: c.Steps, Seed: c.Seed})
	rng := rand.New(rand.NewPCG(c.Seed, 0x15))
	N := c.N
	if c.Rate {
		p.Form = backend.RateForm
		p.Rate = &backend.RateDynamics[T]{Integrator: c.RateInteg, Dt: 0.1, InvTau: make([]T, c.K*N), ClipAtZero: true}
		for i := range p.Rate.InvTau {
			p.Rate.InvTau[i] = T(1 / (0.8 + 1.7*rng.Float64()))
		}
		clear(p.PreNoise)
		p.Record.States = false
		for i, x := range p.Init {
			p.Init[i] = T(0.1 + 0.3*math.Abs(float64(x)))
		}
	}
	l5 := &backend.L5Plasticity[T]{Rule: c.Rule, Integrator: c.Integrator, Window: c.Window,
		Dt: T(0.1 + 0.1*rng.Float64()), Eta: T(0.02 + 0.05*rng.Float64()), ThetaRate: T(0.2 + rng.Float64()),
		ClipAtZero: c.Clip, Structural: c.Structural}
	nE := N - N/4
	l5.Inhibitory = make([]bool, N)
	for j := nE; j < N; j++ {
		l5.Inhibitory[j] = true
	}
	mask := func() []bool {
		m := make([]bool, N)
		for i := range m {
			m[i] = rng.IntN(4) != 0
		}
		return m
	}
	if c.Masks {
		l5.Pre, l5.Post = mask(), mask()
	}
	if c.Phases {
		l5.Phases = []backend.L5Phase{{}, {Post: mask()}, {Rest: true}, {Post: mask()}, {Rest: true}}
	}
	if c.PerInstance {
		// Windows shorter and longer than the run, and the whole history.
		for k := 0; k < c.K; k++ {
			l5.PerInstance = append(l5.PerInstance, backend.L5Rates[T]{Window: []int{c.Window, c.Window + 5, 0, 3 * c.Steps}[k%4],
				Eta: T(0.02 + 0.05*rng.Float64()), ThetaRate: T(0.2 + rng.Float64())})
		}
	}
	if c.Signs {
		l5.Sign = make([]int8, N)
		for j := range l5.Sign {
			l5.Sign[j] = 1
			if l5.Inhibitory[j] {
				l5.Sign[j] = -1
			}
		}
	}
	p.Plasticity = &backend.Plasticity[T]{PerTrial: c.PerTrial, Schedule: backend.Schedule{Warmup: c.Warmup}, L5: l5}
	if c.Identity {
		rows := p.DriveRows()
		for k := 0; k < c.K; k++ {
			in := p.Drive[k*rows*N+N*N : k*rows*N+2*N*N]
			for e := range in {
				in[e] = 0
				if e/N == e%N {
					in[e] = 1
				}
			}
		}
	}
	if c.LowRank {
		lr := &backend.L5LowRank[T]{Factors: 2, Spatial: make([]T, c.K*c.B*2*N), Temporal: make([]T, 2*c.Steps)}
		for i := range lr.Spatial {
			lr.Spatial[i] = T(2*rng.Float64() - 1)
		}
		for i := range lr.Temporal {
			lr.Temporal[i] = T(math.Cos(0.7*float64(i/2)+float64(i%2)) + 0.3*rng.Float64())
		}
		l5.LowRank = lr
		if c.Identity {
			// The drive stays W0: run it gathered, as a circuit's (sparse
			// enough for package cpu's gather, ≤ 25 % nonzero).
			rows := p.DriveRows()
			for k := 0; k < c.K; k++ {
				for e := range N * N {
					if rng.IntN(5) != 0 {
						p.Drive[k*rows*N+e] = 0
					}
				}
			}
			p.Sparse = backend.NewSparseDrive(p.Shape, p.Drive)
		}
	}
	return p
}

// L5Input is NewInput for c's program p, with every fifth input +0 or −0
// when c.Identity (the gemm contract skips those terms).
func L5Input[T backend.Float](p *backend.Program[T], c L5Case) []T {
	in := NewInput(p, c.Steps, c.Seed)
	if c.Identity {
		for e := 0; e < len(in); e += 5 {
			in[e] = T(math.Copysign(0, float64(e%2*2-1)))
		}
	}
	return in
}

// refusedL5 reports whether err is b's refusal of the L5 rules, and skips t
// with the reason when it is.
func refusedL5(t *testing.T, b backend.Backend, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), backend.ErrNoL5Plasticity(b.Name()).Error()) {
		if backend.SupportsL5Plasticity(b) {
			t.Fatalf("%s declares the L5 rules (backend.L5PlasticityCapable) but refuses them: %v", b.Name(), err)
		}
		t.Skipf("%s refuses the L5 rules: %v", b.Name(), err)
	}
	if err != nil && strings.Contains(err.Error(), backend.ErrNoL5LowRank(b.Name()).Error()) {
		if backend.SupportsL5LowRank(b) {
			t.Fatalf("%s declares the L5 low-rank form (backend.L5LowRankCapable) but refuses it: %v", b.Name(), err)
		}
		t.Skipf("%s refuses the L5 low-rank form: %v", b.Name(), err)
	}
}

// startsL5 skips t when b refuses p's L5 rules at Start, and fails it on
// any other error.
func startsL5[T backend.Float](t *testing.T, b backend.Backend, p *backend.Program[T]) {
	t.Helper()
	run, err := backend.Start(b, p)
	refusedL5(t, b, err)
	if err != nil && p.Form == backend.RateForm && strings.Contains(err.Error(), backend.ErrNoRateForm(b.Name()).Error()) {
		t.Skipf("%s refuses the rate form: %v", b.Name(), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	run.Close()
}

// testL5 runs the L5 cases (each in both precisions, in uneven chunks),
// a partition of one, and a run whose weights blow up.
func testL5(t *testing.T, b backend.Backend) {
	for _, c := range L5Cases() {
		t.Run("f32/"+c.String(), func(t *testing.T) { testL5Case[float32](t, b, c) })
		t.Run("f64/"+c.String(), func(t *testing.T) { testL5Case[float64](t, b, c) })
	}
	t.Run("f32/partition", func(t *testing.T) { testL5Partition[float32](t, b) })
	t.Run("f64/partition", func(t *testing.T) { testL5Partition[float64](t, b) })
	t.Run("f32/nonfinite", func(t *testing.T) { testL5NonFinite[float32](t, b) })
	t.Run("f64/nonfinite", func(t *testing.T) { testL5NonFinite[float64](t, b) })
}

func testL5Case[T backend.Float](t *testing.T, b backend.Backend, c L5Case) {
	p := NewL5Program[T](c)
	startsL5(t, b, p)
	in := L5Input(p, c)
	want := Expect(t, b, p, in, c.Steps, []int{13, 1, 100})
	if want.Err != nil {
		t.Fatalf("the reference run failed: %v", want.Err)
	}
	moved, M, rows, N := false, p.Matrices(), p.DriveRows(), p.Units
	for k := 0; k < p.Instances; k++ {
		for mb := 0; mb < M; mb++ {
			d := want.Drive[(k*M+mb)*rows*N:]
			for x := 0; x < N*N; x++ {
				moved = moved || Bits(d[x]) != Bits(p.Drive[k*rows*N+x])
			}
		}
	}
	if !moved {
		t.Fatal("degenerate L5 case: no weight changed")
	}
}

// testL5Partition: the windows carry across Advance calls, and trial and
// instance partitions give the whole program's bits.
func testL5Partition[T backend.Float](t *testing.T, b backend.Backend) {
	for _, c := range []L5Case{
		{Rule: backend.L5SlidingBCM, Integrator: backend.L5RK4, Window: 7, Phases: true, Masks: true, Warmup: 3,
			PerTrial: true, PerInstance: true, K: 3, B: 4, N: 9, Steps: 45, Seed: 9300},
		{Rule: backend.L5SlidingBCM, Integrator: backend.L5Euler, Window: 8, Identity: true, Rate: true, RateInteg: backend.Euler,
			Warmup: 2, PerTrial: true, K: 2, B: 3, N: 10, Steps: 30, Seed: 9301},
		{Rule: backend.L5SlidingBCM, Integrator: backend.L5Euler, Window: 8, LowRank: true, Masks: true, Rate: true, RateInteg: backend.Euler,
			Warmup: 2, PerTrial: true, PerInstance: true, K: 2, B: 3, N: 10, Steps: 80, Seed: 9302},
	} {
		p := NewL5Program[T](c)
		startsL5(t, b, p)
		in := L5Input(p, c)
		whole := Expect(t, b, p, in, c.Steps, nil)
		if whole.Err != nil {
			t.Fatalf("%v: the reference run failed: %v", c, whole.Err)
		}
		expectChunks(t, b, p, in, c.Steps, whole, [][]int{{1}, {5, 1, 9}, {0, c.Steps - 1}})
		expectPartitions(t, b, p, in, c.Steps, whole, cutInstances|cutTrials)
	}
}

// testL5NonFinite: a huge learning rate stops the run at the first
// non-finite recurrent weight, as the reference does.
func testL5NonFinite[T backend.Float](t *testing.T, b backend.Backend) {
	c := L5Case{Rule: backend.L5Oja, Integrator: backend.L5Euler, Window: 5, PerTrial: true, K: 2, B: 2, N: 8, Steps: 30, Seed: 9400}
	p := NewL5Program[T](c)
	startsL5(t, b, p)
	huge := 1e30
	if backend.PrecisionOf[T]() == backend.F64 {
		huge = 1e300
	}
	p.Plasticity.L5.Eta = T(huge)
	in := NewInput(p, c.Steps, c.Seed)
	want := Expect(t, b, p, in, c.Steps, []int{4, 9})
	var nf *backend.NonFiniteError
	if !errors.As(want.Err, &nf) || nf.Quantity != "recurrent weight" {
		t.Fatalf("reference: %v, want a recurrent weight error", want.Err)
	}
	// The low-rank form's factors.
	c = L5Case{Rule: backend.L5SlidingBCM, Integrator: backend.L5Euler, Window: 5, LowRank: true, PerTrial: true, K: 2, B: 2, N: 8, Steps: 30, Seed: 9401}
	p = NewL5Program[T](c)
	startsL5(t, b, p)
	p.Plasticity.L5.Eta = T(huge)
	in = NewInput(p, c.Steps, c.Seed)
	want = Expect(t, b, p, in, c.Steps, []int{4, 9})
	if !errors.As(want.Err, &nf) || nf.Quantity != "low-rank weight factor" {
		t.Fatalf("reference: %v, want a low-rank weight factor error", want.Err)
	}
}
