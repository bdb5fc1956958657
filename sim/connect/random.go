package connect

import (
	"fmt"
	"math"
	"slices"

	"github.com/ratesim/ratesim/backend"
)

// Group is the geometry of a group of units: its shape, row-major, so a
// group shaped (C, H, W) has flat index c·H·W + h·W + w (SPAIC's layout).
// A plain population is shaped (n).
type Group struct {
	Shape []int
}

// Units returns a group of n units with no geometry.
func Units(n int) Group { return Group{Shape: []int{n}} }

// Size is the number of units: the product of Shape (0 for no shape).
func (g Group) Size() int {
	if len(g.Shape) == 0 {
		return 0
	}
	n := 1
	for _, d := range g.Shape {
		n *= d
	}
	return n
}

func (g Group) check(name string) error {
	if len(g.Shape) == 0 {
		return paramErr(name, "a group needs a shape")
	}
	for _, d := range g.Shape {
		if d < 1 {
			return paramErr(name, "shape %v has a dimension < 1", g.Shape)
		}
	}
	return nil
}

// Random is the connection builders' randomness: pure functions of
// (stream, index), so a matrix depends only on the parameters and the
// Random, not on the order anything is built in. Uniform is in (0, 1);
// Normal is standard normal. HostRandom makes one from the host Philox
// streams.
type Random struct {
	Uniform func(stream, index int) float64
	Normal  func(stream, index int) float64
}

// The streams of one connection. Each random decision has one fixed
// (stream, index), documented by the builder that draws it; in general
// the weight and the synapse draw of (post i, pre j) are at index
// i·n_pre + j, so which synapses exist never shifts the weights of others.
const (
	StreamWeight  = iota // weight values (Init draws)
	StreamSynapse        // Bernoulli draws and selection keys
	StreamBias           // bias values
	NumConnStreams
)

// HostRandom draws connection stream s from host Philox stream first+s of
// backend.HostUniform / HostNormal. A spec gives its connection number c the
// streams first = spec.StreamConnections + c·NumConnStreams, so every
// connection of a spec has its own streams and a seed builds the same
// network on every machine.
func HostRandom(seed uint64, first int) Random {
	return Random{
		Uniform: func(stream, index int) float64 { return backend.HostUniform(seed, first+stream, index) },
		Normal:  func(stream, index int) float64 { return backend.HostNormal(seed, first+stream, index) },
	}
}

// Init says how weights (or biases) are drawn. The zero Init means the
// builder's default (documented per builder). Each value has a draw index
// (per builder: usually i·n_pre + j for synapse (post i, pre j)); Values is
// indexed by it.
type Init struct {
	// Kind is one of
	//   normal          Mean + Std·N(0, 1)
	//   uniform         U(Low, High)
	//   constant        Value
	//   zero            0 (a synapse of weight 0 is absent in dense form)
	//   fan_in_uniform  U(−1/√fan_in, 1/√fan_in): nn4n's "uniform", and
	//                   torch's default for a conv or linear bias
	//   fan_in_normal   N(0, 1/fan_in): nn4n's "normal", ngc-learn's
	//                   fan_in_gaussian
	//   kaiming_uniform U(−b, b), b = √(6/((1+A²)·fan_in)), torch's
	//                   kaiming_uniform_ (leaky_relu gain, fan_in mode); A = 0
	//                   is SPAIC's default, A = √5 torch's Conv2d default
	//                   (b = 1/√fan_in)
	//   array           Values[index]
	Kind   string    `yaml:"kind"`
	Mean   float64   `yaml:"mean,omitempty"`
	Std    float64   `yaml:"std,omitempty"`
	Low    float64   `yaml:"low,omitempty"`
	High   float64   `yaml:"high,omitempty"`
	Value  float64   `yaml:"value,omitempty"`
	A      float64   `yaml:"a,omitempty"`
	Values []float64 `yaml:"values,omitempty"`
}

// SPAICNormal is SPAIC's default weight: N(0.005, 0.05²).
var SPAICNormal = Init{Kind: "normal", Mean: 0.005, Std: 0.05}

func (in Init) or(def Init) Init {
	if in.Kind == "" {
		return def
	}
	return in
}

