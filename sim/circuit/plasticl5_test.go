package circuit

import (
	"math"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/cpu"
)

// l5Plasticity expresses p's learning rule as the backend's L5Plasticity,
// as L5 runs it: dense, signs free, the inhibitory columns j ≥ n_E, L5's
// inhibit_only rows, the phase list by absolute step, RK4 clipped at 0.
func l5Plasticity(t *testing.T, p L5Params) *backend.L5Plasticity[float64] {
	t.Helper()
	n := p.Units()
	nCS, nE := p.Populations[0].Size, p.Populations[0].Size+p.Populations[1].Size
	nI := n - nE
	rules := map[string]backend.L5Rule{"None": backend.L5None, "BCM": backend.L5BCM, "Slide_BCM": backend.L5SlidingBCM,
		"Oja": backend.L5Oja, "Cov": backend.L5Covariance}
	rule, ok := rules[p.Rule]
	if !ok {
		t.Fatalf("rule %q", p.Rule)
	}
	l := &backend.L5Plasticity[float64]{Rule: rule, Window: p.ThresholdWindow(), Dt: p.Dt,
		Eta: 1 / p.TauLearn, ThetaRate: 1 / p.TauThreshold}
	if p.Integrator == "runge_kutta" {
		l.Integrator, l.ClipAtZero = backend.L5RK4, true
	}
	units := func(in func(i int) bool) []bool {
		m := make([]bool, n)
		for i := range m {
			m[i] = in(i)
		}
		return m
	}
	l.Inhibitory = units(func(j int) bool { return j >= nE })
	switch p.Neurons {
	case "excit_only":
		l.Pre = units(func(j int) bool { return j < nE })
		l.Post = l.Pre
	case "inhibit_only":
		l.Pre = units(func(j int) bool { return j >= nE })
		l.Post = units(func(i int) bool { return i >= nI }) // L5's rows: it zeroes the first n_I
	}
	for _, mode := range p.Phases {
		var ph backend.L5Phase
		switch mode {
		case "Rest":
			ph.Rest = true
		case "CS":
			ph.Post = units(func(i int) bool { return i < nCS })
		case "CC":
			ph.Post = units(func(i int) bool { return i >= nCS && i < nE })
		}
		l.Phases = append(l.Phases, ph)
	}
	return l
}

// transpose turns L5's (post i, pre j) matrix into the backend's (pre j,
// post i) Drive layout and back (n × n is its own inverse layout).
func transpose(w []float64, n int) []float64 {
	out := make([]float64, n*n)
	for i := range n {
		for j := range n {
			out[j*n+i] = w[i*n+j]
		}
	}
	return out
}

