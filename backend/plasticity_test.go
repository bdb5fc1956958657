package backend

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// linear returns a program of K instances × B trials of N identity units
// with α = 1 (v_t = x_t, r_t = v_t), I inputs, O outputs, zero weights and
// the given plasticity; callers fill weights.
func linear[T Float](K, B, N, I, O int, pl *Plasticity[T]) *Program[T] {
	s := Shape{Instances: K, Trials: B, Units: N, Inputs: I, Outputs: O}
	p := &Program[T]{Shape: s, Activation: Identity, Seed: 7,
		Drive: make([]T, K*s.DriveRows()*N), Decay: make([]T, K*N), Alpha: make([]T, K*N),
		PreNoise: make([]T, K*N), PostNoise: make([]T, K*N),
		Record: Record{Rates: true}, Plasticity: pl}
	if O > 0 {
		p.Readout = make([]T, K*(N+1)*O)
	}
	for i := range p.Alpha {
		p.Alpha[i] = 1
	}
	return p
}

func rates[T Float](K int, r T) []T {
	a := make([]T, K)
	for i := range a {
		a[i] = r
	}
	return a
}

// run advances p by n steps with input in (nil: zero) and returns the
// chunk and the final weights.
func runPlastic[T Float](t *testing.T, p *Program[T], n int, in []T) (*Chunk[T], []T, []T) {
	t.Helper()
	run, err := Start(Reference, p)
	if err != nil {
		t.Fatal(err)
	}
	c := NewChunkFor(p, 0, n)
	if err := run.Advance(n, in, c); err != nil {
		t.Fatal(err)
	}
	K, M, N, O := p.Instances, p.Matrices(), p.Units, p.Outputs
	drive, readout := make([]T, K*M*p.DriveRows()*N), make([]T, K*M*(N+1)*O)
	if err := Weights(run, drive, readout); err != nil {
		t.Fatal(err)
	}
	return c, drive, readout
}

// ngc-learn's case: W = 0.5, pre = 1, post = 0.75, w_bound = 1 (soft bound
// and clipping to [−1, 1]), SGD. One unit whose input weight W learns: the
// input u = 1 is pre, the unit's rate r = W·1 + 0.25 (bias) = 0.75 is post.
func TestHebbianNgcLearnCase(t *testing.T) {
	for _, c := range []struct {
		name string
		l2   float32
		want float32
	}{
		// dW = (1·1)·(1·0.75) = 0.75; soft bound: 0.75·(1 − |0.5|) = 0.375;
		// W = 0.5 + 0.125·0.375 = 0.546875 (Rate = dt·η = 0.125).
		{"plain", 0, 0.546875},
		// l2 prior λ = 0.25: d = 0.375 − 0.25·0.5 = 0.25; W = 0.5 + 0.125·0.25.
		{"l2", 0.25, 0.53125},
	} {
		t.Run(c.name, func(t *testing.T) {
			pl := &Plasticity[float32]{Input: &Connection[float32]{
				Rules:   []Rule[float32]{{Kind: Hebbian, Rate: []float32{0.125}, PreWeight: 1, PostWeight: 1, SoftBound: 1, L2: c.l2}},
				Bounded: true, Min: -1, Max: 1}}
			p := linear[float32](1, 1, 1, 1, 0, pl)
			p.Drive = []float32{0, 0.5, 0.25} // rows: r, u, bias
			ch, drive, _ := runPlastic(t, p, 1, []float32{1})
			if ch.Rates[0] != 0.75 {
				t.Fatalf("post = %v, want 0.75", ch.Rates[0])
			}
			if drive[1] != c.want {
				t.Errorf("W = %v, want %v", drive[1], c.want)
			}
			if drive[0] != 0 || drive[2] != 0.25 {
				t.Errorf("static weights changed: %v", drive)
			}
		})
	}
	// Negate (ngc-learn's sign_value = +1) turns the change around:
	// W = 0.5 − 0.125·0.375 = 0.453125.
	pl := &Plasticity[float32]{Input: &Connection[float32]{
		Rules: []Rule[float32]{{Kind: Hebbian, Rate: []float32{0.125}, PreWeight: 1, PostWeight: 1, SoftBound: 1, Negate: true}}}}
	p := linear[float32](1, 1, 1, 1, 0, pl)
	p.Drive = []float32{0, 0.5, 0.25}
	if _, drive, _ := runPlastic(t, p, 1, []float32{1}); drive[1] != 0.453125 {
		t.Errorf("negated W = %v, want 0.453125", drive[1])
	}
	// Pre and post weighting and the elastic-net prior: pre_wght 2,
	// post_wght 0.5: dW = 2·0.375 = 0.75, soft bound 0.375; L1 = 0.125,
	// L2 = 0.25: d = 0.375 − 0.125·1 − 0.25·0.5 = 0.125; W = 0.5 + 0.125·0.125.
	pl = &Plasticity[float32]{Input: &Connection[float32]{
		Rules: []Rule[float32]{{Kind: Hebbian, Rate: []float32{0.125}, PreWeight: 2, PostWeight: 0.5, SoftBound: 1, L1: 0.125, L2: 0.25}}}}
	p = linear[float32](1, 1, 1, 1, 0, pl)
	p.Drive = []float32{0, 0.5, 0.25}
	if _, drive, _ := runPlastic(t, p, 1, []float32{1}); drive[1] != 0.515625 {
		t.Errorf("elastic-net W = %v, want 0.515625", drive[1])
	}
}

