package sweep

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

// A sweep's record: section asks for per-point arrays beside the table:
// the same fields as a spec's record section (rates, states, outputs,
// every, window or steps, units), applied to every point. Each committed
// chunk writes its points' arrays into one archive,
// DIR/arrays/chunk-FIRST.npz (FIRST: the chunk's first point):
//
//	points   (P,)          int64  the sweep's point indices, in order
//	steps    (M,)          int64  the recorded steps (1-based)
//	units    (U,)          int64  the recorded hidden units
//	rates    (P, B, M, U)  the run's precision
//	states   (P, B, M, U)
//	outputs  (P, B, M, O)
//
// and the table gains two columns: arrays_file (the archive, relative to
// the table's directory) and arrays_index (the point's position in it). A
// point that went non-finite has NaN arrays. The values are the point's
// recordings, bit for bit the ones `ratesim run` of its spec records.

// recordingOf decodes the sweep's record: section (nil when there is
// none) and checks it against every point: the fields a spec's record
// section takes, and one shape of arrays per group, so that a chunk's
// points stack into one array.
func recordingOf(sw *Sweep) (*spec.Recording, error) {
	node := &sw.Spec.Record
	if node.Kind == 0 {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: field record: %s", sw.File, fmt.Sprintf(format, args...))
	}
	if node.Kind != yaml.MappingNode {
		return nil, bad("give a mapping, e.g. {rates: true, every: 10, units: [0, 1]}")
	}
	// every and steps count steps: whole numbers, as in a spec.
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, v := node.Content[i].Value, node.Content[i+1]
		if key != "every" && key != "steps" {
			continue
		}
		for _, n := range append([]*yaml.Node{v}, v.Content...) {
			if n.Kind == yaml.ScalarNode && n.Tag != "!!int" {
				return nil, bad("%s must be a whole number, got %s (line %d)", key, n.Value, n.Line)
			}
		}
	}
	var rec spec.Recording
	if err := decodeKnown(node, &rec); err != nil {
		return nil, bad("%v", err)
	}
	if rec.Every == 0 {
		rec.Every = 1
	}
	// What the section does not ask for is not recorded.
	no := false
	for _, b := range []**bool{&rec.Rates, &rec.States, &rec.Outputs} {
		if *b == nil {
			*b = &no
		}
	}
	shapes := map[string]string{}
	for _, p := range sw.Points {
		pl, err := rec.Plan(p.Spec)
		if err != nil {
			if se, ok := err.(*spec.Error); ok {
				return nil, fmt.Errorf("%s: %s: field %s: %s", sw.File, sw.Label(p), se.Field, se.Reason)
			}
			return nil, fmt.Errorf("%s: %s: field record: %v", sw.File, sw.Label(p), err)
		}
		if !pl.Rates && !pl.States && !pl.Outputs {
			return nil, bad("records nothing: set rates, states or outputs to true")
		}
		if pl.M == 0 {
			return nil, fmt.Errorf("%s: %s: field record: no step is recorded", sw.File, sw.Label(p))
		}
		shape := fmt.Sprintf("steps %d–%d every %d, units %v", pl.First, pl.Last, pl.Every, pl.Units)
		k := groupKey(p.Spec)
		if s, ok := shapes[k]; ok && s != shape {
			return nil, fmt.Errorf("%s: %s: field record: records %s, where other points it runs with record %s; arrays of one program must have one shape (record steps rather than a window in ms when dt is swept)",
				sw.File, sw.Label(p), shape, s)
		}
		shapes[k] = shape
	}
	return &rec, nil
}

// decodeKnown decodes node into v, refusing unknown fields.
func decodeKnown(node *yaml.Node, v any) error {
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(node); err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(buf.String()))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", spec.YAMLReason(err))
	}
	return nil
}

// PointArrays are one point's recordings (B × M × U, B × M × O), kept as
// float64: every value converts from the run's precision exactly, and
// converts back exactly when the archive is written.
type PointArrays struct {
	Rates, States, Outputs []float64
}

// pointRecorder captures one point's planned rows from a backend call.
type pointRecorder struct {
	plan *spec.RecordPlan
	out  *PointArrays
}