// TestL5PlasticityIsL5Run checks the backend's L5 weight update against
// L5Run, the float64 oracle of the original model, bit for bit, for every
// rule × integrator × mask case of the original's fixtures, after every
// step. The backend's rate form (another change) is not in the contract
// yet, so the backend's dynamics cannot step L5's rates: the update alone
// is replayed on L5Run's recorded rates r_1 … r_T and inputs — the
// window (backend.L5Window, r_0 included), the phase and warm-up gate
// (L5Plasticity.Learns) and L5Plasticity.Update, the code the reference
// loop and the CPU backend both run (the conformance suite checks that
// they feed it the same rates, inputs and windows).
func TestL5PlasticityIsL5Run(t *testing.T) {
	net, _ := loadNPZ(t, "net.npz")
	n := 18
	phases := map[string][]string{"No_Alter": repeat([]string{"all"}, 10), "CC_CS_Alter": repeat([]string{"CS", "CC", "Rest"}, 10),
		"All_Alter": repeat([]string{"CS", "CC", "PV", "SST", "Rest"}, 10)}
	for _, tc := range []struct {
		rule, integ, neurons, phases string
		warmup                       int
	}{
		{"None", "runge_kutta", "all", "No_Alter", -1},
		{"BCM", "forward_euler", "all", "No_Alter", -1}, {"BCM", "runge_kutta", "all", "No_Alter", -1},
		{"Slide_BCM", "forward_euler", "all", "No_Alter", -1}, {"Slide_BCM", "runge_kutta", "all", "No_Alter", -1},
		{"Oja", "forward_euler", "all", "No_Alter", -1}, {"Oja", "runge_kutta", "all", "No_Alter", -1},
		{"Cov", "forward_euler", "all", "No_Alter", -1}, {"Cov", "runge_kutta", "all", "No_Alter", -1},
		{"BCM", "forward_euler", "excit_only", "CC_CS_Alter", -1},
		{"Slide_BCM", "forward_euler", "inhibit_only", "All_Alter", -1},
		{"Oja", "runge_kutta", "excit_only", "No_Alter", -1},
		{"Slide_BCM", "runge_kutta", "all", "CC_CS_Alter", 0}, // learning from step 0: the window of r_0 and r_1
		{"Cov", "forward_euler", "inhibit_only", "All_Alter", 0},
	} {
		name := tc.rule + "_" + tc.integ + "_" + tc.neurons + "_" + tc.phases
		if tc.warmup >= 0 {
			name += "_warmup0"
		}
		t.Run(name, func(t *testing.T) {
			p := smallFixtureParams(net)
			if tc.warmup >= 0 {
				p.Warmup = tc.warmup
			}
			p.Rule, p.Integrator, p.Neurons, p.Phases = tc.rule, tc.integ, tc.neurons, phases[tc.phases]
			steps := p.Steps()
			input := func(k int) []float64 { return net["inputs"][k*n : (k+1)*n] }
			res, err := L5Run{P: p, W0: net["w0"], R0: net["r0"], Input: input, Keep: func(int) bool { return true }}.Run()
			if err != nil {
				t.Fatal(err)
			}
			l5 := l5Plasticity(t, p)
			sched := backend.Schedule{Warmup: p.Warmup}
			w0 := transpose(net["w0"], n)
			w := append([]float64(nil), w0...)
			win := backend.NewL5Window(l5.Window, net["r0"])
			scratch := backend.NewL5Scratch[float64](n)
			updates, changed := 0, 0
			for k := range steps {
				win.Push(res.Rates[k*n : (k+1)*n])
				if st := k + 1; l5.Learns(&sched, st) {
					l5.Update(scratch, w, n, w0, win.Rows(), input(k), st)
					updates++
				}
				want := res.Weights[k]
				got := transpose(w, n)
				for e := range got {
					if math.Float64bits(got[e]) != math.Float64bits(want[e]) {
						t.Fatalf("step %d: weight (post %d, pre %d) = %v (%#x), L5Run %v (%#x)", k, e/n, e%n,
							got[e], math.Float64bits(got[e]), want[e], math.Float64bits(want[e]))
					}
				}
			}
			for e, x := range res.Weights[steps-1] {
				if x != net["w0"][e] {
					changed++
				}
			}
			if updates == 0 || changed == 0 {
				t.Fatalf("degenerate case: %d updates changed %d weights", updates, changed)
			}
			t.Logf("%d steps, %d updates, %d of %d weights changed, every step's weights bit for bit", steps, updates, changed, n*n)
		})
	}
}

// TestL5PlasticProgramIsL5Run runs the whole learning model as a float64
// rate-form backend program with Plasticity.L5 (the network as
// l5Program lays it out: Drive's recurrent rows Wᵀ, the input rows the
// identity), on the reference loop and the CPU backend, and requires
// L5Run's rates and weights bit for bit after every step, for every rule ×
// integrator × mask case of the original's fixtures.
func TestL5PlasticProgramIsL5Run(t *testing.T) {
	net, _ := loadNPZ(t, "net.npz")
	n := 18
	phases := map[string][]string{"No_Alter": repeat([]string{"all"}, 10), "CC_CS_Alter": repeat([]string{"CS", "CC", "Rest"}, 10),
		"All_Alter": repeat([]string{"CS", "CC", "PV", "SST", "Rest"}, 10)}
	for _, tc := range []struct{ rule, integ, neurons, phases string }{
		{"None", "runge_kutta", "all", "No_Alter"},
		{"BCM", "forward_euler", "all", "No_Alter"}, {"BCM", "runge_kutta", "all", "No_Alter"},
		{"Slide_BCM", "forward_euler", "all", "No_Alter"}, {"Slide_BCM", "runge_kutta", "all", "No_Alter"},
		{"Oja", "forward_euler", "all", "No_Alter"}, {"Oja", "runge_kutta", "all", "No_Alter"},
		{"Cov", "forward_euler", "all", "No_Alter"}, {"Cov", "runge_kutta", "all", "No_Alter"},
		{"BCM", "forward_euler", "excit_only", "CC_CS_Alter"},
		{"Slide_BCM", "forward_euler", "inhibit_only", "All_Alter"},
		{"Oja", "runge_kutta", "excit_only", "No_Alter"},
	} {
		for _, b := range []backend.Backend{backend.Reference, cpu.New()} {
			t.Run(tc.rule+"_"+tc.integ+"_"+tc.neurons+"_"+tc.phases+"/"+b.Name(), func(t *testing.T) {
				p := smallFixtureParams(net)
				p.Rule, p.Integrator, p.Neurons, p.Phases = tc.rule, tc.integ, tc.neurons, phases[tc.phases]
				steps := p.Steps()
				input := func(k int) []float64 { return net["inputs"][k*n : (k+1)*n] }
				want, err := L5Run{P: p, W0: net["w0"], R0: net["r0"], Input: input, Keep: func(int) bool { return true }}.Run()
				if err != nil {
					t.Fatal(err)
				}
				prog := l5Program(p, net["w0"], net["r0"])
				prog.Plasticity = &backend.Plasticity[float64]{Schedule: backend.Schedule{Warmup: p.Warmup}, L5: l5Plasticity(t, p)}
				run, err := backend.Start(b, prog)
				if err != nil {
					t.Fatal(err)
				}
				defer run.Close()
				drive := make([]float64, prog.DriveRows()*n)
				for k := range steps {
					chunk := backend.NewChunkFor(prog, k, 1)
					if err := run.Advance(1, input(k), chunk); err != nil {
						t.Fatalf("step %d: %v", k, err)
					}
					for i, got := range chunk.Rates {
						if w := want.Rates[k*n+i]; math.Float64bits(got) != math.Float64bits(w) {
							t.Fatalf("step %d unit %d: rate %v, L5Run %v", k, i, got, w)
						}
					}
					if err := backend.Weights(run, drive, nil); err != nil {
						t.Fatal(err)
					}
					got := transpose(drive[:n*n], n)
					for e, w := range want.Weights[k] {
						if math.Float64bits(got[e]) != math.Float64bits(w) {
							t.Fatalf("step %d: weight (post %d, pre %d) = %v, L5Run %v", k, e/n, e%n, got[e], w)
						}
					}
				}
			})
		}
	}
}

