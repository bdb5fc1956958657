package gpu

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend"
)

// This file is the planner's cost model: an estimate, from the shape of a
// program and a few facts about the device and the compiled kernels, of
// what one step of a plan costs — bytes moved, rounded FP operations,
// blocks, residency, occupancy, waves, and time. It is plain Go, built and
// tested in every configuration; choosePlan (launch.go) takes the cheapest
// candidate, and gpu/PLANS.md tabulates the plans of the benchmark shapes
// (TestPlansTable). The model and its assumptions are described there.
//
// The time of one kernel launch is the largest of
//
//   - the SM time: on the busiest multiprocessor, waves × the larger of
//     issue (its resident warps share 4 schedulers, one warp instruction
//     per scheduler per cycle), latency (one warp's critical path: the
//     instructions it issues plus the memory round trips it waits on,
//     which other resident warps may hide) and the FP pipes (the exact
//     path's separate rounded multiplies and adds, no FMA);
//   - the L2 time: bytes the blocks read and write through L2 over the L2
//     bandwidth, and the busiest SM's share over what one SM can move
//     (l2PerSM bytes a cycle);
//   - the DRAM time: bytes that must come from or go to device memory
//     (HBM) over its bandwidth: the weights once per step when the working
//     set does not fit in L2, and the recordings;
//   - the FP time at the exact mode's throughput of the whole device.
//
// The step path adds one launch per kernel per step: a step costs at least
// launches × hostLaunch (the host cannot issue them faster), and the
// kernels' times plus a gap each on the device. The persistent path runs a
// whole segment in one launch: its launch, and the staging of W into
// shared memory, are spread over the segment's steps and not counted.

// deviceModel is what the cost model knows of a device.
type deviceModel struct {
	name           string
	sms            int
	clockHz        float64 // SM clock under load
	schedulers     int     // per SM; each issues one warp instruction per cycle
	fpLanes        [2]int  // per SM and cycle, rounded FP32 / FP64 adds or multiplies
	regsPerSM      int
	maxWarpsPerSM  int
	maxBlocksPerSM int
	sharedPerSM    int     // shared memory of one SM, bytes
	sharedReserved int     // shared memory the system reserves per resident block, bytes
	maxSharedOpt   int     // dynamic shared memory one block may opt in to, bytes
	hbm            float64 // device memory bandwidth, bytes/s
	l2BW           float64 // L2 bandwidth, bytes/s
	l2Bytes        int64
	// Latencies in cycles: a shared-memory load, an L1 hit, an L2 hit, a
	// device-memory load; a __syncthreads with all warps arriving.
	latShared, latL1, latL2, latDRAM, latBarrier float64
	hostLaunch                                   float64 // host time of one kernel launch, seconds
	launchGap                                    float64 // device time between two dependent kernels, seconds
}

// The models the plan table is made for. The figures are public
// specifications (SMs, clocks, shared memory, registers, HBM and L2 sizes);
// L2 bandwidth and latencies are microbenchmark orders of magnitude, and
// the launch cost is the driver's usual 3–5 µs per cuLaunchKernel.
var (
	modelH100 = deviceModel{
		name: "H100 SXM", sms: 132, clockHz: 1.98e9, schedulers: 4, fpLanes: [2]int{128, 64},
		regsPerSM: 65536, maxWarpsPerSM: 64, maxBlocksPerSM: 32,
		sharedPerSM: 228 << 10, sharedReserved: 1 << 10, maxSharedOpt: 227 << 10,
		hbm: 3.35e12, l2BW: 7e12, l2Bytes: 50 << 20,
		latShared: 30, latL1: 33, latL2: 262, latDRAM: 478, latBarrier: 40,
		hostLaunch: 4e-6, launchGap: 1e-6,
	}
	modelH200 = func() deviceModel {
		m := modelH100
		m.name, m.hbm = "H200 SXM", 4.8e12
		return m
	}()
	modelA100 = deviceModel{
		name: "A100 SXM 40GB", sms: 108, clockHz: 1.41e9, schedulers: 4, fpLanes: [2]int{64, 32},
		regsPerSM: 65536, maxWarpsPerSM: 64, maxBlocksPerSM: 32,
		sharedPerSM: 164 << 10, sharedReserved: 1 << 10, maxSharedOpt: 163 << 10,
		hbm: 1.555e12, l2BW: 4.5e12, l2Bytes: 40 << 20,
		latShared: 30, latL1: 33, latL2: 200, latDRAM: 466, latBarrier: 40,
		hostLaunch: 4e-6, launchGap: 1e-6,
	}
)

