//go:build cuda && cudaemu

package gpu

import (
	"slices"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/kernels"
)

// withoutField is a kernel's argument struct lacking one field, as a stale
// kernels/args.go would declare it after a parameter was added to the .cu.
type withoutField struct {
	kernels.Args
	name string
}

func (w withoutField) ParamNames() []string {
	return slices.DeleteFunc(slices.Clone(w.Args.ParamNames()), func(n string) bool { return n == w.name })
}

func (w withoutField) Pack() []uint64 {
	i := slices.Index(w.Args.ParamNames(), w.name)
	return slices.Delete(w.Args.Pack(), i, i+1)
}

// The backend's launch path on the emulator refuses an argument list that
// is not the kernel's parameter list, before it runs anything, and names
// what is wrong.
func TestEmuLaunchChecksArgs(t *testing.T) {
	drv, err := New().open()
	if err != nil {
		t.Fatal(err)
	}
	one := [3]uint32{1, 1, 1}
	for _, c := range []struct {
		kernel string
		args   kernels.Args
		want   string
	}{
		{"step_f64_m", withoutField{kernels.StepArgs{}, "wPerTrial"}, "lacks wPerTrial (parameter 30)"},
		{"persistent_f32", withoutField{kernels.PersistentArgs{}, "readout"}, "parameter 2 is readout, gpu.withoutField gives decay there"},
		{"plastic_f32", withoutField{kernels.PlasticArgs{}, "nSyn"}, "parameter 24 is nSyn"},
		{"readout_f32", kernels.StepArgs{}, "readout_f32 of readout.cu takes kernels.ReadoutArgs, got kernels.StepArgs"},
	} {
		err := drv.do(func(cl calls) error { return cl.launch(c.kernel, one, one, 0, c.args) })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %T: %v, want an error saying %q", c.kernel, c.args, err, c.want)
			continue
		}
		t.Log(err)
	}
}