// The full-size default model (400 units, 2 500 Euler steps, sliding BCM
// from step 500 with its 642-sample window) from the original's W0, r_0
// and input, as one rate-form program on the CPU backend: L5Run's rates
// and final weights bit for bit.
func TestL5PlasticProgramFullSizeIsL5Run(t *testing.T) {
	if testing.Short() {
		t.Skip("2 500 steps at 400 units, twice")
	}
	fx, _ := loadNPZ(t, "full.npz")
	p := L5Defaults()
	n, steps := p.Units(), p.Steps()
	spatial, temporal := fx["spatial"], fx["temporal"]
	input := fullInput(spatial, temporal)
	last := steps - 1
	want, err := L5Run{P: p, W0: fx["w0"], R0: fx["r0"], Input: func(k int) []float64 { return input[k*n : (k+1)*n] },
		Keep: func(k int) bool { return k == last }}.Run()
	if err != nil {
		t.Fatal(err)
	}
	prog := l5Program(p, fx["w0"], fx["r0"])
	prog.Plasticity = &backend.Plasticity[float64]{Schedule: backend.Schedule{Warmup: p.Warmup}, L5: l5Plasticity(t, p)}
	run, err := backend.Start(cpu.New(), prog)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	chunk := backend.NewChunkFor(prog, 0, steps)
	if err := run.Advance(steps, input, chunk); err != nil {
		t.Fatal(err)
	}
	for e, got := range chunk.Rates {
		if w := want.Rates[e]; math.Float64bits(got) != math.Float64bits(w) {
			t.Fatalf("step %d unit %d: rate %v, L5Run %v", e/n, e%n, got, w)
		}
	}
	drive := make([]float64, prog.DriveRows()*n)
	if err := backend.Weights(run, drive, nil); err != nil {
		t.Fatal(err)
	}
	got, changed := transpose(drive[:n*n], n), 0
	for e, w := range want.Weights[last] {
		if math.Float64bits(got[e]) != math.Float64bits(w) {
			t.Fatalf("final weight (post %d, pre %d) = %v, L5Run %v", e/n, e%n, got[e], w)
		}
		if w != fx["w0"][e] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("degenerate run: no weight changed")
	}
	t.Logf("%d steps, window %d: rates and final weights bit for bit (%d of %d weights changed)", steps, p.ThresholdWindow(), changed, n*n)
}

// fullInput is full.npz's input, steps × units: spatial·temporal[k], the
// original's input bit for bit.
func fullInput(spatial, temporal []float64) []float64 {
	n := len(spatial)
	input := make([]float64, len(temporal)*n)
	for k, c := range temporal {
		for i, s := range spatial {
			input[k*n+i] = s * c
		}
	}
	return input
}
