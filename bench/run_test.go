package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
)

// renamed is a backend under another name: the CPU backend called "cuda"
// gets the GPU's defaults without a GPU.
type renamed struct {
	backend.Backend
	name string
}

func (r renamed) Name() string { return r.name }

// failing is a backend that cannot start programs of 16 units.
type failing struct{ backend.Backend }

func (f failing) Start32(p *backend.Program[float32]) (backend.Run[float32], error) {
	if p.Units == 16 {
		return nil, errors.New("no room for 16 units")
	}
	return f.Backend.Start32(p)
}

func cpuBackend(t *testing.T) backend.Backend {
	t.Helper()
	b, err := backend.Lookup("cpu")
	require.NoError(t, err)
	return b
}

// quick is the cheapest configuration that still measures.
func quick() Config {
	cfg := DefaultConfig()
	cfg.Reps, cfg.RepTime = 1, time.Millisecond
	return cfg
}

func run(t *testing.T, b backend.Backend, o Options) (out, progress string, err error) {
	t.Helper()
	var ob, pb bytes.Buffer
	o.Progress = &pb
	err = Run(context.Background(), b, o, &ob)
	return ob.String(), pb.String(), err
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func TestPlan(t *testing.T) {
	cpu := cpuBackend(t)
	gpu := renamed{cpu, "cuda"}
	sweeps := func(trials int) []Size {
		var s []Size
		for _, sw := range DefaultSweeps {
			sw.B = trials
			s = append(s, sw)
		}
		return s
	}
	for _, c := range []struct {
		name string
		b    backend.Backend
		o    Options
		want plan
	}{
		{"cpu defaults", cpu, Options{}, plan{sizes: DefaultSizes, trials: SweepTrials, device: "cpu"}},
		{"cuda defaults", gpu, Options{}, plan{sizes: GPUSizes, sweeps: DefaultSweeps, trials: SweepTrials, device: "cuda"}},
		{"cpu grid on cuda", gpu, Options{Grid: GridCPU}, plan{sizes: DefaultSizes, sweeps: DefaultSweeps, trials: SweepTrials, device: "cuda"}},
		{"gpu grid on cpu", cpu, Options{Grid: GridGPU}, plan{sizes: GPUSizes, trials: SweepTrials, device: "cpu"}},
		{"sweep trials", gpu, Options{SweepTrials: 4}, plan{sizes: GPUSizes, sweeps: sweeps(4), trials: 4, device: "cuda"}},
		{"none", gpu, Options{Sizes: []Size{}, Sweeps: []Size{}}, plan{sizes: []Size{}, sweeps: []Size{}, trials: SweepTrials, device: "cuda"}},
		{"explicit", cpu, Options{Sizes: []Size{{N: 8, B: 1}}, Grid: GridGPU, Sweeps: []Size{{N: 8, B: 2, K: 3}}, PeerDevice: "cuda"},
			plan{sizes: []Size{{N: 8, B: 1}}, sweeps: []Size{{N: 8, B: 2, K: 3}}, trials: SweepTrials, device: "cuda"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, c.o.plan(c.b))
		})
	}
}

func TestRunChecksOptions(t *testing.T) {
	cpu := cpuBackend(t)
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown peer", Options{Peers: []string{"numpy"}}, `unknown peer "numpy"`},
		{"unknown grid", Options{Grid: "tpu"}, `grid "tpu": want gpu or cpu`},
		{"plastic with peers", Options{Plastic: &Plastic{Kind: backend.BCM}, Peers: []string{"torch"}}, "runs no peers"},
		{"negative peak", Options{PeakGFLOPS: -1}, "peak -1 GFLOP/s"},
		{"negative sweep trials", Options{SweepTrials: -2}, "sweep trials -2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.Config = quick()
			out, _, err := run(t, cpu, c.o)
			require.ErrorContains(t, err, c.want)
			assert.Empty(t, out, "nothing is measured or printed")
		})
	}
	// The grid is not looked at when the sizes are given.
	o := Options{Config: quick(), Sizes: []Size{}, Grid: "tpu"}
	_, _, err := run(t, cpu, o)
	assert.NoError(t, err)
}

