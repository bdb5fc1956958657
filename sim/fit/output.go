package fit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/sweep"
)

// Columns are the history table's columns: evaluation, generation, one
// per parameter (named by its path), loss, status.
func Columns(ft *Fit) []sweep.Column {
	cols := []sweep.Column{{Name: "evaluation", Kind: "int"}, {Name: "generation", Kind: "int"}}
	for _, p := range ft.Spec.Parameters {
		cols = append(cols, sweep.Column{Name: p.Path, Kind: "float"})
	}
	return append(cols, sweep.Column{Name: "loss", Kind: "float"}, sweep.Column{Name: "status", Kind: "string"})
}

// Cells are the history's rows as text (floats in shortest round-trip
// form, so the CSV reads back to the same bits).
func Cells(res *Result) [][]string {
	var rows [][]string
	for _, e := range res.History {
		r := []string{strconv.Itoa(e.Index), strconv.Itoa(e.Generation)}
		for _, v := range e.Values {
			r = append(r, strconv.FormatFloat(v, 'g', -1, 64))
		}
		rows = append(rows, append(r, strconv.FormatFloat(e.Loss, 'g', -1, 64), e.Status))
	}
	return rows
}

// Meta is meta.json.
type Meta struct {
	Version     string             `json:"version"`
	FitFile     string             `json:"fit_file"`
	Optimizer   string             `json:"optimizer"`
	Parameters  []Parameter        `json:"parameters"`
	Objective   sweep.Metric       `json:"objective"`
	Budget      int                `json:"budget"`
	Population  int                `json:"population"`
	Seed        uint64             `json:"seed"`
	Evaluations int                `json:"evaluations"`
	Generations int                `json:"generations"`
	Programs    int                `json:"programs"`
	Replayed    int                `json:"replayed_generations"`
	Backend     string             `json:"backend"`
	BestIndex   int                `json:"best_evaluation"`
	BestLoss    float64            `json:"best_loss"`
	Best        map[string]float64 `json:"best"`
	// BestFields are the fields the best point set: Best, except that a
	// factor_of parameter's field is the factor times its reference.
	BestFields map[string]float64 `json:"best_fields"`
	WallS      float64            `json:"wall_s"`
}

// Write writes DIR/history.parquet, history.csv (with fit.sha256, what a
// resumed fit reads), best.yaml (the best
// point's full spec, as `ratesim run` reads it), fit.png and meta.json,
// each atomically.
func Write(dir string, ft *Fit, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cols, rows := Columns(ft), Cells(res)
	if err := writeAtomic(filepath.Join(dir, "history.parquet"), func(w io.Writer) error { return sweep.WriteParquet(w, cols, rows) }); err != nil {
		return err
	}
	if err := writeHistory(dir, ft, res); err != nil {
		return err
	}
	best := res.History[res.Best]
	if err := writeAtomic(filepath.Join(dir, "best.yaml"), func(w io.Writer) error { _, err := w.Write(best.Spec); return err }); err != nil {
		return err
	}
	png, err := Picture(ft, res)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "fit.png"), func(w io.Writer) error { _, err := w.Write(png); return err }); err != nil {
		return err
	}
	m := Meta{Version: sim.FullVersion(), FitFile: ft.File, Optimizer: ft.Spec.Optimizer, Parameters: ft.Spec.Parameters,
		Objective: ft.Metric, Budget: ft.Spec.Budget, Population: ft.Spec.Population, Seed: ft.Seed,
		Evaluations: len(res.History), Generations: res.Generations, Programs: res.Programs, Replayed: res.Replayed, Backend: res.Backend,
		BestIndex: best.Index, BestLoss: best.Loss, Best: map[string]float64{}, WallS: res.Wall.Seconds()}
	m.BestFields = map[string]float64{}
	for i, p := range ft.Spec.Parameters {
		m.Best[p.Path] = best.Values[i]
		m.BestFields[p.Path] = ft.FieldValue(best.Values, i)
	}
	data, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "meta.json"), func(w io.Writer) error { _, err := w.Write(append(data, '\n')); return err })
}

// Picture draws the loss of every evaluation (points) and the running best
// (a line) against the evaluation index, on a log axis when every loss is
// positive, as PNG bytes.
func Picture(ft *Fit, res *Result) ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("fit: %s, %d generations of %d", ft.Spec.Optimizer, res.Generations, ft.Spec.Population)
	p.X.Label.Text = "evaluation"
	p.Y.Label.Text = "loss (" + ft.Metric.Kind + ")"
	if ft.circuit != nil {
		p.Y.Label.Text = "tuning loss (" + ft.Metric.Kind + ", " + ft.circuit.objective.Formula + " formula)"
	}
	positive := true
	var all, run plotter.XYs
	best := math.Inf(1)
	for _, e := range res.History {
		if math.IsNaN(e.Loss) {
			continue
		}
		positive = positive && e.Loss > 0
		all = append(all, plotter.XY{X: float64(e.Index), Y: e.Loss})
		best = math.Min(best, e.Loss)
		run = append(run, plotter.XY{X: float64(e.Index), Y: best})
	}
	if positive {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: 1}
		p.Y.Label.Text += ", log scale"
	}
	sc, err := plotter.NewScatter(all)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	sc.GlyphStyle.Radius = vg.Points(1.5)
	sc.GlyphStyle.Color = color.RGBA{R: 120, G: 120, B: 200, A: 255}
	ln, err := plotter.NewLine(run)
	if err != nil {
		return nil, err
	}
	ln.LineStyle.Width = vg.Points(1.5)
	ln.LineStyle.Color = color.RGBA{R: 200, A: 255}
	p.Add(sc, ln)
	p.Legend.Add("evaluation", sc)
	p.Legend.Add("best so far", ln)
	p.Legend.Top = true
	p.Legend.YOffs = -vg.Points(12) // inside the data area, clear of the title
	p.X.Tick.Marker = wholeTicks{}
	w, err := p.WriterTo(7*vg.Inch, 4.5*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeAtomic writes path through a temporary file renamed over it.
func writeAtomic(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// wholeTicks labels an axis of counts (evaluations) with whole numbers:
// plot.DefaultTicks would write 250.00.
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(math.Round(ticks[i].Value), 'f', -1, 64)
		}
	}
	return ticks
}
