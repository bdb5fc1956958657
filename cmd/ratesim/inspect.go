package main

import (
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

// maxEigenUnits bounds the hidden size whose spectral radius inspect
// computes (a dense eigendecomposition is O(N³)).
const maxEigenUnits = 4096

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "inspect SPEC.yaml [--masks DIR]", stderr)
	masksDir := fs.String("masks", "", "write the masks as .npy files into DIR, in nn4n's (pre, post) orientation")
	example := fs.String("example", "", "inspect a built-in example instead of a SPEC file")
	pos, err := parse(fs, args)
	if err != nil {
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
	net, err := network.New(sp)
	if err != nil {
		return err
	}
	rep := inspectNetwork(sp, net)
	rep.print(stdout, source)
	if *masksDir != "" {
		files, err := writeMasks(*masksDir, net)
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

// report is what inspect prints about a built network.
type report struct {
	spec      *spec.Spec
	areas     []connect.Area
	structure string
	// Per hidden unit as presynaptic unit: +1 excitatory, −1 inhibitory,
	// 0 mixed signs in its E/I column; nil without an E/I mask.
	unitSign      []int
	exc, inh, mix int
	// density[a][b] is the fraction of nonzero hidden weights from area b
	// onto area a.
	density           [][]float64
	inDensity         float64
	outDensity        float64
	sumE, sumI, sum   float64
	radius            float64 // NaN when not computed
	radiusNote        string
	selfConnections   int
	signedByEntrySign bool // sums split by the weights' own sign (no E/I mask)
}

func inspectNetwork(s *spec.Spec, net *network.Network) *report {
	N := net.N
	r := &report{spec: s, areas: net.Areas, structure: "none (every unit in one area)"}
	if s.Structure != nil {
		r.structure = s.Structure.Type
	}
	if len(r.areas) == 0 {
		all := make([]int, N)
		for i := range all {
			all[i] = i
		}
		r.areas = []connect.Area{{Name: "all", Units: all}}
	}
	if ei := net.EI.Hidden; ei != nil {
		r.unitSign = make([]int, N)
		for j := 0; j < N; j++ {
			pos, neg := 0, 0
			for i := 0; i < N; i++ {
				if ei[i*N+j] > 0 {
					pos++
				} else {
					neg++
				}
			}
			switch {
			case neg == 0:
				r.unitSign[j], r.exc = 1, r.exc+1
			case pos == 0:
				r.unitSign[j], r.inh = -1, r.inh+1
			default:
				r.mix++
			}
		}
	}
	r.density = make([][]float64, len(r.areas))
	for a, post := range r.areas {
		r.density[a] = make([]float64, len(r.areas))
		for b, pre := range r.areas {
			nz := 0
			for _, i := range post.Units {
				for _, j := range pre.Units {
					if net.Hidden[i*N+j] != 0 {
						nz++
					}
				}
			}
			if n := len(post.Units) * len(pre.Units); n > 0 {
				r.density[a][b] = float64(nz) / float64(n)
			}
		}
	}
	r.inDensity, r.outDensity = density(net.In), density(net.Out)
	for i := 0; i < N; i++ {
		if net.Hidden[i*N+i] != 0 {
			r.selfConnections++
		}
	}
	// Sums over the hidden weights in ascending order: by the E/I mask's
	// entry sign when there is one, else by the weights' own sign.
	r.signedByEntrySign = net.EI.Hidden == nil
	for k, w := range net.Hidden {
		exc := w > 0
		if !r.signedByEntrySign {
			exc = net.EI.Hidden[k] > 0
		}
		if exc {
			r.sumE += w
		} else {
			r.sumI += w
		}
		r.sum += w
	}
	r.radius, r.radiusNote = spectralRadius(net.Hidden, N)
	return r
}

func density(w []float64) float64 {
	if len(w) == 0 {
		return math.NaN()
	}
	nz := 0
	for _, v := range w {
		if v != 0 {
			nz++
		}
	}
	return float64(nz) / float64(len(w))
}

// spectralRadius is max |λ| over the eigenvalues of the N×N matrix w
// (gonum's mat.Eigen), or NaN with a note when N is too large or the
// decomposition fails.
func spectralRadius(w []float64, n int) (float64, string) {
	if n > maxEigenUnits {
		return math.NaN(), fmt.Sprintf("not computed for more than %d units", maxEigenUnits)
	}
	var eig mat.Eigen
	if !eig.Factorize(mat.NewDense(n, n, append([]float64(nil), w...)), mat.EigenNone) {
		return math.NaN(), "the eigendecomposition did not converge"
	}
	rho := 0.0
	for _, v := range eig.Values(nil) {
		rho = math.Max(rho, cmplx.Abs(v))
	}
	return rho, ""
}

func (r *report) print(w io.Writer, source string) {
	s := r.spec
	fmt.Fprintf(w, "%s: %s — %d inputs, %d hidden units, %d outputs, %s\n", source, s.Name, s.Dims[0], s.Dims[1], s.Dims[2], s.Activation)
	fmt.Fprintf(w, "structure: %s\n", r.structure)
	fmt.Fprintf(w, "areas: %d\n", len(r.areas))
	for _, a := range r.areas {
		line := fmt.Sprintf("  %-10s %4d units %s", a.Name, len(a.Units), unitRange(a.Units))
		if r.unitSign != nil {
			e, i := 0, 0
			for _, u := range a.Units {
				switch r.unitSign[u] {
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
	if r.unitSign == nil {
		fmt.Fprintln(w, "E/I: no E/I mask on the hidden layer")
	} else {
		fmt.Fprintf(w, "E/I: %d excitatory, %d inhibitory units", r.exc, r.inh)
		if r.mix > 0 {
			fmt.Fprintf(w, ", %d with mixed signs", r.mix)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "hidden density per block (rows: postsynaptic area, columns: presynaptic area):")
	fmt.Fprintf(w, "  %-10s", "")
	for _, a := range r.areas {
		fmt.Fprintf(w, " %10s", a.Name)
	}
	fmt.Fprintln(w)
	for i, a := range r.areas {
		fmt.Fprintf(w, "  %-10s", a.Name)
		for j := range r.areas {
			fmt.Fprintf(w, " %10.4f", r.density[i][j])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "input density %s, readout density %s, self-connections %d\n", fmtDensity(r.inDensity), fmtDensity(r.outDensity), r.selfConnections)
	if r.signedByEntrySign {
		fmt.Fprintf(w, "hidden weight sums: positive %.6g, negative %.6g, total %.6g\n", r.sumE, r.sumI, r.sum)
	} else {
		fmt.Fprintf(w, "hidden weight sums: E %.6g, I %.6g, total %.6g\n", r.sumE, r.sumI, r.sum)
	}
	if math.IsNaN(r.radius) {
		fmt.Fprintf(w, "spectral radius of W_hidden: %s\n", r.radiusNote)
	} else {
		fmt.Fprintf(w, "spectral radius of W_hidden: %.6g\n", r.radius)
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

// writeMasks writes the network's masks into dir as KIND_LAYER.npy
// (KIND sparsity, ei, plasticity), float64, in nn4n's (pre, post)
// orientation — the form the spec's *_masks keys and nn4n take. Each file
// is written atomically.
func writeMasks(dir string, net *network.Network) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	shapes := [3][2]int{{net.N, net.I}, {net.N, net.N}, {net.O, net.N}} // (out, in)
	var files []string
	for _, kind := range []struct {
		name string
		l    spec.Layers
	}{{"sparsity", net.Sparsity}, {"ei", net.EI}, {"plasticity", net.Plasticity}} {
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
