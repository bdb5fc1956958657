package sim

import (
	"math"

	"github.com/ratesim/ratesim/backend"
)

// Host random streams, one per array, so each array's values depend only on
// the seed and the array, not on the order arrays are built in.
const (
	streamHiddenWeight = 1 + iota
	streamInputWeight
	streamReadoutWeight
	streamHiddenBias
	streamInputBias
	streamReadoutBias
	streamInputNoise
)

// Network holds the layers of one instance in nn4n's orientation: weights
// (out, in) and biases, in float64 before rounding to the run's precision.
type Network struct {
	N, I, O             int
	Hidden, In, Out     []float64 // (N,N), (N,I), (O,N)
	HiddenB, InB, ReadB []float64 // N, N, O
	Alpha               []float64 // N
	PreSigma, PostSigma float64
	Init                []float64 // N, or nil for zero
	Activation          backend.Activation
}

// BuildNetwork samples the network of spec s with nn4n's initializers.
func BuildNetwork(s *Spec) *Network {
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	act, _ := backend.ParseActivation(s.Activation)
	net := &Network{N: N, I: I, O: O, Activation: act,
		PreSigma: s.PreactNoise, PostSigma: s.PostactNoise}
	net.Hidden = initLayer(s.Seed, streamHiddenWeight, s.Weights, N*N, N)
	net.In = initLayer(s.Seed, streamInputWeight, s.Weights, N*I, I)
	net.Out = initLayer(s.Seed, streamReadoutWeight, s.Weights, O*N, N)
	bias := s.Biases
	if bias == "none" {
		bias = "zero"
	}
	net.HiddenB = initLayer(s.Seed, streamHiddenBias, bias, N, N)
	net.InB = initLayer(s.Seed, streamInputBias, bias, N, I)
	net.ReadB = initLayer(s.Seed, streamReadoutBias, bias, O, N)
	net.Alpha = make([]float64, N)
	for i := range net.Alpha {
		net.Alpha[i] = s.Dt / s.Tau
	}
	if v := s.InitState.Values; v != nil {
		net.Init = append([]float64(nil), v...)
	}
	return net
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
	if net.Init != nil {
		p.Init = make([]T, trials*N)
		for b := 0; b < trials; b++ {
			for i := 0; i < N; i++ {
				p.Init[b*N+i] = T(net.Init[i])
			}
		}
	}
	return p
}
