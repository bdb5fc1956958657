package connect

import "math"

// Kernel is a function of distance d ≥ 0: Amp·f(d) with f one of
//
//	gaussian     exp(−d²/(2σ²))
//	exponential  exp(−d/σ)
//	constant     1
//	dist_depd    exp(−d/A)/A − 0.5·exp(−d/B)/B (SPAIC's dist_depd
//	             difference of exponentials; SPAIC's defaults are A = 0.2,
//	             B = 0.4, Amp = −0.1)
//
// Kind "" is no kernel.
type Kernel struct {
	Kind  string  `yaml:"kind"`
	Amp   float64 `yaml:"amp"`
	Sigma float64 `yaml:"sigma,omitempty"`
	A     float64 `yaml:"a,omitempty"`
	B     float64 `yaml:"b,omitempty"`
}

func (k Kernel) check(param string) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(k.Amp) {
		return paramErr(param, "amp must be finite, got %v", k.Amp)
	}
	switch k.Kind {
	case "", "constant":
	case "gaussian", "exponential":
		if !finite(k.Sigma) || k.Sigma <= 0 {
			return paramErr(param, "%s needs sigma > 0, got %v", k.Kind, k.Sigma)
		}
	case "dist_depd":
		if !finite(k.A) || !finite(k.B) || k.A <= 0 || k.B <= 0 {
			return paramErr(param, "dist_depd needs a > 0 and b > 0, got %v, %v", k.A, k.B)
		}
	default:
		return paramErr(param, "unknown kernel %q (gaussian, exponential, constant, dist_depd)", k.Kind)
	}
	return nil
}

// At returns the kernel's value at distance d.
func (k Kernel) At(d float64) float64 {
	switch k.Kind {
	case "gaussian":
		return k.Amp * math.Exp(-d*d/(2*k.Sigma*k.Sigma))
	case "exponential":
		return k.Amp * math.Exp(-d/k.Sigma)
	case "constant":
		return k.Amp
	case "dist_depd":
		return k.Amp * (math.Exp(-d/k.A)/k.A - 0.5*math.Exp(-d/k.B)/k.B)
	}
	return 0
}

// Distance connects units by their distance. The pair (post i, pre j) at
// distance d is a candidate when d ≤ MaxDistance (MaxDistance 0: no limit),
// not excluded (ExcludeSelf: i = j; ExcludeZeroDistance: d = 0, SPAIC's
// zero_self), and it is a synapse with probability Prob.At(d) (StreamSynapse
// at index i·n_pre + j < Prob.At(d); no Prob kernel: always). Its weight is
// Weight.At(d) when Weight has a kernel, else drawn from Init (default
// SPAICNormal, draw index i·n_pre + j, fan_in n_pre). The result is CSR.
//
// Positions: PrePositions[j] and PostPositions[i] (all of one dimension),
// or, when nil, the group's grid: a group shaped (n) puts unit k at
// (k·Spacing); one of two or more dimensions puts the unit at (h·Spacing,
// w·Spacing) from its last two indices (channels share positions). Spacing
// 0 means 1.
//
// Metric "euclidean" (default) or "circular": per dimension the distance is
// min(|Δ|, P − |Δ|) for period P, then the Euclidean norm, as SPAIC's
// dist_depd does (with |Δ| first reduced modulo P, so positions more than a
// period apart wrap too; SPAIC's formula goes negative there). Period gives
// P per dimension; nil means, for grid
// positions, the pre group's grid extent (size·Spacing along that
// dimension).
//
// SPAIC's dist_depd fixes the kernel to dist_depd and thins with a constant
// probability p; Prob{Kind: "constant", Amp: p} with Weight{Kind:
// "dist_depd", …} is that connection.
type Distance struct {
	PrePositions        [][]float64 `yaml:"pre_positions,omitempty"`
	PostPositions       [][]float64 `yaml:"post_positions,omitempty"`
	Spacing             float64     `yaml:"spacing,omitempty"`
	Metric              string      `yaml:"metric,omitempty"`
	Period              []float64   `yaml:"period,omitempty"`
	Weight              Kernel      `yaml:"weight,omitempty"`
	Prob                Kernel      `yaml:"probability,omitempty"`
	Init                Init        `yaml:"init,omitempty"`
	MaxDistance         float64     `yaml:"max_distance,omitempty"`
	ExcludeSelf         bool        `yaml:"exclude_self,omitempty"`
	ExcludeZeroDistance bool        `yaml:"exclude_zero_distance,omitempty"`
	Clamp               Clamp       `yaml:",inline"`
}

func (Distance) Type() string { return "distance" }

func (c Distance) spacing() float64 {
	if c.Spacing == 0 {
		return 1
	}
	return c.Spacing
}

