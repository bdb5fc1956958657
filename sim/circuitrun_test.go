package sim

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratesim/ratesim/backend"
	_ "github.com/ratesim/ratesim/cpu" // the backend the circuits run on
	"github.com/ratesim/ratesim/sim/circuit"
	"github.com/ratesim/ratesim/sim/npz"
	"github.com/ratesim/ratesim/sim/output"
	"github.com/ratesim/ratesim/sim/spec"
)

// smallL5 is the built-in l5 circuit with fewer units and steps, for tests.
func smallL5(t testing.TB, rule, integrator string) *spec.Circuit {
	c, err := spec.LoadCircuitExample("l5")
	require.NoError(t, err)
	for i, s := range []int{6, 18, 6, 6} {
		c.Populations[i].Size = s
	}
	c.Steps, c.Plasticity.Warmup = 300, 100
	c.Plasticity.Rule = rule
	c.Dynamics.Integrator = integrator
	return c
}

// TestCircuitRunIsL5Run checks the circuit runner end to end against the
// host oracle circuit.L5Run (itself checked against the original model):
// every direction's rates and final weights, float64, on the reference
// and the CPU backend, bit for bit.
func TestCircuitRunIsL5Run(t *testing.T) {
	for _, tc := range []struct{ rule, integ string }{{"none", "euler"}, {"slide_bcm", "euler"}, {"bcm", "rk4"}, {"l5_oja", "rk4"}, {"covariance", "euler"}} {
		c := smallL5(t, tc.rule, tc.integ)
		c.Plasticity.Update = "dense" // L5's own setting: L5Run's
		keep := false
		c.Plasticity.KeepSigns = &keep
		if tc.integ == "rk4" {
			c.Dynamics.Clip = true
		}
		p, err := circuit.FromSpec(c)
		require.NoError(t, err)
		net, err := p.Network(c.Seed, 0)
		require.NoError(t, err)
		g := p.Grating(net)
		for _, name := range []string{"reference", "cpu"} {
			b, err := backend.Lookup(name)
			require.NoError(t, err)
			res, err := SimulateCircuit(context.Background(), c, b, nil)
			require.NoError(t, err, "%s %s", tc.rule, name)
			n := p.Units()
			for d := range p.Degrees {
				want, err := circuit.L5Run{P: p, W0: net.W, R0: net.R0, Input: func(k int) []float64 {
					row := make([]float64, n)
					g.Fill(d, k, row)
					return row
				}, Keep: func(k int) bool { return k == p.Steps()-1 }}.Run()
				require.NoError(t, err)
				got := res.Networks[0]
				for x, v := range want.Rates {
					if math.Float64bits(v) != math.Float64bits(got.Rates[d][x]) {
						t.Fatalf("%s/%s on %s, direction %d: rate %d (step %d, unit %d) = %v, L5Run %v", tc.rule, tc.integ, name, d, x, x/n+1, x%n, got.Rates[d][x], v)
					}
				}
				if tc.rule != "none" {
					w := want.Weights[p.Steps()-1]
					require.Len(t, w, n*n)
					for x, v := range w {
						if math.Float64bits(v) != math.Float64bits(got.Final[d][x]) {
							t.Fatalf("%s/%s on %s, direction %d: final W[%d][%d] = %v, L5Run %v", tc.rule, tc.integ, name, d, x/n, x%n, got.Final[d][x], v)
						}
					}
				}
			}
		}
	}
}

// TestWriteCircuit runs the small circuit and writes it: the files it
// promises exist, the pictures are there and meta.json names them.
func TestWriteCircuit(t *testing.T) {
	c := smallL5(t, "slide_bcm", "euler")
	b, err := backend.Lookup("cpu")
	require.NoError(t, err)
	res, err := SimulateCircuit(context.Background(), c, b, nil)
	require.NoError(t, err)
	require.True(t, res.HasAnalysis)
	dir := filepath.Join(t.TempDir(), "out")
	st, err := output.Begin(dir, output.Hooks{})
	require.NoError(t, err)
	defer st.Close()
	files, err := WriteCircuit(st, c, res, "test", "png")
	require.NoError(t, err)
	require.Len(t, files.Tables, 6)
	require.Len(t, files.Pictures, 5)
	for _, f := range append(append([]string{files.Result, files.Meta}, files.Tables...), files.Pictures...) {
		fi, err := os.Stat(f)
		require.NoError(t, err, f)
		require.Positive(t, fi.Size(), f)
	}
}

