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

// PlasticCase describes the plasticity of a suite case (Case.Plastic).
type PlasticCase struct {
	Layers    []backend.Layer    // the plastic connections
	Kinds     []backend.RuleKind // the rules of each connection, in order
	Optimizer backend.Optimizer
	PerTrial  bool
	Window    int  // running-average window; 0: exponential average
	L5        bool // PreInput (needs I = N) and BCM's division by θ
	Priors    bool // L1 and L2 priors
	SoftBound bool
	Negate    bool
	Dale      bool // a sign per presynaptic unit (and FlipInhibitory on BCM)
	Unbounded bool // no [Min, Max] clamp
	Freeze    bool // FreezeZero
	Growth    bool
	Blocks    bool // populations, population blocks per rule, and phases
	Schedule  bool // warm-up and an update every few steps
	Snapshot  backend.WeightSnapshot
}

func (pc *PlasticCase) String() string {
	var b strings.Builder
	for _, l := range pc.Layers {
		b.WriteString(l.String()[:3])
	}
	for _, k := range pc.Kinds {
		b.WriteString("_" + k.String())
	}
	fmt.Fprintf(&b, "_%v", pc.Optimizer)
	for _, f := range []struct {
		on   bool
		name string
	}{{pc.PerTrial, "pertrial"}, {pc.L5, "l5"}, {pc.Priors, "priors"}, {pc.SoftBound, "soft"}, {pc.Negate, "neg"},
		{pc.Dale, "dale"}, {pc.Unbounded, "unbounded"}, {pc.Freeze, "freeze"}, {pc.Growth, "growth"},
		{pc.Blocks, "blocks"}, {pc.Schedule, "sched"}} {
		if f.on {
			b.WriteString("_" + f.name)
		}
	}
	fmt.Fprintf(&b, "_win%d_snap%d", pc.Window, pc.Snapshot)
	return b.String()
}

