package connect

import (
	"math"
	"strings"
)

// Connection is a connection builder: parameters of one connection type.
// Build is a pure function of the parameters, the two groups and the
// Random; Check reports the parameter errors Build would (as *ParamError
// naming the parameter) without drawing anything. The matrix is (post,
// pre); see Matrix.
type Connection interface {
	// Type is the connection's name in a spec, e.g. "fixed_probability".
	Type() string
	Check(pre, post Group) error
	Build(pre, post Group, r Random) (*Matrix, error)
}

func checkGroups(pre, post Group) error {
	if err := pre.check("from"); err != nil {
		return err
	}
	if err := post.check("to"); err != nil {
		return err
	}
	// CSR column indices are int32.
	if pre.Size() > math.MaxInt32 {
		return paramErr("from", "%d units exceed the %d a CSR column index holds", pre.Size(), math.MaxInt32)
	}
	return nil
}

// Full connects every pre unit to every post unit (SPAIC "full"). Weight
// defaults to SPAICNormal; its draw index is i·n_pre + j, an array is
// (post, pre) row-major, fan_in is n_pre. Bias (Kind "" = none) has one
// value per post unit, draw index i. Weights that come out 0 (an init
// "zero", an array's zeros) are absent synapses.
type Full struct {
	Weight Init  `yaml:"weight,omitempty"`
	Bias   Init  `yaml:"bias,omitempty"`
	Clamp  Clamp `yaml:",inline"`
}

func (Full) Type() string { return "full" }

func (c Full) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	np, nq := pre.Size(), post.Size()
	if err := c.Weight.or(SPAICNormal).check("weight", nq*np, np); err != nil {
		return err
	}
	if c.Bias.Kind != "" {
		if err := c.Bias.check("bias", nq, np); err != nil {
			return err
		}
	}
	return c.Clamp.check()
}

func (c Full) Build(pre, post Group, r Random) (*Matrix, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	w := c.Weight.or(SPAICNormal)
	if err := checkRandom(r, w.random() || c.Bias.random() && c.Bias.Kind != ""); err != nil {
		return nil, err
	}
	np, nq := pre.Size(), post.Size()
	m := &Matrix{Rows: nq, Cols: np, Dense: make([]float64, nq*np)}
	if w.Kind != "zero" {
		for k := range m.Dense {
			m.Dense[k] = w.draw(r, StreamWeight, k, np)
		}
	}
	m.Bias = drawBias(c.Bias, r, nq, np)
	c.Clamp.Apply(m)
	return m, nil
}

func drawBias(b Init, r Random, n, fanIn int) []float64 {
	if b.Kind == "" {
		return nil
	}
	v := make([]float64, n)
	if b.Kind != "zero" {
		for i := range v {
			v[i] = b.draw(r, StreamBias, i, fanIn)
		}
	}
	return v
}

// OneToOne connects pre unit i to post unit i; the groups must have the
// same size (SPAIC "one_to_one"). Weight defaults to the constant 0.05
// (SPAIC's w_mean·I); its draw index is i, an array has one value per unit,
// fan_in is 1. The result is CSR (one synapse a row); InForm(false) gives
// the dense w·I SPAIC builds.
type OneToOne struct {
	Weight Init  `yaml:"weight,omitempty"`
	Clamp  Clamp `yaml:",inline"`
}

func (OneToOne) Type() string { return "one_to_one" }

var oneToOneDefault = Init{Kind: "constant", Value: 0.05}

func (c OneToOne) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	if pre.Size() != post.Size() {
		return paramErr("to", "one_to_one needs groups of the same size, got from %d and to %d units", pre.Size(), post.Size())
	}
	if err := c.Weight.or(oneToOneDefault).check("weight", pre.Size(), 1); err != nil {
		return err
	}
	return c.Clamp.check()
}

