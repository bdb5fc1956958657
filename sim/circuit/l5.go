package circuit

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/dmath"
	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// L5Params are the V1 layer-5 model's parameters, named as in its
// configs/debug_config.py (the original Jieran-S/L5Neuron_RateModel code). Tables are
// indexed [pre][post] and populations are CS, CC, PV, SST in that order.
type L5Params struct {
	// Populations are the four populations with their sizes and signs.
	Populations []connect.Population
	// Dt, Tau, Ttau: the step, the rate time constant and the run length in
	// units of τ (Steps = int(Ttau·τ/dt)).
	Dt, Tau, Ttau float64
	// Warmup is number_steps_before_learning: steps before the first
	// weight update.
	Warmup int
	// TauLearn and TauThreshold are τ_l and τ_θ.
	TauLearn, TauThreshold float64
	// Rule is L5's learning_rule name: None, BCM, Slide_BCM, Oja or Cov.
	Rule string
	// Neurons is excit_only, inhibit_only or all; Phases the phase list
	// indexed by the absolute step modulo its length ('all', 'CS', 'CC',
	// 'PV', 'SST', 'Rest').
	Neurons string
	Phases  []string
	// WTarget and Prob are the block tables; WCompare the loss's target;
	// WNoise the per-synapse weight std; BlockNoise the relative std of the
	// randomized block means (0.1 in run_simulation).
	WTarget, Prob, WCompare [][]float64
	WNoise, BlockNoise      float64
	// Normalize is how W is scaled after the draw: connect.NormalizeMaxReal
	// (L5's), NormalizeSpectralRadius or NormalizeNone.
	Normalize string
	// Activation: 'supralinear' with Gamma 1 is clip(x, Floor, Ceiling).
	Activation     string
	Gamma          float64
	Floor, Ceiling float64
	// Integrator is forward_euler or runge_kutta.
	Integrator string
	// The stimulus: directions in degrees, per-population amplitude and
	// steady flag (steady_input > 0.5), spatial and temporal frequency and
	// spatial phase shared by all populations.
	Degrees                           []float64
	Amplitude                         []float64
	Steady                            []bool
	SpatialF, TemporalF, SpatialPhase float64
	// GratingForm is stimulus.GratingCounterphase (L5's) or
	// GratingDrifting; L5Compat the original's time axis and angles (see
	// stimulus.Grating).
	GratingForm string
	L5Compat    bool
	// Sims is sim_number, the networks per run_simulation call.
	Sims int
	// BinWidth is the analysis bins' width in steps (run_simulation's n).
	BinWidth int
	// Randomize, when set, lists the populations (indices) whose block
	// means are randomized instead of those Neurons trains.
	Randomize []int
	// StepCount, when > 0, is the run length in steps instead of L5's
	// int(Ttau·τ/dt) (a circuit file gives steps).
	StepCount int
}

