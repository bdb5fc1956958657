package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
)

// Recording says what a run records, how often, when and from which units.
//
// Steps are numbered 1 … steps; step t ends at time t·dt ms (the initial
// state, at time 0, is never a recorded row: it is the spec's init_state).
// Step t is recorded when t is a multiple of Every and t lies in the window,
// given either as Window (times in ms) or as Steps (step numbers), both
// inclusive at both ends and clipped to the run. Stride and window are
// independent: the stride is counted from the start of the run, not from the
// window's start, so narrowing the window never shifts which steps are kept.
type Recording struct {
	Rates   *bool `yaml:"rates,omitempty" json:"rates"`
	States  *bool `yaml:"states,omitempty" json:"states"`
	Outputs *bool `yaml:"outputs,omitempty" json:"outputs"`
	// Every records steps Every, 2·Every, …
	Every int `yaml:"every,omitempty" json:"every"`
	// Window [t0, t1] in ms keeps the steps t with t0 ≤ t·dt ≤ t1 (to a
	// relative 1e-9, so that decimal dt such as 0.1 behaves as written).
	Window []float64 `yaml:"window,omitempty" json:"window,omitempty"`
	// Steps [s0, s1] keeps the steps s0 ≤ t ≤ s1. At most one of Window and
	// Steps may be given.
	Steps []int `yaml:"steps,omitempty" json:"steps,omitempty"`
	// Units picks the hidden units whose rates and states are recorded
	// (outputs are always recorded whole).
	Units UnitSelection `yaml:"units,omitempty" json:"units,omitempty"`
}

// UnitSelection is "all" (the zero value), a list of unit indices (recorded
// in the order given), or the units of an area and/or an E/I population, as
// the spec's structure defines them.
type UnitSelection struct {
	Indices []int
	// Area is an area's name or its index (decimal); "" means every area.
	Area string
	// Population is "E", "I" or "" (both).
	Population string
}

// IsZero reports whether u selects every unit (yaml's omitempty uses it).
func (u UnitSelection) IsZero() bool {
	return u.Indices == nil && u.Area == "" && u.Population == ""
}

func (u UnitSelection) String() string {
	switch {
	case u.Indices != nil:
		return fmt.Sprint(u.Indices)
	case u.IsZero():
		return "all"
	}
	var parts []string
	if u.Area != "" {
		parts = append(parts, "area "+u.Area)
	}
	if u.Population != "" {
		parts = append(parts, "population "+u.Population)
	}
	return strings.Join(parts, ", ")
}

func (u *UnitSelection) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "all" {
			return fmt.Errorf("line %d: field record.units: must be \"all\", a list of unit indices or {area: NAME, population: E|I}, got %q", n.Line, n.Value)
		}
		*u = UnitSelection{}
		return nil
	case yaml.SequenceNode:
		idx := make([]int, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := strconv.Atoi(c.Value)
			if c.Kind != yaml.ScalarNode || err != nil {
				return fmt.Errorf("line %d: field record.units: %q is not a unit index (a whole number)", c.Line, c.Value)
			}
			idx = append(idx, v)
		}
		*u = UnitSelection{Indices: idx}
		return nil
	case yaml.MappingNode:
		*u = UnitSelection{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return fmt.Errorf("line %d: field record.units.%s: must be a name or an index", v.Line, k.Value)
			}
			switch k.Value {
			case "area":
				u.Area = v.Value
			case "population":
				u.Population = v.Value
			default:
				return fmt.Errorf("line %d: field record.units: unknown key %q (want area and/or population)", k.Line, k.Value)
			}
		}
		if u.IsZero() {
			return fmt.Errorf("line %d: field record.units: an empty mapping selects nothing; give area and/or population, or write all", n.Line)
		}
		return nil
	}
	return fmt.Errorf("line %d: field record.units: must be \"all\", a list of unit indices or {area: NAME, population: E|I}", n.Line)
}