// addPlasticity gives p the plasticity of pc, drawn from its own stream so
// the static part of the program is the same as without it.
func addPlasticity[T backend.Float](p *backend.Program[T], pc *PlasticCase, steps int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x9a5))
	s := p.Shape
	K, N := s.Instances, s.Units
	pl := &backend.Plasticity[T]{PerTrial: pc.PerTrial}
	P := 1
	if pc.Blocks {
		P = 3
		pl.Populations = make([]uint8, N)
		for i := range pl.Populations {
			pl.Populations[i] = uint8(rng.IntN(P))
		}
		pl.Schedule.Phases = []backend.Phase{{Start: 1, Learn: 0b011}, {Start: steps / 3, Learn: 0b110}, {Start: 2 * steps / 3, Learn: 0b111}}
	}
	if pc.Schedule {
		pl.Schedule.Warmup, pl.Schedule.Every = 3+rng.IntN(15), 1+rng.IntN(4)
	}
	popMask := func() uint64 {
		if !pc.Blocks || rng.IntN(3) == 0 {
			return 0
		}
		return uint64(1 + rng.IntN(1<<P-1))
	}
	rows := s.DriveRows()
	var layers []*backend.Connection[T]
	for _, l := range pc.Layers {
		a, b := s.LayerDims(l)
		c := &backend.Connection[T]{FreezeZero: pc.Freeze}
		// The weights of connection l of instance k: (j, i) at W[k][j*ld+i].
		view := func(k int) ([]T, int) {
			if l == backend.LayerReadout {
				return backend.LayerView(s, l, nil, p.Readout[k*(N+1)*s.Outputs:])
			}
			return backend.LayerView(s, l, p.Drive[k*rows*N:], nil)
		}
		big := T(0)
		for k := 0; k < K; k++ {
			w, ld := view(k)
			for j := 0; j < a; j++ {
				for i := 0; i < b; i++ {
					big = max(big, T(math.Abs(float64(w[j*ld+i]))))
				}
			}
		}
		if big == 0 {
			big = 0.1
		}
		if pc.Dale {
			c.Sign = make([]int8, K*a)
			for x := range c.Sign {
				c.Sign[x] = 1
				if rng.IntN(5) == 0 {
					c.Sign[x] = -1
				}
			}
			for k := 0; k < K; k++ {
				w, ld := view(k)
				for j := 0; j < a; j++ {
					for i := 0; i < b; i++ {
						if x := &w[j*ld+i]; (*x < 0) != (c.Sign[k*a+j] < 0) {
							*x = -*x
						}
					}
				}
			}
		}
		if !pc.Unbounded {
			c.Bounded, c.Min, c.Max = true, -2*big, 2*big
		}
		c.Scale = make([]T, K*a*b)
		for x := range c.Scale {
			if rng.IntN(5) != 0 {
				c.Scale[x] = T(0.5 + rng.Float64())
			}
		}
		if pc.Growth {
			c.Growth, c.GrowWeight = make([]T, K*a*b), make([]T, K*a*b)
			for x := range c.Growth {
				if rng.IntN(2) == 0 {
					c.Growth[x] = T(0.05 * rng.Float64())
					c.GrowWeight[x] = T(float64(big) * (2*rng.Float64() - 1))
				}
			}
		}
		for _, kind := range pc.Kinds {
			r := backend.Rule[T]{Kind: kind, Optimizer: pc.Optimizer, Negate: pc.Negate && rng.IntN(2) == 0,
				PreWeight: T(0.5 + rng.Float64()), PostWeight: T(0.5 + rng.Float64())}
			lr := map[backend.RuleKind]float64{backend.Hebbian: 2e-3, backend.BCM: 2e-3, backend.Oja: 1e-2, backend.Covariance: 1e-2}[kind]
			if pc.Optimizer == backend.Adam {
				lr = float64(big) * 0.01
				r.Beta1, r.Beta2, r.Epsilon = 0.9, 0.999, T(1e-6)
			}
			r.Rate = make([]T, K)
			for k := range r.Rate {
				r.Rate[k] = T(lr * (0.5 + rng.Float64()))
			}
			if l != backend.LayerInput {
				r.PrePops = popMask()
			}
			if l != backend.LayerReadout {
				r.PostPops = popMask()
			}
			if pc.Priors {
				r.L1, r.L2 = T(1e-3*rng.Float64()), T(1e-2*rng.Float64())
			}
			if pc.SoftBound {
				r.SoftBound = 2 * big
			}
			r.FlipInhibitory = pc.Dale && kind == backend.BCM
			r.PreInput = pc.L5 && l != backend.LayerInput
			r.DivideByTheta = pc.L5 && kind == backend.BCM
			r.Average = backend.Average[T]{Window: pc.Window}
			if pc.Window == 0 {
				r.Average.Coef, r.Average.Init = T(0.05+0.2*rng.Float64()), T(0.1+0.5*rng.Float64())
			}
			c.Rules = append(c.Rules, r)
		}
		switch l {
		case backend.LayerRecurrent:
			pl.Recurrent = c
		case backend.LayerInput:
			pl.Input = c
		case backend.LayerReadout:
			pl.Readout = c
		}
		layers = append(layers, c)
	}
	pl.Record = backend.WeightRecord{Stride: 1 + rng.IntN(5), What: pc.Snapshot}
	if pc.Snapshot == backend.SnapSynapses {
		for n := 0; n < 6; n++ {
			l := pc.Layers[rng.IntN(len(pc.Layers))]
			a, b := s.LayerDims(l)
			pl.Record.Synapses = append(pl.Record.Synapses, backend.Synapse{Layer: l, Pre: rng.IntN(a), Post: rng.IntN(b)})
		}
	}
	p.Plasticity = pl
}

