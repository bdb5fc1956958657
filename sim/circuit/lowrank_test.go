package circuit

import (
	"math"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/cpu"
)

// lowRankOf is L5's sliding BCM program p (l5Program, l5Plasticity) in
// low-rank form with one factor: the input I(k) = spatial·temporal[k],
// run gathered as a circuit's is.
func lowRankOf(t *testing.T, p L5Params, w0, r0, spatial, temporal []float64) *backend.Program[float64] {
	t.Helper()
	prog := l5Program(p, w0, r0)
	l := l5Plasticity(t, p)
	l.LowRank = &backend.L5LowRank[float64]{Factors: 1, Spatial: spatial, Temporal: temporal}
	prog.Plasticity = &backend.Plasticity[float64]{Schedule: backend.Schedule{Warmup: p.Warmup}, L5: l}
	prog.Sparse = backend.NewSparseDrive(prog.Shape, prog.Drive)
	if err := prog.Validate(); err != nil {
		t.Fatal(err)
	}
	return prog
}

// factorsOf splits the original's input rows (steps × n), S ⊗ c by
// construction (make_l5_circuit.py asserts it), into S = I(0) (c(0) = 1)
// and each step's c(k), the one double with S·c = I(k) bit for bit.
func factorsOf(t *testing.T, in []float64, n int) (spatial, temporal []float64) {
	t.Helper()
	spatial = in[:n]
	big := 0
	for j, s := range spatial {
		if math.Abs(s) > math.Abs(spatial[big]) {
			big = j
		}
	}
	for k := 0; k < len(in)/n; k++ {
		c0 := in[k*n+big] / spatial[big]
		found := false
		for _, c := range []float64{c0, math.Nextafter(c0, 2), math.Nextafter(c0, -2)} {
			exact := true
			for j, s := range spatial {
				exact = exact && s*c == in[k*n+j]
			}
			if exact {
				temporal, found = append(temporal, c), true
				break
			}
		}
		if !found {
			t.Fatalf("the input of step %d is not S·c", k)
		}
	}
	return spatial, temporal
}

// The low-rank form against the original: the default model at full size
// (400 units, 2 500 steps, sliding BCM from step 500, window 642) and the
// small fixtures' sliding BCM runs (all neurons; inhibit_only with L5's
// All_Alter phases), on the CPU backend: rates and weights within 1e-12
// relative of the original's, the bound for "the same numbers".
func TestL5LowRankMatchesOriginal(t *testing.T) {
	t.Run("full", func(t *testing.T) {
		if testing.Short() {
			t.Skip("2 500 steps at 400 units")
		}
		fx, _ := loadNPZ(t, "full.npz")
		p := L5Defaults()
		n, steps := p.Units(), p.Steps()
		spatial, temporal := fx["spatial"], fx["temporal"]
		prog := lowRankOf(t, p, fx["w0"], fx["r0"], spatial, temporal)
		input := fullInput(spatial, temporal)
		run, err := backend.Start(cpu.New(), prog)
		if err != nil {
			t.Fatal(err)
		}
		defer run.Close()
		chunk := backend.NewChunkFor(prog, 0, steps)
		if err := run.Advance(steps, input, chunk); err != nil {
			t.Fatal(err)
		}
		drive := make([]float64, prog.DriveRows()*n)
		if err := backend.Weights(run, drive, nil); err != nil {
			t.Fatal(err)
		}
		W := transpose(drive[:n*n], n)
		var got, gotW []float64
		for _, k := range fx["rate_steps"] {
			got = append(got, chunk.Rates[int(k)*n:(int(k)+1)*n]...)
		}
		for _, i := range fx["w_rows"] {
			gotW = append(gotW, W[int(i)*n:(int(i)+1)*n]...)
		}
		re, we := maxRel(got, fx["rates"]), maxRel(gotW, fx["w_last"])
		t.Logf("max relative difference over %d steps: rates %.3g, final weights %.3g", steps, re, we)
		if re > 1e-12 || we > 1e-12 {
			t.Errorf("rates differ by %.3g, weights by %.3g relative (bound 1e-12)", re, we)
		}
	})
	net, _ := loadNPZ(t, "net.npz")
	n := 18
	spatial, temporal := factorsOf(t, net["inputs"], n)
	for _, tc := range []struct{ name, neurons string }{{"Slide_BCM_euler", "all"}, {"Slide_BCM_euler_inhib_allalter", "inhibit_only"}} {
		t.Run(tc.name, func(t *testing.T) {
			fx, _ := loadNPZ(t, "run_"+tc.name+".npz")
			p := smallFixtureParams(net)
			p.Rule, p.Integrator, p.Neurons = "Slide_BCM", "forward_euler", tc.neurons
			if tc.neurons == "inhibit_only" {
				p.Phases = repeat([]string{"CS", "CC", "PV", "SST", "Rest"}, 10)
			}
			prog := lowRankOf(t, p, net["w0"], net["r0"], spatial, temporal)
			run, err := backend.Start(cpu.New(), prog)
			if err != nil {
				t.Fatal(err)
			}
			defer run.Close()
			keep := map[int]int{}
			for s, k := range fx["steps"] {
				keep[int(k)] = s
			}
			drive := make([]float64, prog.DriveRows()*n)
			var rates []float64
			wErr := 0.0
			for k := range p.Steps() {
				chunk := backend.NewChunkFor(prog, k, 1)
				if err := run.Advance(1, net["inputs"][k*n:(k+1)*n], chunk); err != nil {
					t.Fatalf("step %d: %v", k, err)
				}
				rates = append(rates, chunk.Rates...)
				if s, ok := keep[k]; ok {
					if err := backend.Weights(run, drive, nil); err != nil {
						t.Fatal(err)
					}
					wErr = math.Max(wErr, maxRel(transpose(drive[:n*n], n), fx["w"][s*n*n:(s+1)*n*n]))
				}
			}
			re := maxRel(rates, fx["rates"])
			t.Logf("max relative difference: rates %.3g, weights %.3g", re, wErr)
			if re > 1e-12 || wErr > 1e-12 {
				t.Errorf("rates differ by %.3g, weights by %.3g relative (bound 1e-12)", re, wErr)
			}
		})
	}
}
