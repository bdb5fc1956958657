package sweep

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

// Metric is one number a point yields, as written in the sweep spec.
//
// mean, std, min and max reduce `of` (rates, states or outputs) over every
// trial, every step t with t0 ≤ t·dt ≤ t1 (window [t0, t1] in ms; the
// whole run without one) and the chosen units (record.units' forms; all
// without; outputs always whole). final_state_mean is the mean of the
// final state v over trials and the chosen units. mse is the mean over
// trials, window steps and outputs of (y − target)², target a .npy of
// shape (steps, O) or (trials, steps, O) (file relative to the sweep).
// final_weight_mean and final_weight_std summarize a block of the final
// weights (weights.go).
type Metric struct {
	Kind   string             `yaml:"metric" json:"metric"`
	Of     string             `yaml:"of" json:"of,omitempty"`
	Window []float64          `yaml:"window" json:"window,omitempty"`
	Units  spec.UnitSelection `yaml:"units" json:"units,omitzero"`
	Target *struct {
		File string `yaml:"file" json:"file"`
	} `yaml:"target" json:"target,omitempty"`
	// Pre and Post are a weight metric's block: [a, b], the presynaptic
	// and postsynaptic units a ≤ j < b (weights.go).
	Pre  []int `yaml:"pre" json:"pre,omitempty"`
	Post []int `yaml:"post" json:"post,omitempty"`
	// Name is the table column (default: metric_of[_t0_t1ms][_units]).
	Name string `yaml:"name" json:"name"`
}

// ResolvedMetric is a checked metric.
type ResolvedMetric struct {
	Metric
	// target is the mse target, (steps, O) or (B, steps, O) as targetB says.
	target  []float64
	targetB bool
}