// Adam's first two steps on the ngc-learn case, written out operation by
// operation in float64, and the textbook property that the first step moves
// W by the learning rate (to within ε).
func TestAdamFirstSteps(t *testing.T) {
	const b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
	pl := &Plasticity[float64]{Input: &Connection[float64]{
		Rules: []Rule[float64]{{Kind: Hebbian, Rate: []float64{lr}, PreWeight: 1, PostWeight: 1, SoftBound: 1,
			Optimizer: Adam, Beta1: b1, Beta2: b2, Epsilon: eps}}}}
	p := linear[float64](1, 1, 1, 1, 0, pl)
	p.Drive = []float64{0, 0.5, 0.25}
	pl.Record = WeightRecord{Stride: 1, What: SnapSynapses, Synapses: []Synapse{{LayerInput, 0, 0}}}
	ch, _, _ := runPlastic(t, p, 2, []float64{1, 1})

	w, m, v, p1, p2 := 0.5, 0.0, 0.0, 1.0, 1.0
	omb1, omb2 := 1-b1, 1-b2
	for step := 0; step < 2; step++ {
		// Products wrapped in float64() so that the compiler cannot fuse.
		post := w + 0.25                    // r = W·u + bias, u = 1
		h := 0 + post                       // (1·pre)·(1·post), pre = 1
		d := float64(h * (1 - math.Abs(w))) // soft bound
		g := d                              // scale 1
		m = float64(b1*m) + float64(omb1*g)
		v = float64(b2*v) + float64(omb2*float64(g*g))
		p1, p2 = p1*b1, p2*b2
		c1, c2 := 1-p1, 1-p2
		w = w + float64(lr*((m/c1)/(math.Sqrt(v/c2)+eps)))
		if ch.Weights[step] != w {
			t.Errorf("step %d: W = %v, want %v", step+1, ch.Weights[step], w)
		}
	}
	if d := ch.Weights[0] - 0.5; math.Abs(d-lr) > 1e-9 {
		t.Errorf("Adam's first step moved W by %v, want the learning rate %v", d, lr)
	}
}

// BCM: a unit driven through its one plastic input weight by a constant
// input u = 1 has r = W, and the BCM change r·(r − θ) with θ → r² settles
// where r = θ = r² = 1, with either kind of average.
func TestBCMThresholdSettlesAtRSquared(t *testing.T) {
	for _, avg := range []Average[float64]{{Window: 20}, {Coef: 0.2}} {
		pl := &Plasticity[float64]{Input: &Connection[float64]{
			Rules: []Rule[float64]{{Kind: BCM, Rate: []float64{0.05}, Average: avg}}}}
		p := linear[float64](1, 1, 1, 1, 0, pl)
		p.Drive = []float64{0, 0.3, 0}
		const n = 4000
		in := make([]float64, n)
		for i := range in {
			in[i] = 1
		}
		ch, drive, _ := runPlastic(t, p, n, in)
		r := ch.Rates[n-1]
		if math.Abs(r-1) > 1e-6 || math.Abs(drive[1]-1) > 1e-6 {
			t.Errorf("%+v: final rate %v, weight %v; want the fixed point r = θ = r² = 1", avg, r, drive[1])
		}
		if ch.Rates[0] != 0.3 || ch.Rates[1] <= 0.3 {
			t.Errorf("%+v: rates start %v, %v; want 0.3 then growing (r < θ... r > r²)", avg, ch.Rates[0], ch.Rates[1])
		}
	}
	// The averages themselves: a constant value is its own window mean and
	// the exponential average approaches it geometrically.
	w := NewAverageState(Average[float64]{Window: 4}, 1, 1)
	e := NewAverageState(Average[float64]{Coef: 0.5, Init: 0}, 1, 1)
	got := []float64{0}
	for step := 1; step <= 6; step++ {
		w.Push(0, step, []float64{float64(step)})
		e.Push(0, step, []float64{1})
		w.Mean(0, step, got)
		// Window of the last min(step, 4) values 1…step.
		lo := max(1, step-3)
		if want := float64(lo+step) / 2; got[0] != want {
			t.Errorf("window mean at step %d = %v, want %v", step, got[0], want)
		}
		e.Mean(0, step, got)
		if want := 1 - math.Pow(0.5, float64(step)); got[0] != want {
			t.Errorf("exponential average at step %d = %v, want %v", step, got[0], want)
		}
	}
}