// modelOf is the cost model of dev: the model of its compute capability's
// data-centre part, then what dev itself reports in place of the defaults
// (multiprocessors and opt-in shared memory always; clocks, memory bus,
// L2, per-SM shared memory, registers and threads where deviceInfo carries
// them, i.e. where they are not zero).
func modelOf(dev deviceInfo) deviceModel {
	var m deviceModel
	switch {
	case dev.major >= 9:
		m = modelH100
	case dev.major == 8 && dev.minor == 0:
		m = modelA100
	case dev.major == 8: // GA10x, AD10x: few FP64 lanes, small shared memory
		m = modelA100
		m.name, m.clockHz, m.fpLanes = "sm_8x", 1.7e9, [2]int{128, 2}
		m.maxWarpsPerSM, m.maxBlocksPerSM = 48, 16
		m.sharedPerSM, m.maxSharedOpt = 100<<10, 99<<10
		m.hbm, m.l2Bytes = 0.9e12, 6<<20
	default: // Volta
		m = modelA100
		m.name, m.clockHz, m.fpLanes = "sm_70", 1.53e9, [2]int{64, 32}
		m.sharedPerSM, m.sharedReserved, m.maxSharedOpt = 96<<10, 0, 96<<10
		m.hbm, m.l2Bytes = 0.9e12, 6<<20
	}
	if dev.name != "" {
		m.name = dev.name
	}
	if dev.sms > 0 {
		m.sms = dev.sms
	}
	if dev.maxSharedOpt > 0 {
		m.maxSharedOpt = dev.maxSharedOpt
	}
	if dev.clockKHz > 0 {
		m.clockHz = float64(dev.clockKHz) * 1e3
	}
	if dev.memClockKHz > 0 && dev.busWidth > 0 {
		// Double data rate: two transfers per memory clock.
		m.hbm = 2 * float64(dev.memClockKHz) * 1e3 * float64(dev.busWidth) / 8
	}
	if dev.l2Bytes > 0 {
		m.l2Bytes = int64(dev.l2Bytes)
	}
	if dev.sharedPerSM > 0 {
		m.sharedPerSM = dev.sharedPerSM
	}
	if dev.regsPerSM > 0 {
		m.regsPerSM = dev.regsPerSM
	}
	if dev.threadsPerSM > 0 {
		m.maxWarpsPerSM = dev.threadsPerSM / 32
	}
	return m
}

// What the model knows of the compiled kernels: the committed
// kernels/ptx/*.ptx of issue 11's kernel rewrite (commits 6d87c80 and,
// for the readout, e437a29) through
// ptxas 11.8 for sm_90,
//
//	ptxas -arch=sm_90 -v kernels/ptx/NAME.ptx -o NAME.cubin   (registers, static shared memory, no spills)
//	cuobjdump -sass NAME.cubin                                (the loops' instructions)
//
// counted per innermost loop between a backward branch and its target
// (kernels/REPORT.md has the same registers and hot-loop FP fractions). A
// kernel rewrite changes these numbers: rerun the commands, update the
// tables with the kernels, then PLANS.md (go test ./gpu -run
// TestPlansTable -update).

// stepFacts describes one instantiation of the step kernel (STEP_KERNEL
// in kernels/step.cu).
type stepFacts struct {
	regs, static int // registers per thread, static shared memory per block (bytes)
	tj           int // presynaptic rows per shared-memory slab (TJ)
	// Warp instructions per presynaptic row j in the inner loop, and
	// exposed shared-memory round trips per row (the loop is unrolled and
	// its vector loads issue together: one wait per unrolled iteration).
	jSlots, jStalls float64
	// Warp instructions per element a thread stages into the W and z
	// slabs; each staged element waits for its own load (the store after
	// it needs the value, and a warp issues in order), one round trip each.
	wSlots, zSlots float64
}

