//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

func plasticCase(perTrial bool, shape backend.Shape) backendtest.Case {
	return backendtest.Case{Shape: shape, Activation: backend.Tanh, Noise: true, Init: true, Sparse: true, Stride: 2, Steps: 60, Seed: 31,
		Plastic: &backendtest.PlasticCase{Layers: []backend.Layer{backend.LayerRecurrent, backend.LayerInput, backend.LayerReadout},
			Kinds: []backend.RuleKind{backend.Covariance, backend.Hebbian}, Optimizer: backend.Adam, PerTrial: perTrial,
			Growth: true, Dale: true, Window: 4}}
}

// Plastic programs under a memory cap: shared weights are split into
// instances only (their update sums all trials), per-trial weights into
// trials too; either way the bits are one run's.
func TestPlasticShards(t *testing.T) {
	needDevice(t)
	for _, perTrial := range []bool{false, true} {
		t.Run(fmt.Sprintf("pertrial=%v", perTrial), func(t *testing.T) {
			shape := backend.Shape{Instances: 3, Trials: 6, Units: 24, Inputs: 2, Outputs: 2}
			if perTrial {
				shape.Instances = 1
			}
			c := plasticCase(perTrial, shape)
			p := backendtest.NewProgram[float32](c)
			one := *p
			one.Shape.Instances, one.Shape.Trials = 1, 2
			limit := runBytes(one.Shape, 4, 4<<10) + plasticBytes(&one)
			if !perTrial {
				one.Shape.Trials = shape.Trials
				limit = runBytes(one.Shape, 4, 4<<10) + plasticBytes(&one)
			}
			b := New(MaxRunBytes(limit), SegmentBytes(4<<10))
			r, err := b.Start32(p)
			if err != nil {
				t.Fatal(err)
			}
			sr, ok := r.(*shardedRun[float32])
			if !ok || len(sr.parts) < 2 {
				t.Fatalf("Start32 under a %d-byte cap returned %T, want a sharded run", limit, r)
			}
			for _, sp := range sr.parts {
				if split := sp.b0 != 0 || sp.b1 != shape.Trials; split != perTrial {
					t.Fatalf("part trials [%d,%d) of %d: split %v with per-trial weights %v", sp.b0, sp.b1, shape.Trials, split, perTrial)
				}
			}
			r.Close()
			backendtest.Expect(t, b, p, backendtest.NewInput(p, c.Steps, 3), c.Steps, []int{7, 23})
		})
	}
}

// A learning rate that blows instance 1's weights up stops the run with the
// reference's error: the first non-finite weight, in the contract's order.
func TestPlasticNonFinite(t *testing.T) {
	needDevice(t)
	for _, perTrial := range []bool{false, true} {
		for _, k := range []Kernel{Auto, Persistent} {
			t.Run(fmt.Sprintf("pertrial=%v/%v", perTrial, k), func(t *testing.T) {
				c := plasticCase(perTrial, backend.Shape{Instances: 3, Trials: 4, Units: 20, Inputs: 2, Outputs: 2})
				c.Plastic.Optimizer = backend.SGD
				c.Plastic.Unbounded = true
				p := backendtest.NewProgram[float64](c)
				for _, cn := range p.Plasticity.Connections() {
					for ri := range cn.Rules {
						cn.Rules[ri].Rate[1] = 1e305
					}
				}
				in := backendtest.NewInput(p, c.Steps, 3)
				want, err := backendtest.RunChunked(backend.Reference, p, in, c.Steps, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := backendtest.RunChunked(New(UseKernel(k)), p, in, c.Steps, []int{5, 17})
				if err != nil {
					t.Fatal(err)
				}
				var nw, ng *backend.NonFiniteError
				if !errors.As(want.Err, &nw) || nw.Instance != 1 || nw.Quantity == "state" {
					t.Fatalf("reference: %v, want a weight error at instance 1", want.Err)
				}
				if !errors.As(got.Err, &ng) || *ng != *nw {
					t.Fatalf("cuda: %v, want %v", got.Err, want.Err)
				}
			})
		}
	}
}
