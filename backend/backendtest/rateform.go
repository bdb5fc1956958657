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

// RateCase is a suite case in the rate form (backend.RateForm) or with
// per-unit activations (backend.Program.UnitActivations).
type RateCase struct {
	Case
	// VForm keeps nn4n's v-form and only adds the per-unit activations.
	VForm      bool
	Integrator backend.Integrator
	Clip       bool
	// Ranges names the per-unit activation layout (see rateRanges); ""
	// runs Case.Activation on every unit.
	Ranges string
	// Delays adds synaptic delays up to 3 steps (Euler only).
	Delays bool
	// Chunks are the Advance call sizes the case also runs in (cycled).
	Chunks []int
	// Identity makes the drive a circuit's (package sim/circuit): I = N
	// inputs through the identity, no bias, W sparse, in the sparse form;
	// each unit's input is then the last term of its drive's sum.
	Identity bool
}

func (c RateCase) String() string {
	form := fmt.Sprintf("%v_clip%v", c.Integrator, c.Clip)
	if c.VForm {
		form = "vform"
	}
	name := fmt.Sprintf("%s_%s_ranges-%s_delays%v", form, c.Case, c.Ranges, c.Delays)
	if c.Identity {
		name += "_identity"
	}
	return name
}

// rateRanges returns the per-unit activations named by layout for n units:
// "supra" one supralinear range (L5's floor and ceiling scaled to the
// suite's rates), "power" integer powers 0, 1, 2, 3 and a non-integer one,
// "mixed" supralinear, power laws and the plain activations side by side,
// "l5gamma" L5's γ ≠ 1 mode (units < 8 power 1, the rest power 1.7).
func rateRanges[T backend.Float](layout string, n int) []backend.ActivationRange[T] {
	type ar = backend.ActivationRange[T]
	cut := func(acts []ar) []ar {
		// Split [0, n) into len(acts) near-equal ranges, dropping empty ones.
		var out []ar
		for i, a := range acts {
			a.Start, a.End = i*n/len(acts), (i+1)*n/len(acts)
			if a.End > a.Start {
				out = append(out, a)
			}
		}
		return out
	}
	switch layout {
	case "":
		return nil
	case "supra":
		return []ar{{Start: 0, End: n, Activation: backend.Supralinear, Floor: 0.01, Ceiling: 0.75}}
	case "power":
		return cut([]ar{
			{Activation: backend.PowerLaw, Gain: 0.5, Power: 2},
			{Activation: backend.PowerLaw, Gain: 0.3, Power: 3},
			{Activation: backend.PowerLaw, Gain: 0.7, Power: 0},
			{Activation: backend.PowerLaw, Gain: 1, Power: 1},
			{Activation: backend.PowerLaw, Gain: 0.4, Power: 1.5},
		})
	case "mixed":
		return cut([]ar{
			{Activation: backend.Supralinear, Floor: -0.25, Ceiling: 0.5},
			{Activation: backend.Tanh},
			{Activation: backend.PowerLaw, Gain: 0.5, Power: 2.5},
			{Activation: backend.ReLU},
			{Activation: backend.Sigmoid},
			{Activation: backend.PowerLaw, Gain: 0.25, Power: 4},
			{Activation: backend.Softplus},
			{Activation: backend.ReTanh},
			{Activation: backend.Identity},
		})
	case "l5gamma":
		if n <= 8 {
			return []ar{{Start: 0, End: n, Activation: backend.PowerLaw, Gain: 1, Power: 1}}
		}
		return []ar{{Start: 0, End: 8, Activation: backend.PowerLaw, Gain: 1, Power: 1},
			{Start: 8, End: n, Activation: backend.PowerLaw, Gain: 1, Power: 1.7}}
	}
	panic("backendtest: unknown activation layout " + layout)
}

