package nn4n

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/sim/npz"
)

// fixtureCase is one entry of testdata/fixtures/cases.json (gen_fixtures.py).
type fixtureCase struct {
	Name       string  `json:"name"`
	Activation string  `json:"activation"`
	Dt         float64 `json:"dt"`
	Tau        float64 `json:"tau"`
	Masked     bool    `json:"masked"`
	InitState  bool    `json:"init_state"`
	AlphaKey   bool    `json:"alpha_in_state_dict"`
	Biases     bool    `json:"biases"`
	Checkpoint bool    `json:"checkpoint"`
	// Kind is how the checkpoint was written: torch, numpy (masks as
	// numpy arrays), nn4n (as nn4n saves a MultiAreaEI model: transposed
	// int64 masks) or views (views in the state dict and the kwargs).
	Kind string `json:"checkpoint_kind"`
}

func fixtureCases(t testing.TB) []fixtureCase {
	data, err := os.ReadFile("testdata/fixtures/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Cases []fixtureCase }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("no fixture cases")
	}
	return doc.Cases
}

func fixture(name, file string) string { return filepath.Join("testdata", "fixtures", name, file) }

// The checkpoint and the NPZ of one model decode to the same numbers, and
// the checkpoint's kwargs give what the generator passed.
func TestFixturesCheckpointMatchesNPZ(t *testing.T) {
	n := 0
	for _, c := range fixtureCases(t) {
		if !c.Checkpoint {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			pt, err := ReadCheckpoint(fixture(c.Name, "model.pt"), Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			dt, tau := c.Dt, c.Tau
			nz, err := ReadNPZ(fixture(c.Name, "model.npz"), Overrides{Activation: c.Activation, Dt: &dt, Tau: &tau})
			if err != nil {
				t.Fatal(err)
			}
			if pt.Activation != c.Activation || pt.Dt != c.Dt || pt.Tau != c.Tau {
				t.Errorf("kwargs gave %s, dt %v, tau %v; generator used %s, %v, %v", pt.Activation, pt.Dt, pt.Tau, c.Activation, c.Dt, c.Tau)
			}
			for _, k := range []string{"activation", "dt", "tau"} {
				if pt.Origin[k] != "kwargs" {
					t.Errorf("%s came from %q, want kwargs", k, pt.Origin[k])
				}
			}
			for i := range pt.Layers {
				a, b := pt.Layers[i], nz.Layers[i]
				if !equal(a.Weight, b.Weight) || !equal(a.Bias, b.Bias) || (a.Bias == nil) != (b.Bias == nil) {
					t.Errorf("%s layer differs between model.pt and model.npz", a.Name)
				}
				if c.Masked {
					if len(a.SparsityMask) != a.In*a.Out {
						t.Errorf("%s sparsity mask has %d entries, want %d×%d", a.Name, len(a.SparsityMask), a.In, a.Out)
					}
					if (i > 0) != (a.EIMask != nil) {
						t.Errorf("%s E/I mask present = %v, want %v", a.Name, a.EIMask != nil, i > 0)
					}
				}
			}
			if c.Masked {
				// The generator applied the masks to the weights, so they hold.
				if v := pt.MaskViolations(); v != [3]int{} {
					t.Errorf("mask violations %v, want none", v)
				}
				// E/I: presynaptic unit j's row of the (pre, post) mask has one sign.
				h := pt.Layers[1]
				for j := 0; j < h.In; j++ {
					for o := 1; o < h.Out; o++ {
						if h.EIMask[j*h.Out+o] != h.EIMask[j*h.Out] {
							t.Fatalf("E/I mask row %d is not constant: orientation lost", j)
						}
					}
				}
			}
		})
	}
	if n < 2 {
		t.Fatalf("only %d fixtures have a checkpoint; want at least 2", n)
	}
}