// PlasticCases returns the suite's plastic programs: every rule, optimizer,
// prior, bound, growth and schedule option, shared and per-trial weights,
// at sizes around block edges.
func PlasticCases(short bool) []Case {
	H, B, O, C := backend.Hebbian, backend.BCM, backend.Oja, backend.Covariance
	rec, in, out := backend.LayerRecurrent, backend.LayerInput, backend.LayerReadout
	acts := []backend.Activation{backend.Tanh, backend.Sigmoid, backend.ReTanh, backend.Tanh}
	type pc = PlasticCase
	var cs []Case
	seed := uint64(5000)
	add := func(s backend.Shape, steps int, p pc) {
		cs = append(cs, Case{Shape: s, Activation: acts[len(cs)%len(acts)], Noise: len(cs)%2 == 0, Init: len(cs)%3 != 2,
			Shared: len(cs)%4 == 1, Sparse: p.Freeze || p.Growth || len(cs)%5 == 3, Stride: 1 + len(cs)%3, Steps: steps, Seed: seed, Plastic: &p})
		seed++
	}
	sh := func(K, Bt, N, I, O int) backend.Shape {
		return backend.Shape{Instances: K, Trials: Bt, Units: N, Inputs: I, Outputs: O}
	}
	add(sh(2, 5, 33, 2, 2), 300, pc{Layers: []backend.Layer{rec}, Kinds: []backend.RuleKind{H}, SoftBound: true, Priors: true, Dale: true})
	add(sh(3, 3, 32, 3, 2), 250, pc{Layers: []backend.Layer{in, out}, Kinds: []backend.RuleKind{H}, Optimizer: backend.Adam, PerTrial: true, Priors: true, Negate: true, Snapshot: backend.SnapSynapses})
	add(sh(2, 4, 31, 1, 1), 300, pc{Layers: []backend.Layer{rec}, Kinds: []backend.RuleKind{B}, Window: 7, Dale: true})
	add(sh(2, 4, 17, 17, 1), 300, pc{Layers: []backend.Layer{rec}, Kinds: []backend.RuleKind{B}, L5: true, PerTrial: true})
	add(sh(1, 6, 33, 3, 0), 300, pc{Layers: []backend.Layer{in}, Kinds: []backend.RuleKind{O}, Unbounded: true})
	add(sh(2, 3, 8, 8, 2), 300, pc{Layers: []backend.Layer{rec, out}, Kinds: []backend.RuleKind{O}, L5: true, PerTrial: true, Snapshot: backend.SnapBlockMeans})
	add(sh(2, 5, 33, 2, 1), 300, pc{Layers: []backend.Layer{rec}, Kinds: []backend.RuleKind{C}, Window: 5, Freeze: true})
	add(sh(3, 2, 16, 2, 3), 300, pc{Layers: []backend.Layer{out}, Kinds: []backend.RuleKind{C}, Optimizer: backend.Adam, PerTrial: true})
	add(sh(2, 4, 32, 2, 1), 300, pc{Layers: []backend.Layer{rec}, Kinds: []backend.RuleKind{H}, Growth: true, Freeze: true, Dale: true})
	add(sh(2, 3, 20, 5, 1), 300, pc{Layers: []backend.Layer{in}, Kinds: []backend.RuleKind{C, H}, Growth: true, PerTrial: true, Window: 3})
	add(sh(2, 5, 30, 2, 2), 300, pc{Layers: []backend.Layer{rec, out}, Kinds: []backend.RuleKind{H, B}, Blocks: true, Schedule: true, Dale: true, Snapshot: backend.SnapBlockMeans})
	add(sh(1, 4, 24, 3, 2), 300, pc{Layers: []backend.Layer{rec, in, out}, Kinds: []backend.RuleKind{O, C}, Blocks: true, Schedule: true, Optimizer: backend.Adam, Priors: true, SoftBound: true, Snapshot: backend.SnapSynapses})
	add(sh(1, 1, 1, 1, 1), 200, pc{Layers: []backend.Layer{rec, in, out}, Kinds: []backend.RuleKind{H, B, O, C}, Schedule: true})
	add(sh(33, 2, 3, 1, 1), 120, pc{Layers: []backend.Layer{rec}, Kinds: []backend.RuleKind{B}, Optimizer: backend.Adam, PerTrial: true, Growth: true, Freeze: true})
	add(sh(1, 33, 40, 2, 2), 120, pc{Layers: []backend.Layer{rec}, Kinds: []backend.RuleKind{O}, Priors: true, Schedule: true, Snapshot: backend.SnapBlockMeans})
	n := 129
	steps := 40
	if short {
		n, steps = 65, 12
	}
	add(sh(1, 3, n, 4, 2), steps, pc{Layers: []backend.Layer{rec, in}, Kinds: []backend.RuleKind{H}, Optimizer: backend.Adam, Dale: true, Growth: true})
	add(sh(1, 2, n, 4, 1), steps, pc{Layers: []backend.Layer{rec}, Kinds: []backend.RuleKind{C}, PerTrial: true, Blocks: true})
	return cs
}