func (u UnitSelection) MarshalYAML() (any, error) { return u.plain(), nil }

func (u UnitSelection) plain() any {
	switch {
	case u.Indices != nil:
		return u.Indices
	case u.IsZero():
		return "all"
	}
	m := map[string]string{}
	if u.Area != "" {
		m["area"] = u.Area
	}
	if u.Population != "" {
		m["population"] = u.Population
	}
	return m
}

func (u UnitSelection) MarshalJSON() ([]byte, error) { return json.Marshal(u.plain()) }

func (u *UnitSelection) UnmarshalJSON(data []byte) error {
	*u = UnitSelection{}
	if string(data) == `"all"` || string(data) == "null" {
		return nil
	}
	if len(data) > 0 && data[0] == '[' {
		return json.Unmarshal(data, &u.Indices)
	}
	var m struct {
		Area       json.RawMessage `json:"area"`
		Population string          `json:"population"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	u.Population = m.Population
	if len(m.Area) > 0 {
		var s string
		if json.Unmarshal(m.Area, &s) != nil {
			s = string(m.Area) // a bare number
		}
		u.Area = s
	}
	return nil
}

// UnitGroups is what a network's structure says about its hidden units:
// the areas (named groups of units) and whether each unit is excitatory. It
// is the hook through which record.units selects by area or population.
type UnitGroups struct {
	// Areas lists the areas in order; an area's index is its place here.
	Areas []UnitArea
	// Excitatory holds each unit's population (true: E, false: I), or nil
	// when the network has no E/I split.
	Excitatory []bool
}

// UnitArea is a named group of hidden units (as masks.Area).
type UnitArea struct {
	Name  string
	Units []int
}

// validate checks the record section against the run it belongs to: s's
// dims, dt and steps.
func (r *Recording) validate(s *Spec) error {
	_, err := r.Plan(s)
	return err
}

// RecordPlan is a Recording resolved against a run: which steps and units
// end up in result.npz. Package output carries it out.
type RecordPlan struct {
	Rates, States, Outputs bool
	Every                  int
	// First and Last are the first and last recorded step (1-based); M is
	// the number of recorded steps, zero when the run records no step.
	First, Last, M int
	// Units are the recorded hidden units, in order (every unit when the
	// selection is "all").
	Units []int
	All   bool // Units is 0 … N−1
	B, N  int  // trials and hidden units of the run
	O     int  // outputs recorded per step (0 when outputs are off)
}

// RowWidth is the number of values one trial records per recorded step
// when each of rates and states records units values: the width of a row
// of the recordings.
func (p *RecordPlan) RowWidth(units int) int {
	w := p.O
	if p.Rates {
		w += units
	}
	if p.States {
		w += units
	}
	return w
}

// Plan resolves r against s. Errors name the field (record.…) and the reason.
func (r *Recording) Plan(s *Spec) (*RecordPlan, error) {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: "record." + field, Reason: fmt.Sprintf(format, args...)}
	}
	for _, f := range []struct {
		name string
		p    *bool
	}{{"rates", r.Rates}, {"states", r.States}, {"outputs", r.Outputs}} {
		if f.p == nil {
			return nil, bad(f.name, "must be true or false")
		}
	}
	if r.Every < 1 {
		return nil, bad("every", "must be ≥ 1, got %d", r.Every)
	}
	N, steps := s.Dims[1], s.Steps
	p := &RecordPlan{
		Rates: *r.Rates, States: *r.States, Outputs: *r.Outputs && s.Dims[2] > 0,
		Every: r.Every, B: s.Trials, N: N, First: 1, Last: steps,
	}
	if p.Outputs {
		p.O = s.Dims[2]
	}
	switch {
	case r.Window != nil && r.Steps != nil:
		return nil, bad("window", "give either window (ms) or steps (step numbers), not both")
	case r.Window != nil:
		w := r.Window
		if len(w) != 2 {
			return nil, bad("window", "must be [t0, t1] in ms, got %d values", len(w))
		}
		for _, t := range w {
			if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
				return nil, bad("window", "times must be finite and ≥ 0 ms, got %v", w)
			}
		}
		if w[0] > w[1] {
			return nil, bad("window", "start %v ms is after end %v ms", w[0], w[1])
		}
		p.First, p.Last = windowSteps(w[0], w[1], s.Dt, steps)
	case r.Steps != nil:
		st := r.Steps
		if len(st) != 2 {
			return nil, bad("steps", "must be [s0, s1], the first and last step (1-based, inclusive), got %d values", len(st))
		}
		if st[0] < 1 || st[0] > st[1] {
			return nil, bad("steps", "need 1 ≤ s0 ≤ s1 (steps count from 1), got %v", st)
		}
		p.First, p.Last = st[0], min(st[1], steps)
	}
	// Round the window inward to multiples of the stride.
	e := p.Every
	p.First = (p.First + e - 1) / e * e
	p.Last = p.Last / e * e
	if p.Last >= p.First {
		p.M = (p.Last-p.First)/e + 1
	} else {
		p.M = 0
	}
	if p.M == 0 && (r.Window != nil || r.Steps != nil) {
		field, what := "steps", fmt.Sprint(r.Steps)
		if r.Window != nil {
			field, what = "window", fmt.Sprintf("%v ms", r.Window)
		}
		return nil, bad(field, "%s selects no recorded step: the run has steps 1…%d (%v…%v ms at dt = %v ms) and records every %d-th", what, steps, s.Dt, float64(steps)*s.Dt, s.Dt, e)
	}
	if p.M == 0 {
		p.First, p.Last = 0, -1
	}
	units, err := r.Units.resolve(s)
	if err != nil {
		return nil, err
	}
	p.Units = units
	p.All = len(units) == N
	for i, u := range units {
		p.All = p.All && u == i
	}
	return p, nil
}

// windowSteps turns a window in ms into the first and last step inside it,
// clipped to 1 … steps (first > last when none is).
func windowSteps(t0, t1, dt float64, steps int) (first, last int) {
	const tol = 1e-9
	a, b := t0/dt, t1/dt
	a = math.Ceil(a - tol*math.Max(1, a))
	b = math.Floor(b + tol*math.Max(1, b))
	a = math.Max(a, 1)
	b = math.Min(b, float64(steps))
	if a > b {
		return 1, 0
	}
	return int(a), int(b)
}

// resolve returns the selected unit indices of s's hidden layer.
func (u *UnitSelection) resolve(s *Spec) ([]int, error) {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: "record.units" + field, Reason: fmt.Sprintf(format, args...)}
	}
	N := s.Dims[1]
	if u.Indices != nil {
		if len(u.Indices) == 0 {
			return nil, bad("", "the list is empty; leave units out (or write all) to record every unit")
		}
		seen := make(map[int]bool, len(u.Indices))
		for i, x := range u.Indices {
			if x < 0 || x >= N {
				return nil, bad("", "entry %d is unit %d, outside 0…%d (the network has %d hidden units)", i, x, N-1, N)
			}
			if seen[x] {
				return nil, bad("", "unit %d is listed twice", x)
			}
			seen[x] = true
		}
		return append([]int(nil), u.Indices...), nil
	}
	if u.IsZero() {
		all := make([]int, N)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	if u.Population != "" && u.Population != "E" && u.Population != "I" {
		return nil, bad(".population", "must be E or I, got %q", u.Population)
	}
	g, err := s.UnitGroups()
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, bad("", "selecting by area or population needs a structure that defines them, and this spec has none; list unit indices instead")
	}
	var inArea map[int]bool
	if u.Area != "" {
		if len(g.Areas) == 0 {
			return nil, bad(".area", "the network's structure defines no areas")
		}
		area := -1
		names := make([]string, len(g.Areas))
		for i, a := range g.Areas {
			names[i] = a.Name
			if a.Name == u.Area && area < 0 {
				area = i
			}
		}
		if area < 0 {
			k, err := strconv.Atoi(u.Area)
			if err != nil || k < 0 || k >= len(g.Areas) {
				return nil, bad(".area", "no area %q: the areas are %s (or their indices 0…%d)", u.Area, strings.Join(names, ", "), len(g.Areas)-1)
			}
			area = k
		}
		inArea = map[int]bool{}
		for _, i := range g.Areas[area].Units {
			inArea[i] = true
		}
	}
	if u.Population != "" && len(g.Excitatory) != N {
		return nil, bad(".population", "the network's structure has no E/I populations")
	}
	var sel []int
	for i := 0; i < N; i++ {
		if inArea != nil && !inArea[i] {
			continue
		}
		if u.Population != "" && g.Excitatory[i] != (u.Population == "E") {
			continue
		}
		sel = append(sel, i)
	}
	if len(sel) == 0 {
		return nil, bad("", "%s selects no unit", u)
	}
	return sel, nil
}

// BackendRecord is what the backend records: whole rows at the stride; the
// window and the unit selection are applied on the host.
func (p *RecordPlan) BackendRecord() backend.Record {
	return backend.Record{Rates: p.Rates, States: p.States, Outputs: p.Outputs, Stride: p.Every}
}

// Width is the number of values per trial and step of a recorded array.
func (p *RecordPlan) Width(name string) int {
	if name == "outputs" {
		return p.O
	}
	return len(p.Units)
}

// Times returns the time in ms of each recorded step.
func (p *RecordPlan) Times(dt float64) []float64 {
	t := make([]float64, p.M)
	for m := range t {
		t[m] = float64(p.First+m*p.Every) * dt
	}
	return t
}

// Keep maps the rows a backend chunk recorded for steps done+1 … done+n to
// the recorded steps: rows [j0, j1) of the chunk are records m0 … of the
// result.
func (p *RecordPlan) Keep(done, n int) (j0, j1, m0 int) {
	if p.M == 0 {
		return 0, 0, 0
	}
	e := p.Every
	firstRow := (done/e + 1) * e // step of the chunk's row 0
	lo, hi := max(firstRow, p.First), min((done+n)/e*e, p.Last)
	if hi < lo {
		return 0, 0, 0
	}
	return (lo - firstRow) / e, (hi-firstRow)/e + 1, (lo - p.First) / e
}

// RecordInfo is meta.json's account of what was recorded.
type RecordInfo struct {
	Rates   bool `json:"rates"`
	States  bool `json:"states"`
	Outputs bool `json:"outputs"`
	Every   int  `json:"every"`
	// FirstStep and LastStep are the first and last recorded step (1-based),
	// FirstTime and LastTime their times in ms.
	FirstStep int     `json:"first_step"`
	LastStep  int     `json:"last_step"`
	FirstTime float64 `json:"first_time_ms"`
	LastTime  float64 `json:"last_time_ms"`
	Steps     int     `json:"recorded_steps"`
	// Units is how the units were chosen; UnitCount how many were recorded
	// (their indices are result.npz's units array).
	Units     UnitSelection `json:"units"`
	UnitCount int           `json:"unit_count"`
	// Streamed says that the recordings went to disk chunk by chunk because
	// they would not fit the memory limit.
	Streamed bool `json:"streamed"`
}

// Info is meta.json's account of p, for the Recording r it resolves.
func (p *RecordPlan) Info(r *Recording, dt float64, streamed bool) *RecordInfo {
	return &RecordInfo{
		Rates: p.Rates, States: p.States, Outputs: p.Outputs, Every: p.Every,
		FirstStep: p.First, LastStep: p.Last, FirstTime: float64(p.First) * dt, LastTime: float64(p.Last) * dt,
		Steps: p.M, Units: r.Units, UnitCount: len(p.Units), Streamed: streamed,
	}
}