// A sweep on the CPU, and peers that cannot run here: the bench says so
// once per peer and still prints its tables; the JSON lines make the same
// tables again.
func TestRunSweepAndMissingPeers(t *testing.T) {
	js := filepath.Join(t.TempDir(), "b.jsonl")
	sweeps, err := ParseSweeps("3x8", 2)
	require.NoError(t, err)
	out, progress, err := run(t, cpuBackend(t), Options{Config: quick(), Sizes: []Size{{N: 8, B: 2}}, Sweeps: sweeps, SweepTrials: 2,
		Peers: []string{"torch", "jax"}, Python: "/nonexistent/python3", JSONFile: js})
	require.NoError(t, err)
	for _, want := range []string{"ratesim bench: backend cpu", "median of 1", "peers: torch,jax with /nonexistent/python3 on cpu",
		"peer torch: not measured", "peer jax: not measured", "one network: rates and outputs recorded every step",
		"sweeps: K instances, each its own weights, B=2", "GFLOP/s", "wrote " + js} {
		assert.Contains(t, out, want)
	}
	assert.Equal(t, 2, strings.Count(out, "not measured"), "each missing peer is reported once, not once per part:\n%s", out)
	assert.NotContains(t, out, "goals", "the goals are the CUDA issue's")
	assert.Equal(t, "  measuring N=8 B=2 …\n"+
		"  running peer torch (torch_ctrnn.py) with /nonexistent/python3 on cpu …\n"+
		"  running peer jax (jax_ctrnn.py) with /nonexistent/python3 on cpu …\n"+
		"  measuring K=3 N=8 B=2 …\n", progress)

	lines := readLines(t, js)
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"K":1`)
	assert.Contains(t, lines[0], `"record":"rates,outputs"`)
	assert.Contains(t, lines[1], `"K":3`)
	assert.Contains(t, lines[1], `"record":"outputs"`)

	var buf bytes.Buffer
	require.NoError(t, Replay([]string{js}, TableOptions{PeakGFLOPS: 1000}, &buf))
	for _, want := range []string{"ratesim bench results from " + js + " (cpu on ", "\none network\n", "\nsweeps\n", "ceiling", "\ngoals (issue 4)\n",
		"K=3 N=8 B=2"} {
		assert.Contains(t, buf.String(), want)
	}
}

// On the cuda backend the report ends with the goals, and the peers run on
// the GPU.
func TestRunGoalsOnGPU(t *testing.T) {
	out, _, err := run(t, renamed{cpuBackend(t), "cuda"}, Options{Config: quick(), Sizes: []Size{{N: 8, B: 1}}, Sweeps: []Size{{N: 8, B: 2, K: 3}},
		Peers: []string{"jax"}, Python: "/nonexistent/python3", PeakGFLOPS: 100})
	require.NoError(t, err)
	for _, want := range []string{"ratesim bench: backend cuda", "on cuda\n", "ceiling", "\ngoals (issue 4)\n", "K=3 N=8 B=2", "TFLOP/s effective"} {
		assert.Contains(t, out, want)
	}
}

// A peer that crashes is a failure, shown with its stderr as it happens,
// after which the run goes on to print the table of what was measured.
func TestRunPeerCrashIsAFailure(t *testing.T) {
	py := fakePython(t, `echo 'Traceback: CUDA error: boom' >&2; exit 1`)
	out, progress, err := run(t, cpuBackend(t), Options{Config: quick(), Sizes: []Size{{N: 8, B: 2}}, Peers: []string{"torch"}, Python: py})
	require.EqualError(t, err, "1 failed: peer torch: peer torch_ctrnn.py with "+py+" failed after 0 results: exit status 1")
	assert.Contains(t, progress, "ratesim bench: peer torch_ctrnn.py with "+py+" failed after 0 results: exit status 1\nTraceback: CUDA error: boom\n")
	assert.Contains(t, out, "µs/step")
	assert.NotContains(t, out, "not measured")
}

// PeerTimeout stops a peer that takes too long; that is a failure too.
func TestRunPeerTimeout(t *testing.T) {
	py := fakePython(t, `exec sleep 10`)
	t0 := time.Now()
	out, _, err := run(t, cpuBackend(t), Options{Config: quick(), Sizes: []Size{{N: 8, B: 2}}, Peers: []string{"torch"}, Python: py,
		PeerTimeout: 100 * time.Millisecond})
	require.ErrorContains(t, err, "1 failed: peer torch: peer torch_ctrnn.py stopped after 0 results: context deadline exceeded")
	assert.Less(t, time.Since(t0), 5*time.Second)
	assert.Contains(t, out, "µs/step")
}

// A size ratesim cannot measure is reported, and the other sizes still are.
func TestRunSizeFails(t *testing.T) {
	js := filepath.Join(t.TempDir(), "f.jsonl")
	out, progress, err := run(t, failing{cpuBackend(t)}, Options{Config: quick(), Sizes: []Size{{N: 16, B: 1}, {N: 8, B: 1}}, JSONFile: js})
	require.EqualError(t, err, "1 failed: ratesim at N=16 B=1: no room for 16 units")
	assert.Contains(t, progress, "ratesim bench: N=16 B=1: no room for 16 units\n")
	assert.Regexp(t, `\n +8 +1 \|`, out)
	assert.NotRegexp(t, `\n +16 +1 \|`, out)
	assert.Contains(t, out, "wrote "+js)
	assert.Len(t, readLines(t, js), 1)
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	err := Run(ctx, cpuBackend(t), Options{Config: quick(), Sizes: []Size{{N: 8, B: 1}}}, &out)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotContains(t, out.String(), "µs/step")
}

// Without Progress and with Reps 0 (one repetition) Run still runs.
func TestRunZeroOptions(t *testing.T) {
	cfg := quick()
	cfg.Reps = 0
	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), cpuBackend(t), Options{Config: cfg, Sizes: []Size{{N: 8, B: 1}}}, &out))
	assert.Contains(t, out.String(), "median of 1\n")
	assert.Contains(t, out.String(), "µs/step")
}

// A plastic run measures each size static then plastic, with tanh, and
// prints them in pairs; its JSON lines replay as the same table.
func TestRunPlastic(t *testing.T) {
	js := filepath.Join(t.TempDir(), "p.jsonl")
	pr := Plastic{Kind: backend.BCM, Optimizer: backend.Adam}
	out, progress, err := run(t, cpuBackend(t), Options{Config: quick(), Sizes: []Size{{N: 8, B: 2}}, Sweeps: []Size{{N: 8, B: 2, K: 3}},
		Plastic: &pr, JSONFile: js})
	require.NoError(t, err)
	assert.Contains(t, out, ", tanh, noise true, median of 1\n")
	assert.Contains(t, out, "\nplastic step (recurrent weights learn by bcm-adam every step; tanh, bounds [-1, 1]) against the static step (tanh), same run\n")
	assert.Regexp(t, `\n +N=8 B=2 +bcm-adam +[0-9.]+ +[0-9.]+ +[0-9.]+x\n +K=3 N=8 B=2 +bcm-adam`, out)
	assert.NotContains(t, out, "wrote")
	assert.Equal(t, "  measuring N=8 B=2 static …\n  measuring N=8 B=2 bcm-adam …\n"+
		"  measuring K=3 N=8 B=2 static …\n  measuring K=3 N=8 B=2 bcm-adam …\n", progress)
	lines := readLines(t, js)
	require.Len(t, lines, 4)
	for i, l := range lines {
		if i%2 == 0 {
			assert.NotContains(t, l, `"plastic"`, "line %d: static", i)
		} else {
			assert.Contains(t, l, `"plastic":"bcm-adam"`, "line %d", i)
		}
	}

	var buf bytes.Buffer
	require.NoError(t, Replay([]string{js}, TableOptions{}, &buf))
	assert.Contains(t, buf.String(), "ratesim bench --plastic results from "+js+" (cpu on ")
	assert.Equal(t, out[strings.Index(out, "      size"):], buf.String()[strings.Index(buf.String(), "      size"):])
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		return p
	}
	ours := write("ours.jsonl", `{"peer":"ratesim","backend":"cpu","device":"d1","N":8,"B":1,"median_us_per_step":2,"gflops":1}`+"\n\n"+
		`{"peer":"ratesim","backend":"cuda","device":"d2","N":8,"B":2,"K":3,"median_us_per_step":4,"gflops":1}`+"\n")
	peers := write("peers.jsonl", `{"peer":"torch-loop","N":8,"B":1,"median_us_per_step":6}`+"\n")
	bad := write("bad.jsonl", `{"peer":"ratesim"}`+"\nnot json\n")
	t.Run("two files", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, Replay([]string{ours, " " + peers}, TableOptions{}, &buf))
		out := buf.String()
		assert.True(t, strings.HasPrefix(out, "ratesim bench results from "+ours+", "+peers+" (cpu on d1; cuda on d2)\n"), out)
		assert.Regexp(t, `\n +8 +1 \| +2\.00 .* 6\.00 .* 3\.00x\n`, out)
		assert.Contains(t, out, "\nsweeps\n")
		assert.Contains(t, out, "\ngoals (issue 4)\n")
	})
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.jsonl")}, "open " + filepath.Join(dir, "nope.jsonl") + ": no such file or directory"},
		{"bad line", []string{ours, bad}, bad + ":2: invalid character"},
		{"no ratesim results", []string{peers}, peers + ": no ratesim results"},
		{"empty file", []string{write("empty.jsonl", "")}, "no ratesim results"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.ErrorContains(t, Replay(c.files, TableOptions{}, &buf), c.want)
			assert.Empty(t, buf.String())
		})
	}
}

// A CPU peer that ran on Debian's reference BLAS is flagged next to its
// table; one on OpenBLAS is not.
func TestRunWarnsOfReferenceBLAS(t *testing.T) {
	for _, c := range []struct {
		blas string
		warn bool
	}{
		{"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", true},
		{"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3,/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so", false},
	} {
		line := `{"peer": "torch-loop", "device": "cpu", "dtype": "f32", "N": 8, "B": 2, "I": 4, "O": 2, "T": 10, "reps": 1, ` +
			`"median_us_per_step": 50, "min_us_per_step": 50, "steps_per_s": 20000, "gflops": 0.1, "blas": "` + c.blas + `"}`
		py := fakePython(t, `echo '`+line+`'`)
		out, _, err := run(t, cpuBackend(t), Options{Config: quick(), Sizes: []Size{{N: 8, B: 2}}, Peers: []string{"torch"}, Python: py})
		require.NoError(t, err)
		if c.warn {
			assert.Contains(t, out, "peer torch: warning: it ran on the reference BLAS ("+c.blas+")")
			assert.Contains(t, out, "libopenblas0-pthread")
		} else {
			assert.NotContains(t, out, "warning")
		}
		assert.Contains(t, out, "torch-loop", "the peer's row is still shown")
	}
}
