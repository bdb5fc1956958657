package nn4n

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/npz"
)

// nn4n's state-dict keys.
const (
	KeyInputWeight   = "recurrent_layer.input_layer.weight"
	KeyInputBias     = "recurrent_layer.input_layer.bias"
	KeyHiddenWeight  = "recurrent_layer.hidden_layer.weight"
	KeyHiddenBias    = "recurrent_layer.hidden_layer.bias"
	KeyReadoutWeight = "readout_layer.weight"
	KeyReadoutBias   = "readout_layer.bias"
	KeyAlpha         = "recurrent_layer.alpha"
	// KeyHiddenState is the initial state some nn4n versions keep as a
	// parameter (learned with init_state='learn').
	KeyHiddenState = "recurrent_layer.hidden_state"
)

// nn4n's defaults for what its kwargs leave out (sim/NN4N.md).
const (
	DefaultActivation = "relu"
	DefaultDt         = 10.0
	DefaultTau        = 100.0
)

// Layer is one of nn4n's three layers.
type Layer struct {
	Name    string // input, hidden or readout
	Out, In int
	// Weight is (Out, In), row-major, as nn4n stores it.
	Weight []float64
	// Bias has Out entries, or is nil when the model has none.
	Bias []float64
	// Masks from the checkpoint's kwargs, shaped (In, Out) — (pre, post) as
	// nn4n takes them — or nil. They are informational: the weights are
	// used as saved (see Model.MaskViolations).
	SparsityMask, EIMask, PlasticityMask []float64
}

// Model is an nn4n CTRNN decoded from a state dict (NPZ) or a checkpoint.
type Model struct {
	Source string // the file it came from
	Format string // "npz", "checkpoint" or "state dict checkpoint"
	// Inputs, Hidden and Outputs are nn4n's dims.
	Inputs, Hidden, Outputs int
	Activation              string
	Dt, Tau                 float64
	// Alpha is α per unit when it is not the scalar Dt/Tau: from the state
	// dict's recurrent_layer.alpha or a per-unit tau; nil otherwise.
	Alpha []float64
	// PreactNoise and PostactNoise are σ_pre and σ_post from the kwargs.
	PreactNoise, PostactNoise float64
	// InitState is v₀ when the model carries a nonzero one, else nil.
	InitState []float64
	// Layers are input, hidden and readout.
	Layers [3]Layer
	// Float64 is true when the weights were stored in float64.
	Float64 bool
	// Origin says where each setting came from: "kwargs", "flag", "state
	// dict" or "nn4n default".
	Origin map[string]string
	// Notes are things the user should know (ignored keys, defaults used).
	Notes []string
}

// Overrides are settings given on the command line; they win over kwargs.
type Overrides struct {
	Activation   string
	Dt, Tau      *float64
	PreactNoise  *float64
	PostactNoise *float64
}

// Error is a problem with a model file: the file, where in it (a key, an
// entry or a kwarg), and the reason.
type Error struct {
	File, Where, Reason string
	Err                 error
}

