package sim

import (
	"context"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/stimulus"
)

// plasticBase is a small network with every layer present.
const plasticBase = `dims: [3, 6, 2]
activation: tanh
weights: normal
input: {type: sine, amplitude: 1, period: 100}
trials: 2
steps: 40
backend: reference
`

func TestPlasticitySpecErrors(t *testing.T) {
	ei := `structure: {type: multi_area_ei, areas: [3, 3], exc_pct: 0.67}
`
	cases := []struct{ yaml, want string }{
		{"plasticity: {weights: mine, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.weights"},
		{"plasticity: {}", "no connection is plastic"},
		{"plasticity: {recurrent: {rules: []}}", "field plasticity.recurrent.rules"},
		{"plasticity: {recurrent: {rules: [{rule: stdp, eta: 1}]}}", "field plasticity.recurrent.rules[0].rule"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian}]}}", "field plasticity.recurrent.rules[0].eta"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: -1}]}}", "field plasticity.recurrent.rules[0].eta"},
		{"plasticity: {recurrent: {rules: [{rule: bcm, eta: 1}]}}", "field plasticity.recurrent.rules[0].threshold"},
		{"plasticity: {recurrent: {rules: [{rule: bcm, eta: 1, threshold: {tau: 1}}]}}", "threshold.tau"},
		{"plasticity: {recurrent: {rules: [{rule: bcm, eta: 1, threshold: {tau: 100, window: 3}}]}}", "field plasticity.recurrent.rules[0].threshold"},
		{"plasticity: {recurrent: {rules: [{rule: bcm, eta: 1, threshold: {window: 0}}]}}", "threshold.window"},
		{"plasticity: {recurrent: {rules: [{rule: covariance, eta: 1, mean: {window: 5, init: 1}}]}}", "mean.init"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, divide_by_theta: true}]}}", "rules[0].divide_by_theta"},
		{"plasticity: {recurrent: {rules: [{rule: oja, eta: 1, pre_weight: 2}]}}", "rules[0].pre_weight"},
		{"plasticity: {recurrent: {rules: [{rule: oja, eta: 1, threshold: {tau: 20}}]}}", "rules[0].threshold"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, sign_value: 2}]}}", "rules[0].sign_value"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, w_bound: -1}]}}", "rules[0].w_bound"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, prior: {type: l3, lambda: 1}}]}}", "rules[0].prior.type"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, prior: {type: l1, lambda: 1, ratio: 0.5}}]}}", "rules[0].prior.ratio"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, prior: {type: elastic_net, lambda: 1, ratio: 2}}]}}", "rules[0].prior.ratio"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, optimizer: rmsprop}]}}", "rules[0].optimizer"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, optimizer: {type: adam, beta1: 1}}]}}", "rules[0].optimizer"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, optimizer: {type: sgd, beta1: 0.5}}]}}", "rules[0].optimizer"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, optimizer: {type: adam, momentum: 1}}]}}", "unknown key \"momentum\""},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, presynaptic: input}]}}", "rules[0].presynaptic"},
		{"plasticity: {input: {rules: [{rule: hebbian, eta: 1, pre: E}]}}", "rules[0].pre"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, post: E}]}}", "defines none"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, post: none}]}}", "rules[0].post"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, speed: 3}]}}", "unknown field speed"},
		{"plasticity: {recurrent: {colour: red, rules: [{rule: hebbian, eta: 1}]}}", "unknown field colour"},
		{"plasticity: {recurrent: {bounds: [1, 0], rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.recurrent.bounds"},
		{"plasticity: {recurrent: {bounds: positive, rules: [{rule: hebbian, eta: 1}]}}", "bounds are [min, max]"},
		{"plasticity: {recurrent: {dale: strict, rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.recurrent.dale"},
		{"plasticity: {recurrent: {dale: [1, -1], rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.recurrent.dale"},
		{"plasticity: {recurrent: {dale: [1, -1, 2, 0, 0, 0], rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.recurrent.dale"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1, flip_inhibitory: true}]}}", "rules[0].flip_inhibitory"},
		{"plasticity: {recurrent: {scale: -1, rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.recurrent.scale"},
		{"plasticity: {recurrent: {scale: {file: nosuch.npy}, rules: [{rule: hebbian, eta: 1}]}}", "nosuch.npy"},
		{"plasticity: {recurrent: {growth: {weight: 0.1}, rules: [{rule: hebbian, eta: 1}]}}", "growth.probability"},
		{"plasticity: {recurrent: {growth: {probability: 1.5, weight: 0.1}, rules: [{rule: hebbian, eta: 1}]}}", "growth.probability"},
		{"plasticity: {recurrent: {growth: {probability: 0.1}, rules: [{rule: hebbian, eta: 1}]}}", "growth.weight"},
		{"plasticity: {recurrent: {growth: {probability: 0.1, weight: 1, mask: 2}, rules: [{rule: hebbian, eta: 1}]}}", "growth.mask"},
		{"plasticity: {recurrent: {growth: {probability: 0.1, weight: mask}, rules: [{rule: hebbian, eta: 1}]}}", "growth.weight"},
		{"plasticity: {recurrent: {rules: [{rule: hebbian, eta: 1}]}, hidden: {rules: [{rule: oja, eta: 1}]}}", "field plasticity.hidden"},
		{"dims: [3, 6, 0]\nplasticity: {readout: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.readout"},
		{"plasticity: {schedule: {warmup: -1}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "schedule.warmup"},
		{"plasticity: {schedule: {every: -2}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "schedule.every"},
		{"plasticity: {schedule: {phases: [{start: 5, learn: all}, {start: 5, learn: all}]}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "schedule.phases[1].start"},
		{"plasticity: {schedule: {phases: [{start: 5}]}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "schedule.phases[0].learn"},
		{ei + "plasticity: {populations: ei, schedule: {phases: [{start: 1, learn: [E, X]}]}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "no population \"X\""},
		{"plasticity: {populations: ei, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.populations"},
		{"plasticity: {populations: areas, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.populations"},
		{"plasticity: {populations: species, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.populations"},
		{"plasticity: {populations: [a, b], recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "want one per hidden unit"},
		{"plasticity: {populations: [{name: a, size: 2}, {name: b, size: 3}], recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "the blocks hold 5 units"},
		{"plasticity: {populations: [{name: a, units: 6}], recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "unknown key \"units\""},
		{"plasticity: {record: {what: everything}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.record.what"},
		{"plasticity: {record: {every: -1}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.record.every"},
		{"plasticity: {record: {what: synapses}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.record.synapses"},
		{"plasticity: {record: {what: synapses, synapses: [[recurrent, 6, 0]]}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "record.synapses[0]"},
		{"plasticity: {record: {what: synapses, synapses: [[input, 0, 0]]}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "is not plastic"},
		{"plasticity: {record: {what: synapses, synapses: [[lateral, 0, 0]]}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "unknown connection"},
		{"plasticity: {record: {synapses: [[recurrent, 0, 0]]}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "field plasticity.record.synapses"},
		{"plasticity: {record: {what: synapses, synapses: [[recurrent, 0]]}, recurrent: {rules: [{rule: hebbian, eta: 1}]}}", "a synapse is [CONNECTION, PRE, POST]"},
		{"input: {type: patterns, period: 10}", "field input.patterns"},
		{"input: {type: patterns, period: 10, patterns: [[1, 0]]}", "field input.patterns"},
		{"input: {type: patterns, period: 10, patterns: [[1, 0, 0]], order: shuffled}", "field input.order"},
		{"input: {type: sine, period: 10, order: random}", "field input.order"},
	}
	for _, c := range cases {
		// The case's top-level keys replace the base's.
		var base []string
		for _, line := range strings.Split(plasticBase, "\n") {
			key, _, _ := strings.Cut(line, ":")
			if !topKeys([]byte(c.yaml))[key] {
				base = append(base, line)
			}
		}
		_, err := spec.Parse("my.yaml", []byte(strings.Join(base, "\n")+c.yaml+"\n"))
		if err == nil {
			t.Errorf("%q: no error", c.yaml)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "my.yaml") {
			t.Errorf("%q: error %q does not name %q and the file", c.yaml, err, c.want)
		}
	}
	if len(cases) < 15 {
		t.Fatalf("only %d bad cases", len(cases))
	}
}

// plastic parses plasticBase + extra and returns the backend plasticity
// its run would get.
func plastic(t *testing.T, extra string) (*spec.Spec, *backend.Plasticity[float64]) {
	t.Helper()
	return plasticIn(t, "", extra)
}

func plasticIn(t *testing.T, dir, extra string) (*spec.Spec, *backend.Plasticity[float64]) {
	t.Helper()
	name := "test.yaml"
	if dir != "" {
		name = filepath.Join(dir, "test.yaml")
	}
	s, err := spec.Parse(name, []byte(plasticBase+extra))
	if err != nil {
		t.Fatal(err)
	}
	net, err := network.New(s)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := s.PlasticityPlan(net.Masks())
	if err != nil {
		t.Fatal(err)
	}
	bp := network.Plasticity[float64](pl)
	p := network.Program[float64](net, s.Trials, s.Seed, backend.Record{Rates: true})
	p.Plasticity = bp
	if err := p.Validate(); err != nil {
		t.Fatalf("the backend refuses the program: %v", err)
	}
	return s, bp
}

func TestPlasticityMapsOntoTheBackend(t *testing.T) {
	hebb := "rules: [{rule: hebbian, eta: 0.5}]"
	// Defaults: shared weights, one population, update every step, whole
	// snapshots about every steps/100, SGD, sign −1, unit weights.
	_, bp := plastic(t, "plasticity: {recurrent: {"+hebb+"}}\n")
	r := bp.Recurrent.Rules[0]
	if bp.PerTrial || bp.Populations != nil || bp.Input != nil || bp.Readout != nil ||
		bp.Schedule.Warmup != 0 || bp.Schedule.Every != 1 || bp.Schedule.Phases != nil ||
		bp.Record.Stride != 1 || bp.Record.What != backend.SnapWhole ||
		r.Kind != backend.Hebbian || len(r.Rate) != 1 || r.Rate[0] != 10*0.5 || r.PreWeight != 1 || r.PostWeight != 1 ||
		r.Negate || r.Optimizer != backend.SGD || r.PrePops != 0 || r.PostPops != 0 || r.SoftBound != 0 ||
		bp.Recurrent.Scale != nil || bp.Recurrent.Sign != nil || bp.Recurrent.Bounded || bp.Recurrent.Growth != nil {
		t.Errorf("defaults: %+v, rule %+v", bp, r)
	}

	cases := []struct {
		name, yaml string
		check      func(bp *backend.Plasticity[float64]) bool
	}{
		{"per_trial", "weights: per_trial, recurrent: {" + hebb + "}", func(bp *backend.Plasticity[float64]) bool { return bp.PerTrial }},
		{"hidden synonym", "hidden: {" + hebb + "}", func(bp *backend.Plasticity[float64]) bool { return bp.Recurrent != nil }},
		{"input and readout", "input: {" + hebb + "}, readout: {" + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			return bp.Recurrent == nil && bp.Input != nil && bp.Readout != nil
		}},
		{"schedule", "schedule: {warmup: 7, every: 3}, recurrent: {" + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			return bp.Schedule.Warmup == 7 && bp.Schedule.Every == 3
		}},
		{"populations blocks and phases", "populations: [{name: A, size: 2}, {name: B, size: 3}, {name: A, size: 1}], schedule: {phases: [{start: 1, learn: A}, {start: 10, learn: [A, B]}, {start: 20, learn: none}, {start: 30, learn: all}]}, recurrent: {rules: [{rule: hebbian, eta: 1, pre: B, post: [A]}]}",
			func(bp *backend.Plasticity[float64]) bool {
				ph := bp.Schedule.Phases
				r := bp.Recurrent.Rules[0]
				return string(fmtPops(bp.Populations)) == "001110" && len(ph) == 4 &&
					ph[0] == backend.Phase{Start: 1, Learn: 1} && ph[1] == backend.Phase{Start: 10, Learn: 3} &&
					ph[2] == backend.Phase{Start: 20, Learn: 0} && ph[3] == backend.Phase{Start: 30, Learn: ^uint64(0)} &&
					r.PrePops == 2 && r.PostPops == 1
			}},
		{"populations per unit", "populations: [x, y, x, y, z, z], recurrent: {" + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			return string(fmtPops(bp.Populations)) == "010122"
		}},
		{"bounds", "recurrent: {bounds: [-0.5, .inf], " + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			c := bp.Recurrent
			return c.Bounded && c.Min == -0.5 && math.IsInf(c.Max, 1)
		}},
		{"nonnegative", "recurrent: {bounds: nonnegative, " + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			c := bp.Recurrent
			return c.Bounded && c.Min == 0 && math.IsInf(c.Max, 1)
		}},
		{"freeze_zero", "recurrent: {freeze_zero: true, " + hebb + "}", func(bp *backend.Plasticity[float64]) bool { return bp.Recurrent.FreezeZero }},
		{"dale signs", "recurrent: {dale: [1, -1, 0, 0, 1, -1], rules: [{rule: bcm, eta: 1, flip_inhibitory: true, threshold: {tau: 10}}]}", func(bp *backend.Plasticity[float64]) bool {
			sg := bp.Recurrent.Sign
			return len(sg) == 6 && sg[0] == 1 && sg[1] == -1 && sg[2] == 0 && sg[5] == -1 && bp.Recurrent.Rules[0].FlipInhibitory
		}},
		{"scale number", "recurrent: {scale: 0.25, " + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			return len(bp.Recurrent.Scale) == 36 && bp.Recurrent.Scale[7] == 0.25
		}},
		{"growth", "recurrent: {growth: {probability: 0.5, weight: 0.125}, " + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			c := bp.Recurrent
			return len(c.Growth) == 36 && c.Growth[3] == 0.5 && c.GrowWeight[3] == 0.125
		}},
		{"bcm tau", "recurrent: {rules: [{rule: bcm, eta: 1, divide_by_theta: true, presynaptic: rate, threshold: {tau: 40, init: 0.5}}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.Kind == backend.BCM && r.DivideByTheta && r.Average.Window == 0 && r.Average.Coef == 10.0/40 && r.Average.Init == 0.5
		}},
		{"bcm window", "recurrent: {rules: [{rule: bcm, eta: 1, threshold: {window: 23}}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.Average.Window == 23 && !r.DivideByTheta
		}},
		{"oja", "recurrent: {rules: [{rule: oja, eta: 2}]}", func(bp *backend.Plasticity[float64]) bool {
			return bp.Recurrent.Rules[0].Kind == backend.Oja && bp.Recurrent.Rules[0].Rate[0] == 20
		}},
		{"covariance", "recurrent: {rules: [{rule: covariance, eta: 1, mean: {window: 4}}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.Kind == backend.Covariance && r.Average.Window == 4
		}},
		{"hebbian weights, soft bound, sign, flip", "recurrent: {dale: [1, 1, 1, -1, -1, -1], rules: [{rule: hebbian, eta: 1, pre_weight: 2, post_weight: 0.5, w_bound: 1.5, sign_value: 1, flip_inhibitory: true}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.PreWeight == 2 && r.PostWeight == 0.5 && r.SoftBound == 1.5 && r.Negate && r.FlipInhibitory
		}},
		{"prior l1", "recurrent: {rules: [{rule: hebbian, eta: 1, prior: {type: l1, lambda: 0.25}}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.L1 == 0.25 && r.L2 == 0
		}},
		{"prior l2", "recurrent: {rules: [{rule: hebbian, eta: 1, prior: {type: l2, lambda: 0.25}}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.L1 == 0 && r.L2 == 0.25
		}},
		{"prior elastic net", "recurrent: {rules: [{rule: hebbian, eta: 1, prior: {type: elastic_net, lambda: 0.5, ratio: 0.25}}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.L1 == 0.5*0.25 && r.L2 == 0.5*0.75/2
		}},
		{"adam defaults", "recurrent: {rules: [{rule: hebbian, eta: 1, optimizer: adam}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.Optimizer == backend.Adam && r.Beta1 == 0.9 && r.Beta2 == 0.999 && r.Epsilon == 1e-8
		}},
		{"adam constants", "recurrent: {rules: [{rule: hebbian, eta: 1, optimizer: {type: adam, beta1: 0.5, beta2: 0.75, epsilon: 0.001}}]}", func(bp *backend.Plasticity[float64]) bool {
			r := bp.Recurrent.Rules[0]
			return r.Optimizer == backend.Adam && r.Beta1 == 0.5 && r.Beta2 == 0.75 && r.Epsilon == 0.001
		}},
		{"sgd", "recurrent: {rules: [{rule: hebbian, eta: 1, optimizer: {type: sgd}}]}", func(bp *backend.Plasticity[float64]) bool {
			return bp.Recurrent.Rules[0].Optimizer == backend.SGD
		}},
		{"record block means", "record: {every: 5, what: block_means}, recurrent: {" + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			return bp.Record.Stride == 5 && bp.Record.What == backend.SnapBlockMeans
		}},
		{"record synapses", "record: {what: synapses, synapses: [[recurrent, 1, 2], [hidden, 5, 0], [readout, 3, 1]]}, recurrent: {" + hebb + "}, readout: {" + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			sy := bp.Record.Synapses
			return bp.Record.What == backend.SnapSynapses && len(sy) == 3 &&
				sy[0] == backend.Synapse{Layer: backend.LayerRecurrent, Pre: 1, Post: 2} &&
				sy[1] == backend.Synapse{Layer: backend.LayerRecurrent, Pre: 5, Post: 0} &&
				sy[2] == backend.Synapse{Layer: backend.LayerReadout, Pre: 3, Post: 1}
		}},
		{"record none", "record: {what: none}, recurrent: {" + hebb + "}", func(bp *backend.Plasticity[float64]) bool {
			return bp.Record.Stride == 0
		}},
	}
	for _, c := range cases {
		_, bp := plastic(t, "plasticity: {"+c.yaml+"}\n")
		if !c.check(bp) {
			t.Errorf("%s: mapped to %+v (recurrent %+v)", c.name, bp, bp.Recurrent)
		}
	}

	// The L5 variant: presynaptic input needs as many inputs as units.
	s, err := spec.Parse("l5.yaml", []byte("dims: [6, 6, 0]\nplasticity: {recurrent: {rules: [{rule: bcm, eta: 1, presynaptic: input, threshold: {tau: 100}}]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := s.PlasticityPlan(network.Build(s).Masks())
	if err != nil || !pl.Conns[0].Rules[0].PreInput {
		t.Errorf("presynaptic: input: %v %+v", err, pl)
	}
}

func fmtPops(p []uint8) []byte {
	b := make([]byte, len(p))
	for i, x := range p {
		b[i] = '0' + x
	}
	return b
}

// Scale, growth and Dale's law come from the masks and arrays in nn4n's
// (pre, post) orientation, transposed to the engine's layout.
func TestPlasticityMasksAndArrays(t *testing.T) {
	dir := t.TempDir()
	ramp := make([]float64, 36)
	for i := range ramp {
		ramp[i] = float64(i) / 36
	}
	sp := make([]float64, 36)
	for i := range sp {
		if i%4 != 0 {
			sp[i] = 1
		}
	}
	for name, a := range map[string][]float64{"scale.npy": ramp, "sp.npy": sp, "grow.npy": ramp} {
		if err := npz.WriteNPY(filepath.Join(dir, name), npz.Float64, []int{6, 6}, a); err != nil {
			t.Fatal(err)
		}
	}
	// An explicit scale array: used as given where a synapse exists, 0 where
	// the sparsity mask has none.
	_, bp := plasticIn(t, dir, "sparsity_masks: {hidden: {file: sp.npy}}\nplasticity: {recurrent: {scale: {file: scale.npy}, rules: [{rule: hebbian, eta: 1}]}}\n")
	for i, v := range bp.Recurrent.Scale {
		want := ramp[i] * sp[i]
		if v != want {
			t.Fatalf("scale[%d] = %v, want %v (array × sparsity, (pre, post) = engine layout)", i, v, want)
		}
	}
	// The default scale is the plasticity mask (normalized to a largest
	// value of 1), and growth keeps growable synapses' scales.
	_, bp = plasticIn(t, dir, "sparsity_masks: {hidden: {file: sp.npy}}\nplasticity_masks: {hidden: {file: scale.npy}}\nplasticity: {recurrent: {growth: {mask: {file: grow.npy}, probability: 0.5, weight: 0.1}, rules: [{rule: hebbian, eta: 1}]}}\n")
	for i, v := range bp.Recurrent.Scale {
		want := ramp[i] / ramp[35]
		if sp[i] == 0 && ramp[i] == 0 {
			want = 0
		}
		if math.Abs(v-want) > 1e-15 {
			t.Fatalf("default scale[%d] = %v, want %v", i, v, want)
		}
		if g := bp.Recurrent.Growth[i]; g != 0.5*ramp[i] {
			t.Fatalf("growth[%d] = %v, want %v", i, g, 0.5*ramp[i])
		}
	}
	// Without self-connections the diagonal never learns.
	_, bp = plastic(t, "self_connections: false\nplasticity: {recurrent: {rules: [{rule: hebbian, eta: 1}]}}\n")
	for j := 0; j < 6; j++ {
		for i := 0; i < 6; i++ {
			if want := float64(boolInt(i != j)); bp.Recurrent.Scale[j*6+i] != want {
				t.Fatalf("scale[%d][%d] = %v, want %v", j, i, bp.Recurrent.Scale[j*6+i], want)
			}
		}
	}
	// Dale's law and E/I populations from a multi_area_ei structure.
	s, bp := plastic(t, "structure: {type: multi_area_ei, areas: [3, 3], exc_pct: 0.67, area_names: [V1, PFC]}\nplasticity: {populations: areas_ei, recurrent: {rules: [{rule: hebbian, eta: 1, post: [V1.E, PFC.E]}]}, readout: {dale: none, rules: [{rule: hebbian, eta: 1}]}}\n")
	g, err := s.UnitGroups()
	if err != nil || g == nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		wantSign := int8(-1)
		if g.Excitatory[i] {
			wantSign = 1
		}
		if bp.Recurrent.Sign[i] != wantSign {
			t.Errorf("unit %d: Dale sign %d, want %d", i, bp.Recurrent.Sign[i], wantSign)
		}
		area := 0
		if i >= 3 {
			area = 1
		}
		if want := uint8(2*area + boolInt(!g.Excitatory[i])); bp.Populations[i] != want {
			t.Errorf("unit %d: population %d, want %d", i, bp.Populations[i], want)
		}
	}
	if bp.Readout.Sign != nil {
		t.Errorf("dale: none kept signs %v", bp.Readout.Sign)
	}
	if r := bp.Recurrent.Rules[0]; r.PostPops != 1|4 {
		t.Errorf("post [V1.E, PFC.E] = %b, want 101", r.PostPops)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func loadNPZ(t *testing.T, path string) map[string]*npz.Array {
	t.Helper()
	a, err := npz.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func f64s(t *testing.T, a *npz.Array) []float64 {
	t.Helper()
	v, err := a.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPlasticRunWritesWeights(t *testing.T) {
	for _, c := range []struct {
		name, extra string
		mats        int
		streamed    bool
	}{
		{"shared f32", "precision: f32\n", 1, false},
		{"per-trial f64 streamed", "precision: f64\n", 2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			weights := "shared"
			if c.mats > 1 {
				weights = "per_trial"
			}
			text := plasticBase + c.extra + "preact_noise: 0.2\nrecord: {every: 1}\nplasticity:\n  weights: " + weights + `
  schedule: {warmup: 5}
  record: {every: 8}
  recurrent: {bounds: [-2, 2], rules: [{rule: hebbian, eta: 0.01}]}
  readout: {rules: [{rule: oja, eta: 0.01}]}
`
			s, err := spec.Parse("t.yaml", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			opt := Options{Out: dir}
			if c.streamed {
				// Rates and outputs (2 trials × 40 steps × 8 values × 8 bytes
				// = 5120) stream to disk; the snapshots (2 × 6 × 48 × 8 =
				// 4608 bytes) stay in memory.
				opt.MaxMemory = 5000
			}
			sum, err := Run(context.Background(), s, opt)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Streamed != c.streamed {
				t.Errorf("streamed = %v, want %v", sum.Streamed, c.streamed)
			}
			a := loadNPZ(t, filepath.Join(dir, "result.npz"))
			N, O, S := 6, 2, 1+40/8
			W := N*N + N*O
			for name, shape := range map[string][]int{"weights": {c.mats, S, W}, "weights_time": {S}, "final_weights_recurrent": {c.mats, N, N}, "final_weights_readout": {c.mats, O, N}} {
				if a[name] == nil || !slices.Equal(a[name].Shape, shape) {
					t.Fatalf("%s missing or misshaped (want %v): %v", name, shape, a[name])
				}
			}
			if a["final_weights_input"] != nil {
				t.Errorf("the static input connection has final weights")
			}
			wt := f64s(t, a["weights_time"])
			for k, v := range wt {
				if v != float64(k*8)*10 {
					t.Fatalf("weights_time[%d] = %v, want %v ms", k, v, k*80)
				}
			}
			ws := f64s(t, a["weights"])
			fr := f64s(t, a["final_weights_recurrent"])
			fo := f64s(t, a["final_weights_readout"])
			// Snapshot 0 is the initial network, (out, in) as nn4n stores it.
			net := network.Build(s)
			for m := 0; m < c.mats; m++ {
				row0 := ws[(m*S)*W : (m*S+1)*W]
				last := ws[(m*S+S-1)*W : (m*S+S)*W]
				changed := false
				for i := 0; i < N*N; i++ {
					if row0[i] != roundTo(net.Hidden[i], s.Precision) {
						t.Fatalf("matrix %d snapshot 0 [%d] = %v, want the initial %v", m, i, row0[i], net.Hidden[i])
					}
					// Step 40 is a snapshot step: the last snapshot is the final weights.
					if last[i] != fr[m*N*N+i] {
						t.Fatalf("matrix %d: last snapshot [%d] = %v, final weights %v", m, i, last[i], fr[m*N*N+i])
					}
					changed = changed || last[i] != row0[i]
					if last[i] < -2 || last[i] > 2 {
						t.Fatalf("weight %v outside the bounds [-2, 2]", last[i])
					}
				}
				for i := 0; i < O*N; i++ {
					if row0[N*N+i] != roundTo(net.Out[i], s.Precision) || last[N*N+i] != fo[m*O*N+i] {
						t.Fatalf("matrix %d readout segment [%d]: %v, %v (initial %v, final %v)", m, i, row0[N*N+i], last[N*N+i], net.Out[i], fo[m*O*N+i])
					}
				}
				if !changed {
					t.Errorf("matrix %d: the recurrent weights never changed", m)
				}
			}
			if c.mats == 2 && equalF(fr[:N*N], fr[N*N:]) {
				t.Errorf("per-trial weights are identical for both trials")
			}
			var meta output.Meta
			data, _ := os.ReadFile(filepath.Join(dir, "meta.json"))
			if err := json.Unmarshal(data, &meta); err != nil {
				t.Fatal(err)
			}
			pi := meta.Plasticity
			if pi == nil || pi.Weights != weights || pi.Matrices != c.mats || pi.Snapshots != S || pi.Every != 8 || pi.What != "whole" || !pi.InMemory ||
				len(pi.Layout) != 2 || pi.Layout[1].Connection != "readout" || pi.Layout[1].Offset != N*N || !slices.Equal(pi.Layout[1].Shape, []int{O, N}) {
				t.Errorf("meta.json plasticity: %+v", pi)
			}
			f, err := os.Open(filepath.Join(dir, "weights.png"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := png.Decode(f); err != nil {
				t.Errorf("weights.png: %v", err)
			}
			if sum.WeightsPlotFile == "" {
				t.Errorf("summary does not name weights.png")
			}
			checkWithNumpy(t, dir, c.mats, S, W, N)
		})
	}
}

func roundTo(x float64, precision string) float64 {
	if precision == "f32" {
		return float64(float32(x))
	}
	return x
}

func equalF(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkWithNumpy reads the weights with numpy, when it is installed, and
// checks shapes and that the last snapshot reshaped is the final matrix.
func checkWithNumpy(t *testing.T, dir string, mats, S, W, N int) {
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Log("numpy not available; skipping the numpy check")
		return
	}
	script := `import numpy as np, sys
d = np.load(sys.argv[1])
w, f = d["weights"], d["final_weights_recurrent"]
assert w.shape == (int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])), w.shape
n = int(sys.argv[5])
assert np.array_equal(w[:, -1, :n*n].reshape(-1, n, n), f), "last snapshot != final weights"
assert d["weights_time"][0] == 0
print("ok")
`
	out, err := exec.Command(py, "-c", script, filepath.Join(dir, "result.npz"),
		strconv.Itoa(mats), strconv.Itoa(S), strconv.Itoa(W), strconv.Itoa(N)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Errorf("numpy: %v\n%s", err, out)
	}
}

// Block means and chosen synapses are the same weights as whole snapshots.
func TestWeightSnapshotKinds(t *testing.T) {
	base := plasticBase + "precision: f64\nplasticity:\n  populations: [{name: a, size: 2}, {name: b, size: 4}]\n  record: {every: 10, %s}\n  recurrent: {rules: [{rule: covariance, eta: 0.05, mean: {tau: 30}}]}\n  input: {rules: [{rule: hebbian, eta: 0.02, post: b}]}\n"
	run := func(what string) *Results[float64] {
		s, err := spec.Parse("k.yaml", []byte(strings.Replace(base, "%s", what, 1)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := backend.Lookup("reference")
		r, err := Simulate[float64](context.Background(), s, b, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	whole := run("what: whole")
	means := run("what: block_means")
	syn := run("what: synapses, synapses: [[recurrent, 1, 4], [input, 2, 0], [input, 0, 5]]")
	N, I, S := 6, 3, 5
	W := N*N + N*I
	if len(whole.Weights) != S*W || len(means.Weights) != S*(4+2) || len(syn.Weights) != S*3 {
		t.Fatalf("snapshot sizes %d, %d, %d", len(whole.Weights), len(means.Weights), len(syn.Weights))
	}
	pop := []int{0, 0, 1, 1, 1, 1}
	for s := 0; s < S; s++ {
		w := whole.Weights[s*W : (s+1)*W]
		rec := func(post, pre int) float64 { return w[post*N+pre] }
		in := func(post, pre int) float64 { return w[N*N+post*I+pre] }
		// Synapses [connection, pre, post].
		got := syn.Weights[s*3 : s*3+3]
		if got[0] != rec(4, 1) || got[1] != in(0, 2) || got[2] != in(5, 0) {
			t.Fatalf("snapshot %d: synapses %v, whole has %v %v %v", s, got, rec(4, 1), in(0, 2), in(5, 0))
		}
		// Block means (post population, pre population), then input (P, 1).
		m := means.Weights[s*6 : s*6+6]
		for y := 0; y < 2; y++ {
			for x := 0; x < 2; x++ {
				var sum float64
				n := 0
				for i := 0; i < N; i++ {
					for j := 0; j < N; j++ {
						if pop[i] == y && pop[j] == x {
							sum += rec(i, j)
							n++
						}
					}
				}
				if math.Abs(m[y*2+x]-sum/float64(n)) > 1e-12 {
					t.Fatalf("snapshot %d: block (post %d, pre %d) mean %v, want %v", s, y, x, m[y*2+x], sum/float64(n))
				}
			}
			var sum float64
			n := 0
			for i := 0; i < N; i++ {
				for j := 0; j < I; j++ {
					if pop[i] == y {
						sum += in(i, j)
						n++
					}
				}
			}
			if math.Abs(m[4+y]-sum/float64(n)) > 1e-12 {
				t.Fatalf("snapshot %d: input block %d mean %v, want %v", s, y, m[4+y], sum/float64(n))
			}
		}
	}
	// The input rule learns only onto population b: a's input weights stay.
	last := whole.Weights[(S-1)*W:]
	for i := 0; i < N; i++ {
		for j := 0; j < I; j++ {
			moved := last[N*N+i*I+j] != whole.Weights[N*N+i*I+j]
			if moved != (pop[i] == 1) {
				t.Errorf("input weight (post %d, pre %d) moved = %v, but post: b", i, j, moved)
			}
		}
	}
}

// selectivity is the mean over units of |r_A − r_B| / (r_A + r_B), where
// r_X = softplus(amp·w_X) is unit i's steady response to the one-hot
// pattern X given its input weights w (N, 2), (out, in).
func selectivity[T backend.Float](w []T, amp float64) float64 {
	var sum float64
	n := len(w) / 2
	for i := 0; i < n; i++ {
		a := math.Log1p(math.Exp(amp * float64(w[2*i])))
		b := math.Log1p(math.Exp(amp * float64(w[2*i+1])))
		sum += math.Abs(a-b) / (a + b)
	}
	return sum / float64(n)
}

// The bcm example learns: its units become selective to one input pattern
// each, and both patterns keep units.
func TestBCMExampleLearnsSelectivity(t *testing.T) {
	s, err := spec.LoadExample("bcm")
	if err != nil {
		t.Fatal(err)
	}
	if s.Input.Type != "patterns" || len(s.Input.Patterns) != 2 || s.Dims[0] != 2 || s.Plasticity == nil || s.Plasticity.Input == nil {
		t.Fatalf("the example changed shape: %+v", s)
	}
	b, _ := backend.Lookup("reference")
	r, err := Simulate[float32](context.Background(), s, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	N := s.Dims[1]
	S := len(r.WeightsTime)
	first, last := r.Weights[:2*N], r.Weights[(S-1)*2*N:]
	if !equalT(last, r.FinalWeights[1]) {
		t.Fatalf("the last snapshot is not the final input weights")
	}
	amp := s.Input.Amplitude
	s0, s1 := selectivity(first, amp), selectivity(last, amp)
	t.Logf("selectivity %.3f → %.3f", s0, s1)
	if !(s1 > 0.85 && s1 > s0+0.3) {
		t.Errorf("selectivity %.3f → %.3f: did not emerge", s0, s1)
	}
	prefA := 0
	for i := 0; i < N; i++ {
		if last[2*i] > last[2*i+1] {
			prefA++
		}
	}
	if prefA < N/5 || prefA > N-N/5 {
		t.Errorf("%d of %d units prefer pattern A: selectivity should split between the patterns", prefA, N)
	}
	// The rates agree: in the last second each unit answers its preferred
	// pattern more strongly than the other.
	steps, every := s.Steps, s.Record.Every
	var respA, respB = make([]float64, N), make([]float64, N)
	var nA, nB float64
	g := stimulus.NewGenerator(s)
	for m := (steps - 1000) / every; m < steps/every; m++ {
		t1 := (m + 1) * every
		// Only steady responses: the pattern was on for the last 30 ms.
		if g.Value(0, t1, 0) != g.Value(0, t1-30, 0) || g.Value(0, t1, 1) != g.Value(0, t1-30, 1) {
			continue
		}
		row := r.Rates[m*N : (m+1)*N]
		if g.Value(0, t1, 0) > 0 {
			nA++
			for i, v := range row {
				respA[i] += float64(v)
			}
		} else {
			nB++
			for i, v := range row {
				respB[i] += float64(v)
			}
		}
	}
	if nA == 0 || nB == 0 {
		t.Fatalf("no steady presentations of both patterns (%v, %v)", nA, nB)
	}
	agree := 0
	for i := 0; i < N; i++ {
		if (respA[i]/nA > respB[i]/nB) == (last[2*i] > last[2*i+1]) {
			agree++
		}
	}
	if agree < N-1 {
		t.Errorf("rates agree with the weights' preference for %d of %d units", agree, N)
	}
}

func equalT[T backend.Float](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Snapshots larger than the memory limit are refused with a clear error.
func TestWeightSnapshotsOverMemory(t *testing.T) {
	s, err := spec.Parse("m.yaml", []byte(plasticBase+"plasticity: {record: {every: 1}, recurrent: {rules: [{rule: hebbian, eta: 0.01}]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), s, Options{Out: t.TempDir(), MaxMemory: 1000})
	if err == nil || !strings.Contains(err.Error(), "plasticity.record") {
		t.Errorf("error %v does not name plasticity.record", err)
	}
}

// The patterns input shows each pattern for period ms (width: then zero).
func TestPatternsInput(t *testing.T) {
	s, err := spec.Parse("p.yaml", []byte("dims: [2, 3, 0]\ndt: 1\ntau: 10\nsteps: 100\ninput: {type: patterns, patterns: [[1, 0], [0, 2]], period: 10, width: 6, amplitude: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := stimulus.NewGenerator(s)
	for _, c := range []struct {
		t      int
		u0, u1 float64
	}{{1, 3, 0}, {5, 3, 0}, {6, 0, 0}, {9, 0, 0}, {10, 0, 6}, {15, 0, 6}, {16, 0, 0}, {20, 3, 0}} {
		if a, b := g.Value(0, c.t, 0), g.Value(0, c.t, 1); a != c.u0 || b != c.u1 {
			t.Errorf("step %d: input (%v, %v), want (%v, %v)", c.t, a, b, c.u0, c.u1)
		}
	}
	s.Input.Order, s.Input.Width = "random", 0
	counts := [2]int{}
	for p := 0; p < 200; p++ {
		counts[g.Pattern(0, float64(p))]++
		if g.Pattern(1, float64(p)) != g.Pattern(1, float64(p)) {
			t.Fatal("random order is not a function of trial and presentation")
		}
	}
	if counts[0] < 70 || counts[1] < 70 {
		t.Errorf("random order shows the patterns %v times in 200", counts)
	}
}

// A parsed plasticity section written back as YAML, and as meta.json's
// JSON, parses to the same section.
func TestPlasticitySpecRoundTrips(t *testing.T) {
	text := `plasticity:
  weights: per_trial
  populations: [{name: E, size: 4}, {name: I, size: 2}]
  schedule: {warmup: 3, every: 2, phases: [{start: 1, learn: E}, {start: 9, learn: [E, I]}]}
  record: {every: 4, what: synapses, synapses: [[recurrent, 0, 1], [input, 2, 3]]}
  recurrent:
    scale: 0.5
    dale: [1, 1, 1, 1, -1, 0]
    bounds: [-1, .inf]
    freeze_zero: true
    growth: {mask: 0.5, probability: 0.1, weight: 0.05}
    rules:
      - {rule: bcm, eta: 0.001, pre: all, post: [I], presynaptic: rate, divide_by_theta: true, threshold: {tau: 200, init: 0.1}}
      - {rule: hebbian, eta: 0.01, pre_weight: 2, post_weight: 0.5, w_bound: 1, prior: {type: elastic_net, lambda: 0.01, ratio: 0.5}, sign_value: 1, flip_inhibitory: true, optimizer: {type: adam, beta1: 0.8}}
  input: {bounds: nonnegative, rules: [{rule: covariance, eta: 0.1, mean: {window: 5}, optimizer: sgd}]}
`
	s, err := spec.Parse("rt.yaml", []byte(plasticBase+text))
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := spec.Parse("rt2.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	js1, _ := json.Marshal(s)
	js2, _ := json.Marshal(back)
	if string(js1) != string(js2) {
		t.Errorf("YAML round trip changed the spec:\n%s\n%s", js1, js2)
	}
	var fromJSON spec.Spec
	if err := json.Unmarshal(js1, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if js3, _ := json.Marshal(&fromJSON); string(js3) != string(js1) {
		t.Errorf("JSON round trip changed the spec:\n%s\n%s", js1, js3)
	}
	if !strings.Contains(string(js1), `"bounds":[-1,".inf"]`) {
		t.Errorf("JSON bounds: %s", js1)
	}
}

// Switching outputs off leaves rates on (the defaults once shared one
// pointer for both).
func TestRecordOutputsOffKeepsRates(t *testing.T) {
	s, err := spec.Parse("r.yaml", []byte("record: {rates: true, outputs: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !*s.Record.Rates || *s.Record.Outputs || *s.Record.States {
		t.Errorf("rates %v, outputs %v, states %v", *s.Record.Rates, *s.Record.Outputs, *s.Record.States)
	}
	d := spec.Defaults()
	if d.Record.Rates == d.Record.Outputs || d.Record.Rates == d.Record.States {
		t.Errorf("the defaults share pointers")
	}
}

// Absent synapses stay absent under learning, and growth makes some appear
// with its weight; Dale's law signs hold for every learned weight.
func TestPlasticSparsityGrowthAndDale(t *testing.T) {
	base := plasticBase + "precision: f64\nstructure: {type: random_input, hidden_spar: 0.4}\nplasticity:\n  schedule: {every: 2}\n  record: {what: none}\n  recurrent:\n    dale: [1, 1, 1, 1, -1, -1]\n    rules: [{rule: hebbian, eta: 0.05, optimizer: adam}]\n"
	run := func(extra string) (*Results[float64], *network.Network) {
		s, err := spec.Parse("g.yaml", []byte(base+extra))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := backend.Lookup("reference")
		r, err := Simulate[float64](context.Background(), s, b, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Weights != nil || r.FinalWeights[0] == nil {
			t.Fatalf("what: none still recorded snapshots, or no final weights")
		}
		return r, network.Build(s)
	}
	r, net := run("")
	N := 6
	absent, learned := 0, 0
	for i := 0; i < N; i++ { // post
		for j := 0; j < N; j++ { // pre
			w := r.FinalWeights[0][i*N+j]
			if net.Sparsity.Hidden[i*N+j] == 0 {
				absent++
				if w != 0 {
					t.Fatalf("absent synapse (post %d, pre %d) became %v", i, j, w)
				}
				continue
			}
			if w != net.Hidden[i*N+j] {
				learned++
			}
			if j < 4 && w < 0 || j >= 4 && w > 0 {
				t.Fatalf("synapse (post %d, pre %d) = %v breaks Dale's law", i, j, w)
			}
		}
	}
	if absent == 0 || learned == 0 {
		t.Fatalf("%d absent synapses, %d learned: the test needs both", absent, learned)
	}
	g, _ := run("    growth: {probability: 0.5, weight: 0.0625}\n")
	grown := 0
	for i := 0; i < N*N; i++ {
		if net.Sparsity.Hidden[i] == 0 && g.FinalWeights[0][i] != 0 {
			grown++
		}
	}
	if grown == 0 {
		t.Errorf("growth at probability 0.5 over 20 updates grew none of %d absent synapses", absent)
	}
}