// Plasticity is the entry point for plastic programs. On a backend that
// supports them (backend.FeaturePlasticity) it runs the cases of
// PlasticCases in both precisions in uneven chunks of steps, checks that
// weights that blow up stop the run with the reference's error, and checks
// partition invariance: chunks of steps, instance partitions, and for
// per-trial weights trial partitions too; then the L5 rules (L5Cases,
// skipped with the reason on a backend that refuses them). On one that does not, it checks
// that Start refuses a plastic program with backend.ErrNoPlasticity rather
// than running it as a static one.
func Plasticity(t *testing.T, b backend.Backend) {
	if !backend.Supports(b, backend.FeaturePlasticity) {
		t.Run("refused", func(t *testing.T) { testNoPlasticity(t, b) })
		t.Logf("%s declares no plasticity support: plastic cases skipped", b.Name())
		return
	}
	for _, c := range PlasticCases(testing.Short()) {
		t.Run("f32/"+c.String(), func(t *testing.T) { testPlasticCase[float32](t, b, c) })
		t.Run("f64/"+c.String(), func(t *testing.T) { testPlasticCase[float64](t, b, c) })
	}
	t.Run("f32/nonfinite", func(t *testing.T) { testPlasticNonFinite[float32](t, b) })
	t.Run("f64/nonfinite", func(t *testing.T) { testPlasticNonFinite[float64](t, b) })
	t.Run("f32/partition", func(t *testing.T) { testPlasticPartition[float32](t, b) })
	t.Run("f64/partition", func(t *testing.T) { testPlasticPartition[float64](t, b) })
	t.Run("l5", func(t *testing.T) { testL5(t, b) })
}

// testPlasticCase runs one plastic case and checks that its weights moved.
func testPlasticCase[T backend.Float](t *testing.T, b backend.Backend, c Case) {
	p := NewProgram[T](c)
	in := NewInput(p, c.Steps, c.Seed)
	want := Expect(t, b, p, in, c.Steps, []int{37, 1, 100})
	if want.Err != nil {
		t.Fatalf("the reference run failed: %v (the case's learning rates are too large)", want.Err)
	}
	moved := false
	M := p.Matrices()
	rows, N, O := p.DriveRows(), p.Units, p.Outputs
	for k := 0; k < p.Instances && !moved; k++ {
		for mb := 0; mb < M && !moved; mb++ {
			d := want.Drive[(k*M+mb)*rows*N : (k*M+mb+1)*rows*N]
			r := want.Readout[(k*M+mb)*(N+1)*O : (k*M+mb+1)*(N+1)*O]
			for x := range d {
				moved = moved || Bits(d[x]) != Bits(p.Drive[k*rows*N+x])
			}
			for x := range r {
				moved = moved || Bits(r[x]) != Bits(p.Readout[k*(N+1)*O+x])
			}
		}
	}
	if !moved {
		t.Fatal("degenerate plastic case: no weight changed")
	}
}

