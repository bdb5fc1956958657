package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/output/plot"
	"github.com/ratesim/ratesim/sim/spec"
	"github.com/ratesim/ratesim/sim/stimulus"
)

func smallSpec(t *testing.T, extra string) *spec.Spec {
	t.Helper()
	s, err := spec.Parse("test.yaml", []byte(`
dims: [2, 20, 3]
activation: tanh
weights: normal
biases: uniform
preact_noise: 0.1
postact_noise: 0.05
input: {type: sine, amplitude: 1, period: 300}
trials: 4
steps: 50
backend: reference
`))
	if err != nil {
		t.Fatal(err)
	}
	// Overlay the test's own fields on the base spec.
	if err := yaml.Unmarshal([]byte(extra), s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func init() {
	// The reference is not registered for users; tests run through it so
	// sim's tests do not depend on a backend package.
	backend.Register(backend.Reference, -1)
}

func TestRunWritesResults(t *testing.T) {
	for _, prec := range []string{"f32", "f64"} {
		s := smallSpec(t, "precision: "+prec+"\nrecord: {states: true, every: 2}\n")
		dir := t.TempDir()
		sum, err := Run(context.Background(), s, Options{Out: dir})
		if err != nil {
			t.Fatal(err)
		}
		arrs, err := npz.Load(filepath.Join(dir, "result.npz"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]int{"rates": {4, 25, 20}, "outputs": {4, 25, 3}, "states": {4, 25, 20},
			"final_state": {4, 20}, "final_rates": {4, 20}, "time": {25}}
		for name, shape := range want {
			a, ok := arrs[name]
			if !ok {
				t.Fatalf("%s: result.npz has no %q", prec, name)
			}
			if !equalInts(a.Shape, shape) || !equalInts(sum.Arrays[name], shape) {
				t.Errorf("%s: %s shape %v (summary %v), want %v", prec, name, a.Shape, sum.Arrays[name], shape)
			}
			vals, _ := a.Float64s()
			for i, v := range vals {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: %s[%d] = %v", prec, name, i, v)
				}
			}
		}
		if tm, _ := arrs["time"].Float64s(); tm[0] != 20 || tm[24] != 500 {
			t.Errorf("time = %v…%v, want 20…500 ms (every 2 steps of 10 ms)", tm[0], tm[24])
		}
		if f, err := os.Open(filepath.Join(dir, "rates.png")); err != nil {
			t.Error(err)
		} else {
			img, err := png.Decode(f)
			f.Close()
			if err != nil || img.Bounds().Dx() != plot.RunSize.W || img.Bounds().Dy() != plot.RunSize.H {
				t.Errorf("rates.png: %v, bounds %v, want the documented %v px", err, img.Bounds(), plot.RunSize)
			}
		}
		var meta output.Meta
		data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Backend != "reference" || meta.Precision != prec || meta.Steps != 50 || meta.Spec == nil || meta.StepsPerSecond <= 0 {
			t.Errorf("meta.json incomplete: %+v", meta)
		}
	}
}

func TestRunIsReproducibleAndSeeded(t *testing.T) {
	rates := func(seed string) []float32 {
		s := smallSpec(t, "seed: "+seed+"\n")
		b, _ := backend.Lookup("reference")
		res, err := Simulate[float32](context.Background(), s, b, Options{ChunkSteps: 7})
		if err != nil {
			t.Fatal(err)
		}
		return res.Rates
	}
	a, b, c := rates("3"), rates("3"), rates("4")
	if !bytes.Equal(f32bytes(a), f32bytes(b)) {
		t.Error("the same seed gave different rates")
	}
	if bytes.Equal(f32bytes(a), f32bytes(c)) {
		t.Error("different seeds gave the same rates")
	}
}

// noise_instance is the program's FirstInstance: a spec with noise_instance
// k draws the noise instance k of a larger program draws, and only the
// noise changes with it.
func TestNoiseInstanceIsTheProgramsFirstInstance(t *testing.T) {
	b, _ := backend.Lookup("reference")
	simulate := func(extra string) []float32 {
		res, err := Simulate[float32](context.Background(), smallSpec(t, extra), b, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Rates
	}
	// Instance 3 of a 4-instance program of the same network.
	s := smallSpec(t, "")
	plan, _ := s.Record.Plan(s)
	one := network.Program[float32](network.Build(s), s.Trials, s.Seed, plan.BackendRecord())
	four := *one
	four.Instances, four.SharedInput = 4, false
	for _, a := range []*[]float32{&four.Drive, &four.Readout, &four.Decay, &four.Alpha, &four.PreNoise, &four.PostNoise} {
		*a = slices.Repeat(*a, 4)
	}
	gen := stimulus.NewGenerator(s)
	in := stimulus.Fill(gen, 0, s.Steps, make([]float32, s.Trials*s.Steps*s.Dims[0]))
	four.FirstInstance = 0
	run, err := backend.Start(backend.Reference, &four)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	ref := backend.NewChunk(&four, s.Steps)
	if err := run.Advance(s.Steps, slices.Repeat(in, 4), ref); err != nil {
		t.Fatal(err)
	}
	kbn := s.Trials * s.Steps * s.Dims[1]
	if got := simulate("noise_instance: 3\n"); !bytes.Equal(f32bytes(got), f32bytes(ref.Rates[3*kbn:4*kbn])) {
		t.Error("noise_instance: 3 differs from instance 3 of a larger program")
	}
	if bytes.Equal(f32bytes(simulate("noise_instance: 3\n")), f32bytes(simulate(""))) {
		t.Error("noise_instance did not change the noise")
	}
	quiet := "preact_noise: 0\npostact_noise: 0\n"
	if !bytes.Equal(f32bytes(simulate(quiet+"noise_instance: 3\n")), f32bytes(simulate(quiet))) {
		t.Error("noise_instance changed a noiseless run")
	}
}

func TestCancelledRunLeavesNoResult(t *testing.T) {
	s := smallSpec(t, "")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, s, Options{Out: dir}); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("cancelled run: err = %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("cancelled run left %v", entries)
	}
}

func TestNonFiniteRunReportsWhereAndWritesNothing(t *testing.T) {
	// Rates near float32's largest value overflow in the first product sum.
	s := smallSpec(t, "activation: identity\ndt: 100\ntau: 100\ninit_state: ["+strings.Repeat("3e38, ", 19)+"3e38]\n")
	dir := t.TempDir()
	_, err := Run(context.Background(), s, Options{Out: dir})
	var nf *backend.NonFiniteError
	if err == nil || !errorsAs(err, &nf) {
		t.Fatalf("err = %v, want a NonFiniteError", err)
	}
	if nf.Step != 1 || nf.Quantity != "state" {
		t.Errorf("non-finite value reported at step %d (%s), want step 1 (state)", nf.Step, nf.Quantity)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "result.npz")); statErr == nil {
		t.Error("a failed run left result.npz")
	}
}

func TestProgramLayoutIsNN4NTransposed(t *testing.T) {
	s := smallSpec(t, "")
	net := network.Build(s)
	p := network.Program[float64](net, 2, 1, backend.Record{Rates: true})
	N, I := net.N, net.I
	for i := 0; i < N; i++ {
		for j := 0; j < N; j++ {
			if p.Drive[j*N+i] != net.Hidden[i*N+j] {
				t.Fatalf("Drive[%d][%d] != W_hid[%d][%d]", j, i, i, j)
			}
		}
		if p.Drive[(N+1)*N+i] != net.In[i*I+1] {
			t.Fatalf("input weight of unit %d misplaced", i)
		}
		if p.Drive[(N+I)*N+i] != net.HiddenB[i]+net.InB[i] {
			t.Fatalf("bias of unit %d misplaced", i)
		}
	}
	// nn4n's uniform init stays within ±1/√fan_in and fills the range.
	s2 := smallSpec(t, "weights: uniform\n")
	net2 := network.Build(s2)
	lim := 1 / math.Sqrt(float64(N))
	lo, hi := 0.0, 0.0
	for _, w := range net2.Hidden {
		if math.Abs(w) > lim {
			t.Fatalf("uniform weight %v outside ±%v", w, lim)
		}
		lo, hi = math.Min(lo, w), math.Max(hi, w)
	}
	if lo > -0.9*lim || hi < 0.9*lim {
		t.Errorf("uniform weights span [%v, %v], want most of ±%v", lo, hi, lim)
	}
}

// The result is readable by numpy itself, when Debian's numpy is present:
// a plain run, and a streamed run with a unit subset and a window, whose
// arrays numpy finds bit-identical to the same run held in memory.
func TestResultLoadsInNumpy(t *testing.T) {
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Skip("numpy is not installed for /usr/bin/python3 (.ci/run installs python3-numpy)")
	}
	dir := t.TempDir()
	if _, err := Run(context.Background(), smallSpec(t, ""), Options{Out: dir}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import numpy as np, sys
d = np.load(sys.argv[1])
r, y = d["rates"], d["outputs"]
assert r.shape == (4, 50, 20) and r.dtype == np.float32, (r.shape, r.dtype)
assert y.shape == (4, 50, 3), y.shape
assert np.isfinite(r).all() and np.isfinite(y).all()
assert r.std() > 0
assert (d["units"] == np.arange(20)).all() and d["units"].dtype == np.int64
assert np.allclose(d["time"], 10 * np.arange(1, 51))
print("ok")
`, filepath.Join(dir, "result.npz")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("numpy could not read result.npz: %v\n%s", err, out)
	}

	s := smallSpec(t, "precision: f64\nsteps: 200\nrecord: {states: true, every: 3, window: [100, 1500], units: [17, 2, 9]}\n")
	memDir, diskDir := t.TempDir(), t.TempDir()
	if _, err := Run(context.Background(), s, Options{Out: memDir}); err != nil {
		t.Fatal(err)
	}
	if sum, err := Run(context.Background(), s, Options{Out: diskDir, ChunkSteps: 13, MaxMemory: 1000}); err != nil || !sum.Streamed {
		t.Fatalf("streamed run: %v (streamed %v)", err, sum != nil && sum.Streamed)
	}
	out, err = exec.Command(py, "-c", `
import numpy as np, sys
m, d = np.load(sys.argv[1]), np.load(sys.argv[2])
steps = [t for t in range(1, 201) if t % 3 == 0 and 100 <= 10 * t <= 1500]
for k in ("rates", "states"):
    assert d[k].shape == (4, len(steps), 3) and d[k].dtype == np.float64, (k, d[k].shape, d[k].dtype)
assert d["outputs"].shape == (4, len(steps), 3)
assert list(d["units"]) == [17, 2, 9]
assert np.array_equal(d["time"], 10.0 * np.array(steps))
for k in ("rates", "states", "outputs", "final_state", "final_rates", "time", "units"):
    assert np.array_equal(m[k].view(np.uint8), d[k].view(np.uint8)), k
assert d["rates"].std() > 0
print("ok")
`, filepath.Join(memDir, "result.npz"), filepath.Join(diskDir, "result.npz")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("numpy on the streamed result: %v\n%s", err, out)
	}
}

func equalInts(a, b []int) bool {
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

func f32bytes(a []float32) []byte {
	b := make([]byte, 0, 4*len(a))
	for _, x := range a {
		u := math.Float32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

func errorsAs(err error, target **backend.NonFiniteError) bool { return errors.As(err, target) }
