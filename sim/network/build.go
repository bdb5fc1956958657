package network

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/spec"
)

// Network holds the layers of one instance in nn4n's orientation: weights
// (out, in) and biases, in float64 before rounding to the run's precision.
type Network struct {
	N, I, O             int
	Hidden, In, Out     []float64 // (N,N), (N,I), (O,N)
	HiddenB, InB, ReadB []float64 // N, N, O
	Alpha               []float64 // N
	PreSigma, PostSigma float64
	// Init is v₀: N values (every trial), trials×N values, or nil for zero.
	Init       []float64
	Activation backend.Activation

	// The masks the weights were built with, in the weights' orientation
	// (out, in), nil where a layer has none: Sparsity 0/1 (including the
	// removed diagonal when self_connections is false), EI ±1 per entry
	// (the sign the weight is clamped to), Plasticity scales in [0, 1]
	// (nil = fully plastic). Whoever changes the weights during a run must
	// keep them inside Sparsity and EI.
	Sparsity, EI, Plasticity spec.Layers
	// Areas are the unit groups of the structure builder, if any.
	Areas []connect.Area
	// Connections are the built connections of a spec with groups, in
	// list order (nil for the nn4n form).
	Connections []Connection
	// Groups are the hidden groups of a spec with groups, in unit order.
	Groups []GroupRange
	// Delays are the recurrent synapses' delays in steps, (post, pre) N×N
	// like Hidden, or nil when none is delayed.
	Delays []int
}

// New validates s (loading its arrays) and builds its network: for each
// layer, in nn4n v1.2.0's order, the weights are drawn with nn4n's
// initializers (or taken from the array given), multiplied by the sparsity
// mask (the files', or the structure's drawn from the seed, with the
// recurrent diagonal removed when self_connections is false), clamped by
// the E/I mask (≥ 0 where the mask is excitatory, ≤ 0 elsewhere) and, when
// the layer has an E/I mask and ei_balance asks for it, balanced (see
// Balance). Random draws come from the seed's host streams, one stream per
// array (spec.Stream*), so the network is a pure function of the spec.
func New(s *spec.Spec) (*Network, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	m, err := s.Resolve()
	if err != nil {
		return nil, err
	}
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	var areas []connect.Area
	if st := s.Structure; st != nil {
		mk, err := st.BuildMasks(s.Seed, connect.Dims{Inputs: I, Hidden: N, Outputs: O})
		if err != nil {
			return nil, err
		}
		areas = mk.Areas
		m.Sparsity = spec.Layers{Input: connect.Sparsity(mk.Input), Hidden: connect.Sparsity(mk.Hidden), Readout: connect.Sparsity(mk.Readout)}
		if mk.Signed {
			m.EI.Hidden, m.EI.Readout = mk.Sign(N), mk.Sign(O)
		}
	}
	if s.SelfConnections != nil && !*s.SelfConnections {
		if m.Sparsity.Hidden == nil {
			m.Sparsity.Hidden = make([]float64, N*N)
			for i := range m.Sparsity.Hidden {
				m.Sparsity.Hidden[i] = 1
			}
		}
		for i := 0; i < N; i++ {
			m.Sparsity.Hidden[i*N+i] = 0
		}
	}
	act, _ := backend.ParseActivation(s.Activation)
	net := &Network{N: N, I: I, O: O, Activation: act,
		PreSigma: s.PreactNoise, PostSigma: s.PostactNoise,
		Alpha: m.Alpha, Init: m.Init,
		Sparsity: m.Sparsity, EI: m.EI, Plasticity: m.Plasticity, Areas: areas}
	weightStreams := [3]int{spec.StreamInputWeight, spec.StreamHiddenWeight, spec.StreamReadoutWeight}
	biasStreams := [3]int{spec.StreamInputBias, spec.StreamHiddenBias, spec.StreamReadoutBias}
	dst := [3]*[]float64{&net.In, &net.Hidden, &net.Out}
	bdst := [3]*[]float64{&net.InB, &net.HiddenB, &net.ReadB}
	for l, li := range s.Weights.PerLayer() {
		out, in := s.LayerShape(l)
		var w []float64
		if a := *m.Weights.At(l); a != nil {
			w = append([]float64(nil), a...)
		} else {
			w = initLayer(s.Seed, weightStreams[l], li.Kind, out*in, in)
		}
		if sp := *m.Sparsity.At(l); sp != nil {
			for i := range w {
				w[i] *= sp[i]
			}
		}
		if ei := *m.EI.At(l); ei != nil {
			Clamp(w, ei)
			if s.EIBalance == "all" || s.EIBalance == "sampled" && !m.FromFile[l] {
				Balance(w, ei)
			}
		}
		*dst[l] = w
	}
	for l, li := range s.Biases.PerLayer() {
		out, in := s.LayerShape(l)
		if a := *m.Biases.At(l); a != nil {
			*bdst[l] = append([]float64(nil), a...)
			continue
		}
		kind := li.Kind
		if kind == "none" {
			kind = "zero"
		}
		*bdst[l] = initLayer(s.Seed, biasStreams[l], kind, out, in)
	}
	if len(s.Groups) > 0 {
		if net.Connections, err = buildConnections(s, net); err != nil {
			return nil, err
		}
	}
	return net, nil
}

// Build is New for a spec known to be valid (one that passed Validate,
// e.g. from spec.Parse); an invalid spec is a programmer's error and
// panics.
func Build(s *spec.Spec) *Network {
	net, err := New(s)
	if err != nil {
		panic(fmt.Sprintf("network.Build: spec does not validate (call Validate or New first): %v", err))
	}
	return net
}