// grid returns the grid positions of a group's units and its extent.
func (c Distance) grid(g Group) (pos [][]float64, extent []float64) {
	s := c.spacing()
	n := g.Size()
	pos = make([][]float64, n)
	if len(g.Shape) == 1 {
		for k := range pos {
			pos[k] = []float64{float64(k) * s}
		}
		return pos, []float64{float64(n) * s}
	}
	h, w := g.Shape[len(g.Shape)-2], g.Shape[len(g.Shape)-1]
	for k := range pos {
		pos[k] = []float64{float64(k/w%h) * s, float64(k%w) * s}
	}
	return pos, []float64{float64(h) * s, float64(w) * s}
}

func (c Distance) positions(pre, post Group) (pp, qp [][]float64, period []float64, err error) {
	pp, extent := c.PrePositions, []float64(nil)
	if pp == nil {
		pp, extent = c.grid(pre)
	}
	qp = c.PostPositions
	if qp == nil {
		qp, _ = c.grid(post)
	}
	if len(pp) != pre.Size() {
		return nil, nil, nil, paramErr("pre_positions", "%d positions for %d pre units", len(pp), pre.Size())
	}
	if len(qp) != post.Size() {
		return nil, nil, nil, paramErr("post_positions", "%d positions for %d post units", len(qp), post.Size())
	}
	dim := -1
	for _, set := range []struct {
		name string
		p    [][]float64
	}{{"pre_positions", pp}, {"post_positions", qp}} {
		for k, x := range set.p {
			if dim < 0 {
				dim = len(x)
			}
			if len(x) != dim || dim == 0 {
				return nil, nil, nil, paramErr(set.name, "position %d has %d coordinates, want %d (all positions of one dimension ≥ 1)", k, len(x), dim)
			}
			for _, v := range x {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, nil, nil, paramErr(set.name, "position %d is not finite", k)
				}
			}
		}
	}
	switch c.Metric {
	case "", "euclidean":
	case "circular":
		period = c.Period
		if period == nil {
			period = extent
		}
		if len(period) != dim && dim > 0 {
			return nil, nil, nil, paramErr("period", "circular distance needs a period per dimension (%d), got %v", dim, period)
		}
		for _, v := range period {
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, nil, nil, paramErr("period", "periods must be finite and > 0, got %v", period)
			}
		}
	default:
		return nil, nil, nil, paramErr("metric", "unknown metric %q (euclidean, circular)", c.Metric)
	}
	return pp, qp, period, nil
}

// dist is the distance between positions a and b: Euclidean, or with each
// coordinate difference wrapped to min(|Δ|, P − |Δ|) when period is set.
func dist(a, b, period []float64) float64 {
	s := 0.0
	for k := range a {
		d := math.Abs(a[k] - b[k])
		if period != nil {
			d = math.Mod(d, period[k])
			d = min(d, period[k]-d)
		}
		s += d * d
	}
	return math.Sqrt(s)
}

func (c Distance) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	if !(c.Spacing >= 0) || math.IsInf(c.Spacing, 0) {
		return paramErr("spacing", "must be finite and ≥ 0, got %v", c.Spacing)
	}
	if _, _, _, err := c.positions(pre, post); err != nil {
		return err
	}
	if err := c.Weight.check("weight"); err != nil {
		return err
	}
	if err := c.Prob.check("probability"); err != nil {
		return err
	}
	if c.Prob.Kind != "" && (c.Prob.Amp < 0 || c.Prob.Amp > 1 || c.Prob.Kind == "dist_depd") {
		return paramErr("probability", "a probability kernel must be gaussian, exponential or constant with amp in [0, 1], got %s with amp %v", c.Prob.Kind, c.Prob.Amp)
	}
	if !(c.MaxDistance >= 0) {
		return paramErr("max_distance", "must be ≥ 0, got %v", c.MaxDistance)
	}
	if c.Weight.Kind == "" {
		if err := c.Init.or(SPAICNormal).check("init", pre.Size()*post.Size(), pre.Size()); err != nil {
			return err
		}
	} else if c.Init.Kind != "" {
		return paramErr("init", "give a weight kernel or an init, not both")
	}
	return c.Clamp.check()
}

func (c Distance) Build(pre, post Group, r Random) (*Matrix, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	pp, qp, period, _ := c.positions(pre, post)
	init := c.Init.or(SPAICNormal)
	if err := checkRandom(r, c.Prob.Kind != "" || c.Weight.Kind == "" && init.random()); err != nil {
		return nil, err
	}
	np, nq := pre.Size(), post.Size()
	b := newCSR(nq, np)
	for i := 0; i < nq; i++ {
		for j := 0; j < np; j++ {
			d := dist(qp[i], pp[j], period)
			switch {
			case c.ExcludeSelf && i == j, c.ExcludeZeroDistance && d == 0, c.MaxDistance > 0 && d > c.MaxDistance:
				continue
			case c.Prob.Kind != "" && !(r.Uniform(StreamSynapse, i*np+j) < c.Prob.At(d)):
				continue
			}
			if c.Weight.Kind != "" {
				b.add(j, c.Weight.At(d))
			} else {
				b.add(j, init.draw(r, StreamWeight, i*np+j, np))
			}
		}
		b.endRow()
	}
	m := &Matrix{Rows: nq, Cols: np, CSR: b.c}
	c.Clamp.Apply(m)
	return m, nil
}