// One BCM update by hand, the L5 form: the presynaptic factor is the input
// and φ is divided by θ. Two units, each driven by its own input (I = N);
// the plastic recurrent weights start at 0 so step 1's rates are the inputs.
func TestBCML5HandStep(t *testing.T) {
	pl := &Plasticity[float32]{Recurrent: &Connection[float32]{
		Rules: []Rule[float32]{{Kind: BCM, Rate: []float32{0.5}, PreInput: true, DivideByTheta: true,
			Average: Average[float32]{Coef: 0.5, Init: 1}}}}}
	p := linear[float32](1, 1, 2, 2, 0, pl)
	// rows r0, r1, u0, u1, bias: W_in = identity.
	p.Drive = []float32{0, 0, 0, 0, 1, 0, 0, 1, 0, 0}
	_, drive, _ := runPlastic(t, p, 1, []float32{2, 0.5})
	// r = u = (2, 0.5); θ = 1 + 0.5·(r² − 1) = (2.5, 0.625);
	// φ = r(r − θ)/θ = (2·(−0.5)/2.5, 0.5·(−0.125)/0.625) = (−0.4, −0.1);
	// ΔW[j][i] = 0.5·u_j·φ_i.
	u := []float32{2, 0.5}
	phi := []float32{float32(-1) / 2.5, float32(-0.0625) / 0.625}
	for j := 0; j < 2; j++ {
		for i := 0; i < 2; i++ {
			if want := float32(0.5 * float32(u[j]*phi[i])); drive[j*2+i] != want {
				t.Errorf("W[%d][%d] = %v, want %v", j, i, drive[j*2+i], want)
			}
		}
	}
	// FlipInhibitory with an inhibitory unit 1 turns its row around.
	pl.Recurrent.Rules[0].FlipInhibitory = true
	pl.Recurrent.Sign = []int8{1, -1}
	_, drive, _ = runPlastic(t, p, 1, []float32{2, 0.5})
	// Row 0 (excitatory) is projected to ≥ 0: its negative changes become +0.
	// Row 1 (inhibitory): −ΔW = −0.5·0.5·φ > 0, projected to ≤ 0: +0.
	for _, x := range drive[:4] {
		if x != 0 || math.Signbit(float64(x)) {
			t.Errorf("Dale projection left %v, want +0 (all changes had the forbidden sign): %v", x, drive[:4])
		}
	}
}

// Oja's rule keeps a single linear unit's weight vector at unit norm.
func TestOjaNormTendsToOne(t *testing.T) {
	const I, n = 3, 6000
	pl := &Plasticity[float64]{Input: &Connection[float64]{
		Rules: []Rule[float64]{{Kind: Oja, Rate: []float64{0.01}}}}}
	p := linear[float64](1, 1, 1, I, 0, pl)
	p.Drive = []float64{0, 0.1, -0.2, 0.05, 0}
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]float64, n*I)
	for i := range in {
		in[i] = rng.NormFloat64()
	}
	_, drive, _ := runPlastic(t, p, n, in)
	norm := math.Sqrt(drive[1]*drive[1] + drive[2]*drive[2] + drive[3]*drive[3])
	if math.Abs(norm-1) > 0.05 {
		t.Errorf("‖w‖ = %v after %d steps, want ≈ 1 (start 0.23)", norm, n)
	}
}

// The covariance rule on a two-unit network, by hand, with a window of 2.
func TestCovarianceHandComputed(t *testing.T) {
	pl := &Plasticity[float32]{Recurrent: &Connection[float32]{
		Rules: []Rule[float32]{{Kind: Covariance, Rate: []float32{0.5}, Average: Average[float32]{Window: 2}}}}}
	p := linear[float32](1, 1, 2, 2, 0, pl)
	p.Drive = []float32{0, 0, 0, 0, 1, 0, 0, 1, 0, 0} // W_in = identity
	ch, drive, _ := runPlastic(t, p, 3, []float32{1, 0, 0, 1, 1, 1})
	// Step 1: r = (1, 0), mean = r, δ = 0: no change.
	// Step 2: r = (0, 1) (W still 0), mean (0.5, 0.5), δ = (−0.5, 0.5):
	//   W = 0.5·δδᵀ = [[0.125, −0.125], [−0.125, 0.125]].
	// Step 3: x_i = Σ_j r_j W[j][i] + u_i = W[1][i] + 1 = (0.875, 1.125);
	//   mean of steps 2, 3 = (0.4375, 1.0625), δ = (0.4375, 0.0625);
	//   W += 0.5·δδᵀ = [[0.095703125, 0.013671875], [0.013671875, 0.001953125]].
	wantR := []float32{1, 0, 0, 1, 0.875, 1.125}
	for i, w := range wantR {
		if ch.Rates[i] != w {
			t.Errorf("rate %d = %v, want %v", i, ch.Rates[i], w)
		}
	}
	want := []float32{0.220703125, -0.111328125, -0.111328125, 0.126953125}
	for i, w := range want {
		if drive[i] != w {
			t.Errorf("W[%d][%d] = %v, want %v", i/2, i%2, drive[i], w)
		}
	}
}

