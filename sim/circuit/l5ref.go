package circuit

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend/dmath"
)

// L5Run is the host-side float64 oracle of the V1 layer-5 model's
// SimpleNetwork.run (the original Jieran-S/L5Neuron_RateModel code), written operation by
// operation in the original's order; the section "The L5 model's
// dynamics" of the package documentation is its specification, and a
// backend's rate-form reference loop must compute the same. It is not the
// backend contract (it is slow, single-threaded and float64 only); it
// checks that specification against the original's runs
// (testdata/make_l5_circuit.py) and is what a conformance fixture for the
// contract can be cross-checked with.
//
// It differs from numpy in three places only, all below 1e-12 relative
// over the fixtures' runs: W·r is summed over j ascending (numpy calls
// OpenBLAS's dgemv), and the sliding threshold's exp and the Simpson sums
// use dmath.Exp (numpy uses its own SIMD exp). With Warmup 0 the first
// update starts from W0; the original fails there (its all_weights is
// still empty).
type L5Run struct {
	// P gives the populations (CS, CC, PV, SST; n_E = CS + CC units are
	// excitatory), the time constants, the rule and the integrator.
	P L5Params
	// W0 is the initial n×n (post, pre) weights, R0 the initial rates.
	W0, R0 []float64
	// Input returns I(k), the input of step k (k = 0 … Steps−1), n values.
	Input func(k int) []float64
	// Keep says which steps' weights to return (nil: none).
	Keep func(k int) bool
}

// L5Result holds the rates r_1 … r_T (T × n, row-major) and the weights
// after the kept steps.
type L5Result struct {
	Rates   []float64
	Weights map[int][]float64
}

type l5state struct {
	p        L5Params
	n, nE    int
	nCS, nCC int
	dt       float64
}

// Run runs the model: for k = 0 … T−1, r_{k+1} from r_k with the weights
// of step k−1, then the weights of step k (see the package documentation).
func (run L5Run) Run() (*L5Result, error) {
	p := run.P
	n := p.Units()
	if len(run.W0) != n*n || len(run.R0) != n || len(p.Populations) != 4 {
		return nil, fmt.Errorf("circuit: L5Run needs 4 populations, W0 n×n and R0 n (n = %d)", n)
	}
	s := l5state{p: p, n: n, nCS: p.Populations[0].Size, nCC: p.Populations[1].Size, dt: p.Dt}
	s.nE = s.nCS + s.nCC
	T := p.Steps()
	L := p.ThresholdWindow()
	hist := [][]float64{append([]float64(nil), run.R0...)}
	w := append([]float64(nil), run.W0...)
	res := &L5Result{Rates: make([]float64, 0, T*n), Weights: map[int][]float64{}}
	for k := 0; k < T; k++ {
		in := run.Input(k)
		r := s.rateStep(hist[len(hist)-1], w, in)
		hist = append(hist, r)
		res.Rates = append(res.Rates, r...)
		if k >= p.Warmup {
			if mode := p.Phases[k%len(p.Phases)]; mode != "Rest" {
				win := hist
				if L > 0 && len(hist) > L {
					win = hist[len(hist)-L:]
				}
				nw, err := s.weightStep(w, win, in, mode)
				if err != nil {
					return nil, err
				}
				w = nw
			}
		}
		if run.Keep != nil && run.Keep(k) {
			res.Weights[k] = append([]float64(nil), w...)
		}
	}
	return res, nil
}

// f is the activation: clip(x, Floor, Ceiling) for γ = 1; otherwise
// max(x, 0) for units below 8 and max(x, 0)^γ above (L5's hard-wired 8).
func (s *l5state) f(x float64, i int) float64 {
	if s.p.Gamma == 1 {
		if math.IsNaN(x) {
			return x
		}
		return math.Min(math.Max(x, s.p.Floor), s.p.Ceiling)
	}
	x = math.Max(x, 0)
	if i < 8 {
		return x
	}
	return dmath.Pow(x, s.p.Gamma)
}

