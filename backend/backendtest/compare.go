package backendtest

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend"
)

// Bits returns the bit pattern of x (float32 values in the low 32 bits).
func Bits[T backend.Float](x T) uint64 {
	switch v := any(x).(type) {
	case float32:
		return uint64(math.Float32bits(v))
	case float64:
		return math.Float64bits(v)
	}
	panic("unreachable")
}

// Diff describes the first differing value of two results.
type Diff struct {
	What                        string // "rates", "states", "outputs", "final v", "final r", "weights", "final weights", "error"
	Instance, Trial, Step, Unit int    // Step is the recorded step's index (1-based step number when stride is 1)
	// Weights: Layer names the connection ("" for a snapshot value that is
	// not one synapse, whose Unit is then its index in the snapshot), Pre
	// and Unit the synapse; Trial is −1 for shared weights.
	Layer     string
	Pre       int
	Got, Want float64
	Detail    string
}

func (d *Diff) String() string {
	if d.What == "error" {
		return "error differs: " + d.Detail
	}
	if d.What == "weights" || d.What == "final weights" {
		at := fmt.Sprintf("snapshot value %d", d.Unit)
		if d.Layer != "" {
			at = fmt.Sprintf("%s synapse pre %d, post %d", d.Layer, d.Pre, d.Unit)
		}
		step := ""
		if d.What == "weights" {
			step = fmt.Sprintf(", step %d", d.Step)
		}
		str := fmt.Sprintf("first difference in %s at instance %d, trial %d%s, %s: got %v (%#x), want %v (%#x)",
			d.What, d.Instance, d.Trial, step, at, d.Got, math.Float64bits(d.Got), d.Want, math.Float64bits(d.Want))
		if d.Detail != "" {
			str += "; and " + d.Detail
		}
		return str
	}
	str := fmt.Sprintf("first difference in %s at instance %d, trial %d, step %d, unit %d: got %v (%#x), want %v (%#x)",
		d.What, d.Instance, d.Trial, d.Step, d.Unit, d.Got, math.Float64bits(d.Got), d.Want, math.Float64bits(d.Want))
	if d.Detail != "" {
		str += "; and " + d.Detail
	}
	return str
}

// Compare returns the first bitwise difference between got and want, or nil.
// stride converts recorded indices back to step numbers.
func Compare[T backend.Float](got, want *Result[T], stride int) *Diff {
	if (got.Err == nil) != (want.Err == nil) || (got.Err != nil && got.Err.Error() != want.Err.Error()) {
		return &Diff{What: "error", Detail: fmt.Sprintf("got %v, want %v", got.Err, want.Err)}
	}
	if got.Err != nil {
		// Both stopped at the same non-finite value; what each wrote after
		// it is unspecified.
		return nil
	}
	s := got.Shape
	B, M := s.Trials, got.Recorded
	if stride <= 0 {
		stride = 1
	}
	check := func(what string, g, w []T, steps, width int, perStep bool) *Diff {
		if len(g) != len(w) {
			return &Diff{What: "error", Detail: fmt.Sprintf("%s has %d values, want %d", what, len(g), len(w))}
		}
		for i := range g {
			if Bits(g[i]) != Bits(w[i]) {
				unit := i % width
				row := i / width
				step, kb := 0, row
				if perStep {
					step = (row%steps + 1) * stride
					kb = row / steps
				}
				return &Diff{What: what, Instance: kb / B, Trial: kb % B, Step: step, Unit: unit, Got: float64(g[i]), Want: float64(w[i])}
			}
		}
		return nil
	}
	for _, c := range []struct {
		what  string
		g, w  []T
		width int
		per   bool
	}{
		{"rates", got.Rates, want.Rates, s.Units, true},
		{"states", got.States, want.States, s.Units, true},
		{"outputs", got.Outputs, want.Outputs, s.Outputs, true},
		{"final v", got.V, want.V, s.Units, false},
		{"final r", got.R, want.R, s.Units, false},
	} {
		if c.width == 0 {
			continue
		}
		if d := check(c.what, c.g, c.w, M, c.width, c.per); d != nil {
			if want.Plasticity != nil && c.per {
				// A weight that differs usually comes first: report the
				// earlier of the two, naming the other.
				if dw := compareWeights(got, want); dw != nil && dw.What == "weights" && dw.Step <= d.Step {
					dw.Detail = d.String()
					return dw
				} else if dw != nil {
					d.Detail = dw.String()
				}
			}
			return d
		}
	}
	if want.Plasticity != nil {
		return compareWeights(got, want)
	}
	return nil
}