// Growth: absent synapses appear with the given probability per update,
// independently, with their initial weight (projected), and identically when
// the run is repeated.
func TestGrowthStatistics(t *testing.T) {
	const K, N, prob = 2, 64, 0.3
	grow, init := make([]float64, K*N*N), make([]float64, K*N*N)
	for i := range grow {
		grow[i] = prob
		init[i] = 0.001
		if i%N == 5 { // post 5 grows −0.001, and its row is excitatory: projected to +0
			init[i] = -0.001
		}
	}
	sign := make([]int8, K*N)
	for i := range sign {
		sign[i] = 1
	}
	pl := &Plasticity[float64]{Recurrent: &Connection[float64]{Growth: grow, GrowWeight: init, Sign: sign},
		Record: WeightRecord{Stride: 1}}
	p := linear[float64](K, 1, N, 0, 0, pl)
	ch, _, _ := runPlastic(t, p, 3, nil)
	for step := 0; step < 3; step++ {
		present := 0
		for k := 0; k < K; k++ {
			snap := ch.Weights[(k*3+step)*N*N : (k*3+step+1)*N*N]
			for i, w := range snap {
				switch {
				case i%N == 5 && w != 0:
					t.Fatalf("a synapse grown with the forbidden sign was not projected to 0: %v", w)
				case i%N != 5 && w != 0 && w != 0.001:
					t.Fatalf("grown weight %v, want 0.001", w)
				case w != 0:
					present++
				}
			}
		}
		// After n updates a synapse is present with probability 1 − 0.7ⁿ.
		n := float64(K * N * (N - 1))
		q := 1 - math.Pow(1-prob, float64(step+1))
		if got, sd := float64(present)/n, math.Sqrt(q*(1-q)/n); math.Abs(got-q) > 5*sd {
			t.Errorf("after %d updates %v of synapses present, want %v ± %v", step+1, got, q, sd)
		}
	}
	again, _, _ := runPlastic(t, p, 3, nil)
	for i := range again.Weights {
		if again.Weights[i] != ch.Weights[i] {
			t.Fatalf("growth differs between two runs of the same program at %d", i)
		}
	}
}

// Projection, sparsity, freezing, populations, phases and the schedule on a
// random network with a large Hebbian rate.
func TestProjectionAndSchedule(t *testing.T) {
	const N, I, n = 12, 2, 40
	rng := rand.New(rand.NewPCG(3, 4))
	scale := make([]float64, N*N)
	sign := make([]int8, N)
	pops := make([]uint8, N)
	for j := 0; j < N; j++ {
		sign[j] = int8(1 - 2*(j%3/2)) // units 2, 5, 8, 11 inhibitory
		pops[j] = uint8(j % 2)
	}
	pl := &Plasticity[float64]{
		Recurrent: &Connection[float64]{
			Rules: []Rule[float64]{{Kind: Hebbian, Rate: []float64{0.5}, PreWeight: 1, PostWeight: 1}},
			Scale: scale, Sign: sign, Bounded: true, Min: -0.3, Max: 0.2, FreezeZero: true},
		Populations: pops,
		// Warm-up 5, then every 3rd step; population 0 learns from step 1,
		// population 1 from step 20 on only.
		Schedule: Schedule{Warmup: 5, Every: 3, Phases: []Phase{{Start: 1, Learn: 1}, {Start: 20, Learn: 2}}},
		Record:   WeightRecord{Stride: 1},
	}
	p := linear[float64](1, 1, N, I, 0, pl)
	p.Activation = Tanh
	rows := p.DriveRows()
	for j := 0; j < rows; j++ {
		for i := 0; i < N; i++ {
			w := rng.Float64()*0.2 - 0.1
			if j < N {
				if rng.IntN(3) == 0 {
					w = 0 // absent: frozen
				} else if sign[j] > 0 {
					w = math.Abs(w)
				} else {
					w = -math.Abs(w)
				}
				if rng.IntN(4) != 0 {
					scale[j*N+i] = 1 + float64(rng.IntN(2))
				}
			}
			p.Drive[j*N+i] = w
		}
	}
	in := make([]float64, n*I)
	for i := range in {
		in[i] = 2 * rng.NormFloat64()
	}
	ch, drive, _ := runPlastic(t, p, n, in)
	snap := func(step int) []float64 { return ch.Weights[(step-1)*N*N : step*N*N] }
	prev := p.Drive[:N*N]
	changedEver := make([]bool, N*N)
	for step := 1; step <= n; step++ {
		cur := snap(step)
		update := step > 5 && (step-5)%3 == 0
		for x := range cur {
			j, i := x/N, x%N
			if cur[x] != prev[x] {
				changedEver[x] = true
				learns := pops[i] == 0 && step < 20 || pops[i] == 1 && step >= 20
				if !update || !learns || scale[x] == 0 || prev[x] == 0 {
					t.Fatalf("step %d: W[%d][%d] changed %v → %v (update %v, post population %d, scale %v)", step, j, i, prev[x], cur[x], update, pops[i], scale[x])
				}
			}
			if w := cur[x]; w < -0.3 || w > 0.2 || sign[j] > 0 && w < 0 || sign[j] < 0 && w > 0 {
				t.Fatalf("step %d: W[%d][%d] = %v violates Dale (%d) or bounds [-0.3, 0.2]", step, j, i, w, sign[j])
			}
		}
		prev = cur
	}
	nChanged := 0
	for _, c := range changedEver {
		if c {
			nChanged++
		}
	}
	if nChanged < N {
		t.Errorf("only %d synapses ever changed: the test exercises nothing", nChanged)
	}
	for x := range prev {
		if drive[x] != prev[x] {
			t.Fatalf("final weight %d = %v differs from the last snapshot %v", x, drive[x], prev[x])
		}
	}
}