// NewRateProgram builds the program of c: NewProgram's weights, inputs and
// post-activation noise, in the rate form with Dt = 0.1 and 1/τ drawn in
// [0.4, 1.2] from a stream of its own (no pre-activation noise, no
// recorded states), and the per-unit activations of c.Ranges.
func NewRateProgram[T backend.Float](c RateCase) *backend.Program[T] {
	p := NewProgram[T](c.Case)
	rng := rand.New(rand.NewPCG(c.Seed, 0x7a7e))
	K, N := p.Instances, p.Units
	p.UnitActivations = rateRanges[T](c.Ranges, N)
	if c.Delays {
		d := &backend.Delays{Max: 3, Steps: make([]uint16, K*N*N)}
		for i := range d.Steps {
			d.Steps[i] = uint16(rng.IntN(4))
		}
		p.Delays = d
		if c.Sparse {
			p.Sparse = backend.NewSparseDrive(p.Shape, p.Drive)
		}
	} else if c.Sparse && p.Plasticity == nil {
		p.Sparse = backend.NewSparseDrive(p.Shape, p.Drive)
	}
	if c.Identity {
		if p.Inputs != N || c.Delays || p.Plasticity != nil {
			panic("backendtest: an identity case has I = N and neither delays nor plasticity")
		}
		rows := p.DriveRows()
		for k := 0; k < K; k++ {
			W := p.Drive[k*rows*N : (k+1)*rows*N]
			for e := range N * N {
				if rng.IntN(5) != 0 {
					W[e] = 0
				}
			}
			for j := N; j < rows; j++ { // the identity, then the bias row 0
				for i := 0; i < N; i++ {
					W[j*N+i] = 0
					if j-N == i {
						W[j*N+i] = 1
					}
				}
			}
		}
		p.Sparse = backend.NewSparseDrive(p.Shape, p.Drive)
	}
	if c.VForm {
		return p
	}
	p.Form = backend.RateForm
	p.Rate = &backend.RateDynamics[T]{Integrator: c.Integrator, Dt: 0.1, InvTau: make([]T, K*N), ClipAtZero: c.Clip}
	for i := range p.Rate.InvTau {
		p.Rate.InvTau[i] = T(1 / (0.8 + 1.7*rng.Float64()))
	}
	clear(p.PreNoise)
	p.Record.States = false
	return p
}

// RateCases returns the rate-form cases: both integrators with and without
// the clip, every activation layout and the plain activations, noise, given
// and zero initial rates, shared input, sparse drives, delays (Euler),
// sizes around block edges, plastic weights, and v-form programs with
// per-unit activations.
func RateCases(short bool) []RateCase {
	var cs []RateCase
	seed := uint64(7000)
	acts := backend.Activations()
	add := func(rc RateCase) {
		rc.Seed = seed
		seed++
		if rc.Stride == 0 {
			rc.Stride = 1
		}
		cs = append(cs, rc)
	}
	sh := func(K, B, N, I, O int) backend.Shape {
		return backend.Shape{Instances: K, Trials: B, Units: N, Inputs: I, Outputs: O}
	}
	layouts := []string{"", "supra", "power", "mixed", "l5gamma"}
	steps := 120
	if short {
		steps = 60
	}
	i := 0
	for _, g := range []backend.Integrator{backend.Euler, backend.RK4} {
		for _, clip := range []bool{false, true} {
			for _, l := range layouts {
				n := edges[i%len(edges)]
				if short && n > 64 {
					n = 33
				}
				add(RateCase{Case: Case{Shape: sh(1+i%3, []int{1, 2, 5, 33}[i%4], n, []int{0, 1, 3, 17}[i%4], []int{2, 0, 1, 3}[i%4]),
					Activation: acts[i%len(acts)], Noise: i%2 == 0, Init: i%3 != 1, Shared: i%2 == 1, Sparse: i%4 == 3,
					Stride: 1 + i%3, Steps: steps},
					Integrator: g, Clip: clip, Ranges: l, Chunks: []int{1, 7, 30}})
				i++
			}
		}
	}
	// Euler with delays, dense and gathered.
	add(RateCase{Case: Case{Shape: sh(2, 3, 33, 2, 1), Activation: backend.Tanh, Noise: true, Init: true, Steps: steps},
		Ranges: "mixed", Delays: true, Chunks: []int{2, 5}})
	add(RateCase{Case: Case{Shape: sh(1, 4, 31, 1, 0), Activation: backend.ReLU, Init: true, Sparse: true, Steps: steps},
		Clip: true, Ranges: "supra", Delays: true, Chunks: []int{3}})
	// A circuit's identity input (the stimulus enters unit i as the last
	// term of its drive): four and eight trials in whole groups of four
	// rows, and trials or rows that are not.
	for j, sz := range []struct{ K, B, N int }{{2, 4, 12}, {1, 8, 36}, {1, 5, 16}, {2, 4, 13}} {
		add(RateCase{Case: Case{Shape: sh(sz.K, sz.B, sz.N, sz.N, j%2), Activation: backend.ReLU, Init: true, Shared: j%2 == 1,
			Sparse: true, Stride: 1, Steps: steps}, Integrator: backend.Integrator(j % 2), Clip: j < 2, Ranges: []string{"supra", "l5gamma"}[j%2],
			Identity: true, Chunks: []int{1, 7}})
	}
	// Plastic weights after the rate-form step.
	for j, pc := range PlasticCases(true)[:4] {
		c := pc
		c.Steps = min(c.Steps, steps)
		add(RateCase{Case: c, Integrator: backend.Integrator(j % 2), Clip: j%3 == 0, Ranges: layouts[j%len(layouts)], Chunks: []int{11}})
	}
	// The v-form with per-unit activations.
	for j, l := range layouts[1:] {
		add(RateCase{Case: Case{Shape: sh(2, 1+j, 17+16*j, j, j%3), Activation: backend.Identity, Noise: j%2 == 0, Init: true,
			Shared: j%2 == 1, Sparse: j == 2, Stride: 1, Steps: steps}, VForm: true, Ranges: l, Chunks: []int{4, 9}})
	}
	return cs
}