// compareWeights compares the weight snapshots and the final weights and
// names the first differing synapse.
func compareWeights[T backend.Float](got, want *Result[T]) *Diff {
	pl, s := want.Plasticity, want.Shape
	MM := 1
	if pl.PerTrial {
		MM = s.Trials
	}
	trialOf := func(km int) int {
		if MM == 1 {
			return -1
		}
		return km % MM
	}
	// synapse names position x of a whole snapshot or of a layer.
	conns := pl.Connections()
	synapse := func(x int) (string, int, int) {
		for l, c := range conns {
			if c == nil {
				continue
			}
			a, b := s.LayerDims(backend.Layer(l))
			if x < a*b {
				return backend.Layer(l).String(), x / b, x % b
			}
			x -= a * b
		}
		return "", 0, x
	}
	if len(got.Weights) != len(want.Weights) || len(got.Drive) != len(want.Drive) || len(got.Readout) != len(want.Readout) {
		return &Diff{What: "error", Detail: fmt.Sprintf("weights have %d/%d/%d values, want %d/%d/%d",
			len(got.Weights), len(got.Drive), len(got.Readout), len(want.Weights), len(want.Drive), len(want.Readout))}
	}
	if M := want.Snapshots; M > 0 {
		width := len(want.Weights) / (s.Instances * MM * M)
		for x := range want.Weights {
			if Bits(got.Weights[x]) == Bits(want.Weights[x]) {
				continue
			}
			pos, row := x%width, x/width
			km, snap := row/M, row%M
			d := &Diff{What: "weights", Instance: km / MM, Trial: trialOf(km), Step: (snap + 1) * pl.Record.Stride,
				Unit: pos, Got: float64(got.Weights[x]), Want: float64(want.Weights[x])}
			switch pl.Record.What {
			case backend.SnapWhole:
				d.Layer, d.Pre, d.Unit = synapse(pos)
			case backend.SnapSynapses:
				sy := pl.Record.Synapses[pos]
				d.Layer, d.Pre, d.Unit = sy.Layer.String(), sy.Pre, sy.Post
			}
			return d
		}
	}
	N, O, rows := s.Units, s.Outputs, s.DriveRows()
	for x := range want.Drive {
		if Bits(got.Drive[x]) != Bits(want.Drive[x]) {
			km, at := x/(rows*N), x%(rows*N)
			j, i := at/N, at%N
			layer := "recurrent"
			switch {
			case j >= N+s.Inputs:
				layer, j = "bias", 0
			case j >= N:
				layer, j = "input", j-N
			}
			return &Diff{What: "final weights", Instance: km / MM, Trial: trialOf(km), Layer: layer, Pre: j, Unit: i,
				Got: float64(got.Drive[x]), Want: float64(want.Drive[x])}
		}
	}
	for x := range want.Readout {
		if Bits(got.Readout[x]) != Bits(want.Readout[x]) {
			km, at := x/((N+1)*O), x%((N+1)*O)
			return &Diff{What: "final weights", Instance: km / MM, Trial: trialOf(km), Layer: "readout", Pre: at / O, Unit: at % O,
				Got: float64(got.Readout[x]), Want: float64(want.Readout[x])}
		}
	}
	return nil
}
