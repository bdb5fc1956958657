package circuit

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// Fixtures in testdata come from make_l5_circuit.py, which runs the
// original L5 model's code (commit 5db6801) with numpy and scipy 1.10.

func loadNPZ(t *testing.T, name string) (map[string][]float64, map[string][]int) {
	t.Helper()
	a, err := npz.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, shape := map[string][]float64{}, map[string][]int{}
	for k, v := range a {
		x, err := v.Float64s()
		if err != nil {
			i, err2 := v.Int64s()
			if err2 != nil {
				t.Fatalf("%s: %v", k, err)
			}
			for _, y := range i {
				x = append(x, float64(y))
			}
		}
		f[k], shape[k] = x, v.Shape
	}
	return f, shape
}

// L5Defaults holds debug_config's values, and the derived counts are those
// of the original's SimpleNetwork.
func TestL5DefaultsAreTheOriginalConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		N                                 []int
		DeltaT                            float64 `json:"delta_t"`
		Tau, Ttau                         float64
		Warmup                            int     `json:"number_steps_before_learning"`
		TauLearn                          float64 `json:"tau_learn"`
		TauThreshold                      float64 `json:"tau_threshold"`
		Rule                              string  `json:"learning_rule"`
		Neurons                           string
		Phases                            []string    `json:"phase_list"`
		WTarget                           [][]float64 `json:"w_target"`
		WCompare                          [][]float64 `json:"w_compare"`
		Prob                              [][]float64
		WNoise                            float64 `json:"w_noise"`
		Activation                        string  `json:"nonlinearity_rule"`
		Gamma                             float64
		Integrator                        string
		Degree, Amplitude                 []float64
		SteadyInput                       []float64 `json:"steady_input"`
		SpatialF, TemporalF, SpatialPhase float64
		SimNumber                         int `json:"sim_number"`
		TSteps                            int `json:"tsteps"`
		Window                            int `json:"number_timepoints_plasticity"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	// encoding/json matches "degree" and "amplitude" to Degree and Amplitude
	// case-insensitively; steady_input by its tag.
	p := L5Defaults()
	var sizes []int
	for _, q := range p.Populations {
		sizes = append(sizes, q.Size)
	}
	steady := make([]bool, len(c.SteadyInput))
	for i, v := range c.SteadyInput {
		steady[i] = v > 0.5
	}
	for _, chk := range []struct {
		name      string
		got, want any
	}{
		{"N", sizes, c.N}, {"delta_t", p.Dt, c.DeltaT}, {"tau", p.Tau, c.Tau}, {"Ttau", p.Ttau, c.Ttau},
		{"warm-up", p.Warmup, c.Warmup}, {"tau_learn", p.TauLearn, c.TauLearn}, {"tau_threshold", p.TauThreshold, c.TauThreshold},
		{"rule", p.Rule, c.Rule}, {"neurons", p.Neurons, c.Neurons}, {"phases", p.Phases, c.Phases},
		{"w_target", p.WTarget, c.WTarget}, {"w_compare", p.WCompare, c.WCompare}, {"prob", p.Prob, c.Prob},
		{"w_noise", p.WNoise, c.WNoise}, {"nonlinearity", p.Activation, c.Activation}, {"gamma", p.Gamma, c.Gamma},
		{"integrator", p.Integrator, c.Integrator}, {"degree", p.Degrees, c.Degree}, {"amplitude", p.Amplitude, c.Amplitude},
		{"steady", p.Steady, steady}, {"spatialF", p.SpatialF, c.SpatialF}, {"temporalF", p.TemporalF, c.TemporalF},
		{"spatialPhase", p.SpatialPhase, c.SpatialPhase}, {"sim_number", p.Sims, c.SimNumber},
		{"tsteps", p.Steps(), c.TSteps}, {"window", p.ThresholdWindow(), c.Window},
	} {
		if !reflect.DeepEqual(chk.got, chk.want) {
			t.Errorf("%s: %v, original %v", chk.name, chk.got, chk.want)
		}
	}
	if c.TSteps != 2500 || c.Window != 642 {
		t.Errorf("fixture: tsteps %d, window %d (l5.md: 2500, 642)", c.TSteps, c.Window)
	}
}

func TestL5NetworkIsAssembledFromTheTables(t *testing.T) {
	p := L5Defaults()
	net, err := p.Network(42, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{7, 25, 20, 18}, {0, 16, 17, 4}, {8, 60, 23, 10}, {10, 72, 6, 3}} // l5.md §2, [post][pre]
	for a := range 4 {
		for b := range 4 {
			if net.InDegree[a][b] != want[b][a] {
				t.Errorf("in-degree %d→%d = %d, want %d", a, b, net.InDegree[a][b], want[b][a])
			}
		}
	}
	if s, err := connect.NormalizationScale(net.W, 400, connect.NormalizeMaxReal); err != nil || math.Abs(s-1) > 1e-12 {
		t.Errorf("normalized W has max Re λ %v (%v)", s, err)
	}
	for i, r := range net.R0 {
		if !(r > 0 && r < 1) {
			t.Fatalf("r_0[%d] = %v", i, r)
		}
	}
	// The positions are stimulus.HostDiscPositions of the network's stream.
	x, y := stimulus.HostDiscPositions(42, StreamL5+L5StreamsPerNetwork+l5StreamPositions, 400)
	if !slices.Equal(x, net.X) || !slices.Equal(y, net.Y) {
		t.Error("positions differ from stimulus.DiscPositions on the same stream")
	}
	other, _ := p.Network(42, 2)
	if slices.Equal(other.R0, net.R0) || slices.Equal(other.W, net.W) {
		t.Error("networks 1 and 2 of one seed are the same")
	}
	p.Neurons = "nobody"
	if _, err := p.Network(42, 0); err == nil {
		t.Error("unknown neurons accepted")
	}
}

// The oracle against the original's SimpleNetwork.run: rates and weights
// within 1e-12 relative over 400 steps, for every rule, both integrators,
// the neuron masks and the phase lists.
func TestL5RunMatchesOriginal(t *testing.T) {
	net, _ := loadNPZ(t, "net.npz")
	n := 18
	phases := map[string][]string{"No_Alter": repeat([]string{"all"}, 10), "CC_CS_Alter": repeat([]string{"CS", "CC", "Rest"}, 10),
		"All_Alter": repeat([]string{"CS", "CC", "PV", "SST", "Rest"}, 10)}
	for _, tc := range []struct {
		name, rule, integ, neurons, phases string
	}{
		{"None_euler", "None", "forward_euler", "all", "No_Alter"}, {"None_rk4", "None", "runge_kutta", "all", "No_Alter"},
		{"BCM_euler", "BCM", "forward_euler", "all", "No_Alter"}, {"BCM_rk4", "BCM", "runge_kutta", "all", "No_Alter"},
		{"Slide_BCM_euler", "Slide_BCM", "forward_euler", "all", "No_Alter"}, {"Slide_BCM_rk4", "Slide_BCM", "runge_kutta", "all", "No_Alter"},
		{"Oja_euler", "Oja", "forward_euler", "all", "No_Alter"}, {"Oja_rk4", "Oja", "runge_kutta", "all", "No_Alter"},
		{"Cov_euler", "Cov", "forward_euler", "all", "No_Alter"}, {"Cov_rk4", "Cov", "runge_kutta", "all", "No_Alter"},
		{"BCM_euler_excit_ccalter", "BCM", "forward_euler", "excit_only", "CC_CS_Alter"},
		{"Slide_BCM_euler_inhib_allalter", "Slide_BCM", "forward_euler", "inhibit_only", "All_Alter"},
		{"Oja_rk4_excit", "Oja", "runge_kutta", "excit_only", "No_Alter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx, shape := loadNPZ(t, "run_"+tc.name+".npz")
			p := smallFixtureParams(net)
			p.Rule, p.Integrator, p.Neurons, p.Phases = tc.rule, tc.integ, tc.neurons, phases[tc.phases]
			T := p.Steps()
			if shape["rates"][0] != T || p.ThresholdWindow() != 200 {
				t.Fatalf("%d steps, window %d; fixture %v steps, window 200", T, p.ThresholdWindow(), shape["rates"])
			}
			keep := map[int]bool{}
			for _, k := range fx["steps"] {
				keep[int(k)] = true
			}
			res, err := L5Run{P: p, W0: net["w0"], R0: net["r0"],
				Input: func(k int) []float64 { return net["inputs"][k*n : (k+1)*n] },
				Keep:  func(k int) bool { return keep[k] }}.Run()
			if err != nil {
				t.Fatal(err)
			}
			rateErr := maxRel(res.Rates, fx["rates"])
			wErr := 0.0
			for s, k := range fx["steps"] {
				wErr = math.Max(wErr, maxRel(res.Weights[int(k)], fx["w"][s*n*n:(s+1)*n*n]))
			}
			t.Logf("max relative difference: rates %.3g, weights %.3g", rateErr, wErr)
			if rateErr > 1e-12 || wErr > 1e-12 {
				t.Errorf("rates differ by %.3g, weights by %.3g relative (bound 1e-12)", rateErr, wErr)
			}
		})
	}
}

// smallFixtureParams is L5Defaults at the small fixtures' size (3, 9, 3,
// 3 units) with net.npz's dt, τ, Ttau, warm-up, τ_learn and τ_θ.
func smallFixtureParams(net map[string][]float64) L5Params {
	p := L5Defaults()
	for i, s := range []int{3, 9, 3, 3} {
		p.Populations[i].Size = s
	}
	pr := net["params"]
	p.Dt, p.Tau, p.Ttau, p.Warmup, p.TauLearn, p.TauThreshold = pr[0], pr[1], pr[2], int(pr[3]), pr[4], pr[5]
	return p
}

func repeat(xs []string, k int) []string {
	var out []string
	for _, x := range xs {
		for range k {
			out = append(out, x)
		}
	}
	return out
}

// maxRel is max |a−b| / max(|b|, 1e-300) over entries whose reference is
// not 0, and |a| where it is.
func maxRel(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if b[i] != 0 {
			d /= math.Abs(b[i])
		}
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}

// The default model at full size (400 units, 2 500 steps, sliding BCM from
// step 500 with a 642-sample window), one direction, from the original's
// W0, r_0 and input: the criterion, ≤ 1e-12 relative.
func TestL5RunFullSizeMatchesOriginal(t *testing.T) {
	if testing.Short() {
		t.Skip("2 500 steps at 400 units")
	}
	fx, _ := loadNPZ(t, "full.npz")
	p := L5Defaults()
	n, T := p.Units(), p.Steps()
	spatial, temporal := fx["spatial"], fx["temporal"]
	if len(temporal) != T || len(spatial) != n {
		t.Fatalf("fixture: %d temporal, %d spatial values", len(temporal), len(spatial))
	}
	in := make([]float64, n)
	last := T - 1
	res, err := L5Run{P: p, W0: fx["w0"], R0: fx["r0"],
		Input: func(k int) []float64 {
			for i := range in {
				in[i] = float64(spatial[i] * temporal[k]) // the original's input, bit for bit
			}
			return in
		},
		Keep: func(k int) bool { return k == last }}.Run()
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, k := range fx["rate_steps"] {
		got = append(got, res.Rates[int(k)*n:(int(k)+1)*n]...)
	}
	var gotW []float64
	for _, i := range fx["w_rows"] {
		gotW = append(gotW, res.Weights[last][int(i)*n:(int(i)+1)*n]...)
	}
	re, we := maxRel(got, fx["rates"]), maxRel(gotW, fx["w_last"])
	t.Logf("max relative difference over %d steps: rates %.3g, final weights %.3g", T, re, we)
	if re > 1e-12 || we > 1e-12 {
		t.Errorf("rates differ by %.3g, weights by %.3g relative (bound 1e-12)", re, we)
	}
}