func (c OneToOne) Build(pre, post Group, r Random) (*Matrix, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	w := c.Weight.or(oneToOneDefault)
	if err := checkRandom(r, w.random()); err != nil {
		return nil, err
	}
	n := pre.Size()
	b := newCSR(n, n)
	for i := 0; i < n; i++ {
		if v := w.draw(r, StreamWeight, i, 1); v != 0 {
			b.add(i, v)
		}
		b.endRow()
	}
	m := &Matrix{Rows: n, Cols: n, CSR: b.c}
	c.Clamp.Apply(m)
	return m, nil
}

// pairs is what the random-structure builders share: the weight init, the
// diagonal rule and the clamp.
type pairs struct {
	np, nq      int
	excludeSelf bool
	w           Init
	fanIn       int
}

func (p pairs) allowed(i, j int) bool { return !(p.excludeSelf && i == j) }

// available is the number of pairs the structure may choose from.
func (p pairs) available() int {
	n := p.np * p.nq
	if p.excludeSelf {
		n -= min(p.np, p.nq)
	}
	return n
}

// fromMask builds the CSR of the chosen pairs with their weights.
func (p pairs) build(r Random, chosen func(i, j int) bool) *CSR {
	b := newCSR(p.nq, p.np)
	for i := 0; i < p.nq; i++ {
		for j := 0; j < p.np; j++ {
			if chosen(i, j) {
				b.add(j, p.w.draw(r, StreamWeight, i*p.np+j, p.fanIn))
			}
		}
		b.endRow()
	}
	return b.c
}

// FixedProbability makes each allowed pair (post i, pre j) a synapse with
// probability P, independently: the synapse draw is StreamSynapse at index
// i·n_pre + j, kept when < P (SPAIC "random"). Weight defaults to
// SPAICNormal, draw index i·n_pre + j, fan_in n_pre; a synapse whose weight
// comes out 0 is stored anyway. ExcludeSelf leaves out the pairs i = j.
//
// Differences from SPAIC's random_connection, on purpose: SPAIC always
// leaves out the diagonal, even between two different groups (here that
// is ExcludeSelf's choice), and its weights are the uniform draws that
// chose the synapse, so they are U(0, P) and tied to the probability; here
// weight and structure are independent (Init{Kind: "uniform", High: P}
// gives SPAIC's weight distribution).
type FixedProbability struct {
	P           float64 `yaml:"p"`
	ExcludeSelf bool    `yaml:"exclude_self,omitempty"`
	Weight      Init    `yaml:"weight,omitempty"`
	Clamp       Clamp   `yaml:",inline"`
}

func (FixedProbability) Type() string { return "fixed_probability" }

func (c FixedProbability) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	if err := checkDensity("p", c.P); err != nil {
		return err
	}
	np, nq := pre.Size(), post.Size()
	if err := c.Weight.or(SPAICNormal).check("weight", nq*np, np); err != nil {
		return err
	}
	return c.Clamp.check()
}

func (c FixedProbability) Build(pre, post Group, r Random) (*Matrix, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	if err := checkRandom(r, true); err != nil {
		return nil, err
	}
	p := pairs{np: pre.Size(), nq: post.Size(), excludeSelf: c.ExcludeSelf, w: c.Weight.or(SPAICNormal), fanIn: pre.Size()}
	m := &Matrix{Rows: p.nq, Cols: p.np, CSR: p.build(r, func(i, j int) bool {
		return p.allowed(i, j) && r.Uniform(StreamSynapse, i*p.np+j) < c.P
	})}
	c.Clamp.Apply(m)
	return m, nil
}

