package spec

import (
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/npz"
)

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Layers holds one array per layer (nil where there is none), in the
// weights' orientation (out, in): input N×I, hidden N×N, readout O×N.
type Layers struct {
	Input, Hidden, Readout []float64
}

// At is layer i's array: 0 input, 1 hidden, 2 readout.
func (l *Layers) At(i int) *[]float64 {
	return [3]*[]float64{&l.Input, &l.Hidden, &l.Readout}[i]
}

// Resolved is a model resolved against its arrays: everything
// network.Build needs besides the random draws (weights, biases and the
// structure's masks).
type Resolved struct {
	Alpha      []float64
	Weights    Layers // arrays given in the spec; nil where drawn
	Biases     Layers
	Sparsity   Layers // 0/1, from sparsity_masks files
	EI         Layers // ±1 per entry, from ei_masks files
	Plasticity Layers // scales in [0, 1]
	FromFile   [3]bool
	Init       []float64 // N or trials×N; nil = zero
}

// LayerShape is layer l's weight shape (out, in).
func (s *Spec) LayerShape(l int) (out, in int) {
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	switch l {
	case 0:
		return N, I
	case 1:
		return N, N
	}
	return O, N
}

// MaxAreas bounds a structure's areas: the builders keep an areas × areas
// table of densities, which validation must not let grow without bound.
const MaxAreas = 1024