// Snapshots: chosen synapses and block means agree with whole snapshots.
func TestWeightSnapshots(t *testing.T) {
	const K, B, N, O, n = 2, 3, 5, 2, 6
	mk := func(rec WeightRecord) *Program[float32] {
		pl := &Plasticity[float32]{
			Recurrent:   &Connection[float32]{Rules: []Rule[float32]{{Kind: Hebbian, Rate: rates[float32](K, 0.01), PreWeight: 1, PostWeight: 1}}},
			Readout:     &Connection[float32]{Rules: []Rule[float32]{{Kind: Oja, Rate: rates[float32](K, 0.01)}}},
			PerTrial:    true,
			Populations: []uint8{0, 0, 1, 1, 1},
			Record:      rec,
		}
		p := linear[float32](K, B, N, 1, O, pl)
		p.Activation = Tanh
		rng := rand.New(rand.NewPCG(5, 6))
		for i := range p.Drive {
			p.Drive[i] = float32(rng.NormFloat64() * 0.5)
		}
		for i := range p.Readout {
			p.Readout[i] = float32(rng.NormFloat64() * 0.5)
		}
		p.Init = make([]float32, K*B*N)
		for i := range p.Init {
			p.Init[i] = float32(rng.NormFloat64())
		}
		return p
	}
	in := make([]float32, K*B*n)
	for i := range in {
		in[i] = float32(i%5) - 2
	}
	whole, drive, readout := runPlastic(t, mk(WeightRecord{Stride: 2}), n, in)
	sy := []Synapse{{LayerReadout, 4, 1}, {LayerRecurrent, 2, 3}}
	some, _, _ := runPlastic(t, mk(WeightRecord{Stride: 2, What: SnapSynapses, Synapses: sy}), n, in)
	means, _, _ := runPlastic(t, mk(WeightRecord{Stride: 2, What: SnapBlockMeans}), n, in)
	const ww = N*N + N*O // whole width
	const mw = 4 + 2     // recurrent 2×2 blocks, readout 2×1
	for km := 0; km < K*B; km++ {
		for s := 0; s < n/2; s++ {
			w := whole.Weights[(km*(n/2)+s)*ww : (km*(n/2)+s+1)*ww]
			got := some.Weights[(km*(n/2)+s)*2:]
			if got[0] != w[N*N+4*O+1] || got[1] != w[2*N+3] {
				t.Fatalf("matrix %d snapshot %d: synapses %v, want %v, %v", km, s, got[:2], w[N*N+4*O+1], w[2*N+3])
			}
			bm := means.Weights[(km*(n/2)+s)*mw:]
			// block (pop 1 → pop 0): pre 2..4, post 0..1, summed pre-major.
			var sum float32
			for j := 2; j < 5; j++ {
				for i := 0; i < 2; i++ {
					sum += w[j*N+i]
				}
			}
			if want := sum / 6; bm[2] != want {
				t.Fatalf("matrix %d snapshot %d: block mean (1→0) = %v, want %v", km, s, bm[2], want)
			}
		}
	}
	// The last snapshot (step 6) is the final weights.
	for km := 0; km < K*B; km++ {
		w := whole.Weights[(km*(n/2)+n/2-1)*ww:]
		for x := 0; x < N*N; x++ {
			if w[x] != drive[km*(N+2)*N+x] {
				t.Fatalf("matrix %d: last snapshot differs from final weights at %d", km, x)
			}
		}
		for x := 0; x < N*O; x++ {
			if w[N*N+x] != readout[km*(N+1)*O+x] {
				t.Fatalf("matrix %d: last readout snapshot differs at %d", km, x)
			}
		}
	}
	// Per-trial weights differ between trials (different inputs).
	if drive[0] == drive[(N+2)*N] && drive[1] == drive[(N+2)*N+1] && drive[7] == drive[(N+2)*N+7] {
		t.Error("per-trial weight matrices of trials 0 and 1 are equal")
	}
}

