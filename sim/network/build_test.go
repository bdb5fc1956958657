package network_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/spec"
)

// ramp returns n distinct values in (−1, 1) that depend on salt.
func ramp(n int, salt float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Sin(float64(i)*0.7+salt) * 0.9
	}
	return v
}

func writeNPZ(t *testing.T, path string, arrays map[string]struct {
	shape []int
	data  []float64
}) {
	t.Helper()
	w, err := npz.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for name, a := range arrays {
		f32 := make([]float32, len(a.data))
		for i, v := range a.data {
			f32[i] = float32(v)
		}
		if err := w.Float32(name, a.shape, f32); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

type arr = struct {
	shape []int
	data  []float64
}

func writeSpec(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const importerSpec = `
dims: [3, 8, 2]
activation: tanh
dt: 10
alpha: {file: model.npz, key: recurrent_layer.alpha}
weights:
  input:   {file: model.npz, key: recurrent_layer.input_layer.weight}
  hidden:  {file: model.npz, key: recurrent_layer.hidden_layer.weight}
  readout: {file: model.npz, key: readout_layer.weight}
biases:
  input:   {file: model.npz, key: recurrent_layer.input_layer.bias}
  hidden:  {file: model.npz, key: recurrent_layer.hidden_layer.bias}
  readout: {file: model.npz, key: readout_layer.bias}
`

// The spec an nn4n importer writes loads its arrays in nn4n's (out, in)
// orientation, relative to the spec's directory, rounded from float32.
func TestImporterSpecLoadsArrays(t *testing.T) {
	dir := t.TempDir()
	I, N, O := 3, 8, 2
	model := map[string]arr{
		"recurrent_layer.input_layer.weight":  {[]int{N, I}, ramp(N*I, 1)},
		"recurrent_layer.input_layer.bias":    {[]int{N}, ramp(N, 2)},
		"recurrent_layer.hidden_layer.weight": {[]int{N, N}, ramp(N*N, 3)},
		"recurrent_layer.hidden_layer.bias":   {[]int{N}, ramp(N, 4)},
		"readout_layer.weight":                {[]int{O, N}, ramp(O*N, 5)},
		"readout_layer.bias":                  {[]int{O}, ramp(O, 6)},
		"recurrent_layer.alpha":               {[]int{N}, []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1}},
	}
	writeNPZ(t, filepath.Join(dir, "model.npz"), model)
	// Load from another working directory: paths are relative to the spec.
	s, err := spec.Load(writeSpec(t, dir, importerSpec))
	if err != nil {
		t.Fatal(err)
	}
	net, err := network.New(s)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, got []float64, key string) {
		want := model[key].data
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != float64(float32(want[i])) {
				t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], float32(want[i]))
			}
		}
	}
	same("In", net.In, "recurrent_layer.input_layer.weight")
	same("Hidden", net.Hidden, "recurrent_layer.hidden_layer.weight")
	same("Out", net.Out, "readout_layer.weight")
	same("InB", net.InB, "recurrent_layer.input_layer.bias")
	same("HiddenB", net.HiddenB, "recurrent_layer.hidden_layer.bias")
	same("ReadB", net.ReadB, "readout_layer.bias")
	same("Alpha", net.Alpha, "recurrent_layer.alpha")

	// The same network runs, and meta.json's spec keeps the references.
	b, _ := backend.Lookup("reference")
	s.Steps, s.Trials, s.Input = 5, 2, spec.Stimulus{Type: "constant", Amplitude: 0.5}
	if _, err := sim.Simulate[float32](context.Background(), s, b, sim.Options{}); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"key":"recurrent_layer.hidden_layer.weight"`, `"alpha":{"file":"model.npz"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("meta spec %s does not hold %s", js, want)
		}
	}
	if strings.Contains(string(js), `"tau"`) {
		t.Errorf("alpha given, but the resolved spec still has a tau: %s", js)
	}
}