func newPointRecorder(rec *spec.Recording, s *spec.Spec) *pointRecorder {
	pl, err := rec.Plan(s)
	if err != nil {
		panic(fmt.Sprintf("sweep: the record section of a checked sweep does not plan: %v", err))
	}
	r := &pointRecorder{plan: pl, out: &PointArrays{}}
	BM := pl.B * pl.M
	if pl.Rates {
		r.out.Rates = make([]float64, BM*len(pl.Units))
	}
	if pl.States {
		r.out.States = make([]float64, BM*len(pl.Units))
	}
	if pl.Outputs {
		r.out.Outputs = make([]float64, BM*pl.O)
	}
	return r
}

// take copies trial b's row at step t, if the plan records it; rates,
// states and outputs are the backend's rows of that trial and step (nil
// when not recorded).
func take[T backend.Float](r *pointRecorder, b, t int, rates, states, outputs []T) {
	pl := r.plan
	if t < pl.First || t > pl.Last || (t-pl.First)%pl.Every != 0 {
		return
	}
	m := (t - pl.First) / pl.Every
	U := len(pl.Units)
	if pl.Rates {
		dst := r.out.Rates[(b*pl.M+m)*U : (b*pl.M+m+1)*U]
		for i, u := range pl.Units {
			dst[i] = float64(rates[u])
		}
	}
	if pl.States {
		dst := r.out.States[(b*pl.M+m)*U : (b*pl.M+m+1)*U]
		for i, u := range pl.Units {
			dst[i] = float64(states[u])
		}
	}
	if pl.Outputs {
		dst := r.out.Outputs[(b*pl.M+m)*pl.O : (b*pl.M+m+1)*pl.O]
		for o := range dst {
			dst[o] = float64(outputs[o])
		}
	}
}

// arraysName is the archive of the chunk whose first point is first,
// relative to the sweep's (or shard's) directory.
func arraysName(sw *Sweep, first int) string {
	return filepath.Join("arrays", fmt.Sprintf("chunk-%0*d.npz", len(fmt.Sprint(len(sw.Points)-1)), first))
}

// writeChunkArrays writes the arrays of one chunk's rows into
// dir/arraysName, atomically (npz.Create), before the chunk is committed
// to the journal: a chunk in the journal always has its archive, and a
// chunk killed before its commit is run again and rewrites it.
func writeChunkArrays(sw *Sweep, dir string, rows []*Row) error {
	if sw.Record == nil || len(rows) == 0 {
		return nil
	}
	s0 := rows[0].Point.Spec
	pl, err := sw.Record.Plan(s0)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, arraysName(sw, rows[0].Point.Index))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", filepath.Dir(path), err)
	}
	w, err := npz.Create(path)
	if err != nil {
		return err
	}
	P, B, M, U, O := len(rows), pl.B, pl.M, len(pl.Units), pl.O
	points, steps, units := make([]int64, P), make([]int64, M), make([]int64, U)
	for k, r := range rows {
		points[k] = int64(r.Point.Index)
	}
	for m := range steps {
		steps[m] = int64(pl.First + m*pl.Every)
	}
	for i, u := range pl.Units {
		units[i] = int64(u)
	}
	f64 := s0.Precision == "f64" || s0.Precision == "float64"
	put := func(name string, width int, of func(*PointArrays) []float64) error {
		all := make([]float64, 0, P*B*M*width)
		for _, r := range rows {
			if r.Arrays == nil {
				all = append(all, nanSlice(B*M*width)...)
				continue
			}
			all = append(all, of(r.Arrays)...)
		}
		shape := []int{P, B, M, width}
		if f64 {
			return w.Float64(name, shape, all)
		}
		f := make([]float32, len(all))
		for i, x := range all {
			f[i] = float32(x) // exact: every value came from a float32
		}
		return w.Float32(name, shape, f)
	}
	err = w.Int64("points", []int{P}, points)
	if err == nil {
		err = w.Int64("steps", []int{M}, steps)
	}
	if err == nil {
		err = w.Int64("units", []int{U}, units)
	}
	if err == nil && pl.Rates {
		err = put("rates", U, func(a *PointArrays) []float64 { return a.Rates })
	}
	if err == nil && pl.States {
		err = put("states", U, func(a *PointArrays) []float64 { return a.States })
	}
	if err == nil && pl.Outputs {
		err = put("outputs", O, func(a *PointArrays) []float64 { return a.Outputs })
	}
	if err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

var nan = math.NaN()

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = nan
	}
	return s
}
