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
	What                        string // "rates", "states", "outputs", "final v", "final r", "error"
	Instance, Trial, Step, Unit int    // Step is the recorded step's index (1-based step number when stride is 1)
	Got, Want                   float64
	Detail                      string
}

func (d *Diff) String() string {
	if d.What == "error" {
		return "error differs: " + d.Detail
	}
	return fmt.Sprintf("first difference in %s at instance %d, trial %d, step %d, unit %d: got %v (%#x), want %v (%#x)",
		d.What, d.Instance, d.Trial, d.Step, d.Unit, d.Got, math.Float64bits(d.Got), d.Want, math.Float64bits(d.Want))
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
			return d
		}
	}
	return nil
}
