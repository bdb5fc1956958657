package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/analysis"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/output/plot"
	"github.com/ratesim/ratesim/sim/spec"
)

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "inspect SPEC.yaml [--masks DIR] [--plot FILE]", stderr)
	masksDir := fs.String("masks", "", "write the masks as .npy files into DIR, in nn4n's (pre, post) orientation")
	connDir := fs.String("connections", "", "write each connection's weight matrix (post × pre) as DIR/connection_K_FROM_to_TO.npy, and the recurrent delays in steps as DIR/delays.npy (a spec with groups)")
	example := fs.String("example", "", "inspect a built-in example instead of a SPEC file")
	plotFile := fs.String("plot", "", "draw the structure into FILE: W_hidden with its area and E/I boundaries, and its eigenvalues in the complex plane")
	plotFormat := fs.String("plot-format", "", "format of --plot: png, svg or pdf (default: FILE's extension, else png); FILE's extension follows it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if ok, err := inspectCircuit(pos, *example, stdout); ok {
		if err == nil && (*masksDir != "" || *connDir != "" || *plotFile != "") {
			err = usageError{fmt.Errorf("--masks, --connections and --plot are for specs; a circuit's network is in its run's result.npz (initial_weights)")}
		}
		return err
	}
	var sp *spec.Spec
	var source string
	switch {
	case len(pos) == 1 && *example == "":
		source = pos[0]
		sp, err = spec.Load(source)
	case len(pos) == 0 && *example != "":
		source = "example " + *example
		sp, err = spec.LoadExample(*example)
	default:
		return usageError{fmt.Errorf("expected one SPEC file (or --example NAME), got %v", pos)}
	}
	if err != nil {
		return err
	}
	var format plot.Format
	if *plotFile != "" {
		if format, err = picturePath(plotFile, *plotFormat); err != nil {
			return usageError{err}
		}
	} else if *plotFormat != "" {
		return usageError{fmt.Errorf("--plot-format needs --plot FILE")}
	}
	net, err := network.New(sp)
	if err != nil {
		return err
	}
	st := analysis.Inspect(sp, net)
	printStructure(stdout, source, sp, st)
	printConnections(stdout, sp, net)
	if *plotFile != "" {
		data, err := plot.DrawStructure(structureFigure(source, sp, net, st), format)
		if err != nil {
			return err
		}
		if err := writeAtomic(*plotFile, data); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "picture: %s (W_hidden, post × pre, with its areas and E/I; its eigenvalues and the unit circle)\n", *plotFile)
	}
	if *connDir != "" {
		if len(net.Connections) == 0 {
			return fmt.Errorf("--connections: %s has no connections (it needs groups: and connections:)", source)
		}
		var ms []output.Matrix
		for k, c := range net.Connections {
			ms = append(ms, output.Matrix{Name: fmt.Sprintf("connection_%d_%s_to_%s", k, c.From, c.To), Rows: c.Matrix.Rows, Cols: c.Matrix.Cols, Values: c.Matrix.ToDense()})
		}
		if net.Delays != nil {
			d := make([]float64, len(net.Delays))
			for x, v := range net.Delays {
				d[x] = float64(v)
			}
			ms = append(ms, output.Matrix{Name: "delays", Rows: net.N, Cols: net.N, Values: d})
		}
		files, err := output.WriteMatrices(*connDir, ms)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(stdout, "wrote %s\n", f)
		}
	}
	if *masksDir != "" {
		files, err := output.WriteMasks(*masksDir, net.Masks(), net.N, net.I, net.O)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			fmt.Fprintf(stdout, "masks: the network has none; nothing written to %s\n", *masksDir)
		}
		for _, f := range files {
			fmt.Fprintf(stdout, "wrote %s\n", f)
		}
	}
	return nil
}

