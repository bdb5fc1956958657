package sim

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/ratesim/ratesim/"

// layers ranks every package of the module (ARCHITECTURE.md): a package may
// import only packages of a lower rank, so imports point downward
// (cmd → sim/… → backend ← cpu, gpu; gpu → kernels).
var layers = map[string]int{
	"backend/dmath": 0, "kernels/internal/cusig": 0, "cpu/internal/asmgen": 0,
	"backend": 1, "kernels": 1, "kernels/internal/genargs": 1, "kernels/internal/sassreport": 1,
	"backend/backendtest": 2, "cpu": 2, "gpu/internal/emu": 2, "bench": 2,
	"gpu":     3,
	"sim/npz": 2, "sim/connect": 2, "sim/output/plot": 2,
	"sim/nn4n": 3, "sim/spec": 3,
	"sim/network": 4, "sim/stimulus": 4,
	"sim/output": 5, "sim/analysis": 5, "sim/circuit": 5,
	"sim":         6,
	"sim/sweep":   7,
	"sim/fit":     8,
	"cmd/ratesim": 9,
}

// importers limits who may import the backends: only the program that wants
// them (for their registration), never the front-end or the benchmarks;
// the CUDA kernels only the CUDA backend and its host emulator.
var importers = map[string][]string{
	"cpu":     {"cmd/ratesim"},
	"gpu":     {"cmd/ratesim"},
	"kernels": {"gpu", "gpu/internal/emu"},
}

// TestImportsPointDownward reads the imports of every package's non-test
// files (all build tags) and fails on one that points sideways or upward,
// and on a package the ranking does not know (give it a room first).
func TestImportsPointDownward(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	ctx := build.Default
	ctx.UseAllFiles = true // cuda, cudaemu and their stubs alike
	seen := 0
	err = filepath.WalkDir(root, func(dir string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); dir != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "peers") {
			return filepath.SkipDir
		}
		pkg, err := ctx.ImportDir(dir, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		require.NoError(t, err, dir)
		rel, _ := filepath.Rel(root, dir)
		rel = filepath.ToSlash(rel)
		rank, known := layers[rel]
		if !assert.True(t, known, "package %s has no place in the layering (sim/layout_test.go, ARCHITECTURE.md)", rel) {
			return nil
		}
		seen++
		for _, imp := range pkg.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			assert.Less(t, layers[dep], rank, "%s imports %s, which is not below it", rel, dep)
			if who, limited := importers[dep]; limited && !slices.Contains(who, rel) {
				t.Errorf("%s imports %s; only %v may (backends register themselves)", rel, dep, who)
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, seen, 15, "the walk found too few packages")
}
