package circuit

import (
	"math"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// l5Program lays out the static L5 network (rule None) as a float64
// rate-form backend.Program, as the package doc's "Orientation" explains:
// Drive's recurrent rows are Wᵀ, its input rows the identity (L5's
// W_project), the bias zero; one instance, one trial (one direction).
func l5Program(p L5Params, w0, r0 []float64) *backend.Program[float64] {
	n := p.Units()
	prog := &backend.Program[float64]{
		Shape: backend.Shape{Instances: 1, Trials: 1, Units: n, Inputs: n},
		Form:  backend.RateForm,
		Rate: &backend.RateDynamics[float64]{Dt: p.Dt, InvTau: make([]float64, n),
			ClipAtZero: p.Integrator == "runge_kutta"},
		Init:   append([]float64(nil), r0...),
		Record: backend.Record{Rates: true},
	}
	if p.Integrator == "runge_kutta" {
		prog.Rate.Integrator = backend.RK4
	}
	rows := prog.DriveRows()
	prog.Drive = make([]float64, rows*n)
	for i := range n {
		for j := range n {
			prog.Drive[j*n+i] = w0[i*n+j]
		}
		prog.Drive[(n+i)*n+i] = 1
	}
	for i := range prog.Rate.InvTau {
		prog.Rate.InvTau[i] = 1 / p.Tau
	}
	prog.Decay, prog.Alpha = make([]float64, n), make([]float64, n)
	prog.PreNoise, prog.PostNoise = make([]float64, n), make([]float64, n)
	if p.Gamma == 1 {
		prog.UnitActivations = []backend.ActivationRange[float64]{
			{Start: 0, End: n, Activation: backend.Supralinear, Floor: p.Floor, Ceiling: p.Ceiling}}
	} else {
		// L5's γ ≠ 1 mode: max(x, 0) on its hard-wired units 0–7, max(x, 0)^γ on the rest.
		prog.UnitActivations = []backend.ActivationRange[float64]{
			{Start: 0, End: 8, Activation: backend.PowerLaw, Gain: 1, Power: 1},
			{Start: 8, End: n, Activation: backend.PowerLaw, Gain: 1, Power: p.Gamma}}
	}
	return prog
}

// The rate-form reference loop reproduces L5Run (the oracle checked
// against the original) bit for bit on a static network, with Euler and
// RK4 and both of L5's activations.
func TestRateFormReferenceIsL5Run(t *testing.T) {
	net, _ := loadNPZ(t, "net.npz")
	n := 18
	for _, tc := range []struct {
		name, integ string
		gamma       float64
	}{
		{"euler", "forward_euler", 1}, {"rk4", "runge_kutta", 1},
		{"euler_gamma1.5", "forward_euler", 1.5}, {"rk4_gamma2.5", "runge_kutta", 2.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := L5Defaults()
			for i, s := range []int{3, 9, 3, 3} {
				p.Populations[i].Size = s
			}
			pr := net["params"]
			p.Dt, p.Tau, p.Ttau = pr[0], pr[1], pr[2]
			p.Rule, p.Integrator, p.Gamma = "None", tc.integ, tc.gamma
			T := p.Steps()
			input := func(k int) []float64 { return net["inputs"][k*n : (k+1)*n] }
			want, err := L5Run{P: p, W0: net["w0"], R0: net["r0"], Input: input}.Run()
			if err != nil {
				t.Fatal(err)
			}
			prog := l5Program(p, net["w0"], net["r0"])
			run, err := backend.Start(backend.Reference, prog)
			if err != nil {
				t.Fatal(err)
			}
			defer run.Close()
			in := net["inputs"][:T*n]
			chunk := backend.NewChunkFor(prog, 0, T)
			if err := run.Advance(T, in, chunk); err != nil {
				t.Fatal(err)
			}
			if len(chunk.Rates) != len(want.Rates) {
				t.Fatalf("%d recorded rates, L5Run has %d", len(chunk.Rates), len(want.Rates))
			}
			moved := false
			for i, got := range chunk.Rates {
				if math.Float64bits(got) != math.Float64bits(want.Rates[i]) {
					t.Fatalf("step %d unit %d: reference %v (%#x), L5Run %v (%#x)", i/n+1, i%n,
						got, math.Float64bits(got), want.Rates[i], math.Float64bits(want.Rates[i]))
				}
				moved = moved || got != net["r0"][i%n]
			}
			if !moved {
				t.Fatal("degenerate run: the rates never left r_0")
			}
		})
	}
}