func resolveMetrics(sw *Sweep) ([]ResolvedMetric, error) {
	if len(sw.Spec.Metrics) == 0 {
		return nil, fmt.Errorf("%s: field metrics: a sweep needs at least one metric (e.g. {metric: mean, of: rates})", sw.File)
	}
	names := map[string]bool{"point": true, "seed": true, "repeat": true, "status": true, "wall_s": true}
	for _, a := range sw.Axes {
		names[a.Path] = true
	}
	var out []ResolvedMetric
	for i, m := range sw.Spec.Metrics {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s: field metrics[%d]: %s", sw.File, i, fmt.Sprintf(format, args...))
		}
		r := ResolvedMetric{Metric: m}
		switch m.Kind {
		case "mean", "std", "min", "max":
			if !oneOf(m.Of, "rates", "states", "outputs") {
				return nil, bad("%s needs of: rates, states or outputs, got %q", m.Kind, m.Of)
			}
			if m.Target != nil {
				return nil, bad("target belongs to mse")
			}
		case "final_weight_mean", "final_weight_std":
			if m.Of == "" {
				r.Of = "recurrent"
			}
			if !oneOf(r.Of, "recurrent", "input", "readout") {
				return nil, bad("%s needs of: recurrent, input or readout, got %q", m.Kind, m.Of)
			}
			if m.Window != nil || m.Target != nil || !m.Units.IsZero() {
				return nil, bad("%s takes of, pre and post (and name)", m.Kind)
			}
			for _, p := range sw.Points {
				if _, _, err := r.weightBlock(p.Spec); err != nil {
					return nil, fmt.Errorf("%s: %s: metric %s: %v", sw.File, sw.Label(p), m.Kind, err)
				}
			}
		case "final_state_mean":
			if m.Of != "" || m.Window != nil || m.Target != nil {
				return nil, bad("final_state_mean takes only units (and name)")
			}
		case "mse":
			if m.Of != "" && m.Of != "outputs" {
				return nil, bad("mse compares outputs with a target; of must be outputs or left out")
			}
			r.Of = "outputs"
			if !m.Units.IsZero() {
				return nil, bad("mse covers every output; units do not apply")
			}
			if m.Target == nil || m.Target.File == "" {
				return nil, bad("mse needs target: {file: TARGET.npy}")
			}
			if err := r.loadTarget(sw); err != nil {
				return nil, bad("target: %v", err)
			}
		default:
			return nil, bad("unknown metric %q (want mean, std, min, max, final_state_mean, mse, final_weight_mean or final_weight_std)", m.Kind)
		}
		if !isWeightMetric(m.Kind) && (m.Pre != nil || m.Post != nil) {
			return nil, bad("pre and post belong to the weight metrics (final_weight_mean, final_weight_std)")
		}
		if r.Of == "outputs" && !m.Units.IsZero() {
			return nil, bad("outputs are reduced whole; units apply to rates and states")
		}
		if r.Name == "" {
			r.Name = r.defaultName()
		}
		if names[r.Name] {
			return nil, bad("the column %s is already taken; give this metric a name", r.Name)
		}
		names[r.Name] = true
		for _, p := range sw.Points {
			if _, err := r.plan(p.Spec); err != nil {
				return nil, fmt.Errorf("%s: %s: metric %s: %v", sw.File, sw.Label(p), r.Name, strings.TrimPrefix(err.Error(), "spec: "))
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

func (m *ResolvedMetric) defaultName() string {
	name := m.Kind
	if m.Of != "" && m.Kind != "mse" {
		name += "_" + m.Of
	}
	if m.Window != nil && len(m.Window) == 2 {
		name += fmt.Sprintf("_%g_%gms", m.Window[0], m.Window[1])
	}
	if !m.Units.IsZero() {
		r := strings.NewReplacer("[", "", "]", "", " ", "_", ",", "")
		name += "_units_" + r.Replace(m.Units.String())
	}
	if m.Pre != nil && len(m.Pre) == 2 {
		name += fmt.Sprintf("_pre_%d_%d", m.Pre[0], m.Pre[1])
	}
	if m.Post != nil && len(m.Post) == 2 {
		name += fmt.Sprintf("_post_%d_%d", m.Post[0], m.Post[1])
	}
	return name
}

func (m *ResolvedMetric) loadTarget(sw *Sweep) error {
	path := m.Target.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(sw.File), path)
	}
	a, err := npz.ReadNPY(path)
	if err != nil {
		return err
	}
	v, err := a.Float64s()
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	for i, x := range v {
		if !finite(x) {
			return fmt.Errorf("%s: element %d is %v; targets must be finite", path, i, x)
		}
	}
	m.target = v
	for _, p := range sw.Points {
		s := p.Spec
		T, O, B := s.Steps, s.Dims[2], s.Trials
		switch {
		case len(a.Shape) == 2 && a.Shape[0] == T && a.Shape[1] == O:
		case len(a.Shape) == 3 && a.Shape[0] == B && a.Shape[1] == T && a.Shape[2] == O:
			m.targetB = true
		default:
			return fmt.Errorf("%s is shaped %s, want (steps, outputs) = (%d, %d) or (trials, steps, outputs) = (%d, %d, %d) for %s",
				path, npz.FormatShape(a.Shape), T, O, B, T, O, sw.Label(p))
		}
	}
	return nil
}

// metricPlan is a metric resolved against one point's spec: the steps
// First … Last (1-based, inclusive) and the units it reduces.
type metricPlan struct {
	First, Last int
	Units       []int
	All         bool // Units is 0 … N−1: a row is taken as it is
}

func (m *ResolvedMetric) plan(s *spec.Spec) (*metricPlan, error) {
	yes, no := true, false
	rec := spec.Recording{Rates: &yes, States: &no, Outputs: &no, Every: 1, Window: m.Window, Units: m.Units}
	p, err := rec.Plan(s)
	if err != nil {
		if se, ok := err.(*spec.Error); ok {
			field := strings.TrimPrefix(se.Field, "record.")
			return nil, fmt.Errorf("%s: %s", field, se.Reason)
		}
		return nil, err
	}
	if m.Kind == "final_state_mean" {
		p.First, p.Last = s.Steps, s.Steps
	}
	return &metricPlan{First: p.First, Last: p.Last, Units: p.Units, All: p.All}, nil
}

// accumulator reduces one metric of one point. Every reduction runs in an
// order fixed by the point alone — trial by trial, each trial's steps in
// time order and within a step its units in the metric's order — so the
// result does not depend on how steps are split into backend calls or
// points into programs: per-trial partial results are combined in trial
// order at the end.
type accumulator struct {
	m    *ResolvedMetric
	plan *metricPlan
	// per trial: count, sum, mean and M2 (std: row moments combined);
	// over all trials: min, max.
	n, sum, mean, m2 []float64
	lo, hi           float64
	row              []float64 // the chosen units' values of the row being added
	// direct: a mean over whole rows (every unit, or the outputs), which
	// the run adds straight from the backend's rows with addSumRow.
	direct bool
}

func newAccumulator(m *ResolvedMetric, plan *metricPlan, trials int) *accumulator {
	return &accumulator{m: m, plan: plan, n: make([]float64, trials), sum: make([]float64, trials),
		mean: make([]float64, trials), m2: make([]float64, trials), lo: math.Inf(1), hi: math.Inf(-1),
		direct: m.Kind == "mean" && (m.Of == "outputs" || plan.All)}
}

// addSumRow is add for a direct accumulator (a mean over whole rows),
// straight from the backend's row in T: the same count and the same sum
// as add of the row converted to float64 (conversion to float64 is exact,
// and rowSumT adds in rowSum's order), without the conversion pass.
func addSumRow[T backend.Float](a *accumulator, b, t int, row []T) {
	if t < a.plan.First || t > a.plan.Last {
		return
	}
	if a.m.Of != "outputs" {
		row = row[:len(a.plan.Units)]
	}
	a.n[b] += float64(len(row))
	a.sum[b] += rowSumT(row)
}

// rowSumT is rowSum of xs converted to float64, lane for lane.
func rowSumT[T backend.Float](xs []T) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		s0 += float64(xs[i])
		s1 += float64(xs[i+1])
		s2 += float64(xs[i+2])
		s3 += float64(xs[i+3])
	}
	s := (s0 + s1) + (s2 + s3)
	for ; i < len(xs); i++ {
		s += float64(xs[i])
	}
	return s
}