// printStructure prints what inspect says about spec s's network.
func printStructure(w io.Writer, source string, s *spec.Spec, r *analysis.Structure) {
	fmt.Fprintf(w, "%s: %s — %d inputs, %d hidden units, %d outputs, %s\n", source, s.Name, s.Dims[0], s.Dims[1], s.Dims[2], s.Activation)
	fmt.Fprintf(w, "structure: %s\n", r.Builder)
	fmt.Fprintf(w, "areas: %d\n", len(r.Areas))
	for _, a := range r.Areas {
		line := fmt.Sprintf("  %-10s %4d units %s", a.Name, len(a.Units), unitRange(a.Units))
		if r.UnitSign != nil {
			e, i := 0, 0
			for _, u := range a.Units {
				switch r.UnitSign[u] {
				case 1:
					e++
				case -1:
					i++
				}
			}
			line += fmt.Sprintf("  E %d, I %d", e, i)
		}
		fmt.Fprintln(w, line)
	}
	if r.UnitSign == nil {
		fmt.Fprintln(w, "E/I: no E/I mask on the hidden layer")
	} else {
		fmt.Fprintf(w, "E/I: %d excitatory, %d inhibitory units", r.Excitatory, r.Inhibitory)
		if r.Mixed > 0 {
			fmt.Fprintf(w, ", %d with mixed signs", r.Mixed)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "hidden density per block (rows: postsynaptic area, columns: presynaptic area):")
	fmt.Fprintf(w, "  %-10s", "")
	for _, a := range r.Areas {
		fmt.Fprintf(w, " %10s", a.Name)
	}
	fmt.Fprintln(w)
	for i, a := range r.Areas {
		fmt.Fprintf(w, "  %-10s", a.Name)
		for j := range r.Areas {
			fmt.Fprintf(w, " %10.4f", r.Density[i][j])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "input density %s, readout density %s, self-connections %d\n", fmtDensity(r.InputDensity), fmtDensity(r.ReadoutDensity), r.SelfConnections)
	if r.SignedByWeight {
		fmt.Fprintf(w, "hidden weight sums: positive %.6g, negative %.6g, total %.6g\n", r.SumE, r.SumI, r.Sum)
	} else {
		fmt.Fprintf(w, "hidden weight sums: E %.6g, I %.6g, total %.6g\n", r.SumE, r.SumI, r.Sum)
	}
	if math.IsNaN(r.SpectralRadius) {
		fmt.Fprintf(w, "spectral radius of W_hidden: %s\n", r.RadiusNote)
	} else {
		fmt.Fprintf(w, "spectral radius of W_hidden: %.6g\n", r.SpectralRadius)
	}
}

func fmtDensity(d float64) string {
	if math.IsNaN(d) {
		return "-"
	}
	return fmt.Sprintf("%.4f", d)
}

// unitRange writes units as "[a–b]" when consecutive, else a short list.
func unitRange(u []int) string {
	if len(u) == 0 {
		return "[]"
	}
	if u[len(u)-1]-u[0] == len(u)-1 {
		return fmt.Sprintf("[%d–%d]", u[0], u[len(u)-1])
	}
	parts := make([]string, 0, 8)
	for k, v := range u {
		if k == 6 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprint(v))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// picturePath settles the format of the picture *file: format when given
// (the file's extension then follows it: replaced when it is another
// picture format's, else appended), otherwise the file's own extension when
// it names a format, else png (appended).
func picturePath(file *string, format string) (plot.Format, error) {
	ext := strings.ToLower(filepath.Ext(*file))
	known := false
	for _, f := range plot.Formats {
		known = known || ext == f.Ext()
	}
	if format == "" && known {
		format = ext[1:]
	}
	f, err := plot.ParseFormat(format)
	if err != nil {
		return "", fmt.Errorf("--plot-format: %w", err)
	}
	if ext != f.Ext() {
		if known {
			*file = strings.TrimSuffix(*file, filepath.Ext(*file))
		}
		*file += f.Ext()
	}
	return f, nil
}

// structureFigure gathers what the structure picture shows of net.
func structureFigure(source string, s *spec.Spec, net *network.Network, st *analysis.Structure) *plot.Structure {
	N := net.N
	fig := &plot.Structure{N: N, W: plot.Pool(net.Hidden, N, N, 400),
		Eigenvalues: st.Eigenvalues, Radius: st.SpectralRadius, Note: st.RadiusNote,
		Title: fmt.Sprintf("%s (%s): %d hidden units, structure %s", s.Name, source, N, st.Builder)}
	for _, a := range st.Areas {
		u := a.Units
		if len(u) == 0 || u[len(u)-1]-u[0] != len(u)-1 {
			fig.Areas = nil // not consecutive: no boundaries to draw
			break
		}
		fig.Areas = append(fig.Areas, plot.Area{Name: a.Name, Start: u[0], End: u[len(u)-1] + 1})
	}
	if len(net.Groups) > 0 {
		// A wired network's groups are its areas: consecutive by construction.
		fig.Areas = nil
		for _, g := range net.Groups {
			fig.Areas = append(fig.Areas, plot.Area{Name: g.Name, Start: g.Lo, End: g.Hi})
		}
		fig.Title = fmt.Sprintf("%s (%s): %d hidden units in %d groups, %d connections", s.Name, source, N, len(net.Groups), len(net.Connections))
	}
	if st.UnitSign != nil {
		starts := map[int]bool{}
		for _, a := range fig.Areas {
			starts[a.Start] = true
		}
		for u := 1; u < N; u++ {
			if st.UnitSign[u] != st.UnitSign[u-1] && !starts[u] {
				fig.EI = append(fig.EI, u)
			}
		}
	}
	return fig
}

// writeAtomic writes data to path through a temporary file beside it, so
// that path is either the old file or the whole new one.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cannot write %s: %w", path, werr)
	}
	return nil
}

// printConnections prints the groups and connections of a spec with
// groups (nothing for the nn4n form).
func printConnections(w io.Writer, sp *spec.Spec, net *network.Network) {
	if len(sp.Groups) == 0 {
		return
	}
	_, dense := network.DriveForm(net)
	fmt.Fprintf(w, "groups:\n  %-10s %6s  %-12s %-14s %s\n", "name", "units", "shape", "units", "drive")
	for _, g := range net.Groups {
		shape := "-"
		for _, sg := range sp.Groups {
			if sg.Name == g.Name && len(sg.Shape) > 0 {
				shape = fmt.Sprint(sg.Shape)
			}
		}
		form := "sparse"
		if net.Delays == nil && unitsDense(net, dense, g.Lo) {
			form = "dense"
		} else if net.Delays != nil {
			form = "gathered (delays are read per synapse)"
		}
		fmt.Fprintf(w, "  %-10s %6d  %-12s %-14s %s\n", g.Name, g.Hi-g.Lo, shape, fmt.Sprintf("%d…%d", g.Lo, g.Hi-1), form)
	}
	if len(sp.InputGroups) > 0 {
		fmt.Fprintf(w, "input groups:\n")
		off := 0
		for _, g := range sp.InputGroups {
			n := g.Size
			if n == 0 {
				n = 1
				for _, d := range g.Shape {
					n *= d
				}
			}
			shape := "-"
			if len(g.Shape) > 0 {
				shape = fmt.Sprint(g.Shape)
			}
			fmt.Fprintf(w, "  %-10s %6d  %-12s inputs %d…%d\n", g.Name, n, shape, off, off+n-1)
			off += n
		}
	}
	fmt.Fprintf(w, "connections:\n  %-3s %-8s %-8s %-18s %8s %8s %10s %10s %10s %10s %-6s %s\n", "#", "from", "to", "type", "synapses", "density", "mean", "std", "min", "max", "form", "delay")
	for k, c := range analysis.Connections(net) {
		form := "dense"
		if c.Sparse {
			form = "sparse"
		}
		delay := "-"
		if c.DelaySteps > 0 {
			delay = fmt.Sprintf("%d steps (%g ms)", c.DelaySteps, float64(c.DelaySteps)*sp.Dt)
		}
		fmt.Fprintf(w, "  %-3d %-8s %-8s %-18s %8d %8.4f %10.4g %10.4g %10.4g %10.4g %-6s %s\n", k, c.From, c.To, c.Type, c.Synapses, c.Density, c.Mean, c.Std, c.Min, c.Max, form, delay)
	}
	fmt.Fprintln(w, "  (a group's drive is sparse when every connection into it is; form: auto|dense|sparse per connection overrides the density rule)")
}

// unitsDense reports whether the group starting at unit lo runs the dense
// product: all groups when the drive is dense, else those in dense.
func unitsDense(net *network.Network, dense []backend.ColumnRange, lo int) bool {
	if sparse, _ := network.DriveForm(net); !sparse {
		return true
	}
	for _, r := range dense {
		if r.Lo <= lo && lo < r.Hi {
			return true
		}
	}
	return false
}