// A learning rate that blows the weights up stops the run at the first
// non-finite weight, named by instance, step, pre and post.
func TestNonFiniteWeight(t *testing.T) {
	pl := &Plasticity[float32]{Input: &Connection[float32]{
		Rules: []Rule[float32]{{Kind: Hebbian, Rate: []float32{1, 1e30}, PreWeight: 1, PostWeight: 1}}}}
	p := linear[float32](2, 1, 2, 1, 0, pl)
	for i := range p.Drive {
		p.Drive[i] = 1
	}
	run, err := Start(Reference, p)
	if err != nil {
		t.Fatal(err)
	}
	err = run.Advance(5, []float32{1e10, 1e10, 1e10, 1e10, 1e10, 1e10, 1e10, 1e10, 1e10, 1e10}, NewChunk(p, 5))
	nf, ok := err.(*NonFiniteError)
	if !ok || nf.Quantity != "input weight" || nf.Instance != 1 || nf.Trial != -1 || nf.Pre != 0 || nf.Unit != 0 {
		t.Fatalf("err = %v, want a non-finite input weight of instance 1, pre 0, post 0", err)
	}
	if !strings.Contains(err.Error(), "shared by all trials") {
		t.Errorf("message %q does not say the weight is shared", err)
	}
}

func TestPlasticityValidate(t *testing.T) {
	ok := func() *Program[float32] {
		pl := &Plasticity[float32]{Recurrent: &Connection[float32]{
			Rules: []Rule[float32]{{Kind: Hebbian, Rate: []float32{0.1}, PreWeight: 1, PostWeight: 1}}}}
		return linear[float32](1, 1, 3, 2, 1, pl)
	}
	if err := ok().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		want string
		mod  func(p *Program[float32])
	}{
		{"no connection is plastic", func(p *Program[float32]) { p.Plasticity.Recurrent = nil }},
		{"Rate has 0 values", func(p *Program[float32]) { p.Plasticity.Recurrent.Rules[0].Rate = nil }},
		{"Scale has 2 values", func(p *Program[float32]) { p.Plasticity.Recurrent.Scale = []float32{1, 1} }},
		{"PreInput", func(p *Program[float32]) { p.Plasticity.Recurrent.Rules[0].PreInput = true }},
		{"Adam needs", func(p *Program[float32]) { p.Plasticity.Recurrent.Rules[0].Optimizer = Adam }},
		{"Min ≤ Max", func(p *Program[float32]) { c := p.Plasticity.Recurrent; c.Bounded, c.Min, c.Max = true, 1, 0 }},
		{"probability", func(p *Program[float32]) {
			c := p.Plasticity.Recurrent
			c.Growth, c.GrowWeight = make([]float32, 9), make([]float32, 9)
			c.Growth[4] = 2
		}},
		{"ascending", func(p *Program[float32]) { p.Plasticity.Schedule.Phases = []Phase{{Start: 5}, {Start: 5}} }},
		{"populations", func(p *Program[float32]) {
			p.Plasticity.Readout = &Connection[float32]{Rules: []Rule[float32]{{Kind: Oja, Rate: []float32{1}, PostPops: 1}}}
		}},
		{"not plastic", func(p *Program[float32]) {
			p.Plasticity.Record = WeightRecord{Stride: 1, What: SnapSynapses, Synapses: []Synapse{{LayerInput, 0, 0}}}
		}},
	} {
		p := ok()
		c.mod(p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
		}
	}
}

// A backend that does not declare plasticity support refuses plastic
// programs at Start.
type staticOnly struct{ Backend }

func (staticOnly) Name() string { return "static" }

func TestStartRefusesPlasticityWithoutSupport(t *testing.T) {
	pl := &Plasticity[float32]{Input: &Connection[float32]{Rules: []Rule[float32]{{Kind: Oja, Rate: []float32{1}}}}}
	p := linear[float32](1, 1, 1, 1, 0, pl)
	_, err := Start(Backend(staticOnly{Reference}), p)
	if err == nil || err.Error() != "plasticity not supported by backend static" {
		t.Fatalf("Start = %v, want plasticity not supported by backend static", err)
	}
	p.Plasticity = nil
	if _, err := Start(Backend(staticOnly{Reference}), p); err != nil {
		t.Fatalf("static program refused: %v", err)
	}
}

// l5Program is an L5 program for the property tests: N identity units
// relaxing toward their drive (α = 0.5), mixed-sign recurrent weights
// (every third one absent, one at −0), identity input rows, positive
// rates, and a positive input for steps steps.
func l5Program(N, B int, l5 *L5Plasticity[float64], steps int) (*Program[float64], []float64) {
	rng := rand.New(rand.NewPCG(uint64(N), uint64(B)))
	p := linear[float64](1, B, N, N, 0, &Plasticity[float64]{PerTrial: B > 1, L5: l5})
	for j := 0; j < N; j++ {
		for i := 0; i < N; i++ {
			if (j+2*i)%3 != 0 {
				p.Drive[j*N+i] = (2*rng.Float64() - 1) * 0.5 / float64(N)
			}
		}
		p.Drive[(N+j)*N+j] = 1 // input j drives unit j
	}
	p.Drive[1] = math.Copysign(0, -1)
	for i := range p.Alpha {
		p.Alpha[i], p.Decay[i] = 0.5, 0.5
	}
	p.Init = make([]float64, B*N)
	for i := range p.Init {
		p.Init[i] = 0.2 + rng.Float64()
	}
	in := make([]float64, p.InputLen(steps))
	for i := range in {
		in[i] = 0.5 + rng.Float64()
	}
	return p, in
}