// Masks given with array weights are applied (sparsity, then the E/I clamp)
// but the array is not rebalanced unless ei_balance: all.
func TestMasksOnArrayWeights(t *testing.T) {
	dir := t.TempDir()
	N := 6
	w := ramp(N*N, 0.3)
	// Masks in (pre, post): sparsity removes pre 0 → post 1, i.e. W[1][0].
	sp := make([]float64, N*N)
	for i := range sp {
		sp[i] = 1
	}
	sp[0*N+1] = 0
	ei := make([]float64, N*N) // pre units 0..3 excitatory, 4..5 inhibitory (0 = inhibitory, as nn4n)
	for pre := 0; pre < N; pre++ {
		for post := 0; post < N; post++ {
			if pre < 4 {
				ei[pre*N+post] = 1
			}
		}
	}
	writeNPZ(t, filepath.Join(dir, "m.npz"), map[string]arr{
		"w": {[]int{N, N}, w}, "sp": {[]int{N, N}, sp}, "ei": {[]int{N, N}, ei}})
	base := "dims: [1, 6, 1]\nweights: {hidden: {file: m.npz, key: w}}\nsparsity_masks: {hidden: {file: m.npz, key: sp}}\nei_masks: {hidden: {file: m.npz, key: ei}}\n"
	for _, balance := range []string{"sampled", "all"} {
		s, err := spec.Load(writeSpec(t, dir, base+"ei_balance: "+balance+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		net, err := network.New(s)
		if err != nil {
			t.Fatal(err)
		}
		if net.Hidden[1*N+0] != 0 {
			t.Errorf("W[1][0] = %v, want 0 (sparsity mask entry [pre 0][post 1] is 0)", net.Hidden[1*N+0])
		}
		sum, abs := 0.0, 0.0
		for post := 0; post < N; post++ {
			for pre := 0; pre < N; pre++ {
				v := net.Hidden[post*N+pre]
				sum += v
				abs += math.Abs(v)
				if pre < 4 && v < 0 || pre >= 4 && v > 0 {
					t.Fatalf("W[%d][%d] = %v breaks Dale's law for presynaptic unit %d", post, pre, v, pre)
				}
				if balance == "sampled" && v != 0 && v != float64(float32(w[post*N+pre])) {
					t.Fatalf("W[%d][%d] = %v, want the array's %v unchanged", post, pre, v, float32(w[post*N+pre]))
				}
			}
		}
		if balanced := math.Abs(sum) <= 1e-12*abs; balanced != (balance == "all") {
			t.Errorf("ei_balance %s: ΣW = %v (Σ|W| = %v)", balance, sum, abs)
		}
	}
}

// Sampled weights with a multi-area E/I structure follow nn4n's order:
// masked, clamped per presynaptic unit, balanced to a zero sum.
func TestStructureBuildsMaskedBalancedWeights(t *testing.T) {
	s, err := spec.Parse("ei.yaml", []byte(`
dims: [2, 50, 3]
weights: normal
self_connections: false
structure:
  type: multi_area_ei
  areas: [20, 30]
  area_connectivities: [0.3, 0.1]
  exc_pct: 0.75
  inter_area_connections: [true, false, true, false]
  inh_readout: false
  input_areas: [0]
`))
	if err != nil {
		t.Fatal(err)
	}
	net, err := network.New(s)
	if err != nil {
		t.Fatal(err)
	}
	N := 50
	exc := func(u int) bool { return u < 15 || u >= 20 && u < 42 }
	sum, abs := 0.0, 0.0
	for i := 0; i < N; i++ {
		if net.Hidden[i*N+i] != 0 {
			t.Fatalf("self-connection W[%d][%d] = %v", i, i, net.Hidden[i*N+i])
		}
		for j := 0; j < N; j++ {
			v := net.Hidden[i*N+j]
			if net.Sparsity.Hidden[i*N+j] == 0 && v != 0 {
				t.Fatalf("W[%d][%d] = %v where the mask has no synapse", i, j, v)
			}
			if exc(j) && v < 0 || !exc(j) && v > 0 {
				t.Fatalf("W[%d][%d] = %v: presynaptic unit %d is excitatory = %v", i, j, v, j, exc(j))
			}
			if (i < 20) != (j < 20) && !exc(i) && v != 0 {
				t.Fatalf("W[%d][%d] = %v: a synapse onto an inhibitory unit from another area (E→I and I→I are off)", i, j, v)
			}
			sum += v
			abs += math.Abs(v)
		}
	}
	if math.Abs(sum) > 1e-12*abs || abs == 0 {
		t.Errorf("hidden ΣW = %v, Σ|W| = %v: not balanced", sum, abs)
	}
	for o := 0; o < 3; o++ {
		for j := 0; j < N; j++ {
			if !exc(j) && net.Out[o*N+j] != 0 {
				t.Fatalf("readout from inhibitory unit %d with inh_readout false", j)
			}
		}
	}
	for i := 20; i < N; i++ {
		if net.In[i*2] != 0 || net.In[i*2+1] != 0 {
			t.Fatalf("unit %d of area 1 receives input; input_areas is [0]", i)
		}
	}
	if len(net.Areas) != 2 || net.Areas[1].Name != "area_2" {
		t.Errorf("areas %+v", net.Areas)
	}
	// The same seed gives the same network; another seed another one.
	again := network.Build(s)
	s2 := *s
	s2.Seed = 2
	other := network.Build(&s2)
	for i := range net.Hidden {
		if again.Hidden[i] != net.Hidden[i] {
			t.Fatal("the same spec built two different networks")
		}
	}
	differ := false
	for i := range net.Hidden {
		differ = differ || other.Hidden[i] != net.Hidden[i]
	}
	if !differ {
		t.Error("seeds 1 and 2 built the same network")
	}
}

func TestBalance(t *testing.T) {
	for _, c := range []struct {
		w, sign []float64
		want    []float64
	}{
		{[]float64{3, -1, 1, -2}, []float64{1, -1, 1, -1}, []float64{2.25, -1, 0.75, -2}}, // E=4 > |I|=3: E scaled by 3/4
		{[]float64{1, -4, 1, -4}, []float64{1, -1, 1, 0}, []float64{1, -1, 1, -1}},        // |I|=8 > E=2: I scaled by 1/4 (0 sign = inhibitory)
		{[]float64{2, 0, 4, 0}, []float64{1, -1, 1, -1}, []float64{0.2, 0, 0.4, 0}},       // I = 0: all divided by 10
	} {
		w := append([]float64(nil), c.w...)
		network.Balance(w, c.sign)
		for i := range w {
			if math.Abs(w[i]-c.want[i]) > 1e-15 {
				t.Errorf("network.Balance(%v, %v) = %v, want %v", c.w, c.sign, w, c.want)
				break
			}
		}
	}
}

func TestPerUnitTauAndPlasticity(t *testing.T) {
	dir := t.TempDir()
	writeNPZ(t, filepath.Join(dir, "p.npz"), map[string]arr{
		"hid": {[]int{3, 3}, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		"out": {[]int{3, 1}, []float64{2, 2, 2}},
	})
	s, err := spec.Load(writeSpec(t, dir, "dims: [1, 3, 1]\ntau: [20, 50, 100]\nplasticity_masks: {hidden: {file: p.npz, key: hid}, readout: {file: p.npz, key: out}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	net := network.Build(s)
	for i, want := range []float64{0.5, 0.2, 0.1} {
		if net.Alpha[i] != want {
			t.Errorf("α[%d] = %v, want dt/τ = %v", i, net.Alpha[i], want)
		}
	}
	// Divided by the largest value (8), transposed to (post, pre): the
	// smallest nonzero scale stays plastic.
	if got := net.Plasticity.Hidden; got[0] != 0 || got[1] != 3.0/8 || got[3] != 1.0/8 || got[8] != 1 {
		t.Errorf("hidden plasticity %v", got)
	}
	if net.Plasticity.Readout[0] != 0.25 || net.Plasticity.Input != nil {
		t.Errorf("readout plasticity %v, input %v", net.Plasticity.Readout, net.Plasticity.Input)
	}
}

// init_state {from: DIR} carries a run's final state over, trial by trial.
func TestInitStateFromPreviousRun(t *testing.T) {
	dir := t.TempDir()
	first, err := spec.Parse("first.yaml", []byte("dims: [2, 20, 3]\nactivation: tanh\nweights: normal\nbiases: uniform\npreact_noise: 0.1\npostact_noise: 0.05\ninput: {type: sine, amplitude: 1, period: 300}\nbackend: reference\ntrials: 3\nsteps: 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run1")
	if _, err := sim.Run(context.Background(), first, sim.Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	res, err := npz.Load(filepath.Join(out, "result.npz"))
	if err != nil {
		t.Fatal(err)
	}
	final, _ := res["final_state"].Float64s()
	specFile := writeSpec(t, dir, "dims: [2, 20, 3]\ntrials: 3\ninit_state: {from: run1}\n")
	s, err := spec.Load(specFile)
	if err != nil {
		t.Fatal(err)
	}
	net := network.Build(s)
	if len(net.Init) != len(final) {
		t.Fatalf("init has %d values, want %d", len(net.Init), len(final))
	}
	for i := range final {
		if net.Init[i] != final[i] {
			t.Fatalf("init[%d] = %v, want the final state %v", i, net.Init[i], final[i])
		}
	}
	p := network.Program[float32](net, 3, 1, backend.Record{Rates: true})
	if p.Init[20] != float32(final[20]) {
		t.Errorf("program init[20] = %v, want %v (trial 1 keeps its own state)", p.Init[20], final[20])
	}
	s.Trials = 4
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "init_state") {
		t.Errorf("4 trials from a 3-trial run: err = %v", err)
	}
}

func TestModelSpecErrors(t *testing.T) {
	dir := t.TempDir()
	nan := ramp(4*4, 0)
	nan[6] = math.NaN()
	writeNPZ(t, filepath.Join(dir, "m.npz"), map[string]arr{
		"w44": {[]int{4, 4}, ramp(16, 1)}, "w43": {[]int{4, 3}, ramp(12, 1)}, "nan": {[]int{4, 4}, nan},
		"b4": {[]int{4}, ramp(4, 1)}, "a": {[]int{4}, []float64{0.1, 0.2, 1.5, 0.1}}, "neg": {[]int{4, 4}, ramp(16, 1)},
		"v": {[]int{5, 4}, ramp(20, 1)}, "s24": {[]int{2, 4}, ramp(8, 1)},
	})
	if err := npz.WriteNPY(filepath.Join(dir, "w.npy"), npz.Float64, []int{4, 4}, ramp(16, 2)); err != nil {
		t.Fatal(err)
	}
	head := "dims: [2, 4, 1]\n"
	cases := []struct{ yaml, field, reason string }{
		{"weights: {hidden: {file: m.npz, key: w43}}", "weights.hidden", "want (4, 4)"},
		{"weights: {input: {file: m.npz, key: w44}}", "weights.input", "want (4, 2)"},
		{"weights: {hidden: {file: m.npz, key: nan}}", "weights.hidden", `"nan": value at index (1, 2) is NaN`},
		{"weights: {hidden: {file: m.npz, key: nope}}", "weights.hidden", "no such array"},
		{"weights: {hidden: {file: missing.npz, key: w}}", "weights.hidden", "missing.npz"},
		{"weights: {hidden: {file: m.npz}}", "weights.hidden", "key: NAME"},
		{"weights: {hidden: {file: w.npy, kye: x}}", "weights", `unknown key "kye"`},
		{"weights: {recurrent: normal}", "weights", `unknown layer "recurrent"`},
		{"weights: {hidden: xavier}", "weights.hidden", `"xavier"`},
		{"biases: {readout: {file: m.npz, key: b4}}", "biases.readout", "want (1,)"},
		{"biases: {hidden: ones}", "biases.hidden", `"ones"`},
		{"tau: 100\nalpha: 0.1", "alpha", "both given"},
		{"alpha: {file: m.npz, key: a}", "alpha", "unit 2 has α = 1.5"},
		{"alpha: 0", "alpha", "(0, 1]"},
		{"tau: [100, 100, -5, 100]", "tau", "unit 2 has τ = -5"},
		{"tau: [100, 100, 5, 100]", "tau", "unit 2: dt = 10 exceeds"},
		{"tau: [100, 100]", "tau", "want one per hidden unit (4)"},
		{"sparsity_masks: {hidden: {file: m.npz, key: w43}}", "sparsity_masks.hidden", "(pre, post)"},
		{"sparsity_masks: {input: {file: m.npz, key: w44}}", "sparsity_masks.input", "want (2, 4)"},
		{"plasticity_masks: {hidden: {file: m.npz, key: neg}}", "plasticity_masks.hidden", "must be ≥ 0"},
		{"ei_balance: maybe", "ei_balance", "sampled, all or none"},
		{"init_state: {file: m.npz, key: v}", "init_state", "want (1, 4)"},
		{"init_state: {from: nowhere}", "init_state", "nowhere"},
		{"init_state: {form: x}", "init_state", `unknown key "form"`},
		{"structure: {type: multi_area, areas: 3}", "structure.areas", "cannot be split into 3"},
		{"structure: {type: multi_area, area_connectivities: [0.1, 1.2]}", "structure.area_connectivities (feedback)", "[0, 1]"},
		{"structure: {type: multi_area, area_connectivities: [0.1]}", "structure.area_connectivities", "got 1 values"},
		{"structure: {type: multi_area, area_connectivities: [[1, 0], [0]]}", "structure.area_connectivities", "row 1"},
		{"structure: {type: multi_area, exc_pct: 0.5}", "structure.exc_pct", "not of multi_area"},
		{"structure: {type: multi_area_ei, inter_area_connections: [true]}", "structure.inter_area_connections", "4 booleans"},
		{"structure: {type: small_world}", "structure.type", "small_world"},
		{"structure: {type: multi_area, colour: red}", "", "unknown field colour"},
		{"structure: {type: multi_area}\nsparsity_masks: {input: {file: m.npz, key: s24}}", "sparsity_masks.input", "also built by structure"},
		{"structure: {type: random_input, input_spar: 0.8, readout_spar: 0.5, overlap: false}", "structure.readout_spar", "≤ 1"},
		{"structure: {type: multi_io, input_dims: [1, 2]}", "structure.input_dims", "sum to 3, want 2"},
	}
	for _, c := range cases {
		_, err := spec.Load(writeSpec(t, dir, head+c.yaml+"\n"))
		if err == nil {
			t.Errorf("%q: no error", c.yaml)
			continue
		}
		msg := err.Error()
		var se *spec.Error
		if !errors.As(err, &se) || !strings.HasSuffix(se.File, "spec.yaml") {
			t.Errorf("%q: %v is not a spec.Error naming the spec file", c.yaml, err)
		}
		if c.field != "" && !strings.Contains(msg, "field "+c.field) {
			t.Errorf("%q: error %q does not name field %s", c.yaml, msg, c.field)
		}
		if !strings.Contains(msg, c.reason) {
			t.Errorf("%q: error %q does not say %q", c.yaml, msg, c.reason)
		}
	}
}

func TestStructureGroupsForRecording(t *testing.T) {
	s, err := spec.Parse("g.yaml", []byte("dims: [1, 20, 1]\nstructure: {type: multi_area_ei, areas: [8, 12], area_names: [V1, PFC], exc_pct: 0.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.UnitGroups()
	if err != nil || g == nil || len(g.Areas) != 2 || g.Areas[1].Name != "PFC" || len(g.Areas[1].Units) != 12 {
		t.Fatalf("unit groups %+v, %v", g, err)
	}
	net := network.Build(s)
	for i, e := range g.Excitatory {
		if want := i < 4 || i >= 8 && i < 14; e != want {
			t.Errorf("unit %d excitatory = %v, want %v", i, e, want)
		}
		for r := 0; r < 20; r++ {
			if v := net.EI.Hidden[r*20+i]; (v > 0) != e {
				t.Fatalf("the network's E/I mask disagrees with the groups at unit %d", i)
			}
		}
	}
}

// A parsed spec written back as YAML (and as meta.json's JSON) parses to
// the same spec.
func TestSpecRoundTrips(t *testing.T) {
	text := `dims: [2, 12, 1]
alpha: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 0.5, 0.5]
weights: {input: zero, hidden: normal, readout: {file: w.npy}}
biases: {hidden: uniform}
plasticity_masks: {hidden: {file: p.npz, key: k}}
self_connections: false
ei_balance: all
init_state: {from: previous}
structure: {type: multi_area_ei, areas: [4, 8], area_connectivities: [[1, 0.5], [0.2, 1]], inter_area_connections: [true, false, true, false], inh_readout: false}
`
	var s spec.Spec = spec.Defaults()
	if err := yaml.Unmarshal([]byte(text), &s); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	back := spec.Defaults()
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	js1, _ := json.Marshal(&s)
	js2, _ := json.Marshal(&back)
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
}

func init() {
	// The reference is not registered for users; tests run through it so
	// that they do not depend on a backend package.
	backend.Register(backend.Reference, -1)
}