func (e *Error) Error() string {
	s := e.File
	if e.Where != "" {
		s += ": " + e.Where
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// array is one state-dict entry.
type array struct {
	shape  []int
	vals   []float64
	dtype  string
	source string // where it is, for errors
}

// assemble checks a state dict and builds the model; kw holds settings from
// a checkpoint's kwargs (nil for an NPZ).
func assemble(file, format string, sd map[string]*array, kw *kwargs, ov Overrides) (*Model, error) {
	bad := func(where, format string, args ...any) error {
		return &Error{File: file, Where: where, Reason: fmt.Sprintf(format, args...)}
	}
	m := &Model{Source: file, Format: format, Origin: map[string]string{}}
	need := func(key string) (*array, error) {
		a, ok := sd[key]
		if !ok {
			return nil, bad("key "+key, "missing; an nn4n state dict has %s, %s and %s (have: %s)",
				KeyInputWeight, KeyHiddenWeight, KeyReadoutWeight, strings.Join(sortedKeys(sd), ", "))
		}
		return a, nil
	}
	win, err := need(KeyInputWeight)
	if err != nil {
		return nil, err
	}
	whid, err := need(KeyHiddenWeight)
	if err != nil {
		return nil, err
	}
	wout, err := need(KeyReadoutWeight)
	if err != nil {
		return nil, err
	}
	if len(whid.shape) != 2 || whid.shape[0] != whid.shape[1] || whid.shape[0] < 1 {
		return nil, bad(whid.source, "shape %v, want (hidden, hidden) with hidden ≥ 1", whid.shape)
	}
	N := whid.shape[0]
	if len(win.shape) != 2 || win.shape[0] != N {
		return nil, bad(win.source, "shape %v, want (hidden, inputs) = (%d, I) in nn4n's (out, in) orientation", win.shape, N)
	}
	if len(wout.shape) != 2 || wout.shape[1] != N {
		return nil, bad(wout.source, "shape %v, want (outputs, hidden) = (O, %d) in nn4n's (out, in) orientation", wout.shape, N)
	}
	I, O := win.shape[1], wout.shape[0]
	m.Inputs, m.Hidden, m.Outputs = I, N, O
	m.Float64 = whid.dtype == "float64" || win.dtype == "float64" || wout.dtype == "float64"
	for _, a := range []*array{win, whid, wout} {
		if err := finite(file, a); err != nil {
			return nil, err
		}
	}
	m.Layers = [3]Layer{
		{Name: "input", Out: N, In: I, Weight: win.vals},
		{Name: "hidden", Out: N, In: N, Weight: whid.vals},
		{Name: "readout", Out: O, In: N, Weight: wout.vals},
	}
	for i, key := range []string{KeyInputBias, KeyHiddenBias, KeyReadoutBias} {
		a, ok := sd[key]
		if !ok {
			continue
		}
		l := &m.Layers[i]
		if len(a.shape) != 1 || a.shape[0] != l.Out {
			return nil, bad(a.source, "shape %v, want (%d,)", a.shape, l.Out)
		}
		if err := finite(file, a); err != nil {
			return nil, err
		}
		l.Bias = a.vals
	}

	// dims from kwargs must agree with the weights.
	if kw != nil && kw.dims != nil {
		if d := kw.dims; d[0] != I || d[1] != N || d[2] != O {
			return nil, bad("kwargs dims", "%v disagree with the state dict's weights, which give [%d, %d, %d]", d, I, N, O)
		}
	}

	// Activation, dt, tau: flag > kwargs > nn4n default.
	m.Activation, m.Origin["activation"] = DefaultActivation, "nn4n default"
	m.Dt, m.Origin["dt"] = DefaultDt, "nn4n default"
	m.Tau, m.Origin["tau"] = DefaultTau, "nn4n default"
	var tauVec []float64
	if kw != nil {
		if kw.activation != "" {
			m.Activation, m.Origin["activation"] = kw.activation, "kwargs"
		}
		if kw.dt != nil {
			m.Dt, m.Origin["dt"] = *kw.dt, "kwargs"
		}
		if kw.tau != nil {
			m.Tau, m.Origin["tau"] = *kw.tau, "kwargs"
		}
		if kw.tauVec != nil {
			if len(kw.tauVec) != N {
				return nil, bad("kwargs tau", "has %d values, want one per hidden unit (%d)", len(kw.tauVec), N)
			}
			tauVec, m.Origin["tau"] = kw.tauVec, "kwargs (per unit)"
		}
		m.PreactNoise, m.PostactNoise = kw.preact, kw.postact
		if kw.preact != 0 || kw.postact != 0 {
			m.Origin["noise"] = "kwargs"
		}
	}
	if ov.Activation != "" {
		m.Activation, m.Origin["activation"] = ov.Activation, "flag"
	}
	if ov.Dt != nil {
		m.Dt, m.Origin["dt"] = *ov.Dt, "flag"
	}
	if ov.Tau != nil {
		m.Tau, m.Origin["tau"], tauVec = *ov.Tau, "flag", nil
	}
	if ov.PreactNoise != nil {
		m.PreactNoise, m.Origin["noise"] = *ov.PreactNoise, "flag"
	}
	if ov.PostactNoise != nil {
		m.PostactNoise, m.Origin["noise"] = *ov.PostactNoise, "flag"
	}
	if _, err := backend.ParseActivation(m.Activation); err != nil {
		return nil, bad("activation", "%q (from %s) is not one ratesim simulates: %v", m.Activation, m.Origin["activation"], err)
	}
	if !(m.Dt > 0) || math.IsInf(m.Dt, 0) {
		return nil, bad("dt", "%v (from %s) must be a finite number > 0", m.Dt, m.Origin["dt"])
	}
	if !(m.Tau > 0) || math.IsInf(m.Tau, 0) {
		return nil, bad("tau", "%v (from %s) must be a finite number > 0", m.Tau, m.Origin["tau"])
	}
	for _, s := range []float64{m.PreactNoise, m.PostactNoise} {
		if !(s >= 0) || math.IsInf(s, 0) {
			return nil, bad("noise", "σ = %v must be a finite number ≥ 0", s)
		}
	}
	if tauVec != nil {
		m.Alpha = make([]float64, N)
		for i, t := range tauVec {
			if !(t > 0) || math.IsInf(t, 0) {
				return nil, bad("kwargs tau", "value %d is %v; τ must be finite and > 0", i, t)
			}
			m.Alpha[i] = m.Dt / t
		}
	}
	if a, ok := sd[KeyAlpha]; ok {
		if ov.Dt != nil || ov.Tau != nil {
			m.Notes = append(m.Notes, fmt.Sprintf("%s in the state dict is ignored: --dt/--tau given", KeyAlpha))
		} else {
			if err := finite(file, a); err != nil {
				return nil, err
			}
			switch {
			case len(a.shape) == 1 && a.shape[0] == N:
				m.Alpha = a.vals
			case len(a.vals) == 1 && len(a.shape) <= 1:
				m.Alpha = make([]float64, N)
				for i := range m.Alpha {
					m.Alpha[i] = a.vals[0]
				}
			default:
				return nil, bad(a.source, "shape %v, want (%d,) or a scalar", a.shape, N)
			}
			m.Origin["alpha"] = "state dict"
		}
	}
	if m.Alpha != nil {
		for i, a := range m.Alpha {
			if !(a > 0 && a <= 1) {
				return nil, bad("alpha", "α of unit %d is %v; it must be in (0, 1] (forward Euler is unstable beyond)", i, a)
			}
		}
	} else if m.Dt > m.Tau {
		return nil, bad("dt", "dt = %v exceeds tau = %v: α = dt/τ > 1 makes forward Euler unstable", m.Dt, m.Tau)
	}

	if kw != nil && kw.initState != nil {
		if len(kw.initState) != N {
			return nil, bad("kwargs init_state", "has %d values, want one per hidden unit (%d)", len(kw.initState), N)
		}
		m.InitState, m.Origin["init_state"] = kw.initState, "kwargs"
	}
	if a, ok := sd[KeyHiddenState]; ok {
		if len(a.shape) != 1 || a.shape[0] != N {
			return nil, bad(a.source, "shape %v, want (%d,)", a.shape, N)
		}
		if err := finite(file, a); err != nil {
			return nil, err
		}
		nonzero := false
		for _, v := range a.vals {
			nonzero = nonzero || v != 0
		}
		if nonzero {
			m.InitState = a.vals
			m.Origin["init_state"] = "state dict"
			m.Notes = append(m.Notes, fmt.Sprintf("initial state v₀ taken from %s (nonzero: a learned initial state)", KeyHiddenState))
		}
	}

	if kw != nil {
		for i := range m.Layers {
			l := &m.Layers[i]
			for _, mk := range []struct {
				name string
				src  [3]*array
				dst  *[]float64
			}{{"sparsity_masks", kw.sparsity, &l.SparsityMask}, {"ei_masks", kw.ei, &l.EIMask}, {"plasticity_masks", kw.plasticity, &l.PlasticityMask}} {
				a := mk.src[i]
				if a == nil {
					continue
				}
				if len(a.shape) != 2 || a.shape[0] != l.In || a.shape[1] != l.Out {
					return nil, bad(a.source, "shape %v, want (%d, %d): nn4n takes masks as (pre, post)", a.shape, l.In, l.Out)
				}
				if err := finite(file, a); err != nil {
					return nil, err
				}
				*mk.dst = a.vals
			}
		}
		m.Notes = append(m.Notes, kw.notes...)
	}
	return m, nil
}

func finite(file string, a *array) error {
	for i, v := range a.vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &Error{File: file, Where: a.source, Reason: fmt.Sprintf("value at index %s is %v; weights must be finite", npz.FormatShape(npz.Unravel(i, a.shape)), v)}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// MaskViolations counts, per layer, the weights that break the kwargs'
// masks: nonzero where the sparsity mask is 0, or of the wrong sign for the
// E/I mask (entries > 0 excitatory, others inhibitory, as nn4n reads them).
// nn4n re-applies its constraints at the start of each training forward
// pass, so a model saved right after an optimizer step may break them; its
// eval() forward uses the weights as saved, and so does ratesim.
func (m *Model) MaskViolations() [3]int {
	var n [3]int
	for li := range m.Layers {
		l := &m.Layers[li]
		for o := 0; o < l.Out; o++ {
			for in := 0; in < l.In; in++ {
				w := l.Weight[o*l.In+in]
				pm := in*l.Out + o // (pre, post)
				switch {
				case l.SparsityMask != nil && l.SparsityMask[pm] == 0 && w != 0:
					n[li]++
				case l.EIMask != nil && l.EIMask[pm] > 0 && w < 0:
					n[li]++
				case l.EIMask != nil && !(l.EIMask[pm] > 0) && w > 0:
					n[li]++
				}
			}
		}
	}
	return n
}
