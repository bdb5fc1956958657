package output

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

// WriteMasks writes a network's masks (n hidden units, i inputs, o
// outputs) into dir as KIND_LAYER.npy
// (KIND sparsity, ei, plasticity), float64, in nn4n's (pre, post)
// orientation — the form the spec's *_masks keys and nn4n take. Each file
// is written atomically.
func WriteMasks(dir string, masks *spec.Masks, n, i, o int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	shapes := [3][2]int{{n, i}, {n, n}, {o, n}} // (out, in)
	var files []string
	for _, kind := range []struct {
		name string
		l    spec.Layers
	}{{"sparsity", masks.Sparsity}, {"ei", masks.EI}, {"plasticity", masks.Plasticity}} {
		for k, m := range [3][]float64{kind.l.Input, kind.l.Hidden, kind.l.Readout} {
			if m == nil {
				continue
			}
			out, in := shapes[k][0], shapes[k][1]
			path := filepath.Join(dir, fmt.Sprintf("%s_%s.npy", kind.name, []string{"input", "hidden", "readout"}[k]))
			if err := npz.WriteNPY(path, npz.Float64, []int{in, out}, connect.Transpose(m, out, in)); err != nil {
				return files, err
			}
			files = append(files, path)
		}
	}
	return files, nil
}
