package output

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ratesim/ratesim/sim/npz"
)

// Matrix is a named 2-D array for WriteMatrices: Rows × Cols values,
// row-major.
type Matrix struct {
	Name       string
	Rows, Cols int
	Values     []float64
}

// WriteMatrices writes each matrix as DIR/NAME.npy (float64, shape
// (Rows, Cols)), creating DIR, and returns the paths written. A matrix
// whose values do not fill its shape is a programmer's error.
func WriteMatrices(dir string, ms []Matrix) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	var files []string
	for _, m := range ms {
		if len(m.Values) != m.Rows*m.Cols {
			panic(fmt.Sprintf("output: matrix %s has %d values for %d × %d", m.Name, len(m.Values), m.Rows, m.Cols))
		}
		path := filepath.Join(dir, m.Name+".npy")
		if err := npz.WriteNPY(path, npz.Float64, []int{m.Rows, m.Cols}, m.Values); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}
