package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ratesim/ratesim/sim/nn4n"
)

const importSynopsis = "import nn4n MODEL.(npz|pt|pth) [--activation A --dt DT --tau TAU] -o SPEC.yaml"

// cmdImport converts a model trained elsewhere into a spec and a weights
// file: `ratesim import nn4n MODEL -o SPEC.yaml`.
func cmdImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", importSynopsis, stderr)
	out := fs.String("o", "", "the spec to write (its arrays go to SPEC.weights.npz next to it)")
	act := fs.String("activation", "", "activation (relu, tanh, sigmoid, retanh, softplus, identity); overrides the checkpoint's kwargs")
	dt := fs.Float64("dt", 0, "time step in ms; overrides the kwargs")
	tau := fs.Float64("tau", 0, "time constant τ in ms; overrides the kwargs and the state dict's alpha")
	pre := fs.Float64("preact-noise", 0, "σ_pre; overrides the kwargs' preact_noise")
	post := fs.Float64("postact-noise", 0, "σ_post; overrides the kwargs' postact_noise")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{fmt.Errorf("usage: ratesim %s", importSynopsis)}
	}
	if pos[0] != "nn4n" {
		return usageError{fmt.Errorf("unknown model kind %q: ratesim imports nn4n models (ratesim %s)", pos[0], importSynopsis)}
	}
	if len(pos) != 2 {
		return usageError{fmt.Errorf("expected one MODEL file after nn4n, got %d arguments", len(pos)-1)}
	}
	if *out == "" {
		return usageError{fmt.Errorf("-o SPEC.yaml is required")}
	}
	if ext := strings.ToLower(filepath.Ext(*out)); ext != ".yaml" && ext != ".yml" {
		return usageError{fmt.Errorf("-o %s: the spec file must end in .yaml or .yml", *out)}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var ov nn4n.Overrides
	if set["activation"] {
		ov.Activation = *act
	}
	if set["dt"] {
		ov.Dt = dt
	}
	if set["tau"] {
		ov.Tau = tau
	}
	if set["preact-noise"] {
		ov.PreactNoise = pre
	}
	if set["postact-noise"] {
		ov.PostactNoise = post
	}
	m, err := nn4n.Read(pos[1], ov)
	if err != nil {
		return err
	}
	wpath, err := nn4n.WriteSpec(m, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %s (%s): dims [%d, %d, %d], %s (%s), dt %g (%s), ",
		pos[1], m.Format, m.Inputs, m.Hidden, m.Outputs, m.Activation, m.Origin["activation"], m.Dt, m.Origin["dt"])
	if m.Alpha != nil {
		src := m.Origin["alpha"]
		if src == "" {
			src = "dt/τ, τ from " + m.Origin["tau"]
		}
		fmt.Fprintf(stdout, "α per unit (%s)\n", src)
	} else {
		fmt.Fprintf(stdout, "tau %g (%s)\n", m.Tau, m.Origin["tau"])
	}
	for _, n := range m.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	if v := m.MaskViolations(); v != [3]int{} {
		fmt.Fprintf(stdout, "note: weights break the kwargs' masks (input %d, hidden %d, readout %d entries); nn4n re-applies masks only when training, so the spec uses the weights as saved, as nn4n's eval() forward does, and leaves those masks out\n", v[0], v[1], v[2])
	}
	if m.PreactNoise != 0 || m.PostactNoise != 0 {
		fmt.Fprintf(stdout, "note: noise σ_pre %g, σ_post %g is on from the first step in ratesim (nn4n adds it only in train mode); --preact-noise 0 --postact-noise 0 for nn4n's eval() outputs\n", m.PreactNoise, m.PostactNoise)
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", *out, wpath)
	fmt.Fprintf(stdout, "run it: ratesim run %s --input X.npy   # X shaped (trials, steps, %d)\n", *out, m.Inputs)
	return nil
}