// The inner loops: s 166 instructions per 64 rows (f32) and 102 per 32
// (f64); m 82 per 16, 182 per 32; l 141 per 4, 86 per 8. Staging: about
// 172–184 instructions per 4 W elements and 276–288 per 4 z elements.
var stepKernelFacts = map[string]stepFacts{
	"step_f32_s": {regs: 99, static: 8976, tj: 64, jSlots: 166.0 / 64, jStalls: 1.0 / 64, wSlots: 180.0 / 4, zSlots: 276.0 / 4},
	"step_f32_m": {regs: 81, static: 5760, tj: 32, jSlots: 82.0 / 16, jStalls: 1.0 / 16, wSlots: 172.0 / 4, zSlots: 276.0 / 4},
	"step_f32_l": {regs: 124, static: 10240, tj: 16, jSlots: 141.0 / 4, jStalls: 1.0 / 4, wSlots: 172.0 / 4, zSlots: 276.0 / 4},
	"step_f64_s": {regs: 117, static: 17424, tj: 64, jSlots: 102.0 / 32, jStalls: 1.0 / 32, wSlots: 184.0 / 4, zSlots: 288.0 / 4},
	"step_f64_m": {regs: 96, static: 10880, tj: 32, jSlots: 182.0 / 32, jStalls: 1.0 / 32, wSlots: 178.0 / 4, zSlots: 286.0 / 4},
	"step_f64_l": {regs: 94, static: 9216, tj: 16, jSlots: 86.0 / 8, jStalls: 1.0 / 8, wSlots: 178.0 / 4, zSlots: 288.0 / 4},
}

// persistentFacts describes one persistent kernel (kernels/persistent.cu):
// its dot product dotUnits<T, NB, WS> is compiled for each exact trial
// count NB and each place of W, and runs U rows per iteration (dotRows)
// with the next iteration's W loaded ahead.
type persistentFacts struct {
	regs int
	// The dot loops' FP fraction (rounded operations over all
	// instructions): with one trial, and with two or more (the loops of
	// 2…16 trials range over 0.51–0.74; this is their mean).
	frac1, frac float64
	// The readout loop: warp instructions per j, and one wait per 16 j
	// (their loads of R issue together; R stays in L1).
	readoutSlots float64
}

var persistentKernelFacts = map[string]persistentFacts{
	"persistent_f32": {regs: 178, frac1: 0.45, frac: 0.577, readoutSlots: 119.0 / 16},
	"persistent_f64": {regs: 202, frac1: 0.45, frac: 0.482, readoutSlots: 119.0 / 16},
	// The same template with the rate form and per-unit activations
	// (withRateForm puts it in a persistent plan of such programs;
	// kernels/REPORT.md, "The rate form"). The model counts one product a
	// step: RK4's four are not in its estimate.
	"persistent_rate_f32": {regs: 203, frac1: 0.45, frac: 0.590, readoutSlots: 119.0 / 16},
	"persistent_rate_f64": {regs: 228, frac1: 0.45, frac: 0.491, readoutSlots: 119.0 / 16},
}

// dotRows is dotShape<T, NB>::U of kernels/persistent.cu: the rows one
// iteration of the persistent kernel's dot loop takes, about 128 bytes of
// z (64 for double), 1 to 8, with whole 8-byte runs.
func dotRows(elem, nb int) int {
	raw := 128 / (nb * elem)
	if elem == 8 {
		raw = 64 / (nb * elem)
	}
	u := min(max(raw, 1), 8)
	if nb*elem*u%8 != 0 {
		u--
	}
	return max(u, 1)
}

// readoutFacts describes the readout kernel (kernels/readout.cu): one
// thread per (instance, trial, output); a block stages slabs of tj rates
// of each of its trials in shared memory (readoutStage loads in flight per
// thread before their stores, L2 hits: the rates were just written), then
// each thread runs its serial sum over the slab, whose loads of R (an L1
// hit) issue 16 j at a time.
type readoutFacts struct {
	regs, static int
	tj           int     // rates per trial and slab
	jSlots       float64 // warp instructions per j of the sum (106 per 16)
	stageSlots   float64 // warp instructions per staged rate (124 per 4)
}

var readoutKernelFacts = map[string]readoutFacts{
	"readout_f32": {regs: 56, static: 17028, tj: 32, jSlots: 106.0 / 16, stageSlots: 124.0 / 4},
	"readout_f64": {regs: 56, static: 17544, tj: 16, jSlots: 107.0 / 16, stageSlots: 124.0 / 4},
}

// readoutStage is STAGE of kernels/readout.cu: the rates a thread loads
// before it stores them to shared memory.
const readoutStage = 4