// velocity is F(x) = (1/τ)·((−x) + f(W·x + I)).
func (s *l5state) velocity(x, w, in []float64) []float64 {
	n := s.n
	out := make([]float64, n)
	inv := 1 / s.p.Tau
	for i := range n {
		u := 0.0
		for j, v := range w[i*n : (i+1)*n] {
			u += float64(v * x[j])
		}
		u += in[i]
		out[i] = float64(inv * (-x[i] + s.f(u, i)))
	}
	return out
}

// rk4 is runge_kutta_explicit on a vector: stages x + (0.5·k·dt) and
// x + k3·dt, x + dt·((((1/6)k1 + (1/3)k2) + (1/3)k3) + (1/6)k4), clipped
// below at 0.
func rk4(x []float64, dt float64, F func([]float64) []float64) []float64 {
	stage := func(k []float64, c float64) []float64 {
		y := make([]float64, len(x))
		for i := range x {
			if c == 1 {
				y[i] = x[i] + float64(k[i]*dt)
			} else {
				y[i] = x[i] + float64(float64(c*k[i])*dt)
			}
		}
		return y
	}
	k1 := F(x)
	k2 := F(stage(k1, 0.5))
	k3 := F(stage(k2, 0.5))
	k4 := F(stage(k3, 1))
	out := make([]float64, len(x))
	for i := range x {
		sum := float64(float64(float64(float64(1.0/6.0)*k1[i])+float64(float64(1.0/3.0)*k2[i]))+float64(float64(1.0/3.0)*k3[i])) + float64(float64(1.0/6.0)*k4[i])
		v := x[i] + float64(dt*sum)
		if !(v >= 0) && !math.IsNaN(v) {
			v = 0
		}
		out[i] = v
	}
	return out
}

func (s *l5state) rateStep(x, w, in []float64) []float64 {
	F := func(y []float64) []float64 { return s.velocity(y, w, in) }
	if s.p.Integrator == "runge_kutta" {
		return rk4(x, s.dt, F)
	}
	k := F(x)
	out := make([]float64, s.n)
	for i := range out {
		out[i] = x[i] + float64(s.dt*k[i])
	}
	return out
}

// weightStep integrates the rule once: W + dt·((1/τ_l)·G) (Euler), or RK4
// with G evaluated at the stages (only the Oja variant depends on them).
func (s *l5state) weightStep(w []float64, win [][]float64, in []float64, mode string) ([]float64, error) {
	var theta []float64
	switch s.p.Rule {
	case "BCM":
		theta = thresholdBCM(win)
	case "Slide_BCM":
		theta = thresholdSliding(win, s.dt, 1/s.p.TauThreshold)
	case "None", "Oja", "Cov":
	default:
		return nil, fmt.Errorf("circuit: unknown learning rule %q", s.p.Rule)
	}
	rate := 1 / s.p.TauLearn
	F := func(x []float64) []float64 {
		g := s.change(x, win, in, theta, mode)
		for e := range g {
			g[e] = float64(float64(rate*g[e]) * 1) // × W_structure (all ones)
		}
		return g
	}
	if s.p.Integrator == "runge_kutta" {
		return rk4(w, s.dt, F), nil
	}
	g := F(w)
	out := make([]float64, len(w))
	for e := range out {
		out[e] = w[e] + float64(s.dt*g[e])
	}
	return out, nil
}

