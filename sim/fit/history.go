package fit

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ratesim/ratesim/sim/sweep"
)

// Hash identifies a fit: the SHA-256 of its file's text.
func (ft *Fit) Hash() string {
	h := sha256.Sum256([]byte(ft.Text))
	return hex.EncodeToString(h[:])
}

// generation is one recorded generation of a history.
type generation struct {
	values [][]float64
	loss   []float64
	status []string
}

// check says whether points are the recorded ones, bit for bit.
func (g *generation) check(points [][]float64) error {
	if len(points) != len(g.values) {
		return fmt.Errorf("%d points recorded, %d drawn", len(g.values), len(points))
	}
	for k, p := range points {
		for i, x := range p {
			if math.Float64bits(x) != math.Float64bits(g.values[k][i]) {
				return fmt.Errorf("point %d: parameter %d drawn as %v, recorded as %v", k, i, x, g.values[k][i])
			}
		}
	}
	return nil
}

// writeHistory writes DIR/fit.sha256 and DIR/history.csv (atomically).
func writeHistory(dir string, ft *Fit, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "fit.sha256"), func(w io.Writer) error {
		_, err := fmt.Fprintln(w, ft.Hash())
		return err
	}); err != nil {
		return err
	}
	cols, rows := Columns(ft), Cells(res)
	return writeAtomic(filepath.Join(dir, "history.csv"), func(w io.Writer) error { return sweep.WriteCSV(w, cols, rows) })
}

// readHistory reads DIR's history of ft, whole generations only (none
// when DIR has no history).
func readHistory(dir string, ft *Fit) ([]generation, error) {
	hash, err := os.ReadFile(filepath.Join(dir, "fit.sha256"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(hash)) != ft.Hash() {
		return nil, fmt.Errorf("%s holds the history of another fit (its fit.sha256 differs from %s's); use another directory", dir, ft.File)
	}
	f, err := os.Open(filepath.Join(dir, "history.csv"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", f.Name(), err)
	}
	cols := Columns(ft)
	d, pop := len(ft.Spec.Parameters), ft.Spec.Population
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s: line %d: %s", f.Name(), line, fmt.Sprintf(format, args...))
	}
	if len(recs) == 0 || len(recs[0]) != len(cols) {
		return nil, bad(1, "not a history of %s (want the columns of Columns)", ft.File)
	}
	var out []generation
	for i, r := range recs[1:] {
		if len(r) != len(cols) {
			return nil, bad(i+2, "%d cells, want %d", len(r), len(cols))
		}
		if r[0] != strconv.Itoa(i) || r[1] != strconv.Itoa(i/pop) {
			return nil, bad(i+2, "evaluation %s of generation %s, want %d of %d", r[0], r[1], i, i/pop)
		}
		if i%pop == 0 {
			out = append(out, generation{})
		}
		g := &out[len(out)-1]
		vals := make([]float64, d)
		for j := range vals {
			if vals[j], err = strconv.ParseFloat(r[2+j], 64); err != nil {
				return nil, bad(i+2, "%s: %v", cols[2+j].Name, err)
			}
		}
		loss, err := strconv.ParseFloat(r[2+d], 64)
		if err != nil {
			return nil, bad(i+2, "loss: %v", err)
		}
		g.values, g.loss, g.status = append(g.values, vals), append(g.loss, loss), append(g.status, r[3+d])
	}
	if n := len(out); n > 0 && len(out[n-1].values) < pop {
		out = out[:n-1] // a generation cut short is run again
	}
	return out, nil
}
