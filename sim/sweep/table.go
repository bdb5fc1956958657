package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/spec"
)

// Column is one column of the table.
type Column struct {
	Name string
	// Kind is int (INT64), float (DOUBLE) or string (UTF-8).
	Kind string
}

// Columns are the table's columns, in order: point, the axes (named by
// their paths), seed, repeat, noise_instance, the metrics, status, wall_s.
func Columns(sw *Sweep) []Column {
	cols := []Column{{"point", "int"}}
	for _, a := range sw.Axes {
		if a.Path != "seed" {
			cols = append(cols, Column{a.Path, a.Kind})
		}
	}
	cols = append(cols, Column{"seed", "int"}, Column{"repeat", "int"}, Column{"noise_instance", "int"})
	for _, m := range sw.Metrics {
		cols = append(cols, Column{m.Name, "float"})
	}
	return append(cols, Column{"status", "string"}, Column{"wall_s", "float"})
}

// values is a row's cells, in Columns order: int64, float64 or string.
func values(sw *Sweep, r *Row) []any {
	p := r.Point
	out := []any{int64(p.Index)}
	for i, a := range sw.Axes {
		if a.Path == "seed" {
			continue
		}
		v := p.Values[i]
		switch a.Kind {
		case "int":
			x, _ := strconv.ParseInt(v.Value, 0, 64)
			out = append(out, x)
		case "float":
			var x float64
			_ = v.Decode(&x)
			out = append(out, x)
		default:
			out = append(out, flow(v))
		}
	}
	out = append(out, int64(p.Seed), int64(p.Repeat), int64(p.NoiseInstance))
	for i := range sw.Metrics {
		x := math.NaN()
		if r.Metrics != nil {
			x = r.Metrics[i]
		}
		out = append(out, x)
	}
	return append(out, r.Status, r.Wall.Seconds())
}

// rowType is a struct type with one field per column, tagged with the
// column's name, which parquet-go turns into the table's schema in column
// order.
func rowType(cols []Column) reflect.Type {
	fields := make([]reflect.StructField, len(cols))
	for i, c := range cols {
		var t reflect.Type
		switch c.Kind {
		case "int":
			t = reflect.TypeOf(int64(0))
		case "float":
			t = reflect.TypeOf(float64(0))
		default:
			t = reflect.TypeOf("")
		}
		fields[i] = reflect.StructField{Name: fmt.Sprintf("C%d", i), Type: t, Tag: reflect.StructTag(fmt.Sprintf(`parquet:%q`, c.Name))}
	}
	return reflect.StructOf(fields)
}

// WriteParquet writes the table as Parquet.
func WriteParquet(w io.Writer, sw *Sweep, rows []*Row) error {
	cols := Columns(sw)
	t := rowType(cols)
	pw := parquet.NewWriter(w, parquet.SchemaOf(reflect.New(t).Interface()))
	for _, r := range rows {
		v := reflect.New(t)
		for i, x := range values(sw, r) {
			v.Elem().Field(i).Set(reflect.ValueOf(x))
		}
		if err := pw.Write(v.Interface()); err != nil {
			return err
		}
	}
	return pw.Close()
}