// testNoPlasticity checks that a backend without plasticity support says so
// at Start instead of running a plastic program as a static one.
func testNoPlasticity(t *testing.T, b backend.Backend) {
	c := PlasticCases(true)[0]
	p := NewProgram[float32](c)
	_, err := backend.Start(b, p)
	if err == nil || err.Error() != backend.ErrNoPlasticity(b.Name()).Error() {
		t.Fatalf("Start of a plastic program on %s = %v, want %q", b.Name(), err, backend.ErrNoPlasticity(b.Name()))
	}
}

// testPlasticNonFinite gives instance 1 learning rates that blow its
// weights up: the run stops with the reference's error, the first
// non-finite weight in the contract's order, whole and as parts.
func testPlasticNonFinite[T backend.Float](t *testing.T, b backend.Backend) {
	for _, perTrial := range []bool{false, true} {
		t.Run(fmt.Sprintf("pertrial=%v", perTrial), func(t *testing.T) {
			c := Case{Shape: backend.Shape{Instances: 3, Trials: 4, Units: 20, Inputs: 2, Outputs: 2},
				Activation: backend.Tanh, Noise: true, Init: true, Sparse: true, Stride: 2, Steps: 60, Seed: 31,
				Plastic: &PlasticCase{Layers: []backend.Layer{backend.LayerRecurrent, backend.LayerInput, backend.LayerReadout},
					Kinds: []backend.RuleKind{backend.Covariance, backend.Hebbian}, PerTrial: perTrial,
					Unbounded: true, Growth: true, Dale: true, Window: 4}}
			p := NewProgram[T](c)
			huge := 1e30
			if backend.PrecisionOf[T]() == backend.F64 {
				huge = 1e305
			}
			for _, cn := range p.Plasticity.Connections() {
				for ri := range cn.Rules {
					cn.Rules[ri].Rate[1] = T(huge)
				}
			}
			in := NewInput(p, c.Steps, 3)
			want := Expect(t, b, p, in, c.Steps, []int{5, 17})
			var nf *backend.NonFiniteError
			if !errors.As(want.Err, &nf) || nf.Instance != 1 || nf.Quantity == "state" {
				t.Fatalf("reference: %v, want a weight error at instance 1", want.Err)
			}
			pt, err := backend.Split(p, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := RunPartitioned(b, pt, in, c.Steps, []int{20})
			if err != nil {
				t.Fatal(err)
			}
			if d := Compare(got, want, p.Record.Every()); d != nil {
				t.Fatalf("%s as one instance per part vs reference: %s", b.Name(), d)
			}
		})
	}
}

// testPlasticPartition runs plastic programs in uneven chunks of steps and
// as partitions of instances (and of trials when weights are per trial),
// and requires the same bits.
func testPlasticPartition[T backend.Float](t *testing.T, b backend.Backend) {
	for _, perTrial := range []bool{false, true} {
		t.Run(fmt.Sprintf("pertrial=%v", perTrial), func(t *testing.T) {
			c := Case{Shape: backend.Shape{Instances: 4, Trials: 5, Units: 20, Inputs: 2, Outputs: 2},
				Activation: backend.Tanh, Noise: true, Init: true, Sparse: true, Stride: 2, Steps: 120, Seed: 777,
				Plastic: &PlasticCase{Layers: []backend.Layer{backend.LayerRecurrent, backend.LayerReadout},
					Kinds: []backend.RuleKind{backend.Hebbian, backend.BCM}, Optimizer: backend.Adam, PerTrial: perTrial,
					Growth: true, Dale: true, Blocks: true, Schedule: true, Snapshot: backend.SnapWhole}}
			p := NewProgram[T](c)
			in := NewInput(p, c.Steps, 12)
			whole := Expect(t, b, p, in, c.Steps, nil)
			if whole.Err != nil {
				t.Fatalf("the reference run failed: %v", whole.Err)
			}
			expectChunks(t, b, p, in, c.Steps, whole, [][]int{{1}, {7, 1, 30}, {0, 119}})
			cuts := cutInstances // shared weights: never the trials
			if perTrial {
				cuts = cutTrials
			}
			expectPartitions(t, b, p, in, c.Steps, whole, cuts)
		})
	}
}
