package sim

import (
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/masks"
	"github.com/ratesim/ratesim/sim/npz"
)

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Layers holds one array per layer (nil where there is none), in the
// weights' orientation (out, in): input N×I, hidden N×N, readout O×N.
type Layers struct {
	Input, Hidden, Readout []float64
}

func (l *Layers) at(i int) *[]float64 {
	return [3]*[]float64{&l.Input, &l.Hidden, &l.Readout}[i]
}

// model is a spec resolved against its arrays: everything BuildNetwork needs
// besides the random draws of weights and biases.
type model struct {
	alpha      []float64
	weights    Layers // arrays given in the spec; nil where drawn
	biases     Layers
	sparsity   Layers // 0/1
	ei         Layers // ±1 per entry
	plasticity Layers // scales in [0, 1]
	fromFile   [3]bool
	init       []float64 // N or trials×N; nil = zero
	areas      []masks.Area
	structure  *masks.Masks
}

// layerShape is layer l's weight shape (out, in).
func (s *Spec) layerShape(l int) (out, in int) {
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	switch l {
	case 0:
		return N, I
	case 1:
		return N, N
	}
	return O, N
}

// model resolves and checks every model field: per-unit time constants,
// per-layer initializers and arrays (shapes, values), masks, the structure
// section (parameters only unless draw, which also builds its masks from
// the seed) and the initial state. Errors are *SpecError naming the field.
// Dims, trials and dt must already be valid.
func (s *Spec) model(draw bool) (*model, error) {
	bad := func(field, format string, args ...any) error {
		return &SpecError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	m := &model{}

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
		m.alpha = a
	case s.Tau.Set:
		t, err := s.Tau.resolve(s.dir, N)
		if err != nil {
			return nil, bad("tau", "%v", err)
		}
		m.alpha = make([]float64, N)
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
			m.alpha[i] = s.Dt / v
		}
	default:
		return nil, bad("tau", "give tau (ms) or alpha")
	}

	// Weights and biases.
	for l, li := range s.Weights.layers() {
		field := "weights." + layerNames[l]
		out, in := s.layerShape(l)
		if li.Array == nil {
			if !oneOf(li.Kind, "uniform", "normal", "zero") {
				return nil, bad(field, "must be uniform, normal, zero or {file: PATH[, key: NAME]}, got %q", li.Kind)
			}
			continue
		}
		a, err := li.Array.load(s.dir)
		if err != nil {
			return nil, bad(field, "%v", err)
		}
		if !shapeIs(a.shape, out, in) {
			return nil, bad(field, "%s is shaped %s, want (%d, %d) (out, in) as nn4n stores the %s weight", li.Array, npz.FormatShape(a.shape), out, in, layerNames[l])
		}
		*m.weights.at(l) = a.values
		m.fromFile[l] = true
	}
	for l, li := range s.Biases.layers() {
		field := "biases." + layerNames[l]
		out, _ := s.layerShape(l)
		if li.Array == nil {
			if !oneOf(li.Kind, "none", "zero", "uniform", "normal") {
				return nil, bad(field, "must be none, zero, uniform, normal or {file: PATH[, key: NAME]}, got %q", li.Kind)
			}
			continue
		}
		a, err := li.Array.load(s.dir)
		if err != nil {
			return nil, bad(field, "%v", err)
		}
		if !shapeIs(a.shape, out) {
			return nil, bad(field, "%s is shaped %s, want (%d,)", li.Array, npz.FormatShape(a.shape), out)
		}
		*m.biases.at(l) = a.values
	}

	// Masks, given in nn4n's (pre, post) orientation.
	for _, kind := range []struct {
		name string
		lm   *LayerMasks
		dst  *Layers
	}{{"sparsity_masks", &s.SparsityMasks, &m.sparsity}, {"ei_masks", &s.EIMasks, &m.ei}, {"plasticity_masks", &s.PlasticityMasks, &m.plasticity}} {
		for l, ref := range kind.lm.layers() {
			if ref == nil {
				continue
			}
			field := kind.name + "." + layerNames[l]
			out, in := s.layerShape(l)
			a, err := ref.load(s.dir)
			if err != nil {
				return nil, bad(field, "%v", err)
			}
			if !shapeIs(a.shape, in, out) {
				return nil, bad(field, "%s is shaped %s, want (%d, %d): masks are (pre, post) as nn4n takes them, the transpose of the weight", ref, npz.FormatShape(a.shape), in, out)
			}
			t := masks.Transpose(a.values, in, out)
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
			*kind.dst.at(l) = t
		}
	}
	// Plasticity scales are divided by their largest value over all layers,
	// so they lie in [0, 1] and keep their ratios (nn4n instead maps the
	// smallest to 0, freezing those synapses).
	maxP := 0.0
	for l := 0; l < 3; l++ {
		for _, v := range *m.plasticity.at(l) {
			maxP = max(maxP, v)
		}
	}
	if maxP > 0 {
		for l := 0; l < 3; l++ {
			for i := range *m.plasticity.at(l) {
				(*m.plasticity.at(l))[i] /= maxP
			}
		}
	}

	// Structure.
	if st := s.Structure; st != nil {
		signed := st.Type == "multi_area_ei"
		for l := 0; l < 3; l++ {
			if s.SparsityMasks.layers()[l] != nil {
				return nil, bad("sparsity_masks."+layerNames[l], "is also built by structure (%s); give one or the other", st.Type)
			}
			if signed && l > 0 && s.EIMasks.layers()[l] != nil {
				return nil, bad("ei_masks."+layerNames[l], "is also built by structure (%s); give one or the other", st.Type)
			}
		}
		d := masks.Dims{Inputs: I, Hidden: N, Outputs: O}
		if err := st.check(d); err != nil {
			return nil, err
		}
		if draw {
			mk, err := st.buildMasks(s.Seed, d)
			if err != nil {
				return nil, err
			}
			m.structure = mk
			m.areas = mk.Areas
			m.sparsity = Layers{masks.Sparsity(mk.Input), masks.Sparsity(mk.Hidden), masks.Sparsity(mk.Readout)}
			if mk.Signed {
				m.ei.Hidden, m.ei.Readout = mk.Sign(N), mk.Sign(O)
			}
		}
	}
	if s.SelfConnections != nil && !*s.SelfConnections && draw {
		if m.sparsity.Hidden == nil {
			m.sparsity.Hidden = make([]float64, N*N)
			for i := range m.sparsity.Hidden {
				m.sparsity.Hidden[i] = 1
			}
		}
		for i := 0; i < N; i++ {
			m.sparsity.Hidden[i*N+i] = 0
		}
	}
	if !oneOf(s.EIBalance, "sampled", "all", "none") {
		return nil, bad("ei_balance", "must be sampled, all or none, got %q", s.EIBalance)
	}

	init, err := s.InitState.resolve(s.dir, s.Trials, N)
	if err != nil {
		return nil, bad("init_state", "%v", err)
	}
	m.init = init
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
