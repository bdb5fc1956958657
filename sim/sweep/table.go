package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
)

// Column is a column of the table (output.Column).
type Column = output.Column

// WriteParquet and WriteCSV write a table (output.WriteParquet,
// output.WriteCSV).
var (
	WriteParquet = output.WriteParquet
	WriteCSV     = output.WriteCSV
)

// Columns are the table's columns, in order: point, the axes (named by
// their paths), seed, repeat, noise_instance, the metrics, status, and
// for a sweep with a record: section arrays_file and arrays_index. Wall
// times are not in the table (meta.json has each chunk's), so that the
// table's bytes depend on the points' results alone: the same whether the
// sweep ran whole, in shards, or resumed.
func Columns(sw *Sweep) []Column {
	cols := []Column{{Name: "point", Kind: "int"}}
	for _, a := range sw.Axes {
		if a.Path != "seed" {
			cols = append(cols, Column{Name: a.Path, Kind: a.Kind})
		}
	}
	cols = append(cols, Column{Name: "seed", Kind: "int"}, Column{Name: "repeat", Kind: "int"}, Column{Name: "noise_instance", Kind: "int"})
	for _, m := range sw.Metrics {
		cols = append(cols, Column{Name: m.Name, Kind: "float"})
	}
	cols = append(cols, Column{Name: "status", Kind: "string"})
	if sw.Record != nil {
		cols = append(cols, Column{Name: "arrays_file", Kind: "string"}, Column{Name: "arrays_index", Kind: "int"})
	}
	return cols
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
	out = append(out, r.Status)
	if sw.Record != nil {
		out = append(out, r.ArraysFile, int64(r.ArraysIndex))
	}
	return out
}

// Cells are a row's cells as text, in Columns order: integers in decimal,
// floats in Go's shortest round-trip form (NaN for a point without
// metrics), strings as they are. Both table files are written from cells,
// and a journal keeps them, so a table written from a journal has the
// bytes of one written at once.
func Cells(sw *Sweep, r *Row) []string {
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
	return rec
}

// cellsOf are the rows' cells.
func cellsOf(sw *Sweep, rows []*Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = Cells(sw, r)
	}
	return out
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
	// WallS is the sweep's wall time: the sum of its chunks' when it
	// ran in shards or resumed.
	WallS float64 `json:"wall_s"`
	// Hash identifies the resolved sweep (see Hash).
	Hash string `json:"hash"`
	// Shards is how many shards it ran in (0: none).
	Shards int `json:"shards,omitempty"`
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
	m := newMeta(sw)
	m.Backend, m.Device, m.Chunks, m.WallS = res.Backend, res.Device, res.Chunks, res.Wall.Seconds()
	return writeTable(dir, m, cellsOf(sw, res.Rows), withCSV)
}

// newMeta is the sweep's meta.json without what its run adds.
func newMeta(sw *Sweep) *Meta {
	m := &Meta{Version: sim.FullVersion(), SweepFile: sw.File, Base: sw.BaseFile,
		Points: len(sw.Points), Combine: sw.Spec.Combine, Repeats: sw.Spec.Repeats, Columns: Columns(sw),
		Sweep: sw.Text, Hash: Hash(sw)}
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
	return m
}

// writeTable writes the table files of rows (cells in m.Columns order) and
// meta.json, counting the failed rows into m.
func writeTable(dir string, m *Meta, rows [][]string, withCSV bool) (*Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the output directory: %w", err)
	}
	f := &Files{Table: filepath.Join(dir, "table.parquet"), Meta: filepath.Join(dir, "meta.json")}
	if err := writeAtomic(f.Table, func(w io.Writer) error { return WriteParquet(w, m.Columns, rows) }); err != nil {
		return nil, err
	}
	csvPath := filepath.Join(dir, "table.csv")
	if withCSV {
		f.CSV = csvPath
		if err := writeAtomic(f.CSV, func(w io.Writer) error { return WriteCSV(w, m.Columns, rows) }); err != nil {
			return nil, err
		}
	} else if err := os.Remove(csvPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// An earlier run's CSV would disagree with this table.
		return nil, fmt.Errorf("cannot remove the earlier %s: %w", csvPath, err)
	}
	status := statusColumn(m.Columns)
	m.Failed = 0
	for _, r := range rows {
		if r[status] != "ok" {
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

// statusColumn is the index of the status column.
func statusColumn(cols []Column) int {
	for i := len(cols) - 1; i >= 0; i-- {
		if cols[i].Name == "status" {
			return i
		}
	}
	return len(cols) - 1
}

// openHook, in tests, wraps the writer of every file written atomically
// (to simulate a full disk).
var openHook func(path string, w io.Writer) io.Writer

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
	var w io.Writer = tmp
	if openHook != nil {
		w = openHook(path, tmp)
	}
	if err = fill(w); err != nil {
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