func equal(a, b []float64) bool {
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

func TestNPZDefaultsAndAlpha(t *testing.T) {
	m, err := ReadNPZ(fixture("relu", "model.npz"), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Activation != "relu" || m.Dt != 10 || m.Tau != 100 || m.Origin["tau"] != "nn4n default" {
		t.Errorf("defaults: %s %v %v %v", m.Activation, m.Dt, m.Tau, m.Origin)
	}
	if !strings.Contains(strings.Join(m.Notes, " "), "defaults") {
		t.Errorf("an NPZ without flags must say defaults were used; notes %q", m.Notes)
	}

	var alphaCase string
	for _, c := range fixtureCases(t) {
		if c.AlphaKey {
			alphaCase = c.Name
		}
	}
	if alphaCase == "" {
		t.Fatal("no fixture with recurrent_layer.alpha")
	}
	m, err = ReadNPZ(fixture(alphaCase, "model.npz"), Overrides{Activation: "tanh"})
	if err != nil {
		t.Fatal(err)
	}
	arrs, err := npz.Load(fixture(alphaCase, "model.npz"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := arrs[KeyAlpha].Float64s()
	if !equal(m.Alpha, want) || m.Origin["alpha"] != "state dict" {
		t.Errorf("alpha %v (from %q), want the state dict's %v", m.Alpha, m.Origin["alpha"], want)
	}
	tau := 50.0
	m, err = ReadNPZ(fixture(alphaCase, "model.npz"), Overrides{Tau: &tau})
	if err != nil {
		t.Fatal(err)
	}
	if m.Alpha != nil || m.Tau != 50 || !strings.Contains(strings.Join(m.Notes, " "), "ignored") {
		t.Errorf("--tau must replace the state dict's alpha and say so: alpha %v, tau %v, notes %q", m.Alpha, m.Tau, m.Notes)
	}
}

func TestNPZErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, arrays map[string][]float32, shapes map[string][]int) string {
		p := filepath.Join(dir, name)
		w, err := npz.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range sortedKeys(arrays) {
			if err := w.Float32(k, shapes[k], arrays[k]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := map[string][]float32{KeyInputWeight: make([]float32, 4), KeyHiddenWeight: make([]float32, 4), KeyReadoutWeight: make([]float32, 2)}
	shapes := map[string][]int{KeyInputWeight: {2, 2}, KeyHiddenWeight: {2, 2}, KeyReadoutWeight: {1, 2}, KeyHiddenBias: {3}}
	if _, err := ReadNPZ(write("ok.npz", ok, shapes), Overrides{}); err != nil {
		t.Fatalf("a minimal state dict: %v", err)
	}
	missing := map[string][]float32{KeyInputWeight: make([]float32, 4), KeyReadoutWeight: make([]float32, 2)}
	badBias := map[string][]float32{KeyInputWeight: make([]float32, 4), KeyHiddenWeight: make([]float32, 4), KeyReadoutWeight: make([]float32, 2), KeyHiddenBias: make([]float32, 3)}
	for _, c := range []struct {
		file   string
		expect []string
	}{
		{write("missing.npz", missing, shapes), []string{"missing.npz", KeyHiddenWeight, "missing"}},
		{write("badbias.npz", badBias, shapes), []string{"badbias.npz", KeyHiddenBias, "shape [3]", "(2,)"}},
	} {
		_, err := ReadNPZ(c.file, Overrides{})
		if err == nil {
			t.Fatalf("%s: no error", c.file)
		}
		for _, e := range c.expect {
			if !strings.Contains(err.Error(), e) {
				t.Errorf("error %q does not mention %q", err, e)
			}
		}
	}
}

// WriteSpec's weights file holds the model's arrays exactly, and the spec
// refers to them with {file, key} relative to itself.
func TestWriteSpec(t *testing.T) {
	for _, c := range fixtureCases(t) {
		if !c.Checkpoint {
			continue
		}
		m, err := ReadCheckpoint(fixture(c.Name, "model.pt"), Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		spec := filepath.Join(t.TempDir(), "net.yaml")
		wpath, err := WriteSpec(m, spec)
		if err != nil {
			t.Fatal(err)
		}
		if wpath != filepath.Join(filepath.Dir(spec), "net.weights.npz") {
			t.Errorf("weights at %s, want net.weights.npz next to the spec", wpath)
		}
		arrs, err := npz.Load(wpath)
		if err != nil {
			t.Fatal(err)
		}
		for i, key := range []string{KeyInputWeight, KeyHiddenWeight, KeyReadoutWeight} {
			a, ok := arrs[key]
			if !ok {
				t.Fatalf("%s: no %s in the weights file", c.Name, key)
			}
			got, _ := a.Float64s()
			l := m.Layers[i]
			if !equal(got, l.Weight) || a.Shape[0] != l.Out || a.Shape[1] != l.In {
				t.Errorf("%s: %s shaped %v differs from the model's (%d, %d)", c.Name, key, a.Shape, l.Out, l.In)
			}
		}
		data, err := os.ReadFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("spec is not YAML: %v\n%s", err, data)
		}
		w, _ := doc["weights"].(map[string]any)
		hid, _ := w["hidden"].(map[string]any)
		if hid["file"] != "net.weights.npz" || hid["key"] != KeyHiddenWeight {
			t.Errorf("weights.hidden = %v, want {file: net.weights.npz, key: %s}\n%s", w["hidden"], KeyHiddenWeight, data)
		}
		if doc["activation"] != c.Activation {
			t.Errorf("activation %v, want %s", doc["activation"], c.Activation)
		}
		if c.Masked {
			if _, ok := doc["ei_masks"]; !ok {
				t.Errorf("masks the weights obey belong in the spec\n%s", data)
			}
		}
	}
}