func TestL5Validate(t *testing.T) {
	ok := func() *Program[float64] {
		p, _ := l5Program(4, 2, &L5Plasticity[float64]{Rule: L5BCM, Dt: 0.1, Eta: 0.1}, 1)
		return p
	}
	if err := ok().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		want string
		mod  func(p *Program[float64])
	}{
		{"unknown rule", func(p *Program[float64]) { p.Plasticity.L5.Rule = numL5Rules }},
		{"only plasticity", func(p *Program[float64]) {
			p.Plasticity.Input = &Connection[float64]{Rules: []Rule[float64]{{Kind: Oja, Rate: []float64{1}}}}
		}},
		{"as many inputs as units", func(p *Program[float64]) {
			p.Inputs = 3
			p.Drive = p.Drive[:p.DriveRows()*p.Units]
		}},
		{"per-trial weights or one trial", func(p *Program[float64]) { p.Plasticity.PerTrial = false }},
		{"not Schedule.Phases", func(p *Program[float64]) { p.Plasticity.Schedule.Phases = []Phase{{Start: 1, Learn: 1}} }},
		{"not Schedule.Phases", func(p *Program[float64]) { p.Plasticity.Schedule.Every = 2 }},
		{"Record.Stride must be 0", func(p *Program[float64]) { p.Plasticity.Record.Stride = 1 }},
		{"window -1", func(p *Program[float64]) { p.Plasticity.L5.Window = -1 }},
		{"must be finite", func(p *Program[float64]) { p.Plasticity.L5.Eta = math.Inf(1) }},
		{"Pre has 3 values", func(p *Program[float64]) { p.Plasticity.L5.Pre = make([]bool, 3) }},
		{"Sign has 5 values", func(p *Program[float64]) { p.Plasticity.L5.Sign = make([]int8, 5) }},
		{"phase 1 has 2 rows", func(p *Program[float64]) { p.Plasticity.L5.Phases = []L5Phase{{}, {Post: make([]bool, 2)}} }},
		{"PerInstance has 2 values, want one per instance (1)", func(p *Program[float64]) {
			p.Plasticity.L5.PerInstance = make([]L5Rates[float64], 2)
		}},
		{"PerInstance[0]: window -2", func(p *Program[float64]) {
			p.Plasticity.L5.PerInstance = []L5Rates[float64]{{Window: -2}}
		}},
		{"PerInstance[0]: window 3 must be ≥ 0, Eta NaN", func(p *Program[float64]) {
			p.Plasticity.L5.PerInstance = []L5Rates[float64]{{Window: 3, Eta: math.NaN()}}
		}},
	} {
		p := ok()
		c.mod(p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
		}
	}
}

// The window holds r_0 and then the last L pushed vectors, oldest first
// (all of them for L = 0), across wrap-arounds.
func TestL5WindowHoldsTheLastVectors(t *testing.T) {
	for _, L := range []int{0, 1, 2, 5} {
		hist := [][]float64{{0, 0.5}}
		w := NewL5Window(L, hist[0])
		for s := 1; s <= 13; s++ {
			x := []float64{float64(s), -float64(s)}
			hist = append(hist, x)
			w.Push(x)
			want := hist
			if L > 0 && len(hist) > L {
				want = hist[len(hist)-L:]
			}
			got := w.Rows()
			if len(got) != len(want) {
				t.Fatalf("L = %d after %d pushes: %d vectors, want %d", L, s, len(got), len(want))
			}
			for q := range want {
				if got[q][0] != want[q][0] || got[q][1] != want[q][1] {
					t.Fatalf("L = %d after %d pushes: vector %d = %v, want %v", L, s, q, got[q], want[q])
				}
			}
		}
	}
}

// Structural updates leave W0's absent synapses' bits alone (−0 included)
// and change present ones; dense updates change absent ones too.
func TestL5StructuralKeepsAbsentSynapses(t *testing.T) {
	const N, steps = 6, 20
	for _, structural := range []bool{false, true} {
		l5 := &L5Plasticity[float64]{Rule: L5Oja, Integrator: L5RK4, Dt: 0.1, Eta: 0.02, Structural: structural}
		p, in := l5Program(N, 1, l5, steps)
		_, drive, _ := runPlastic(t, p, steps, in)
		absentMoved, presentMoved := 0, 0
		for e := 0; e < N*N; e++ {
			moved := math.Float64bits(drive[e]) != math.Float64bits(p.Drive[e])
			if p.Drive[e] == 0 && moved {
				absentMoved++
			}
			if p.Drive[e] != 0 && moved {
				presentMoved++
			}
		}
		if presentMoved == 0 || structural != (absentMoved == 0) {
			t.Errorf("structural %v: %d absent and %d present synapses changed", structural, absentMoved, presentMoved)
		}
	}
}