// Density makes exactly round(Density · A) synapses, A the number of
// allowed pairs (n_post·n_pre, less the diagonal with ExcludeSelf), chosen
// uniformly among them: the pairs with the smallest keys, the key of
// (post i, pre j) being StreamSynapse at index i·n_pre + j. Weight as in
// FixedProbability. (round is half away from zero.)
//
// SPAIC's "sparse" connection is a Bernoulli(density) mask, so its count
// varies, and its "sparse_sparse" form makes exactly round(density·n_post·
// n_pre) entries (scipy.sparse.rand) with weights U(0, w_std): two
// different things under one name. Here fixed_probability is the Bernoulli
// one and density the exact count, with the same weight init as the other
// builders.
type Density struct {
	Density     float64 `yaml:"density"`
	ExcludeSelf bool    `yaml:"exclude_self,omitempty"`
	Weight      Init    `yaml:"weight,omitempty"`
	Clamp       Clamp   `yaml:",inline"`
}

func (Density) Type() string { return "density" }

func (c Density) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	if err := checkDensity("density", c.Density); err != nil {
		return err
	}
	np, nq := pre.Size(), post.Size()
	if err := c.Weight.or(SPAICNormal).check("weight", nq*np, np); err != nil {
		return err
	}
	return c.Clamp.check()
}

// Count is the number of synapses Build makes.
func (c Density) Count(pre, post Group) int {
	p := pairs{np: pre.Size(), nq: post.Size(), excludeSelf: c.ExcludeSelf}
	return int(math.Round(c.Density * float64(p.available())))
}

func (c Density) Build(pre, post Group, r Random) (*Matrix, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	if err := checkRandom(r, true); err != nil {
		return nil, err
	}
	p := pairs{np: pre.Size(), nq: post.Size(), excludeSelf: c.ExcludeSelf, w: c.Weight.or(SPAICNormal), fanIn: pre.Size()}
	allowed := func(k int) bool { return p.allowed(k/p.np, k%p.np) }
	chosen := smallestKeysOf(p.np*p.nq, allowed, c.Count(pre, post), func(k int) float64 { return r.Uniform(StreamSynapse, k) })
	next := 0 // chosen is ascending, and build visits pairs in that order
	m := &Matrix{Rows: p.nq, Cols: p.np, CSR: p.build(r, func(i, j int) bool {
		if next < len(chosen) && chosen[next] == i*p.np+j {
			next++
			return true
		}
		return false
	})}
	c.Clamp.Apply(m)
	return m, nil
}

// FixedInDegree gives every post unit exactly K synapses from distinct pre
// units, chosen uniformly: the K allowed pre units j with the smallest keys
// StreamSynapse at index i·n_pre + j. K larger than the allowed pre units
// (n_pre, or n_pre − 1 with ExcludeSelf) is an error. Weight as in
// FixedProbability, but fan_in is K.
type FixedInDegree struct {
	K           int   `yaml:"k"`
	ExcludeSelf bool  `yaml:"exclude_self,omitempty"`
	Weight      Init  `yaml:"weight,omitempty"`
	Clamp       Clamp `yaml:",inline"`
}

func (FixedInDegree) Type() string { return "fixed_in_degree" }

func checkDegree(k, n int, excludeSelf bool, side string) error {
	avail := n
	if excludeSelf {
		avail--
	}
	if k < 0 || k > avail {
		return paramErr("k", "need 0 ≤ k ≤ %d (the %s units a unit may connect to), got %d", avail, side, k)
	}
	return nil
}

func (c FixedInDegree) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	ex := c.ExcludeSelf && post.Size() > 0
	if err := checkDegree(c.K, pre.Size(), ex, "pre"); err != nil {
		return err
	}
	if err := c.Weight.or(SPAICNormal).check("weight", pre.Size()*post.Size(), max(c.K, 1)); err != nil {
		return err
	}
	return c.Clamp.check()
}