// unitSlots estimates the warp instructions of one unit update (leak, two
// noise draws — Philox and Box–Muller each —, the activation, the checks
// and the recording) per precision: the static SASS of unitStep with noise
// and ReLU is 632 (f32) and 688 (f64) instructions, of which the rarely
// taken special-value branches are left out.
var unitSlots = [2]float64{500, 600}

// l2PerSM is what one SM moves to or from L2 per cycle, bytes (an
// assumption: 64 B, two 32-byte sectors).
const l2PerSM = 64

// l2Fit is the share of L2 the model lets a step's working set use and
// still count it as L2-resident from one step to the next (sets, other
// traffic and the recordings take the rest).
const l2Fit = 0.7

// recordedPerUnit is what the model counts as recorded per step: every
// rate and every output (bench's one-network programs record both every
// step; a sweep records only outputs, so the model overcounts it by K·B·N
// values per step, small beside its weights).
const recordedPerUnit = 1

// kernelLoad is the work of one kernel launch as the model sees it.
type kernelLoad struct {
	grid, threads int
	regs, shared  int     // registers per thread; shared memory per block (static + dynamic), bytes
	slots         float64 // warp instructions an average warp issues
	chain         float64 // cycles of one warp's critical path: its slots plus the waits it cannot hide itself
	fpPerBlock    float64 // rounded FP operations one block executes (padding lanes included)
	l2Bytes       float64 // the launch's traffic through L2
	dramBytes     float64 // the launch's traffic to and from device memory
}

// kernelTime is the model's verdict on one launch.
type kernelTime struct {
	blocksPerSM int     // resident at once: the least of the register, shared-memory, warp and block limits
	resident    int     // blocks resident on the busiest SM (≤ blocksPerSM)
	occupancy   float64 // resident warps over the SM's maximum, on the busiest SM
	waves       int     // rounds of resident blocks the busiest SM runs
	// Seconds: SM issue, one warp's latency chain, FP pipes, L2, DRAM.
	issue, latency, pipe, l2, dram float64
	seconds                        float64
	bound                          string // the term that sets seconds
}

// residency returns how many blocks of k one SM holds at once; 0 when not
// even one fits.
func (m deviceModel) residency(k kernelLoad) int {
	warps := ceilDiv(k.threads, 32)
	// Registers are allocated per warp in units of 256, from each
	// scheduler's quarter of the register file.
	perWarp := ceilDiv(max(k.regs, 1)*32, 256) * 256
	byRegs := m.regsPerSM / m.schedulers / perWarp * m.schedulers / warps
	byWarps := m.maxWarpsPerSM / warps
	byShared := m.sharedPerSM / (k.shared + m.sharedReserved)
	if k.shared > m.maxSharedOpt {
		byShared = 0
	}
	return max(0, min(m.maxBlocksPerSM, byRegs, byWarps, byShared))
}

// time estimates one launch of k; false when a block of k cannot be
// resident on an SM at all.
func (m deviceModel) time(k kernelLoad, prec backend.Precision) (kernelTime, bool) {
	var t kernelTime
	t.blocksPerSM = m.residency(k)
	if t.blocksPerSM == 0 || k.grid < 1 {
		return t, false
	}
	warps := ceilDiv(k.threads, 32)
	perSM := ceilDiv(k.grid, m.sms)
	t.resident = min(t.blocksPerSM, perSM)
	t.waves = ceilDiv(perSM, t.resident)
	t.occupancy = float64(t.resident*warps) / float64(m.maxWarpsPerSM)
	waves := float64(t.waves) / m.clockHz
	t.issue = waves * float64(ceilDiv(t.resident*warps, m.schedulers)) * k.slots
	t.latency = waves * k.chain
	t.pipe = waves * float64(t.resident) * k.fpPerBlock / float64(m.fpLanes[prec])
	t.l2 = max(k.l2Bytes/m.l2BW, k.l2Bytes/float64(k.grid)*float64(perSM)/(l2PerSM*m.clockHz))
	t.dram = k.dramBytes / m.hbm
	t.seconds, t.bound = maxTerm(term{"issue", t.issue}, term{"latency", t.latency}, term{"FP", t.pipe}, term{"L2", t.l2}, term{"DRAM", t.dram})
	return t, true
}

type term struct {
	name    string
	seconds float64
}