// With Sign, no excitatory presynaptic unit's weight ends negative and no
// inhibitory one's positive; without it, the same run flips some.
func TestL5SignKeepsPresynapticSigns(t *testing.T) {
	const N, steps = 6, 30
	for _, keep := range []bool{false, true} {
		l5 := &L5Plasticity[float64]{Rule: L5Covariance, Window: 4, Dt: 0.1, Eta: 2,
			Inhibitory: []bool{false, false, false, false, true, true}}
		sign := []int8{1, 1, 1, 1, -1, -1}
		if keep {
			l5.Sign = sign
		}
		p, in := l5Program(N, 1, l5, steps)
		for j := 0; j < N; j++ { // W0 obeys the signs
			for i := 0; i < N; i++ {
				if x := &p.Drive[j*N+i]; (*x < 0) != (sign[j] < 0) {
					*x = -*x
				}
			}
		}
		_, drive, _ := runPlastic(t, p, steps, in)
		wrong := 0
		for j := 0; j < N; j++ {
			for i := 0; i < N; i++ {
				if w := drive[j*N+i]; sign[j] > 0 && w < 0 || sign[j] < 0 && w > 0 {
					wrong++
				}
			}
		}
		if keep != (wrong == 0) {
			t.Errorf("Sign kept %v: %d weights against their presynaptic sign", keep, wrong)
		}
	}
}

// Warm-up steps and Rest phases keep every weight's bits; a phase with
// rows learns only those rows; the others learn at every step.
func TestL5PhasesAndWarmup(t *testing.T) {
	const N, steps, warmup = 5, 14, 3
	rows := []bool{true, false, true, false, false}
	l5 := &L5Plasticity[float64]{Rule: L5BCM, Window: 3, Dt: 0.1, Eta: 0.3,
		Phases: []L5Phase{{}, {Rest: true}, {Post: rows}}}
	p, in := l5Program(N, 1, l5, steps)
	p.Plasticity.Schedule.Warmup = warmup
	run, err := Start(Reference, p)
	if err != nil {
		t.Fatal(err)
	}
	prev := append([]float64(nil), p.Drive...)
	cur := make([]float64, len(p.Drive))
	for st := 1; st <= steps; st++ {
		c := NewChunkFor(p, st-1, 1)
		if err := run.Advance(1, in[(st-1)*N:st*N], c); err != nil {
			t.Fatal(err)
		}
		if err := Weights(run, cur, nil); err != nil {
			t.Fatal(err)
		}
		phase := l5.Phases[(st-1)%3]
		for j := 0; j < N; j++ {
			for i := 0; i < N; i++ {
				e := j*N + i
				moved := math.Float64bits(cur[e]) != math.Float64bits(prev[e])
				learns := st > warmup && !phase.Rest && (phase.Post == nil || phase.Post[i])
				if moved != learns {
					t.Fatalf("step %d, synapse (pre %d, post %d): moved %v, want %v", st, j, i, moved, learns)
				}
			}
			if e := (N+j)*N + j; cur[e] != 1 {
				t.Fatalf("step %d: input weight %d = %v: only the recurrent weights learn", st, j, cur[e])
			}
		}
		copy(prev, cur)
	}
}

// ClipAtZero leaves no negative weight after an RK4 step; without it the
// same run keeps negative ones.
func TestL5ClipAtZero(t *testing.T) {
	const N, steps = 4, 3
	for _, clip := range []bool{false, true} {
		l5 := &L5Plasticity[float64]{Rule: L5None, Integrator: L5RK4, ClipAtZero: clip}
		p, in := l5Program(N, 1, l5, steps)
		_, drive, _ := runPlastic(t, p, steps, in)
		neg := 0
		for _, w := range drive[:N*N] {
			if w < 0 {
				neg++
			}
		}
		if clip != (neg == 0) {
			t.Errorf("ClipAtZero %v: %d negative weights", clip, neg)
		}
	}
}

// A window longer than any run (L5's τ_θ ≥ 1 gives L ≥ 230 000 steps)
// holds only what was pushed: its buffer grows with the pushes instead of
// being allocated at its capacity.
func TestL5WindowGrowsWithThePushes(t *testing.T) {
	w := NewL5Window(1<<40, []float64{1, 2})
	for s := 1; s <= 3; s++ {
		w.Push([]float64{float64(s), -float64(s)})
	}
	rows := w.Rows()
	if len(rows) != 4 || rows[0][0] != 1 || rows[3][1] != -3 {
		t.Fatalf("rows %v, want r_0 and the three pushed vectors", rows)
	}
	if c := cap(w.buf); c > 64 {
		t.Fatalf("the window's buffer has capacity %d for 8 values", c)
	}
}
