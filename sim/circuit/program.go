package circuit

import (
	"fmt"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// Program is network net of circuit c as one backend program: the rate
// form τ dr/dt = −r + f(W r + I) with the circuit's integrator, τ per
// population and activation; the directions as trials, every one from the
// network's r_0; the stimulus entering through identity input weights
// (input j drives unit j, so the drive's single ascending sum adds I_i
// after the recurrent part: L5's fl(fl(W·r) + I), see the package
// documentation); and, with a learning rule, the L5 plasticity with
// per-trial weights, so that learning restarts per direction from the same
// W0. The input of step k is the grating's I(k), trials (directions)
// × steps × units, the same for the one instance (SharedInput).
//
// The program is not validated here: backend.Start validates every
// program it starts (Program.Validate, a pass over the whole drive and
// its sparse form, ~10 % of the static example's run when it ran twice);
// a caller that uses the program otherwise validates it first.
func Program[T backend.Float](c *spec.Circuit, p L5Params, net *L5Network) (*backend.Program[T], error) {
	n, D := p.Units(), len(p.Degrees)
	if len(net.W) != n*n || len(net.R0) != n {
		return nil, fmt.Errorf("circuit: network of %d weights and %d rates for %d units", len(net.W), len(net.R0), n)
	}
	prog := &backend.Program[T]{
		Shape:       backend.Shape{Instances: 1, Trials: D, Units: n, Inputs: n},
		Seed:        c.Seed,
		Form:        backend.RateForm,
		SharedInput: true,
		Drive:       make([]T, (2*n+1)*n),
		Decay:       make([]T, n), Alpha: make([]T, n), PreNoise: make([]T, n), PostNoise: make([]T, n),
		Init:   make([]T, D*n),
		Record: backend.Record{Rates: true},
	}
	// W is (post, pre), Drive (pre, post): transposed in tiles, so that
	// neither side is walked at a row's stride for long (the whole
	// transpose at once took ~3 % of the static example's run).
	const tile = 16
	for i0 := 0; i0 < n; i0 += tile {
		for j0 := 0; j0 < n; j0 += tile {
			for i := i0; i < min(i0+tile, n); i++ {
				for j := j0; j < min(j0+tile, n); j++ {
					prog.Drive[j*n+i] = T(net.W[i*n+j])
				}
			}
		}
	}
	for i := 0; i < n; i++ {
		prog.Drive[(n+i)*n+i] = 1
	}
	for d := 0; d < D; d++ {
		for i, r := range net.R0 {
			prog.Init[d*n+i] = T(r)
		}
	}
	rk4 := c.Dynamics.Integrator == "rk4"
	rate := &backend.RateDynamics[T]{Dt: T(p.Dt), InvTau: make([]T, n), ClipAtZero: c.Dynamics.Clip}
	if rk4 {
		rate.Integrator = backend.RK4
	}
	taus := c.Taus()
	u := 0
	for q, pop := range p.Populations {
		inv := T(1 / taus[q]) // fl(1/τ) in float64, then to T
		for range pop.Size {
			rate.InvTau[u] = inv
			u++
		}
	}
	prog.Rate = rate
	a := c.Dynamics.Activation
	r := backend.ActivationRange[T]{Start: 0, End: n}
	switch a.Kind {
	case "supralinear":
		r.Activation, r.Floor, r.Ceiling = backend.Supralinear, T(a.Floor), T(a.Ceiling)
	case "power_law":
		r.Activation, r.Gain, r.Power = backend.PowerLaw, T(a.Gain), T(a.Power)
	default:
		return nil, &spec.Error{File: c.File(), Field: "dynamics.activation.kind", Reason: fmt.Sprintf("unknown activation %q (supralinear or power_law)", a.Kind)}
	}
	prog.UnitActivations = []backend.ActivationRange[T]{r}
	if l := plasticity[T](c, p); l != nil {
		prog.Plasticity = &backend.Plasticity[T]{PerTrial: true, L5: l}
		prog.Plasticity.Schedule.Warmup = p.Warmup
		if c.Plasticity.Update == "low_rank" {
			lr, err := lowRankFactors[T](p.Grating(net), p.Steps())
			if err != nil {
				return nil, &spec.Error{File: c.File(), Field: "plasticity.update", Reason: err.Error()}
			}
			l.LowRank = lr
		}
	}
	if prog.Plasticity == nil || backend.IsL5LowRank(prog) {
		// A static network runs its drive gathered where that pays (the
		// input's identity rows are half the dense product's rows, and W
		// itself is sparse): the same bits (the contract's sum skips zero
		// weights), the backend choosing by density.
		prog.Sparse = sparseDrive[T](net.W, n, 1)
	}
	return prog, nil
}

// sparseDrive is backend.NewSparseDrive of K instances of a circuit's
// drive (Program: Drive[j][i] = T(W[i][j]), then the identity input, no
// bias), built from W's rows, which are already the sparse form's rows in
// its order — a pass over W instead of two over the 2N+1 rows of Drive
// (and its transpose), for every instance alike.
func sparseDrive[T backend.Float](W []float64, n, K int) *backend.SparseDrive[T] {
	rowStart := make([]int32, 0, n+1)
	var col []int32
	var val []T
	for i := 0; i < n; i++ {
		rowStart = append(rowStart, int32(len(col)))
		for j, w := range W[i*n : (i+1)*n] {
			if v := T(w); v != 0 {
				col, val = append(col, int32(j)), append(val, v)
			}
		}
		col, val = append(col, int32(n+i)), append(val, 1)
	}
	e := int32(len(col))
	sp := &backend.SparseDrive[T]{RowStart: make([]int32, 0, K*(n+1)), Col: make([]int32, 0, K*len(col)), Value: make([]T, 0, K*len(val))}
	for k := 0; k < K; k++ {
		for _, r := range rowStart {
			sp.RowStart = append(sp.RowStart, int32(k)*e+r)
		}
		sp.RowStart = append(sp.RowStart, int32(k+1)*e)
		sp.Col, sp.Value = append(sp.Col, col...), append(sp.Value, val...)
	}
	return sp
}

// l5Rules are the circuit file's rule names as backend rules.
var l5Rules = map[string]backend.L5Rule{"bcm": backend.L5BCM, "slide_bcm": backend.L5SlidingBCM,
	"l5_oja": backend.L5Oja, "covariance": backend.L5Covariance}

// plasticity is circuit c's learning rule as the backend's L5Plasticity
// (nil for rule none: the weights stay fixed). The weights integrate with
// the dynamics' integrator and dt, η = fl(1/τ_l), fl(1/τ_θ); the
// inhibitory columns are the units of populations with sign I. Update
// structural leaves W0's absent synapses alone and keep_signs projects
// every weight onto its presynaptic population's sign. With update dense
// and keep_signs false (L5's own setting) the run is L5's exactly: the
// first n_I rows for inhibit_only, as L5 slices them (it meant the
// inhibitory rows, which the other settings use), and RK4's weights
// clipped at 0; its PV and SST phases mask nothing, as L5's.
func plasticity[T backend.Float](c *spec.Circuit, p L5Params) *backend.L5Plasticity[T] {
	pl := c.Plasticity
	if pl == nil {
		return nil
	}
	rule, ok := l5Rules[pl.Rule]
	if !ok {
		return nil
	}
	n := p.Units()
	l5 := pl.Update != "structural" && (pl.KeepSigns == nil || !*pl.KeepSigns)
	l := &backend.L5Plasticity[T]{Rule: rule, Window: p.ThresholdWindow(), Dt: T(p.Dt),
		Eta: T(1 / p.TauLearn), ThetaRate: T(1 / p.TauThreshold), Structural: pl.Update == "structural"}
	if c.Dynamics.Integrator == "rk4" {
		l.Integrator, l.ClipAtZero = backend.L5RK4, l5
	}
	sign := make([]int8, n)
	pop := make([]int, n)
	u := 0
	for q, ps := range p.Populations {
		for range ps.Size {
			sign[u], pop[u] = int8(ps.Sign), q
			u++
		}
	}
	units := func(in func(i int) bool) []bool {
		m := make([]bool, n)
		for i := range m {
			m[i] = in(i)
		}
		return m
	}
	inhibitory := units(func(j int) bool { return sign[j] < 0 })
	excitatory := units(func(j int) bool { return sign[j] > 0 })
	l.Inhibitory = inhibitory
	if pl.KeepSigns != nil && *pl.KeepSigns {
		l.Sign = sign
	}
	switch p.Neurons {
	case "excit_only":
		l.Pre, l.Post = excitatory, excitatory
	case "inhibit_only":
		l.Pre, l.Post = inhibitory, excitatory
		if l5 {
			nI := 0
			for _, s := range sign {
				if s < 0 {
					nI++
				}
			}
			l.Post = units(func(i int) bool { return i >= nI })
		}
	}
	for _, mode := range p.Phases {
		var ph backend.L5Phase
		switch mode {
		case "Rest":
			ph.Rest = true
		case "all":
		default: // a population's name: only its rows learn
			for q, ps := range p.Populations {
				if ps.Name == mode && !(l5 && ps.Sign < 0) { // L5's PV and SST phases mask nothing
					ph.Post = units(func(i int) bool { return pop[i] == q })
				}
			}
		}
		l.Phases = append(l.Phases, ph)
	}
	return l
}

// lowRankFactors are the factors of a counterphase grating's input for the
// low-rank form (backend.L5LowRank): I_i(k) = S_i·c_p(k) with c_p the
// temporal factor of unit i's population p, one factor per distinct
// temporal factor (populations of the same frequency and steadiness
// share one), per direction (the program's trials) S_f the spatial pattern
// on the factor's populations and +0 elsewhere, c_f(t) of step t = k+1.
func lowRankFactors[T backend.Float](g *stimulus.Grating, steps int) (*backend.L5LowRank[T], error) {
	if g.Form != stimulus.GratingCounterphase {
		return nil, fmt.Errorf("the low-rank form needs a counterphase grating (an input S·cos(ω·t)), got form %q", g.Form)
	}
	type key struct {
		freq   float64
		steady bool
	}
	factor := make([]int, len(g.Populations)) // population → factor
	var first []int                           // factor → its first population
	seen := map[key]int{}
	for q, pop := range g.Populations {
		k := key{pop.TemporalFreq, pop.Steady}
		f, ok := seen[k]
		if !ok {
			f = len(first)
			seen[k] = f
			first = append(first, q)
		}
		factor[q] = f
	}
	F, n, D := len(first), g.Units(), len(g.Directions)
	lr := &backend.L5LowRank[T]{Factors: F, Spatial: make([]T, D*F*n), Temporal: make([]T, steps*F)}
	for d := range D {
		S := g.Spatial(d)
		i := 0
		for q, pop := range g.Populations {
			for range pop.Size {
				lr.Spatial[(d*F+factor[q])*n+i] = T(S[i])
				i++
			}
		}
	}
	for k := range steps {
		for f, q := range first {
			lr.Temporal[k*F+f] = T(g.Temporal(q, k))
		}
	}
	return lr, nil
}