// WriteCSV writes the table as CSV: a header of the column names, numbers
// in Go's shortest round-trip form (NaN for a point without metrics).
func WriteCSV(w io.Writer, sw *Sweep, rows []*Row) error {
	cw := csv.NewWriter(w)
	var head []string
	for _, c := range Columns(sw) {
		head = append(head, c.Name)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range rows {
		var rec []string
		for _, x := range values(sw, r) {
			switch v := x.(type) {
			case int64:
				rec = append(rec, strconv.FormatInt(v, 10))
			case float64:
				rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
			default:
				rec = append(rec, v.(string))
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Meta is DIR/meta.json.
type Meta struct {
	Version   string     `json:"version"`
	SweepFile string     `json:"sweep_file"`
	Base      string     `json:"base"`
	Backend   string     `json:"backend"`
	Device    string     `json:"device,omitempty"`
	Points    int        `json:"points"`
	Combine   string     `json:"combine"`
	Repeats   int        `json:"repeats"`
	Axes      []MetaAxis `json:"axes"`
	Metrics   []Metric   `json:"metrics"`
	Columns   []Column   `json:"columns"`
	Chunks    []Chunk    `json:"chunks"`
	Failed    int        `json:"failed"`
	WallS     float64    `json:"wall_s"`
	// Sweep is the sweep file as written.
	Sweep string `json:"sweep"`
}

// MetaAxis is an axis with its values (as YAML flow text).
type MetaAxis struct {
	Path   string   `json:"path"`
	Values []string `json:"values"`
}

// Files are the paths a sweep wrote.
type Files struct {
	Table, CSV, Meta string
}

// Write writes DIR/table.parquet, DIR/meta.json and, with withCSV,
// DIR/table.csv, each atomically (a temporary name in DIR, fsync, rename,
// fsync of DIR), so each file is whole or absent.
func Write(dir string, sw *Sweep, res *Result, withCSV bool) (*Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the output directory: %w", err)
	}
	f := &Files{Table: filepath.Join(dir, "table.parquet"), Meta: filepath.Join(dir, "meta.json")}
	if err := writeAtomic(f.Table, func(w io.Writer) error { return WriteParquet(w, sw, res.Rows) }); err != nil {
		return nil, err
	}
	csvPath := filepath.Join(dir, "table.csv")
	if withCSV {
		f.CSV = csvPath
		if err := writeAtomic(f.CSV, func(w io.Writer) error { return WriteCSV(w, sw, res.Rows) }); err != nil {
			return nil, err
		}
	} else if err := os.Remove(csvPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// An earlier run's CSV would disagree with this table.
		return nil, fmt.Errorf("cannot remove the earlier %s: %w", csvPath, err)
	}
	m := Meta{Version: sim.FullVersion(), SweepFile: sw.File, Base: sw.BaseFile, Backend: res.Backend, Device: res.Device,
		Points: len(sw.Points), Combine: sw.Spec.Combine, Repeats: sw.Spec.Repeats, Columns: Columns(sw), Chunks: res.Chunks,
		WallS: res.Wall.Seconds(), Sweep: sw.Text}
	if m.Base == "" {
		m.Base = "inline"
	}
	for _, a := range sw.Axes {
		ma := MetaAxis{Path: a.Path}
		for _, v := range a.Values {
			ma.Values = append(ma.Values, flow(v))
		}
		m.Axes = append(m.Axes, ma)
	}
	for _, x := range sw.Metrics {
		m.Metrics = append(m.Metrics, x.Metric)
	}
	for _, r := range res.Rows {
		if r.Status != "ok" {
			m.Failed++
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(f.Meta, func(w io.Writer) error { _, err := w.Write(append(data, '\n')); return err }); err != nil {
		return nil, err
	}
	return f, nil
}

// writeAtomic writes path through a temporary file beside it.
func writeAtomic(path string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file private; the results are for reading.
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = fill(tmp); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		err = d.Sync()
		d.Close()
	}
	return err
}

// WritePoints writes every point's spec to dir as point-NNNNN.yaml (what
// `ratesim run` reads to run that point alone).
func WritePoints(dir string, sw *Sweep) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	width := len(strconv.Itoa(len(sw.Points) - 1))
	var names []string
	for _, p := range sw.Points {
		name := filepath.Join(dir, fmt.Sprintf("point-%0*d.yaml", width, p.Index))
		head := fmt.Sprintf("# %s: %s\n", sw.File, sw.Label(p))
		data := append([]byte(head), p.YAML...)
		// Array files are named relative to the spec: a point written
		// elsewhere than its base may not find them.
		if _, err := spec.Parse(name, data); err != nil {
			return nil, fmt.Errorf("%s would not load from %s (%v); a base spec's files are named relative to its directory, %s: write the points there",
				sw.Label(p), dir, err, filepath.Dir(sw.specName()))
		}
		if err := writeAtomic(name, func(w io.Writer) error { _, err := io.Copy(w, bytes.NewReader(data)); return err }); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}