// maxTerm returns the largest term (the first of equals).
func maxTerm(ts ...term) (float64, string) {
	best := ts[0]
	for _, t := range ts[1:] {
		if t.seconds > best.seconds {
			best = t
		}
	}
	return best.seconds, best.name
}

// stepCost is the model's estimate of one step of a plan.
type stepCost struct {
	main      kernelTime // the step kernel or the persistent kernel
	readout   *kernelTime
	launches  int     // kernel launches per step (0 on the persistent path)
	blocks    int     // blocks of the main kernel
	threads   int     // threads per block of the main kernel
	shared    int     // shared memory per block of the main kernel, bytes
	l2Bytes   float64 // per step, all kernels
	dramBytes float64
	fpOps     float64 // the rounded FP operations a step needs: 2·K·B·((N+I+1)·N + N·O) + K·B·O
	fpTime    float64 // fpOps at the device's exact-mode throughput, seconds
	seconds   float64 // the estimate of one step
	bound     string  // what sets it: "launch", or kernel:term
}

// us is the estimate in microseconds.
func (c stepCost) us() float64 { return c.seconds * 1e6 }

func (c stepCost) String() string {
	return fmt.Sprintf("%.1f µs/step (%s), occupancy %.0f%%", c.us(), c.bound, 100*c.main.occupancy)
}

// usefulFP is the rounded FP operations one step of s needs, whatever the
// plan: the drive's multiply and add per (trial, unit, row), the
// readout's per (trial, output, unit), and its bias add.
func usefulFP(s backend.Shape) float64 {
	K, B, N, O := float64(s.Instances), float64(s.Trials), float64(s.Units), float64(s.Outputs)
	return 2*K*B*(float64(s.DriveRows())*N+N*O) + K*B*O
}

// recordBytes are the bytes one step records (see recordedPerUnit).
func recordBytes(s backend.Shape, elem int) float64 {
	K, B, N, O := float64(s.Instances), float64(s.Trials), float64(s.Units), float64(s.Outputs)
	return K * B * (recordedPerUnit*N + O) * float64(elem)
}

// weightBytes is the size of every instance's Drive.
func weightBytes(s backend.Shape, elem int) float64 {
	return float64(s.Instances) * float64(s.DriveRows()) * float64(s.Units) * float64(elem)
}

// fitsL2 says whether bytes of working set stay in m's L2 between steps.
func (m deviceModel) fitsL2(bytes float64) bool { return bytes <= l2Fit*float64(m.l2Bytes) }

// costOf estimates one step of pl on m; false when the plan cannot run
// there (a block that fits on no SM, a kernel the model has no facts of).
func (m deviceModel) costOf(pl plan) (stepCost, bool) {
	s, elem := pl.shape, pl.elem
	prec := precIndex(elem)
	c := stepCost{fpOps: usefulFP(s)}
	c.fpTime = c.fpOps / (float64(m.sms*m.fpLanes[prec]) * m.clockHz)
	if pl.kernel == Persistent {
		k, ok := m.persistentLoad(pl, prec)
		if !ok {
			return c, false
		}
		t, ok := m.time(k, prec)
		if !ok {
			return c, false
		}
		c.main, c.blocks, c.threads, c.shared = t, k.grid, k.threads, k.shared
		c.l2Bytes, c.dramBytes = k.l2Bytes, k.dramBytes
		c.seconds, c.bound = maxTerm(term{"persistent:" + t.bound, t.seconds}, term{"FP", c.fpTime})
		return c, true
	}

	k, ok := m.stepLoad(pl)
	if !ok {
		return c, false
	}
	t, ok := m.time(k, prec)
	if !ok {
		return c, false
	}
	c.main, c.blocks, c.threads, c.shared = t, k.grid, k.threads, k.shared
	c.l2Bytes, c.dramBytes = k.l2Bytes, k.dramBytes
	c.launches = 1
	device := []term{{"step:" + t.bound, t.seconds + m.launchGap}}
	if pl.readout != "" {
		rk, ok := m.readoutLoad(pl)
		if !ok {
			return c, false
		}
		rt, ok := m.time(rk, prec)
		if !ok {
			return c, false
		}
		c.readout = &rt
		c.launches++
		c.l2Bytes += rk.l2Bytes
		c.dramBytes += rk.dramBytes
		device = append(device, term{"readout:" + rt.bound, rt.seconds + m.launchGap})
	}
	// The kernels of a step run one after the other: their sum is the
	// device's time, named after the larger.
	var sum float64
	for _, d := range device {
		sum += d.seconds
	}
	_, name := maxTerm(device...)
	c.seconds, c.bound = maxTerm(term{name, sum}, term{"launch", float64(c.launches) * m.hostLaunch}, term{"FP", c.fpTime})
	return c, true
}

