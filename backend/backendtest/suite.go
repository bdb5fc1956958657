package backendtest

import (
	"fmt"
	"math"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// edges are sizes around the block edges kernels tile by.
var edges = []int{1, 2, 31, 32, 33, 127, 128, 129}

// Cases returns the suite's programs. short trims the largest ones.
func Cases(short bool) []Case {
	var cs []Case
	acts := backend.Activations()
	trials := []int{1, 2, 31, 32, 33}
	seed := uint64(1)
	add := func(c Case) {
		c.Seed = seed
		seed++
		cs = append(cs, c)
	}
	// Every size edge, cycling through everything else.
	for i, n := range edges {
		steps := 200
		if n >= 127 {
			steps = 60
		}
		if short && n >= 127 {
			steps = 12
		}
		add(Case{
			Shape:      backend.Shape{Instances: 1 + i%3, Trials: trials[i%len(trials)], Units: n, Inputs: []int{0, 1, 3, 33}[i%4], Outputs: []int{2, 1, 0, 3}[i%4]},
			Activation: acts[i%len(acts)], Noise: i%2 == 0, Init: i%3 != 1, Shared: i%2 == 1, Sparse: i%4 == 3,
			Stride: 1 + i%3, Steps: steps,
		})
	}
	// Every activation with noise, both ways of sharing input.
	for i, a := range acts {
		add(Case{Shape: backend.Shape{Instances: 2, Trials: 5, Units: 33, Inputs: 2, Outputs: 2},
			Activation: a, Noise: true, Init: true, Shared: i%2 == 0, Sparse: i%3 == 0, Stride: 1, Steps: 300})
	}
	// Trials and inputs around block edges at a middle width.
	for i, b := range []int{31, 32, 33, 64, 65} {
		add(Case{Shape: backend.Shape{Instances: 1, Trials: b, Units: 64, Inputs: edges[i%len(edges)], Outputs: 1},
			Activation: acts[(i+2)%len(acts)], Noise: true, Init: i%2 == 0, Stride: 1, Steps: 40})
	}
	// Instances and outputs around block edges, on small networks.
	for i, k := range []int{31, 32, 33, 129} {
		add(Case{Shape: backend.Shape{Instances: k, Trials: 1 + i%2, Units: 1 + i, Inputs: i % 2, Outputs: edges[(i+3)%len(edges)]},
			Activation: acts[(i+4)%len(acts)], Noise: i%2 == 1, Init: true, Shared: i%3 == 0, Stride: 1, Steps: 50})
	}
	if !short {
		add(Case{Shape: backend.Shape{Instances: 1, Trials: 3, Units: 257, Inputs: 4, Outputs: 2},
			Activation: backend.Tanh, Noise: true, Init: true, Stride: 1, Steps: 20})
	}
	return cs
}

func (c Case) String() string {
	s := c.Shape
	str := fmt.Sprintf("K%d_B%d_N%d_I%d_O%d_%v_noise%v_init%v_shared%v_sparse%v_stride%d_T%d",
		s.Instances, s.Trials, s.Units, s.Inputs, s.Outputs, c.Activation, c.Noise, c.Init, c.Shared, c.Sparse, c.Stride, c.Steps)
	if c.Plastic != nil {
		str += "_" + c.Plastic.String()
	}
	return str
}

// Test runs the whole conformance suite on b.
func Test(t *testing.T, b backend.Backend) {
	t.Helper()
	for _, c := range Cases(testing.Short()) {
		t.Run("f32/"+c.String(), func(t *testing.T) { testCase[float32](t, b, c) })
		t.Run("f64/"+c.String(), func(t *testing.T) { testCase[float64](t, b, c) })
	}
	t.Run("f32/nonfinite", func(t *testing.T) { testNonFinite[float32](t, b) })
	t.Run("f64/nonfinite", func(t *testing.T) { testNonFinite[float64](t, b) })
	t.Run("f32/partition", func(t *testing.T) { testPartition[float32](t, b) })
	t.Run("f64/partition", func(t *testing.T) { testPartition[float64](t, b) })
	t.Run("errors", func(t *testing.T) { testErrors(t, b) })
	if !backend.SupportsPlasticity(b) {
		t.Run("plastic/unsupported", func(t *testing.T) { testNoPlasticity(t, b) })
		t.Logf("%s declares no plasticity support: plastic cases skipped", b.Name())
		return
	}
	for _, c := range PlasticCases(testing.Short()) {
		t.Run("f32/plastic/"+c.String(), func(t *testing.T) { testPlasticCase[float32](t, b, c) })
		t.Run("f64/plastic/"+c.String(), func(t *testing.T) { testPlasticCase[float64](t, b, c) })
	}
	t.Run("f32/plastic/partition", func(t *testing.T) { testPlasticPartition[float32](t, b) })
	t.Run("f64/plastic/partition", func(t *testing.T) { testPlasticPartition[float64](t, b) })
}

// Expect runs p on b and on the reference and fails t at the first
// bitwise difference.
func Expect[T backend.Float](t *testing.T, b backend.Backend, p *backend.Program[T], input []T, steps int, sizes []int) *Result[T] {
	t.Helper()
	want, err := RunChunked(backend.Reference, p, input, steps, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RunChunked(b, p, input, steps, sizes)
	if err != nil {
		t.Fatal(err)
	}
	if d := Compare(got, want, p.Record.Every()); d != nil {
		t.Fatalf("%s vs reference (chunks %v): %s", b.Name(), sizes, d)
	}
	return want
}

func testCase[T backend.Float](t *testing.T, b backend.Backend, c Case) {
	p := NewProgram[T](c)
	in := NewInput(p, c.Steps, c.Seed)
	want := Expect(t, b, p, in, c.Steps, nil)
	if want.Err != nil {
		t.Fatalf("the reference run failed: %v (the case's weights are too large)", want.Err)
	}
	// A useful case moves: rates must vary over time and not all be zero.
	if c.Steps > 2 && allEqual(want.Rates) {
		t.Fatalf("degenerate case: every recorded rate equals %v", want.Rates[0])
	}
}

func allEqual[T backend.Float](a []T) bool {
	for _, x := range a {
		if Bits(x) != Bits(a[0]) {
			return false
		}
	}
	return true
}

// testNonFinite checks that a run that blows up stops with the reference's
// error: the same step, instance, trial, unit and quantity.
func testNonFinite[T backend.Float](t *testing.T, b backend.Backend) {
	c := Case{Shape: backend.Shape{Instances: 3, Trials: 4, Units: 17, Inputs: 1, Outputs: 1},
		Activation: backend.Identity, Init: true, Stride: 1, Steps: 400, Seed: 99}
	p := NewProgram[T](c)
	// Instance 1 grows without bound (every weight large and positive).
	N, rows := p.Units, p.DriveRows()
	for j := 0; j < rows*N; j++ {
		p.Drive[rows*N+j] = 3
	}
	for i := 0; i < N; i++ {
		p.Alpha[N+i], p.Decay[N+i] = 1, 0
	}
	in := NewInput(p, c.Steps, 7)
	want := Expect(t, b, p, in, c.Steps, []int{37})
	var nf *backend.NonFiniteError
	if want.Err == nil || !asNonFinite(want.Err, &nf) || nf.Instance != 1 {
		t.Fatalf("reference did not stop at instance 1: %v", want.Err)
	}
	if math.IsNaN(nf.Value) {
		t.Logf("stopped at %v", nf)
	}
}

func asNonFinite(err error, target **backend.NonFiniteError) bool {
	nf, ok := err.(*backend.NonFiniteError)
	if ok {
		*target = nf
	}
	return ok
}

// testPartition runs one program whole, in uneven chunks of steps, and split
// into instance and trial shards, and requires identical bits.
func testPartition[T backend.Float](t *testing.T, b backend.Backend) {
	c := Case{Shape: backend.Shape{Instances: 5, Trials: 7, Units: 40, Inputs: 3, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Init: true, Stride: 2, Steps: 150, Seed: 4242}
	p := NewProgram[T](c)
	in := NewInput(p, c.Steps, 11)
	whole := Expect(t, b, p, in, c.Steps, nil)
	for _, sizes := range [][]int{{1}, {7, 1, 30}, {149, 1}, {0, 50}} {
		got, err := RunChunked(b, p, in, c.Steps, sizes)
		if err != nil {
			t.Fatal(err)
		}
		if d := Compare(got, whole, 2); d != nil {
			t.Fatalf("steps chunked %v vs one call: %s", sizes, d)
		}
	}
	// Shards: instances [1,4) and trials [2,6) as separate programs.
	shard := Shard(p, 1, 4, 2, 6)
	sin := shardInput(p, in, c.Steps, 1, 4, 2, 6)
	got, err := RunChunked(b, shard, sin, c.Steps, []int{64})
	if err != nil {
		t.Fatal(err)
	}
	K, B, N, M := p.Instances, p.Trials, p.Units, whole.Recorded
	for k := 1; k < 4; k++ {
		for tr := 2; tr < 6; tr++ {
			for m := 0; m < M; m++ {
				for i := 0; i < N; i++ {
					g := got.Rates[(((k-1)*4+tr-2)*M+m)*N+i]
					w := whole.Rates[((k*B+tr)*M+m)*N+i]
					if Bits(g) != Bits(w) {
						t.Fatalf("shard instance %d trial %d recorded step %d unit %d: got %v, want %v", k, tr, m, i, g, w)
					}
				}
			}
		}
	}
	_ = K
}

// Shard returns the sub-program of instances [k0,k1) and trials [b0,b1).
func Shard[T backend.Float](p *backend.Program[T], k0, k1, b0, b1 int) *backend.Program[T] {
	return p.Sub(k0, k1, b0, b1)
}

func shardInput[T backend.Float](p *backend.Program[T], in []T, steps, k0, k1, b0, b1 int) []T {
	if in == nil {
		return nil
	}
	if p.SharedInput {
		k0, k1 = 0, 1
	}
	per := steps * p.Inputs
	var out []T
	for k := k0; k < k1; k++ {
		out = append(out, in[(k*p.Trials+b0)*per:(k*p.Trials+b1)*per]...)
	}
	return out
}

// testErrors checks that misuse is reported, not silently accepted.
func testErrors(t *testing.T, b backend.Backend) {
	c := Case{Shape: backend.Shape{Instances: 1, Trials: 2, Units: 4, Inputs: 2, Outputs: 1}, Activation: backend.ReLU, Stride: 1, Steps: 3, Seed: 5}
	p := NewProgram[float32](c)
	bad := *p
	bad.Drive = bad.Drive[:3]
	if _, err := backend.Start(b, &bad); err == nil {
		t.Error("Start accepted a program with a short Drive")
	}
	nan := *p
	nan.Alpha = append([]float32(nil), p.Alpha...)
	nan.Alpha[2] = float32(math.NaN())
	if _, err := backend.Start(b, &nan); err == nil {
		t.Error("Start accepted a NaN alpha")
	}
	run, err := backend.Start(b, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Advance(2, make([]float32, 3), backend.NewChunk(p, 2)); err == nil {
		t.Error("Advance accepted an input chunk of the wrong length")
	}
	if err := run.Advance(2, nil, backend.NewChunk(p, 1)); err == nil {
		t.Error("Advance accepted a chunk too small for the recorded steps")
	}
	run.Close()
	if err := run.Advance(1, nil, backend.NewChunk(p, 1)); err == nil {
		t.Error("Advance after Close did not fail")
	}
}