// L5Defaults returns the parameters the original actually runs with:
// ds_os_model.py imports configs/debug_config.py (commit 5db6801); each
// value's line there is given. run_simulation adds the block-mean
// randomization (std 0.1·|w_target|, ds_os_model.py line 105) and the bin
// width 25 (line 164); the activation's floor and ceiling are
// tools.supralinear's clip(x, 0.01, 500) (tools.py line 6).
func L5Defaults() L5Params {
	phases := make([]string, 10)
	for i := range phases {
		phases[i] = "all" // phase_patterns["No_Alter"], lines 40–47
	}
	return L5Params{
		Populations: []connect.Population{{Name: "CS", Size: 45, Sign: 1}, {Name: "CC", Size: 275, Sign: 1},
			{Name: "PV", Size: 46, Sign: -1}, {Name: "SST", Size: 34, Sign: -1}}, // N, line 87; signs: w_initial[-2:] *= -1, ds_os_model.py line 109
		Dt:           0.01,               // delta_t, line 12
		Warmup:       500,                // number_steps_before_learning, line 13
		Tau:          0.1,                // tau, line 25
		Ttau:         250,                // Ttau, line 26
		TauLearn:     1997.467,           // tau_learn, line 27
		TauThreshold: 2.7922382927606537, // tau_threshold, line 28
		Rule:         "Slide_BCM",        // rule_list[2], lines 32–33
		Neurons:      "all",              // neurons_list[2], lines 36–37
		Phases:       phases,
		WTarget: [][]float64{ // w_target, lines 53–56
			{0.27, 0, 1.01, 0.05},
			{0.19, 0.24, 0.48, 0.09},
			{-0.32, -0.52, -0.47, -0.44},
			{-0.19, -0.11, -0.18, -0.19}},
		WCompare: [][]float64{ // w_compare, lines 59–62
			{0.01459867, 0, 0.06143608, 0.00388622},
			{0.00577864, 0.00486622, 0.03568564, 0.00790761},
			{-0.04649947, -0.06677541, -0.07941407, -0.02081662},
			{-0.0333877, -0.00483243, -0.01764006, -0.00642071}},
		Prob: [][]float64{ // prob, lines 65–68
			{0.16, 0, 0.18, 0.23},
			{0.09, 0.06, 0.22, 0.26},
			{0.43, 0.38, 0.5, 0.14},
			{0.52, 0.13, 0.29, 0.1}},
		WNoise:       0.03,                     // w_noise, line 90
		Normalize:    connect.NormalizeMaxReal, // w / max(eigvals(w).real), ds_os_model.py
		BlockNoise:   0.1,
		Activation:   "supralinear", // nonlinearity_rule, line 93
		Gamma:        1,             // gamma, line 94
		Floor:        0.01,
		Ceiling:      500,
		Integrator:   "forward_euler",                    // integrator, line 98
		Degrees:      []float64{0, 90, 180, 270},         // degree, line 103
		Steady:       []bool{false, false, false, false}, // steady_input [0,0,0,0], line 109
		Amplitude:    []float64{6, 5, 10, 5},             // amplitude, line 110
		SpatialF:     10,                                 // spatialF, line 112
		TemporalF:    50,                                 // temporalF, line 113
		SpatialPhase: 1,                                  // spatialPhase, line 114
		GratingForm:  stimulus.GratingCounterphase,       // distributionInput_negative: S·cos(ω·k)
		L5Compat:     true,
		Sims:         5, // sim_number, line 6
		BinWidth:     25,
	}
}

// Steps is L5's T = int((Ttau·τ)/dt), in float64 as Python computes it
// (2500 for the defaults).
// A StepCount > 0 overrides it.
func (p L5Params) Steps() int {
	if p.StepCount > 0 {
		return p.StepCount
	}
	return int(float64(p.Ttau*p.Tau) / p.Dt)
}

// ThresholdWindow is L5's number_timepoints_plasticity L =
// int(−(τ_θ/dt)·ln 0.1), the samples of the rate history its BCM rules see
// (642 for the defaults; the whole history while it is shorter, and also
// when L = 0, by Python's slicing).
func (p L5Params) ThresholdWindow() int {
	return int(float64(-1*(p.TauThreshold/p.Dt)) * dmath.Log(0.1))
}

// Units is the total of units.
func (p L5Params) Units() int {
	n := 0
	for _, q := range p.Populations {
		n += q.Size
	}
	return n
}

// Connectivity is the population connectivity run_simulation builds: block
// means randomized among the populations Neurons trains (excit_only: CS, CC;
// inhibit_only: PV, SST; all: the four), W normalized by its largest real
// eigenvalue part. (L5 takes the randomized set from its config's neurons
// even when run_simulation is given another; here it is p.Neurons.)
func (p L5Params) Connectivity() (connect.PopulationConnectivity, error) {
	var set []int
	switch p.Neurons {
	case "excit_only":
		set = []int{0, 1}
	case "inhibit_only":
		set = []int{2, 3}
	case "all":
		set = []int{0, 1, 2, 3}
	default:
		return connect.PopulationConnectivity{}, fmt.Errorf("circuit: unknown neurons %q (excit_only, inhibit_only, all)", p.Neurons)
	}
	if p.Randomize != nil {
		set = p.Randomize
	}
	return connect.PopulationConnectivity{
		Populations: p.Populations, Weight: p.WTarget, Prob: p.Prob,
		WeightNoise: p.WNoise, BlockNoise: p.BlockNoise, RandomizeBlocks: set,
		Normalize: p.Normalize,
	}, nil
}