// check validates in for n values with the given fan-in.
func (in Init) check(param string, n, fanIn int) error {
	finite := func(vs ...float64) bool {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
		return true
	}
	switch in.Kind {
	case "normal":
		if !finite(in.Mean, in.Std) || in.Std < 0 {
			return paramErr(param, "normal needs a finite mean and std ≥ 0, got %v, %v", in.Mean, in.Std)
		}
	case "uniform":
		if !finite(in.Low, in.High) || in.Low > in.High {
			return paramErr(param, "uniform needs finite low ≤ high, got %v, %v", in.Low, in.High)
		}
	case "constant":
		if !finite(in.Value) {
			return paramErr(param, "constant needs a finite value, got %v", in.Value)
		}
	case "zero":
	case "fan_in_uniform", "fan_in_normal", "kaiming_uniform":
		if fanIn < 1 {
			return paramErr(param, "%s needs a fan-in ≥ 1, got %d", in.Kind, fanIn)
		}
		if !finite(in.A) {
			return paramErr(param, "kaiming_uniform needs a finite a, got %v", in.A)
		}
	case "array":
		if len(in.Values) != n {
			return paramErr(param, "array holds %d values, want %d", len(in.Values), n)
		}
		if !finite(in.Values...) {
			return paramErr(param, "array holds a value that is not finite")
		}
	default:
		return paramErr(param, "unknown init %q (normal, uniform, constant, zero, fan_in_uniform, fan_in_normal, kaiming_uniform, array)", in.Kind)
	}
	return nil
}

// draw returns the value of draw index i on the given stream. in has
// passed check.
func (in Init) draw(r Random, stream, i, fanIn int) float64 {
	switch in.Kind {
	case "normal":
		return in.Mean + in.Std*r.Normal(stream, i)
	case "uniform":
		return in.Low + (in.High-in.Low)*r.Uniform(stream, i)
	case "constant":
		return in.Value
	case "fan_in_uniform":
		return (2*r.Uniform(stream, i) - 1) / math.Sqrt(float64(fanIn))
	case "fan_in_normal":
		return r.Normal(stream, i) / math.Sqrt(float64(fanIn))
	case "kaiming_uniform":
		b := math.Sqrt(6 / ((1 + in.A*in.A) * float64(fanIn)))
		return (2*r.Uniform(stream, i) - 1) * b
	case "array":
		return in.Values[i]
	}
	return 0
}

// random reports whether drawing needs the Random.
func (in Init) random() bool {
	switch in.Kind {
	case "constant", "zero", "array":
		return false
	}
	return true
}

func checkRandom(r Random, needed bool) error {
	if needed && (r.Uniform == nil || r.Normal == nil) {
		return fmt.Errorf("connect: this connection draws random numbers but the Random is incomplete")
	}
	return nil
}

// smallestKeys returns, ascending, the k candidates whose keys
// key(candidate) are smallest (ties broken by the smaller candidate):
// a uniformly random k-subset when the keys are independent uniforms.
func smallestKeys(candidates []int, k int, key func(int) float64) []int {
	type keyed struct {
		key float64
		c   int
	}
	ks := make([]keyed, len(candidates))
	for i, c := range candidates {
		ks[i] = keyed{key(c), c}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return a.c - b.c
	})
	out := make([]int, k)
	for i := range out {
		out[i] = ks[i].c
	}
	slices.Sort(out)
	return out
}

// smallestKeysOf is smallestKeys over the candidates k < n with
// allowed(k), for keys in [0, 1), without holding all keys: a first pass
// counts the keys per bucket of width 1/keyBuckets, the buckets below the
// one holding the k-th smallest key are taken whole, and only that bucket
// is sorted. It returns the same set as smallestKeys (ascending), with
// memory O(k + n/keyBuckets) and two key evaluations per candidate.
func smallestKeysOf(n int, allowed func(int) bool, k int, key func(int) float64) []int {
	const keyBuckets = 1 << 16
	bucket := func(v float64) int { return min(int(v*keyBuckets), keyBuckets-1) }
	var count [keyBuckets]int
	for c := 0; c < n; c++ {
		if allowed(c) {
			count[bucket(key(c))]++
		}
	}
	edge, below := 0, 0 // the bucket holding the k-th smallest key; keys below it
	for edge < keyBuckets-1 && below+count[edge] < k {
		below += count[edge]
		edge++
	}
	out := make([]int, 0, k)
	var tie []int
	for c := 0; c < n; c++ {
		if !allowed(c) {
			continue
		}
		switch b := bucket(key(c)); {
		case b < edge:
			out = append(out, c)
		case b == edge:
			tie = append(tie, c)
		}
	}
	out = append(out, smallestKeys(tie, k-len(out), key)...)
	slices.Sort(out)
	return out
}