func (c FixedInDegree) Build(pre, post Group, r Random) (*Matrix, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	if err := checkRandom(r, true); err != nil {
		return nil, err
	}
	p := pairs{np: pre.Size(), nq: post.Size(), excludeSelf: c.ExcludeSelf, w: c.Weight.or(SPAICNormal), fanIn: max(c.K, 1)}
	b := newCSR(p.nq, p.np)
	for i := 0; i < p.nq; i++ {
		cand := make([]int, 0, p.np)
		for j := 0; j < p.np; j++ {
			if p.allowed(i, j) {
				cand = append(cand, j)
			}
		}
		for _, j := range smallestKeys(cand, c.K, func(j int) float64 { return r.Uniform(StreamSynapse, i*p.np+j) }) {
			b.add(j, p.w.draw(r, StreamWeight, i*p.np+j, p.fanIn))
		}
		b.endRow()
	}
	m := &Matrix{Rows: p.nq, Cols: p.np, CSR: b.c}
	c.Clamp.Apply(m)
	return m, nil
}

// FixedOutDegree gives every pre unit exactly K synapses onto distinct post
// units, chosen uniformly: the K allowed post units i with the smallest
// keys StreamSynapse at index i·n_pre + j. K larger than the allowed post
// units (n_post, or n_post − 1 with ExcludeSelf) is an error. Weight as in
// FixedProbability (fan_in n_pre).
type FixedOutDegree struct {
	K           int   `yaml:"k"`
	ExcludeSelf bool  `yaml:"exclude_self,omitempty"`
	Weight      Init  `yaml:"weight,omitempty"`
	Clamp       Clamp `yaml:",inline"`
}

func (FixedOutDegree) Type() string { return "fixed_out_degree" }

func (c FixedOutDegree) Check(pre, post Group) error {
	if err := checkGroups(pre, post); err != nil {
		return err
	}
	if err := checkDegree(c.K, post.Size(), c.ExcludeSelf, "post"); err != nil {
		return err
	}
	if err := c.Weight.or(SPAICNormal).check("weight", pre.Size()*post.Size(), pre.Size()); err != nil {
		return err
	}
	return c.Clamp.check()
}

func (c FixedOutDegree) Build(pre, post Group, r Random) (*Matrix, error) {
	if err := c.Check(pre, post); err != nil {
		return nil, err
	}
	if err := checkRandom(r, true); err != nil {
		return nil, err
	}
	p := pairs{np: pre.Size(), nq: post.Size(), excludeSelf: c.ExcludeSelf, w: c.Weight.or(SPAICNormal), fanIn: pre.Size()}
	chosen := make([]bool, p.np*p.nq)
	for j := 0; j < p.np; j++ {
		cand := make([]int, 0, p.nq)
		for i := 0; i < p.nq; i++ {
			if p.allowed(i, j) {
				cand = append(cand, i)
			}
		}
		for _, i := range smallestKeys(cand, c.K, func(i int) float64 { return r.Uniform(StreamSynapse, i*p.np+j) }) {
			chosen[i*p.np+j] = true
		}
	}
	m := &Matrix{Rows: p.nq, Cols: p.np, CSR: p.build(r, func(i, j int) bool { return chosen[i*p.np+j] })}
	c.Clamp.Apply(m)
	return m, nil
}

// Types lists the connection types New knows, in the order of the issue
// that asked for them.
var Types = []string{"full", "one_to_one", "fixed_probability", "density", "fixed_in_degree", "fixed_out_degree", "conv", "patched", "distance"}

// New returns a pointer to the zero parameters of the named connection
// type, for a spec to decode a connection's fields into (the struct
// fields carry yaml tags named as the ParamErrors name them).
func New(typ string) (Connection, error) {
	switch typ {
	case "full":
		return &Full{}, nil
	case "one_to_one":
		return &OneToOne{}, nil
	case "fixed_probability":
		return &FixedProbability{}, nil
	case "density":
		return &Density{}, nil
	case "fixed_in_degree":
		return &FixedInDegree{}, nil
	case "fixed_out_degree":
		return &FixedOutDegree{}, nil
	case "conv":
		return &Conv{}, nil
	case "patched":
		return &Patched{}, nil
	case "distance":
		return &Distance{}, nil
	}
	return nil, paramErr("type", "unknown connection type %q (%s)", typ, strings.Join(Types, ", "))
}