// add takes trial b's values at step t (1-based): row holds all N units
// (or all O outputs).
func (a *accumulator) add(b, t int, row []float64, target []float64) {
	if t < a.plan.First || t > a.plan.Last {
		return
	}
	switch {
	case a.m.Kind == "mse":
		for o, x := range row {
			x -= target[o]
			a.sum[b] += x * x
		}
		a.n[b] += float64(len(row))
		return
	case a.m.Of == "outputs":
		a.values(b, row)
	case a.plan.All:
		a.values(b, row[:len(a.plan.Units)])
	default:
		a.row = a.row[:0]
		for _, u := range a.plan.Units {
			a.row = append(a.row, row[u])
		}
		a.values(b, a.row)
	}
	if a.m.Kind == "std" {
		a.endRow(b, row)
	}
}

// values takes one row of trial b's values: the count and the sum (the
// row's rowSum added to the trial's), or the extremes for min and max. It is the sweep's
// innermost loop (every recorded value of every point), so each kind does
// only its own work, and no division.
func (a *accumulator) values(b int, xs []float64) {
	a.n[b] += float64(len(xs))
	switch a.m.Kind {
	case "min":
		for _, x := range xs {
			if x < a.lo || x != x { // a NaN sticks, as with math.Min
				a.lo = x
			}
		}
	case "max":
		for _, x := range xs {
			if x > a.hi || x != x {
				a.hi = x
			}
		}
	default:
		a.sum[b] += rowSum(xs)
	}
}

// rowSum is the sum of one row in four interleaved lanes — lane l adds
// xs[l], xs[l+4], … in order — combined as (l0 + l1) + (l2 + l3), then
// the tail in order. Four chains keep the adder busy where one chain
// would wait on each add's latency (this is the sweep's innermost loop);
// the order is fixed by the row alone, so a point's metric has the same
// bits however its steps and points are split.
func rowSum(xs []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		s0 += xs[i]
		s1 += xs[i+1]
		s2 += xs[i+2]
		s3 += xs[i+3]
	}
	s := (s0 + s1) + (s2 + s3)
	for ; i < len(xs); i++ {
		s += xs[i]
	}
	return s
}

// endRow folds the row just added into trial b's mean and M2 (the row's
// mean and squared deviations in two passes, combined as Chan et al.).
func (a *accumulator) endRow(b int, row []float64) {
	xs := a.row
	switch {
	case a.m.Of == "outputs":
		xs = row
	case a.plan.All:
		xs = row[:len(a.plan.Units)]
	}
	if len(xs) == 0 {
		return
	}
	nr := float64(len(xs))
	var s float64
	for _, x := range xs {
		s += x
	}
	mr := s / nr
	var m2r float64
	for _, x := range xs {
		d := x - mr
		m2r += d * d
	}
	n := a.n[b] - nr // the trial's count before this row
	tot := n + nr
	d := mr - a.mean[b]
	a.mean[b] += d * nr / tot
	a.m2[b] += m2r + d*d*n*nr/tot
}

// value is the metric's number.
func (a *accumulator) value() float64 {
	switch a.m.Kind {
	case "min":
		return a.lo
	case "max":
		return a.hi
	case "std":
		// Chan et al.'s pairwise combination of the trials, in trial order.
		var n, mean, m2 float64
		for b := range a.n {
			nb := a.n[b]
			if nb == 0 {
				continue
			}
			d := a.mean[b] - mean
			tot := n + nb
			mean += d * nb / tot
			m2 += a.m2[b] + d*d*n*nb/tot
			n = tot
		}
		if n == 0 {
			return math.NaN()
		}
		return math.Sqrt(m2 / n)
	}
	var n, sum float64
	for b := range a.n {
		n += a.n[b]
		sum += a.sum[b]
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / n
}