// stepLoad is one launch of pl's step kernel: a block stages slabs of TJ
// rows of its W tile (TN units) and z tile (TB trials) in shared memory,
// sums over them, then updates its TB × TN units.
func (m deviceModel) stepLoad(pl plan) (kernelLoad, bool) {
	f, ok := stepKernelFacts[pl.step]
	if !ok {
		return kernelLoad{}, false
	}
	s, e, t := pl.shape, float64(pl.elem), pl.stepTile
	K, B, N := s.Instances, s.Trials, s.Units
	rows := s.DriveRows()
	tn, tb, threads := t.units(), t.trials(), t.tx*t.ty
	full, rest := rows/f.tj, rows%f.tj // whole slabs, rows of the last one
	slabs := float64(ceilDiv(rows, f.tj))
	// A thread's share of a slab's staging loop, and of the loads in it:
	// elements outside W or z (units ≥ N, trials ≥ B) are zeros, stored
	// without a load.
	wIters := float64(ceilDiv(f.tj*tn, threads))
	zIters := float64(ceilDiv(f.tj*tb, threads))
	loads := func(cols int) float64 {
		n := float64(full * ceilDiv(f.tj*cols, threads))
		if rest > 0 {
			n += float64(ceilDiv(rest*cols, threads))
		}
		return n
	}
	wLoads, zLoads := loads(min(tn, N)), loads(min(tb, B))
	latW := m.latL2
	if !m.fitsL2(weightBytes(s, pl.elem)) {
		latW = m.latDRAM
	}
	perThread := float64(t.rb * t.rn) // unit updates per thread
	slots := slabs*(wIters*f.wSlots+zIters*f.zSlots+float64(f.tj)*f.jSlots+2) + perThread*unitSlots[precIndex(pl.elem)]
	// The error key's poll at the start, the slabs' loads, the unrolled
	// inner loop's shared loads and two barriers per slab, the unit
	// constants' loads at the end.
	chain := slots + m.latL2 + wLoads*latW + zLoads*m.latL2 +
		slabs*(float64(f.tj)*f.jStalls*m.latShared+2*m.latBarrier) + m.latL2
	grid := K * ceilDiv(N, tn) * ceilDiv(B, tb)
	kbn := float64(K) * float64(B) * float64(N)
	// Per step through L2: every block's W and z tiles (z holds the
	// previous rates); per unit, v and the four constants read, and v, the
	// rates and their recording written.
	l2 := float64(grid)*float64(rows)*float64(min(tn, N)+min(tb, B))*e + kbn*8*e
	dram := kbn * recordedPerUnit * e
	if ws := weightBytes(s, pl.elem) + kbn*3*e; !m.fitsL2(ws) {
		// W once (blocks of one W tile run close together and share it in
		// L2); v read and written, the previous rates read, the rates written.
		dram += weightBytes(s, pl.elem) + kbn*4*e
	}
	return kernelLoad{
		grid: grid, threads: threads, regs: f.regs, shared: f.static,
		slots: slots, chain: chain,
		fpPerBlock: 2 * float64(tn*tb) * float64(rows),
		l2Bytes:    l2, dramBytes: dram,
	}, true
}

// readoutLoad is one launch of the readout kernel: a block of 128
// threads, one per (instance, trial, output), stages its trials' rates slab
// by slab; each thread sums its trial's rates against one column of R.
func (m deviceModel) readoutLoad(pl plan) (kernelLoad, bool) {
	f, ok := readoutKernelFacts[pl.readout]
	if !ok {
		return kernelLoad{}, false
	}
	s, e := pl.shape, float64(pl.elem)
	N, O := s.Units, s.Outputs
	kbo := float64(s.Instances) * float64(s.Trials) * float64(s.Outputs)
	trials := min(s.Instances*s.Trials, ceilDiv(readoutThreads, O)+1) // a block's trials
	slabs := float64(ceilDiv(N, f.tj))
	staged := float64(ceilDiv(trials*f.tj, readoutThreads)) // rates a thread stages per slab
	slots := slabs*(staged*f.stageSlots+float64(f.tj)*f.jSlots+2) + 40
	// The staging loop keeps readoutStage loads in flight before its stores.
	waits := math.Ceil(staged / readoutStage)
	chain := slots + m.latL2 + slabs*(waits*m.latL2+float64(ceilDiv(f.tj, 16))*m.latL1+2*m.latBarrier)
	return kernelLoad{
		grid: pl.readoutGrid, threads: readoutThreads, regs: f.regs, shared: f.static,
		slots: slots, chain: chain,
		fpPerBlock: readoutThreads * 2 * float64(N),
		l2Bytes:    kbo*float64(N+2)*e + kbo/float64(O)*float64(N)*e, // R per thread, the output; the rates once per trial
		dramBytes:  kbo * e,                                          // the recorded output
	}, true
}