// Resolve resolves and checks every model field: per-unit time constants,
// per-layer initializers and arrays (shapes, values), masks, the structure
// section's parameters (its masks are drawn by network.Build) and the
// initial state. Errors are *Error naming the field. Dims, trials and dt
// must already be valid (Validate checks them first).
func (s *Spec) Resolve() (*Resolved, error) {
	bad := func(field, format string, args ...any) error {
		return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	m := &Resolved{}

	// Time constants.
	switch {
	case s.Tau.Set && s.Alpha.Set:
		return nil, bad("alpha", "tau and alpha are both given; give one of them")
	case s.Alpha.Set:
		a, err := s.Alpha.resolve(s.dir, N)
		if err != nil {
			return nil, bad("alpha", "%v", err)
		}
		for i, v := range a {
			if !finite(v) || v <= 0 || v > 1 {
				return nil, bad("alpha", "unit %d has α = %v; α = dt/τ must be in (0, 1]", i, v)
			}
		}
		m.Alpha = a
	case s.Tau.Set:
		t, err := s.Tau.resolve(s.dir, N)
		if err != nil {
			return nil, bad("tau", "%v", err)
		}
		m.Alpha = make([]float64, N)
		for i, v := range t {
			if !finite(v) || v <= 0 {
				return nil, bad("tau", "unit %d has τ = %v; τ must be a finite number > 0", i, v)
			}
			if s.Dt > v {
				if s.Tau.Values == nil && s.Tau.Array == nil {
					return nil, bad("dt", "dt = %v exceeds tau = %v: α = dt/τ > 1 makes forward Euler unstable", s.Dt, v)
				}
				return nil, bad("tau", "unit %d: dt = %v exceeds τ = %v: α = dt/τ > 1 makes forward Euler unstable", i, s.Dt, v)
			}
			m.Alpha[i] = s.Dt / v
		}
	default:
		return nil, bad("tau", "give tau (ms) or alpha")
	}

	// Weights and biases.
	for l, li := range s.Weights.PerLayer() {
		field := "weights." + LayerNames[l]
		out, in := s.LayerShape(l)
		if li.Array == nil {
			if !oneOf(li.Kind, "uniform", "normal", "zero") {
				return nil, bad(field, "must be uniform, normal, zero or {file: PATH[, key: NAME]}, got %q", li.Kind)
			}
			continue
		}
		a, err := li.Array.load(s.dir, func(shape []int) error {
			if !shapeIs(shape, out, in) {
				return fmt.Errorf("%s is shaped %s, want (%d, %d) (out, in) as nn4n stores the %s weight", li.Array, npz.FormatShape(shape), out, in, LayerNames[l])
			}
			return nil
		})
		if err != nil {
			return nil, bad(field, "%v", err)
		}
		*m.Weights.At(l) = a.values
		m.FromFile[l] = true
	}
	for l, li := range s.Biases.PerLayer() {
		field := "biases." + LayerNames[l]
		out, _ := s.LayerShape(l)
		if li.Array == nil {
			if !oneOf(li.Kind, "none", "zero", "uniform", "normal") {
				return nil, bad(field, "must be none, zero, uniform, normal or {file: PATH[, key: NAME]}, got %q", li.Kind)
			}
			continue
		}
		a, err := li.Array.load(s.dir, func(shape []int) error {
			if !shapeIs(shape, out) {
				return fmt.Errorf("%s is shaped %s, want (%d,)", li.Array, npz.FormatShape(shape), out)
			}
			return nil
		})
		if err != nil {
			return nil, bad(field, "%v", err)
		}
		*m.Biases.At(l) = a.values
	}

	// Masks, given in nn4n's (pre, post) orientation.
	for _, kind := range []struct {
		name string
		lm   *LayerMasks
		dst  *Layers
	}{{"sparsity_masks", &s.SparsityMasks, &m.Sparsity}, {"ei_masks", &s.EIMasks, &m.EI}, {"plasticity_masks", &s.PlasticityMasks, &m.Plasticity}} {
		for l, ref := range kind.lm.PerLayer() {
			if ref == nil {
				continue
			}
			field := kind.name + "." + LayerNames[l]
			out, in := s.LayerShape(l)
			a, err := ref.load(s.dir, func(shape []int) error {
				if !shapeIs(shape, in, out) {
					return fmt.Errorf("%s is shaped %s, want (%d, %d): masks are (pre, post) as nn4n takes them, the transpose of the weight", ref, npz.FormatShape(shape), in, out)
				}
				return nil
			})
			if err != nil {
				return nil, bad(field, "%v", err)
			}
			t := connect.Transpose(a.values, in, out)
			for i, v := range t {
				switch kind.name {
				case "sparsity_masks":
					if v != 0 {
						t[i] = 1
					}
				case "ei_masks":
					if v > 0 {
						t[i] = 1
					} else {
						t[i] = -1
					}
				default:
					if v < 0 {
						return nil, bad(field, "%s has %v at index [%d %d]; plasticity scales must be ≥ 0", ref, v, i%in, i/in)
					}
				}
			}
			*kind.dst.At(l) = t
		}
	}
	// Plasticity scales are divided by their largest value over all layers,
	// so they lie in [0, 1] and keep their ratios (nn4n instead maps the
	// smallest to 0, freezing those synapses).
	maxP := 0.0
	for l := 0; l < 3; l++ {
		for _, v := range *m.Plasticity.At(l) {
			maxP = max(maxP, v)
		}
	}
	if maxP > 0 {
		for l := 0; l < 3; l++ {
			for i := range *m.Plasticity.At(l) {
				(*m.Plasticity.At(l))[i] /= maxP
			}
		}
	}

	// Structure.
	if st := s.Structure; st != nil {
		signed := st.Type == "multi_area_ei"
		for l := 0; l < 3; l++ {
			if s.SparsityMasks.PerLayer()[l] != nil {
				return nil, bad("sparsity_masks."+LayerNames[l], "is also built by structure (%s); give one or the other", st.Type)
			}
			if signed && l > 0 && s.EIMasks.PerLayer()[l] != nil {
				return nil, bad("ei_masks."+LayerNames[l], "is also built by structure (%s); give one or the other", st.Type)
			}
		}
		if a := st.Areas; a != nil && max(a.Count, len(a.Sizes)) > MaxAreas {
			return nil, bad("structure.areas", "%d areas is more than ratesim supports (at most %d)", max(a.Count, len(a.Sizes)), MaxAreas)
		}
		d := connect.Dims{Inputs: I, Hidden: N, Outputs: O}
		if err := st.check(d); err != nil {
			return nil, err
		}
	}
	if !oneOf(s.EIBalance, "sampled", "all", "none") {
		return nil, bad("ei_balance", "must be sampled, all or none, got %q", s.EIBalance)
	}

	init, err := s.InitState.resolve(s.dir, s.Trials, N)
	if err != nil {
		return nil, bad("init_state", "%v", err)
	}
	m.Init = init
	return m, nil
}

// topKeys lists the keys of a YAML document's top-level mapping.
func topKeys(data []byte) map[string]bool {
	keys := map[string]bool{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return keys
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		keys[top.Content[i].Value] = true
	}
	return keys
}