// change is the rule's G (n × n, [post i][pre j]) with the inhibitory
// column flip and the masks.
func (s *l5state) change(w []float64, win [][]float64, in, theta []float64, mode string) []float64 {
	n := s.n
	r := win[len(win)-1]
	g := make([]float64, n*n)
	flip := true
	switch s.p.Rule {
	case "None":
		return g
	case "BCM", "Slide_BCM":
		for i := range n {
			a := float64(r[i] * (r[i] - theta[i]))
			for j := range n {
				g[i*n+j] = float64(a*in[j]) / theta[i]
			}
		}
		flip = s.p.Rule == "Slide_BCM"
	case "Oja":
		v := make([]float64, n)
		for j := range n {
			u := 0.0
			for k, x := range w[j*n : (j+1)*n] {
				u += float64(x * r[k])
			}
			v[j] = (r[j] + in[j]) - u
		}
		for i := range n {
			for j := range n {
				g[i*n+j] = float64(r[i] * v[j])
			}
		}
	case "Cov":
		mean := columnMeans(win)
		d := make([]float64, n)
		for i := range n {
			d[i] = r[i] - mean[i]
		}
		for i := range n {
			for j := range n {
				g[i*n+j] = float64(d[i] * d[j])
			}
		}
	}
	zeroRows := func(from, to int) {
		for e := from * n; e < to*n; e++ {
			g[e] = 0
		}
	}
	zeroCols := func(from, to int) {
		for i := range n {
			for j := from; j < to; j++ {
				g[i*n+j] = 0
			}
		}
	}
	nI := n - s.nE
	if flip {
		for i := range n {
			for j := s.nE; j < n; j++ {
				g[i*n+j] = -g[i*n+j]
			}
		}
	}
	switch s.p.Neurons {
	case "excit_only":
		zeroCols(n-nI, n)
		zeroRows(n-nI, n)
	case "inhibit_only":
		zeroCols(0, s.nE)
		zeroRows(0, nI) // L5's slice: the first n_I rows (it meant the last)
	}
	switch mode {
	case "CS":
		zeroRows(s.nCS, n)
	case "CC":
		zeroRows(0, s.nCS)
		zeroRows(n-nI, n)
	}
	return g
}

// columnMeans is np.mean(A, axis=0): each unit's samples added in time
// order, divided by their count.
func columnMeans(win [][]float64) []float64 {
	n := len(win[0])
	m := make([]float64, n)
	copy(m, win[0])
	for _, r := range win[1:] {
		for i, v := range r {
			m[i] += v
		}
	}
	for i := range m {
		m[i] /= float64(len(win))
	}
	return m
}

// thresholdBCM is np.var(A, 0) + np.mean(A, 0)²: var as numpy computes
// it, the squared deviations from the mean added in time order, divided by
// the count.
func thresholdBCM(win [][]float64) []float64 {
	mean := columnMeans(win)
	th := make([]float64, len(mean))
	for i := range th {
		v := 0.0
		for _, r := range win {
			d := r[i] - mean[i]
			v += float64(d * d)
		}
		th[i] = v/float64(len(win)) + float64(mean[i]*mean[i])
	}
	return th
}

// thresholdSliding is (1/τ_θ)·simps(y, dx = dt, axis 0), y_t =
// exp(((t−m+1)·dt)·(1/τ_θ))·A_t² for the m samples of the window, with
// scipy ≤ 1.10's even='avg' for even m (m ≥ 3).
func thresholdSliding(win [][]float64, dt, timescale float64) []float64 {
	m, n := len(win), len(win[0])
	y := make([][]float64, m)
	for t := range m {
		pre := dmath.Exp(float64(float64(float64(t-m+1)*dt) * timescale))
		y[t] = make([]float64, n)
		for i, a := range win[t] {
			y[t][i] = float64(pre * float64(a*a))
		}
	}
	// basic is _basic_simpson over the triples starting at start, start+2,
	// … below stop: Σ (y_t + 4·y_{t+1}) + y_{t+2} in order, times dx/3.
	basic := func(start, stop int) []float64 {
		out := make([]float64, n)
		for t := start; t < stop; t += 2 {
			for i := range n {
				out[i] += float64(y[t][i]+float64(4*y[t+1][i])) + y[t+2][i]
			}
		}
		for i := range out {
			out[i] *= dt / 3
		}
		return out
	}
	th := make([]float64, n)
	if m%2 == 1 {
		res := basic(0, m-2)
		for i := range th {
			th[i] = float64(timescale * res[i])
		}
		return th
	}
	half := float64(0.5 * dt)
	first, second := basic(0, m-3), basic(1, m-2)
	for i := range th {
		val := float64(half * (y[m-1][i] + y[m-2][i]))
		val += float64(half * (y[1][i] + y[0][i]))
		res := (first[i] + second[i]) / 2
		th[i] = float64(timescale * (res + val/2))
	}
	return th
}