// persistentLoad is one step of pl's persistent kernel: a block of nt
// threads owns tb trials of one instance; a thread sums rows × its units
// for all the block's trials, updates them, then the block's first
// warp(s) compute the readout; three barriers and one poll of the error
// key per step.
func (m deviceModel) persistentLoad(pl plan, prec backend.Precision) (kernelLoad, bool) {
	f, ok := persistentKernelFacts[pl.persistent]
	if !ok {
		return kernelLoad{}, false
	}
	s, e := pl.shape, float64(pl.elem)
	K, B, N, I, O := s.Instances, s.Trials, s.Units, s.Inputs, s.Outputs
	rows := float64(s.DriveRows())
	nt := pl.threads
	warps := ceilDiv(nt, 32)
	nb := min(pl.tb, B) // trials of the fullest block
	blocks := K * ceilDiv(B, pl.tb)
	upt := float64(ceilDiv(N, nt)) // units per thread
	latW := m.latShared
	switch {
	case pl.wShared:
	case m.fitsL2(weightBytes(s, pl.elem)):
		latW = m.latL2
	default:
		latW = m.latDRAM
	}
	inIters := float64(ceilDiv(nb*I, nt))
	roItems := float64(ceilDiv(nb*O, nt))             // readout sums per thread
	roWarps := float64(min(warps, ceilDiv(nb*O, 32))) // warps that have one
	roSlots := roItems * float64(N) * f.readoutSlots
	roChain := roSlots + roItems*float64(ceilDiv(N, 16))*m.latL1
	// The dot loop: a row costs its 2·nb rounded operations over the loop's
	// FP fraction; an iteration of u rows waits for its z (shared memory)
	// and for what is left of the W load issued one iteration before.
	frac := f.frac
	if nb == 1 {
		frac = f.frac1
	}
	rowSlots := 2 * float64(nb) / frac
	u := float64(dotRows(pl.elem, nb))
	iters := math.Ceil(rows / u)
	iterWait := m.latShared + math.Max(0, latW-u*rowSlots)
	base := inIters*30 + upt*rows*rowSlots + upt*float64(nb)*unitSlots[prec] + 4
	chain := base + inIters*m.latL2 + upt*(iters*iterWait+latW) + upt*m.latL2 +
		roChain + m.latL2 + 3*m.latBarrier
	kb := float64(K) * float64(B)
	// Per step through L2: W for every block unless it sits in shared
	// memory; inputs; R for every block; the recordings.
	l2 := float64(blocks)*(float64(nb*I)+float64((N+1)*O))*e + recordBytes(s, pl.elem)
	dram := recordBytes(s, pl.elem)
	if !pl.wShared {
		l2 += float64(blocks) * rows * float64(N) * e
		if !m.fitsL2(weightBytes(s, pl.elem) + kb*float64(N)*e) {
			dram += weightBytes(s, pl.elem)
		}
	}
	return kernelLoad{
		grid: blocks, threads: nt, regs: f.regs, shared: pl.shmem,
		slots: base + roSlots*roWarps/float64(warps), chain: chain,
		fpPerBlock: 2 * float64(nb) * (rows*float64(N) + float64(N*O)),
		l2Bytes:    l2, dramBytes: dram,
	}, true
}

func precIndex(elem int) backend.Precision {
	if elem == 8 {
		return backend.F64
	}
	return backend.F32
}

// gflops is the rate of fp operations in seconds, in GFLOP/s.
func gflops(fp, seconds float64) float64 {
	if seconds <= 0 {
		return math.Inf(1)
	}
	return fp / seconds / 1e9
}