// Clamp applies Dale's law entry by entry: w[i] is set to 0 where it is
// negative and sign[i] > 0, or positive and sign[i] ≤ 0 (nn4n treats a
// non-positive E/I entry as inhibitory).
func Clamp(w, sign []float64) {
	for i := range w {
		if sign[i] > 0 && w[i] < 0 || sign[i] <= 0 && w[i] > 0 {
			w[i] = 0
		}
	}
}

// Balance is nn4n v1.2.0's E/I balance at construction. With E the sum of
// the weights at excitatory entries (sign > 0) and I the sum at inhibitory
// ones, both summed in ascending index order in float64: if E or I is 0,
// every weight is divided by 10; otherwise the larger side (in magnitude) is
// scaled by |smaller|/|larger| so that E + I = 0 up to float64 rounding
// (|ΣW| ≤ a few ulps of Σ|W|, not exactly 0).
func Balance(w, sign []float64) {
	var e, inh float64
	for i, v := range w {
		if sign[i] > 0 {
			e += v
		} else {
			inh += v
		}
	}
	if e == 0 || inh == 0 {
		for i := range w {
			w[i] /= 10
		}
		return
	}
	switch {
	case e > -inh:
		scale := -inh / e
		for i := range w {
			if sign[i] > 0 {
				w[i] *= scale
			}
		}
	case e < -inh:
		scale := e / -inh
		for i := range w {
			if sign[i] <= 0 {
				w[i] *= scale
			}
		}
	}
}

// initLayer draws n values: uniform U(−1/√fanIn, 1/√fanIn), normal
// N(0, 1/fanIn), or zero, as nn4n initializes its layers.
func initLayer(seed uint64, stream int, kind string, n, fanIn int) []float64 {
	w := make([]float64, n)
	if kind == "zero" || fanIn == 0 {
		return w
	}
	scale := 1 / math.Sqrt(float64(fanIn))
	for i := range w {
		switch kind {
		case "uniform":
			w[i] = (2*backend.HostUniform(seed, stream, i) - 1) * scale
		case "normal":
			w[i] = backend.HostNormal(seed, stream, i) * scale
		}
	}
	return w
}

// Program lays out one network as a backend program of one instance and the
// given trials, rounding everything to T and deriving the constants
// (1−α, α·σ_pre) on the host in T, as the contract requires.
func Program[T backend.Float](net *Network, trials int, seed uint64, rec backend.Record) *backend.Program[T] {
	N, I, O := net.N, net.I, net.O
	p := &backend.Program[T]{
		Shape:       backend.Shape{Instances: 1, Trials: trials, Units: N, Inputs: I, Outputs: O},
		Activation:  net.Activation,
		Seed:        seed,
		SharedInput: true,
		Record:      rec,
	}
	rows := p.DriveRows()
	p.Drive = make([]T, rows*N)
	for i := 0; i < N; i++ {
		for j := 0; j < N; j++ {
			p.Drive[j*N+i] = T(net.Hidden[i*N+j])
		}
		for q := 0; q < I; q++ {
			p.Drive[(N+q)*N+i] = T(net.In[i*I+q])
		}
		p.Drive[(N+I)*N+i] = T(net.HiddenB[i]) + T(net.InB[i])
	}
	// A wired network runs each target group's drive in the form its
	// connections choose (DriveForm); the sparse form never changes a bit
	// (backend.SparseDrive).
	if sparse, dense := DriveForm(net); sparse {
		p.Sparse = backend.NewSparseDrive(p.Shape, p.Drive)
		p.Sparse.Dense = dense
	}
	if net.Delays != nil {
		d := &backend.Delays{Max: 1, Steps: make([]uint16, N*N)}
		for i := 0; i < N; i++ {
			for j := 0; j < N; j++ {
				v := net.Delays[i*N+j]
				d.Steps[j*N+i] = uint16(v)
				d.Max = max(d.Max, v)
			}
		}
		p.Delays = d
	}
	p.Readout = make([]T, (N+1)*O)
	for o := 0; o < O; o++ {
		for j := 0; j < N; j++ {
			p.Readout[j*O+o] = T(net.Out[o*N+j])
		}
		p.Readout[N*O+o] = T(net.ReadB[o])
	}
	p.Alpha, p.Decay = make([]T, N), make([]T, N)
	p.PreNoise, p.PostNoise = make([]T, N), make([]T, N)
	for i := 0; i < N; i++ {
		a := T(net.Alpha[i])
		p.Alpha[i] = a
		p.Decay[i] = 1 - a
		p.PreNoise[i] = a * T(net.PreSigma)
		p.PostNoise[i] = T(net.PostSigma)
	}
	switch len(net.Init) {
	case 0:
	case N:
		p.Init = make([]T, trials*N)
		for b := 0; b < trials; b++ {
			for i := 0; i < N; i++ {
				p.Init[b*N+i] = T(net.Init[i])
			}
		}
	case trials * N:
		p.Init = make([]T, trials*N)
		for i, v := range net.Init {
			p.Init[i] = T(v)
		}
	default:
		panic(fmt.Sprintf("network.Program: Network.Init has %d values for %d trials × %d units", len(net.Init), trials, N))
	}
	return p
}

// Masks are the masks net was built with, for spec.PlasticityPlan.
func (net *Network) Masks() *spec.Masks {
	return &spec.Masks{Sparsity: net.Sparsity, EI: net.EI, Plasticity: net.Plasticity}
}