// BenchmarkCircuitL5 is the built-in layer-5 example (400 units, four
// directions × 2 500 Euler steps, one network) on the CPU, with the
// weights fixed and with sliding BCM (the example's structural update with
// signs kept, and L5's own dense one, which computes what the original
// does), in float64 and float32: the ratesim
// side of bench/peers/l5_numpy.py, timing what it times — the four
// directions' runs of a drawn network, stimulus included (the network's
// draw and the analysis are outside both).
func BenchmarkCircuitL5(b *testing.B) {
	for _, rule := range []string{"none", "slide_bcm", "slide_bcm_dense", "slide_bcm_lowrank"} {
		for _, prec := range []string{"f64", "f32"} {
			b.Run(rule+"/"+prec, func(b *testing.B) {
				c, err := spec.LoadCircuitExample("l5")
				require.NoError(b, err)
				c.Plasticity.Rule, c.Precision = rule, prec
				if rule == "slide_bcm_dense" { // L5's own setting: every entry learns, signs free
					keep := false
					c.Plasticity.Rule, c.Plasticity.Update, c.Plasticity.KeepSigns = "slide_bcm", "dense", &keep
				}
				if rule == "slide_bcm_lowrank" { // L5's setting in low-rank form
					keep := false
					c.Plasticity.Rule, c.Plasticity.Update, c.Plasticity.KeepSigns = "slide_bcm", "low_rank", &keep
				}
				be, err := backend.Lookup("cpu")
				require.NoError(b, err)
				p, err := circuit.FromSpec(c)
				require.NoError(b, err)
				net, err := p.Network(c.Seed, 0)
				require.NoError(b, err)
				g := p.Grating(net)
				run := runCircuitNetwork[float64]
				if prec == "f32" {
					run = runCircuitNetwork[float32]
				}
				for b.Loop() {
					if _, err := run(context.Background(), c, p, net, g, be, func(int) {}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestCircuitLowRankIsDense: the circuit runner with update low_rank
// (backend.L5LowRank, on the CPU backend, which auto selects) against
// update dense with free signs (L5's own setting, bit for bit L5Run):
// every direction's rates and final weights within 1e-12 relative, the
// weights having moved, and the block means over time (the low-rank run's
// from its factors) within 1e-12 of the largest.
func TestCircuitLowRankIsDense(t *testing.T) {
	run := func(update string) *CircuitNetwork {
		c := smallL5(t, "slide_bcm", "euler")
		keep := false
		c.Plasticity.Update, c.Plasticity.KeepSigns = update, &keep
		b, _, err := CircuitBackend(c)
		require.NoError(t, err)
		res, err := SimulateCircuit(context.Background(), c, b, nil)
		require.NoError(t, err)
		return &res.Networks[0]
	}
	dense, low := run("dense"), run("low_rank")
	moved := false
	for d := range dense.Rates {
		for x, v := range dense.Rates[d] {
			if e := math.Abs(low.Rates[d][x]-v) / math.Abs(v); !(e <= 1e-12) {
				t.Fatalf("direction %d, rate %d: low rank %v, dense %v (relative %.3g)", d, x, low.Rates[d][x], v, e)
			}
		}
		for x, v := range dense.Final[d] {
			moved = moved || v != dense.Net.W[x]
			if v == 0 {
				continue
			}
			if e := math.Abs(low.Final[d][x]-v) / math.Abs(v); !(e <= 1e-12) {
				t.Fatalf("direction %d, weight %d: low rank %v, dense %v (relative %.3g)", d, x, low.Final[d][x], v, e)
			}
		}
	}
	require.True(t, moved, "no weight moved")
	// The block means over time: the low-rank run's from its factors.
	for d := range dense.BlockMeans {
		require.Len(t, low.BlockMeans[d], len(dense.BlockMeans[d]))
		scale := 0.0
		for _, v := range dense.BlockMeans[d] {
			scale = math.Max(scale, math.Abs(v))
		}
		for x, v := range dense.BlockMeans[d] {
			if e := math.Abs(low.BlockMeans[d][x] - v); !(e <= 1e-12*scale) {
				t.Fatalf("direction %d, block mean %d: low rank %v, dense %v", d, x, low.BlockMeans[d][x], v)
			}
		}
	}
}

// TestCircuitNetworkFile runs a circuit from a network file (network:
// {file}) holding the network the circuit itself draws: the same bits as
// the drawn run; and a malformed file is an error naming the file and the
// array.
func TestCircuitNetworkFile(t *testing.T) {
	c := smallL5(t, "slide_bcm", "euler")
	p, err := circuit.FromSpec(c)
	require.NoError(t, err)
	net, err := p.Network(c.Seed, 0)
	require.NoError(t, err)
	n := p.Units()
	dir := t.TempDir()
	write := func(name string, w0 []float64, wshape []int) string {
		path := filepath.Join(dir, name)
		w, err := npz.Create(path)
		require.NoError(t, err)
		require.NoError(t, w.Float64("w0", wshape, w0))
		require.NoError(t, w.Float64("r0", []int{n}, net.R0))
		require.NoError(t, w.Float64("x", []int{n}, net.X))
		require.NoError(t, w.Float64("y", []int{n}, net.Y))
		require.NoError(t, w.Close())
		return path
	}
	b, err := backend.Lookup("cpu")
	require.NoError(t, err)
	drawn, err := SimulateCircuit(context.Background(), c, b, nil)
	require.NoError(t, err)
	c.Network = &spec.CircuitNetwork{File: write("net.npz", net.W, []int{n, n})}
	loaded, err := SimulateCircuit(context.Background(), c, b, nil)
	require.NoError(t, err)
	for d := range drawn.Networks[0].Rates {
		require.Equal(t, drawn.Networks[0].Rates[d], loaded.Networks[0].Rates[d])
		require.Equal(t, drawn.Networks[0].Final[d], loaded.Networks[0].Final[d])
	}
	c.Network.File = write("bad.npz", net.W[:n*(n-1)], []int{n - 1, n})
	_, err = SimulateCircuit(context.Background(), c, b, nil)
	require.ErrorContains(t, err, "bad.npz: w0 has shape [35 36], want [36 36]")
	nan := append([]float64(nil), net.W...)
	nan[7] = math.NaN()
	c.Network.File = write("nan.npz", nan, []int{n, n})
	_, err = SimulateCircuit(context.Background(), c, b, nil)
	require.ErrorContains(t, err, "nan.npz: w0[7] = NaN")
	c.Network.File = filepath.Join(dir, "missing.npz")
	_, err = SimulateCircuit(context.Background(), c, b, nil)
	require.ErrorContains(t, err, "missing.npz")
}

// blockMeans averages each pre → post block over all its unit pairs,
// absent synapses included.
func TestBlockMeans(t *testing.T) {
	// 3 units: population 0 = {0}, population 1 = {1, 2}; W (post, pre).
	W := []float64{
		1, 2, 0,
		3, 0, 4,
		5, 6, 0,
	}
	// 0→0: W[0][0]; 0→1: (W[1][0]+W[2][0])/2; 1→0: (W[0][1]+W[0][2])/2; 1→1: (0+4+6+0)/4.
	want := []float64{1, 4, 1, 2.5}
	require.Equal(t, want, blockMeans([]int{0, 1, 3}, W, 1, 3))
	// The same matrix stored pre-major (as the backends report weights), in float32.
	pre := make([]float32, 9)
	for i := range 3 {
		for j := range 3 {
			pre[j*3+i] = float32(W[i*3+j])
		}
	}
	require.Equal(t, want, blockMeans([]int{0, 1, 3}, pre, 3, 1))
}

// TestSimulateCircuitsIsEachAlone: circuits that differ in the batch
// fields (amplitudes, τ, τ_learn, τ_θ: windows shorter and longer than
// the run) run as the instances of one program, and each gets the bits of
// its own run alone — rates, weights over time, final weights and loss —
// in both precisions, the low-rank form's too; a circuit that differs
// elsewhere is refused.
func TestSimulateCircuitsIsEachAlone(t *testing.T) {
	be, err := backend.Lookup("cpu")
	require.NoError(t, err)
	for _, tc := range []struct{ rule, integ, prec, update string }{{"slide_bcm", "euler", "f64", ""}, {"bcm", "rk4", "f32", ""}, {"none", "euler", "f64", ""},
		{"slide_bcm", "euler", "f64", "low_rank"}, {"slide_bcm", "euler", "f32", "low_rank"}} {
		t.Run(tc.rule+"_"+tc.integ+"_"+tc.prec+"_"+tc.update, func(t *testing.T) {
			var cs []*spec.Circuit
			for k, v := range []struct{ amp, tau, learn, theta float64 }{{6, 0.1, 1997, 2.79}, {3, 0.12, 1200, 0.3}, {11, 0.09, 1500, 0.5}} {
				c := smallL5(t, tc.rule, tc.integ)
				c.Steps, c.Precision = 200, tc.prec
				if tc.update != "" {
					keep := false
					c.Plasticity.Update, c.Plasticity.KeepSigns = tc.update, &keep
				}
				c.Stimulus.Amplitude = []float64{v.amp, 5, 10 - float64(k), 5}
				c.Dynamics.Tau = []float64{v.tau}
				c.Plasticity.TauLearn, c.Plasticity.TauThreshold = v.learn, v.theta
				cs = append(cs, c)
			}
			batch, err := SimulateCircuits(context.Background(), cs, be, nil)
			require.NoError(t, err)
			require.Len(t, batch, len(cs))
			for k, c := range cs {
				alone, err := SimulateCircuit(context.Background(), c, be, nil)
				require.NoError(t, err)
				got := batch[k]
				require.Len(t, got.Networks, len(alone.Networks))
				for s := range alone.Networks {
					a, g := alone.Networks[s], got.Networks[s]
					for d := range a.Rates {
						requireSameBits(t, fmt.Sprintf("point %d direction %d rates", k, d), a.Rates[d], g.Rates[d])
						requireSameBits(t, fmt.Sprintf("point %d direction %d final weights", k, d), a.Final[d], g.Final[d])
						if a.BlockMeans != nil {
							requireSameBits(t, fmt.Sprintf("point %d direction %d block means", k, d), a.BlockMeans[d], g.BlockMeans[d])
						}
					}
				}
				require.Equal(t, math.Float64bits(alone.Loss), math.Float64bits(got.Loss), "point %d loss", k)
			}
			// The points really differ (else the test would prove nothing).
			require.NotEqual(t, batch[0].Networks[0].Rates[0], batch[1].Networks[0].Rates[0])
		})
	}
	c0, c1 := smallL5(t, "bcm", "euler"), smallL5(t, "bcm", "euler")
	c1.Seed = 7
	_, err = SimulateCircuits(context.Background(), []*spec.Circuit{c0, c1}, be, nil)
	require.ErrorContains(t, err, "point 1 differs from point 0 in more than")
}

// requireSameBits fails at the first value of got whose bits differ from
// want's, naming it.
func requireSameBits(t *testing.T, what string, want, got []float64) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if math.Float64bits(want[i]) != math.Float64bits(got[i]) {
			t.Fatalf("%s: first difference at %d: got %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestCircuitBlockMeansPerChunk: the block means recorded after chunk c of
// a plastic run are those of the weights after c chunks — the final
// weights of the same run stopped there — in both precisions (the means
// are taken on a helper goroutine beside the next chunk's Advance, so a
// late or early read of the weights would show here).
func TestCircuitBlockMeansPerChunk(t *testing.T) {
	be, err := backend.Lookup("cpu")
	require.NoError(t, err)
	for _, prec := range []string{"f64", "f32"} {
		t.Run(prec, func(t *testing.T) {
			const chunks = 3
			long := smallL5(t, "slide_bcm", "euler")
			long.Steps, long.Precision, long.Plasticity.Warmup = chunks*circuitChunk, prec, 20
			res, err := SimulateCircuit(context.Background(), long, be, nil)
			require.NoError(t, err)
			n, P := res.Params.Units(), len(res.Offsets)-1
			for d, means := range res.Networks[0].BlockMeans {
				require.Len(t, means, chunks*P*P, "direction %d", d)
			}
			var prev []float64
			for c := 1; c <= chunks; c++ {
				short := smallL5(t, "slide_bcm", "euler")
				short.Steps, short.Precision, short.Plasticity.Warmup = c*circuitChunk, prec, 20
				cut, err := SimulateCircuit(context.Background(), short, be, nil)
				require.NoError(t, err)
				for d := range res.Networks[0].BlockMeans {
					want := blockMeans(res.Offsets, cut.Networks[0].Final[d], 1, n)
					got := res.Networks[0].BlockMeans[d][(c-1)*P*P : c*P*P]
					requireSameBits(t, fmt.Sprintf("chunk %d direction %d block means", c, d), want, got)
					if d == 0 {
						require.NotEqual(t, prev, got, "chunk %d: the weights must move for the test to mean anything", c)
						prev = got
					}
				}
			}
		})
	}
}