// RateForm is the entry point for the rate form (backend.RateForm: Euler
// and RK4, the clip at zero) and per-unit activations (supralinear, power
// laws, the plain activations in ranges), in both precisions. On a backend
// that declares them (backend.RateFormCapable) it runs the cases of
// RateCases whole and in chunks of Advance calls and compares them with
// the reference bit for bit, checks that a run that blows up stops with
// the reference's error, and that Validate refuses malformed programs; on
// one that does not, that Start refuses such programs.
func RateForm(t *testing.T, b backend.Backend) {
	if !backend.SupportsRateForm(b) {
		t.Run("refused", func(t *testing.T) {
			bothPrecisions(t, func(t *testing.T) { testNoRateForm[float32](t, b) }, func(t *testing.T) { testNoRateForm[float64](t, b) })
		})
		t.Skipf("%s does not declare the rate form (backend.RateFormCapable): only its refusal is checked", b.Name())
	}
	for _, c := range RateCases(testing.Short()) {
		t.Run("f32/"+c.String(), func(t *testing.T) { testRateCase[float32](t, b, c) })
		t.Run("f64/"+c.String(), func(t *testing.T) { testRateCase[float64](t, b, c) })
	}
	t.Run("nonfinite", func(t *testing.T) {
		bothPrecisions(t, func(t *testing.T) { testRateNonFinite[float32](t, b) }, func(t *testing.T) { testRateNonFinite[float64](t, b) })
	})
	t.Run("validate", func(t *testing.T) {
		bothPrecisions(t, func(t *testing.T) { testRateValidate[float32](t, b) }, func(t *testing.T) { testRateValidate[float64](t, b) })
	})
}

func testRateCase[T backend.Float](t *testing.T, b backend.Backend, c RateCase) {
	failOn(t, CheckRateCase[T](b, c))
}

// CheckRateCase runs c on b whole and in c.Chunks and returns the first
// difference from the reference (or a degenerate case) as an error.
func CheckRateCase[T backend.Float](b backend.Backend, c RateCase) error {
	p := NewRateProgram[T](c)
	in := NewInput(p, c.Steps, c.Seed)
	want, err := RunChunked(backend.Reference, p, in, c.Steps, nil)
	if err != nil {
		return err
	}
	if want.Err != nil {
		return fmt.Errorf("the reference run failed: %v (the case's weights are too large)", want.Err)
	}
	if c.Steps > 2 && allEqual(want.Rates) {
		return fmt.Errorf("degenerate case: every recorded rate equals %v", want.Rates[0])
	}
	runs := [][]int{nil}
	if c.Chunks != nil {
		runs = append(runs, c.Chunks)
	}
	for _, sizes := range runs {
		got, err := RunChunked(b, p, in, c.Steps, sizes)
		if err != nil {
			return err
		}
		if d := Compare(got, want, p.Record.Every()); d != nil {
			return fmt.Errorf("%s vs reference (chunks %v): %s", b.Name(), sizes, d)
		}
	}
	return nil
}

// testRateNonFinite runs rate-form programs whose instance 1 grows
// without bound (a power law on large positive weights) and checks that
// the backend stops where the reference does, with its error.
func testRateNonFinite[T backend.Float](t *testing.T, b backend.Backend) {
	for _, g := range []backend.Integrator{backend.Euler, backend.RK4} {
		c := RateCase{Case: Case{Shape: backend.Shape{Instances: 3, Trials: 4, Units: 17, Inputs: 1, Outputs: 1},
			Activation: backend.Identity, Init: true, Stride: 1, Steps: 400, Seed: 98}, Integrator: g, Ranges: "power"}
		p := NewRateProgram[T](c)
		N, rows := p.Units, p.DriveRows()
		for j := 0; j < rows*N; j++ {
			p.Drive[rows*N+j] = 3
		}
		in := NewInput(p, c.Steps, 7)
		want := Expect(t, b, p, in, c.Steps, []int{37})
		var nf *backend.NonFiniteError
		if !errors.As(want.Err, &nf) || nf.Instance != 1 || nf.Quantity == "state" {
			t.Fatalf("%v: the reference did not stop at a rate or output of instance 1: %v", g, want.Err)
		}
	}
}

