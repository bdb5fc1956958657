package gpu

import (
	"math"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// tiny is the hand-computed case: K = 1 instance, B = 2 trials, N = 4
// units, I = 1 input, O = 1 output; Drive has N+I+1 = 6 rows.
var tiny = backend.Shape{Instances: 1, Trials: 2, Units: 4, Inputs: 1, Outputs: 1}

func tinyPlan(t *testing.T, m deviceModel, prec backend.Precision) plan {
	t.Helper()
	elem := 4
	if prec == backend.F64 {
		elem = 8
	}
	return plan{shape: tiny, elem: elem, unitsOrOut: 4, model: m}
}

// FP operations of one step: per trial and unit, a multiply and an add
// per row (2·6·4 = 48 per trial) and per trial and output a multiply and
// an add per unit (2·4 = 8) plus the bias add (1): 2 trials × 57 = 114.
func TestCostFPOps(t *testing.T) {
	if got := usefulFP(tiny); got != 114 {
		t.Errorf("usefulFP = %v, want 114", got)
	}
	// bench's count leaves out the bias row and the readout's bias add:
	// 2·B·(N² + N·I + N·O) = 2·2·(16+4+4) = 96, i.e. 114 − 2·B·N − B·O.
	if got, want := usefulFP(tiny)-2*2*4-2*1, 96.0; got != want {
		t.Errorf("usefulFP less bias terms = %v, want bench's %v", got, want)
	}
}

// Bytes of one step, step path, tile s (32 units × 1 trial), f32:
//
//	step kernel: 1 · ⌈4/32⌉ · ⌈2/1⌉ = 2 blocks, each reading its W tile
//	  (6 rows × 4 units) and z tile (6 rows × 1 trial): 2·6·5 = 60 values;
//	  per unit of each trial (8) v and 4 constants read, v, the rate and
//	  its recording written: 64 values. L2: 124 values = 496 B.
//	  DRAM: W (96 B) fits in L2; the recorded rates 8 values = 32 B.
//	readout: 2 threads (trial × output), each N+1 weights read and 1
//	  output written (2·6 = 12 values), the 2 trials' rates staged once
//	  (2·4 = 8): 20 values = 80 B of L2; the recorded outputs 2 values =
//	  8 B of DRAM.
func TestCostBytesStep(t *testing.T) {
	pl := tinyPlan(t, modelH100, backend.F32).withTile(backend.F32, "s")
	if pl.stepGrid != 2 || pl.readoutGrid != 1 {
		t.Fatalf("grids %d, %d; want 2 step blocks, 1 readout block", pl.stepGrid, pl.readoutGrid)
	}
	c, ok := modelH100.costOf(pl)
	if !ok {
		t.Fatal("the model cannot run the tiny step plan")
	}
	if c.l2Bytes != 496+80 || c.dramBytes != 32+8 {
		t.Errorf("L2 %v B, DRAM %v B; want 576, 40", c.l2Bytes, c.dramBytes)
	}
	if c.blocks != 2 || c.threads != 32 || c.shared != stepKernelFacts["step_f32_s"].static || c.launches != 2 {
		t.Errorf("blocks %d, threads %d, shared %d, launches %d", c.blocks, c.threads, c.shared, c.launches)
	}
	// f64 doubles every byte.
	c64, _ := modelH100.costOf(tinyPlan(t, modelH100, backend.F64).withTile(backend.F64, "s"))
	if c64.l2Bytes != 2*c.l2Bytes || c64.dramBytes != 2*c.dramBytes {
		t.Errorf("f64: L2 %v, DRAM %v; want twice f32's", c64.l2Bytes, c64.dramBytes)
	}
}

// Bytes of one step, persistent kernel, tb = 2 (one block), f32:
//
//	shared memory: W 6·4 + z 2·6·2 + v 2·4 = 56 values = 224 B (128 B without W);
//	L2: the block's inputs (2 trials × 1) and R ((4+1) × 1): 7 values,
//	  and the recordings, 2 trials × (4 rates + 1 output) = 10 values:
//	  68 B; with W in global memory also W, 24 values: 164 B.
//	DRAM: the recordings, 40 B (W fits in L2).
func TestCostBytesPersistent(t *testing.T) {
	base := tinyPlan(t, modelH100, backend.F32)
	for _, c := range []struct {
		wShared            bool
		shmem              int
		l2, dram           float64
		threads, perBlocks int
	}{
		{true, 224, 68, 40, 32, 1},
		{false, 128, 164, 40, 32, 1},
	} {
		pl := base.withPersistent(backend.F32, 2, c.wShared)
		if pl.shmem != c.shmem || pl.threads != c.threads || pl.persistentBlocks != c.perBlocks {
			t.Errorf("wShared %v: %d B shared, %d threads, %d blocks; want %d, %d, %d", c.wShared, pl.shmem, pl.threads, pl.persistentBlocks, c.shmem, c.threads, c.perBlocks)
		}
		k, ok := modelH100.costOf(pl)
		if !ok {
			t.Fatalf("wShared %v: the model cannot run it", c.wShared)
		}
		if k.l2Bytes != c.l2 || k.dramBytes != c.dram || k.launches != 0 {
			t.Errorf("wShared %v: L2 %v B, DRAM %v B, %d launches; want %v, %v, 0", c.wShared, k.l2Bytes, k.dramBytes, k.launches, c.l2, c.dram)
		}
	}
}

// Blocks per SM on the H100 model (64K registers in four quarters, 228 KiB
// of shared memory with 1 KiB reserved per block, 64 warps, 32 blocks):
//
//	persistent_f32, 206 registers: a warp takes ⌈206·32/256⌉·256 = 6656,
//	  a quarter (16384) holds 2 → 8 warps → 8 one-warp blocks (224 B of
//	  shared memory would allow 233472/1248 = 187), or 1 of 8 warps.
//	step_f32_l, 100 registers: 3328 a warp, 4 a quarter → 16 warps → 2
//	  blocks of 8 warps; shared 233472/(8256+1024) = 25 → 2, occupancy 25%.
//	step_f32_m, 79 registers: 2560 a warp, 6 a quarter → 24 warps → 6 blocks of 4.
//	step_f64_s, 116 registers: 3840 a warp, 4 a quarter → 16 one-warp
//	  blocks; shared 233472/(17408+1024) = 12 → 12.
//	persistent_f64 at 186624 B shared: 233472/187648 = 1 block.
func TestCostResidency(t *testing.T) {
	m := modelH100
	for _, c := range []struct {
		name                 string
		regs, threads, share int
		want                 int
	}{
		{"persistent_f32 1 warp", 206, 32, 224, 8},
		{"persistent_f32 8 warps", 206, 256, 224, 1},
		{"step_f32_l", 100, 256, 8256, 2},
		{"step_f32_m", 79, 128, 5248, 6},
		{"step_f64_s", 116, 32, 17408, 12},
		{"persistent_f64 W shared", 230, 128, 186624, 1},
		{"too much shared memory", 32, 32, 228 << 10, 0},
		{"few registers: the block limit", 16, 32, 0, 32},
	} {
		if got := m.residency(kernelLoad{regs: c.regs, threads: c.threads, shared: c.share}); got != c.want {
			t.Errorf("%s: %d blocks per SM, want %d", c.name, got, c.want)
		}
	}
	// step_f32_l on 256 blocks: 2 per SM (the limit) on 128 SMs, one wave.
	k := kernelLoad{grid: 256, threads: 256, regs: 100, shared: 8256, slots: 1, chain: 1}
	tt, ok := m.time(k, backend.F32)
	if !ok || tt.resident != 2 || tt.waves != 1 || tt.occupancy != 0.25 {
		t.Errorf("256 blocks: %+v", tt)
	}
	// 1000 blocks: ⌈1000/132⌉ = 8 on the busiest SM, 2 at a time: 4 waves.
	k.grid = 1000
	if tt, _ = m.time(k, backend.F32); tt.waves != 4 {
		t.Errorf("1000 blocks: %d waves, want 4", tt.waves)
	}
}

// The time terms, each isolated by a load that has only it: issue
// (8 resident one-warp blocks share 4 schedulers: 2 warps × 1000 slots),
// latency (one warp's chain), FP pipes (f32: 128 lanes; f64: 64), L2 (the
// device's bandwidth, or one SM's share of it), DRAM.
func TestCostTimeTerms(t *testing.T) {
	m := modelH100
	hz := m.clockHz
	for _, c := range []struct {
		name string
		k    kernelLoad
		prec backend.Precision
		want float64
	}{
		{"issue", kernelLoad{grid: 8 * 132, threads: 32, regs: 206, slots: 1000, chain: 1}, backend.F32, 2 * 1000 / hz},
		{"latency", kernelLoad{grid: 132, threads: 32, regs: 32, slots: 1, chain: 5000}, backend.F32, 5000 / hz},
		{"FP", kernelLoad{grid: 132, threads: 32, regs: 32, fpPerBlock: 128 * 1000}, backend.F32, 1000 / hz},
		{"FP", kernelLoad{grid: 132, threads: 32, regs: 32, fpPerBlock: 128 * 1000}, backend.F64, 2000 / hz},
		{"L2", kernelLoad{grid: 132, threads: 32, regs: 32, l2Bytes: 7e6}, backend.F32, 1e-6},
		// One block's 126720 B through one SM at 64 B a cycle: 990 cycles.
		{"L2", kernelLoad{grid: 1, threads: 32, regs: 32, l2Bytes: 126720}, backend.F32, 126720.0 / 64 / hz},
		{"DRAM", kernelLoad{grid: 1, threads: 32, regs: 32, dramBytes: 3.35e6}, backend.F32, 1e-6},
	} {
		tt, ok := m.time(c.k, c.prec)
		if !ok || tt.bound != c.name || math.Abs(tt.seconds-c.want) > 1e-12*c.want+1e-15 {
			t.Errorf("%s %v: %v s (%s, %v), want %v s", c.name, c.prec, tt.seconds, tt.bound, ok, c.want)
		}
	}
}

// A step of a tiny network on the step path costs what its two launches
// cost the host; on the persistent path, far less.
func TestCostLaunchFloor(t *testing.T) {
	for _, m := range tableModels {
		c, _ := m.costOf(tinyPlan(t, m, backend.F32).withTile(backend.F32, "m"))
		p, _ := m.costOf(tinyPlan(t, m, backend.F32).withPersistent(backend.F32, 2, true))
		if c.seconds < 2*m.hostLaunch || p.seconds >= c.seconds/2 {
			t.Errorf("%s: step path %v, persistent %v", m.name, c, p)
		}
	}
	s := tiny
	s.Outputs = 0
	pl := plan{shape: s, elem: 4, unitsOrOut: 4, model: modelH100}.withTile(backend.F32, "s")
	if c, _ := modelH100.costOf(pl); c.launches != 1 || c.readout != nil {
		t.Errorf("no outputs: %d launches", c.launches)
	}
}

// Properties of every benchmark candidate: the estimate is at least the
// FP time at the exact mode's throughput and at least the launches' host
// time; bytes and FP operations are positive; occupancy within (0, 1].
func TestCostFloors(t *testing.T) {
	for _, m := range tableModels {
		for _, s := range benchShapes() {
			for _, prec := range precisions {
				for _, pl := range allCandidates(s, prec, m) {
					c := pl.cost
					fpTime := usefulFP(s) / (float64(m.sms*m.fpLanes[prec]) * m.clockHz)
					if c.seconds < fpTime || c.seconds < float64(c.launches)*m.hostLaunch ||
						c.l2Bytes <= 0 || c.dramBytes <= 0 || c.fpOps != usefulFP(s) ||
						c.main.occupancy <= 0 || c.main.occupancy > 1 {
						t.Errorf("%s %s %v %s: %+v", m.name, shapeName(s), prec, planName(pl), c)
					}
				}
			}
		}
	}
}

// Device memory carries W every step exactly when it does not stay in L2:
// 4101 × 4096 f32 weights (67 MB) do not fit in 50 MB, 1029 × 1024 (4 MB) do.
func TestCostL2Residency(t *testing.T) {
	for _, c := range []struct {
		n    int
		inL2 bool
	}{{4096, false}, {1024, true}} {
		s := backend.Shape{Instances: 1, Trials: 1, Units: c.n, Inputs: 4, Outputs: 2}
		w := weightBytes(s, 4)
		for _, tile := range []string{"s", "m", "l"} {
			pl := plan{shape: s, elem: 4, unitsOrOut: c.n, model: modelH100}.withTile(backend.F32, tile)
			if got := pl.cost.dramBytes >= w; got == c.inL2 {
				t.Errorf("N=%d tile %s: %v B of DRAM for %v B of W", c.n, tile, pl.cost.dramBytes, w)
			}
		}
	}
}

// More of anything the device has never makes a plan costlier: SMs,
// memory bandwidth, L2 bandwidth, clock; and a larger network is never
// cheaper under the same plan.
func TestCostMonotone(t *testing.T) {
	faster := []func(m deviceModel) deviceModel{
		func(m deviceModel) deviceModel { m.sms *= 2; return m },
		func(m deviceModel) deviceModel { m.hbm *= 2; return m },
		func(m deviceModel) deviceModel { m.l2BW *= 2; return m },
		func(m deviceModel) deviceModel { m.clockHz *= 2; return m },
	}
	for _, s := range benchShapes() {
		for _, prec := range precisions {
			for _, pl := range allCandidates(s, prec, modelH100) {
				for i, f := range faster {
					m := f(modelH100)
					pl2 := pl
					pl2.model = m
					if c, ok := m.costOf(pl2); !ok || c.seconds > pl.cost.seconds {
						t.Errorf("%s %v %s: faster device %d costs %v, was %v", shapeName(s), prec, planName(pl), i, c, pl.cost)
					}
				}
				big := pl
				big.shape.Units *= 2
				big.shmem = 0 // residency as before
				if pl.kernel == Persistent {
					big.threads = min(persistentMaxThreads, ceilDiv(big.shape.Units, 32)*32)
				} else {
					big = big.withTile(prec, pl.stepTile.suffix)
				}
				small := pl
				small.shmem = 0
				cb, okb := modelH100.costOf(big)
				cs, oks := modelH100.costOf(small)
				if okb && oks && cb.seconds < cs.seconds {
					t.Errorf("%s %v %s: twice the units cost %v < %v", shapeName(s), prec, planName(pl), cb, cs)
				}
			}
		}
	}
}

// With W in shared memory a persistent plan is never costlier than the
// same plan with W in global memory, where both have the same residency.
func TestCostSharedW(t *testing.T) {
	for _, m := range tableModels {
		for _, s := range invariantShapes() {
			for _, prec := range precisions {
				base := plan{shape: s, elem: map[backend.Precision]int{backend.F32: 4, backend.F64: 8}[prec], unitsOrOut: max(s.Units, s.Outputs), model: m}
				for tb := 1; tb <= min(s.Trials, persistentMaxTrials); tb++ {
					sh, gl := base.withPersistent(prec, tb, true), base.withPersistent(prec, tb, false)
					if sh.shmem > m.maxSharedOpt {
						continue
					}
					cs, oks := m.costOf(sh)
					cg, okg := m.costOf(gl)
					if oks && okg && cs.main.blocksPerSM == cg.main.blocksPerSM && cs.seconds > cg.seconds {
						t.Errorf("%s %s %v tb=%d: W shared %v, global %v", m.name, shapeName(s), prec, tb, cs, cg)
					}
				}
			}
		}
	}
}

// modelOf: a compute capability's defaults, then what the device reports.
func TestModelOf(t *testing.T) {
	m := modelOf(deviceInfo{name: "NVIDIA H100 80GB HBM3", major: 9, sms: 132, maxSharedOpt: 227 << 10})
	if m.sms != 132 || m.hbm != modelH100.hbm || m.fpLanes != modelH100.fpLanes || m.name != "NVIDIA H100 80GB HBM3" {
		t.Errorf("sm_90: %+v", m)
	}
	// HBM3 of the H100 SXM: 2619 MHz, 5120 bits, two transfers a clock:
	// 2 · 2.619e9 · 640 B = 3.352 TB/s.
	m = modelOf(deviceInfo{major: 9, sms: 114, maxSharedOpt: 100 << 10, memClockKHz: 2619000, busWidth: 5120, l2Bytes: 25 << 20, clockKHz: 1755000})
	if math.Abs(m.hbm-3.35232e12) > 1e6 || m.sms != 114 || m.maxSharedOpt != 100<<10 || m.l2Bytes != 25<<20 || m.clockHz != 1.755e9 {
		t.Errorf("reported figures not taken: %+v", m)
	}
	a := modelOf(deviceInfo{major: 8, minor: 0, sms: 108, maxSharedOpt: 163 << 10})
	if a.fpLanes != modelA100.fpLanes || a.hbm != modelA100.hbm {
		t.Errorf("sm_80: %+v", a)
	}
	// Consumer parts have few FP64 lanes: f64 is far slower there.
	g := modelOf(deviceInfo{major: 8, minor: 6, sms: 84, maxSharedOpt: 99 << 10})
	if g.fpLanes[backend.F64]*16 > g.fpLanes[backend.F32] {
		t.Errorf("sm_86: FP64 lanes %v", g.fpLanes)
	}
}

// Every kernel the planner can launch has facts in the model.
func TestCostFactsCoverKernels(t *testing.T) {
	for _, prec := range precisions {
		for _, tl := range stepTiles[prec] {
			name := "step_" + prec.String() + "_" + tl.suffix
			if f, ok := stepKernelFacts[name]; !ok || f.regs == 0 || f.tj == 0 {
				t.Errorf("no facts for %s", name)
			}
		}
		for _, name := range []string{"persistent_" + prec.String(), "readout_" + prec.String()} {
			_, p := persistentKernelFacts[name]
			_, r := readoutKernelFacts[name]
			if !p && !r {
				t.Errorf("no facts for %s", name)
			}
		}
	}
	if !strings.Contains(tinyPlan(t, modelH100, backend.F32).withTile(backend.F32, "s").describe(), "µs/step") {
		t.Error("describe does not carry the estimate")
	}
}