// Host streams of the L5 model's draws. spec/streams.go has none for
// circuit models yet, so they are derived here: far above the connection
// streams a spec can reach (spec.StreamConnections + c·NumConnStreams for
// c < 5 million connections), network number s drawing from
// StreamL5 + s·L5StreamsPerNetwork + {connectivity streams, initial rates,
// positions}. They belong in spec/streams.go when circuit specs exist.
const (
	StreamL5             = 1 << 24
	L5StreamsPerNetwork  = connect.NumConnStreams + 2
	l5StreamInitialRates = connect.NumConnStreams
	l5StreamPositions    = connect.NumConnStreams + 1
)

// L5Network is one of run_simulation's networks, drawn from host streams.
type L5Network struct {
	// W is n×n (post, pre), row-major, normalized; Scale what the drawn W
	// was divided by.
	W     []float64
	Scale float64
	// BlockMean and InDegree as connect.PopulationNetwork's.
	BlockMean [][]float64
	InDegree  [][]int
	// R0 are the initial rates, U(0, 1) per unit, shared by every direction.
	R0 []float64
	// X and Y are the positions, uniform in the unit disc (radius
	// √u(2i), angle 2π·u(2i+1), as stimulus.DiscPositions).
	X, Y    []float64
	Offsets []int
}

// Network draws network number sim (0, 1, …, Sims−1) of seed: what
// run_simulation draws from numpy's stream before its direction loop, here
// from the host streams (so not L5's numbers: load W0, r_0 and the positions
// from the original's files to reproduce a run of it).
func (p L5Params) Network(seed uint64, sim int) (*L5Network, error) {
	c, err := p.Connectivity()
	if err != nil {
		return nil, err
	}
	first := StreamL5 + sim*L5StreamsPerNetwork
	net, err := c.Build(connect.HostRandom(seed, first))
	if err != nil {
		return nil, err
	}
	n := p.Units()
	out := &L5Network{W: net.W.ToDense(), Scale: net.Scale, BlockMean: net.BlockMean, InDegree: net.InDegree,
		R0: make([]float64, n), X: make([]float64, n), Y: make([]float64, n), Offsets: net.Offsets}
	for i := range n {
		out.R0[i] = backend.HostUniform(seed, first+l5StreamInitialRates, i)
		u := func(k int) float64 { return backend.HostUniform(seed, first+l5StreamPositions, k) }
		r, t := math.Sqrt(u(2*i)), float64(2*u(2*i+1))
		out.X[i], out.Y[i] = float64(r*dmath.CosPi(t)), float64(r*dmath.SinPi(t))
	}
	return out, nil
}

// Grating is the stimulus of network net: every population's amplitude
// and steady flag, the shared frequencies and phase, the network's
// positions, one condition per direction.
func (p L5Params) Grating(net *L5Network) *stimulus.Grating {
	g := &stimulus.Grating{X: net.X, Y: net.Y, Directions: p.Degrees, Form: p.GratingForm, Dt: p.Dt, L5Compat: p.L5Compat}
	for i, q := range p.Populations {
		g.Populations = append(g.Populations, stimulus.GratingPopulation{Size: q.Size, Amplitude: p.Amplitude[i],
			SpatialFreq: p.SpatialF, TemporalFreq: p.TemporalF, SpatialPhase: p.SpatialPhase, Steady: p.Steady[i]})
	}
	return g
}