// testRateValidate checks that Start refuses malformed rate-form programs
// with an error that names the field.
func testRateValidate[T backend.Float](t *testing.T, b backend.Backend) {
	base := func() *backend.Program[T] {
		return NewRateProgram[T](RateCase{Case: Case{Shape: backend.Shape{Instances: 2, Trials: 2, Units: 6, Inputs: 1, Outputs: 1},
			Activation: backend.Tanh, Stride: 1, Steps: 3, Seed: 11}, Integrator: backend.RK4, Ranges: "mixed"})
	}
	nan := T(math.NaN())
	for _, c := range []struct {
		name, field string
		edit        func(p *backend.Program[T])
	}{
		{"no Rate", "Rate", func(p *backend.Program[T]) { p.Rate = nil }},
		{"Rate in the v-form", "Rate", func(p *backend.Program[T]) { p.Form = backend.VForm }},
		{"unknown form", "Form", func(p *backend.Program[T]) { p.Form = 7 }},
		{"unknown integrator", "Integrator", func(p *backend.Program[T]) { p.Rate.Integrator = 9 }},
		{"zero Dt", "Dt", func(p *backend.Program[T]) { p.Rate.Dt = 0 }},
		{"short InvTau", "InvTau", func(p *backend.Program[T]) { p.Rate.InvTau = p.Rate.InvTau[1:] }},
		{"NaN InvTau", "InvTau", func(p *backend.Program[T]) { p.Rate.InvTau[3] = nan }},
		{"pre-activation noise", "PreNoise", func(p *backend.Program[T]) { p.PreNoise[2] = 0.1 }},
		{"recorded states", "States", func(p *backend.Program[T]) { p.Record.States = true }},
		{"RK4 with delays", "Delays", func(p *backend.Program[T]) {
			p.Delays = &backend.Delays{Max: 1, Steps: make([]uint16, p.Instances*p.Units*p.Units)}
		}},
		{"supralinear without ranges", "Activation", func(p *backend.Program[T]) {
			p.UnitActivations, p.Activation = nil, backend.Supralinear
		}},
		{"power law without ranges", "Activation", func(p *backend.Program[T]) {
			p.UnitActivations, p.Activation = nil, backend.PowerLaw
		}},
		{"gap in the ranges", "UnitActivations", func(p *backend.Program[T]) { p.UnitActivations[1].Start++ }},
		{"ranges short of N", "UnitActivations", func(p *backend.Program[T]) {
			p.UnitActivations = p.UnitActivations[:len(p.UnitActivations)-1]
		}},
		{"ranges past N", "UnitActivations", func(p *backend.Program[T]) { p.UnitActivations[len(p.UnitActivations)-1].End++ }},
		{"floor above ceiling", "Floor", func(p *backend.Program[T]) {
			p.UnitActivations[0] = backend.ActivationRange[T]{Start: 0, End: p.UnitActivations[0].End, Activation: backend.Supralinear, Floor: 1, Ceiling: 0}
		}},
		{"NaN gain", "Gain", func(p *backend.Program[T]) { p.UnitActivations[0].Gain = nan }},
		{"negative power", "Power", func(p *backend.Program[T]) {
			p.UnitActivations[0] = backend.ActivationRange[T]{Start: 0, End: p.UnitActivations[0].End, Activation: backend.PowerLaw, Gain: 1, Power: -1}
		}},
	} {
		p := base()
		if _, err := backend.Start(b, p); err != nil {
			t.Fatalf("the valid base program was refused: %v", err)
		}
		c.edit(p)
		run, err := backend.Start(b, p)
		if err == nil {
			run.Close()
			t.Errorf("%s: Start accepted the program", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %q does not name %s", c.name, err, c.field)
		}
	}
}

// testNoRateForm checks that a backend without the rate form refuses its
// programs, and per-unit activations in the v-form, at Start instead of
// running them as v-form programs.
func testNoRateForm[T backend.Float](t *testing.T, b backend.Backend) {
	for _, c := range []RateCase{
		{Case: Case{Shape: backend.Shape{Instances: 1, Trials: 2, Units: 5, Inputs: 1, Outputs: 1}, Activation: backend.Tanh, Stride: 1, Steps: 3, Seed: 12}, Integrator: backend.RK4},
		{Case: Case{Shape: backend.Shape{Instances: 1, Trials: 2, Units: 5, Inputs: 1, Outputs: 1}, Activation: backend.Tanh, Stride: 1, Steps: 3, Seed: 13}, VForm: true, Ranges: "mixed"},
	} {
		p := NewRateProgram[T](c)
		run, err := backend.Start(b, p)
		if err == nil {
			run.Close()
			t.Errorf("%s: Start accepted a %v program with per-unit activations %v, which it does not declare", b.Name(), p.Form, p.UnitActivations != nil)
		}
	}
}
