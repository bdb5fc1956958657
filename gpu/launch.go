package gpu

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/ratesim/ratesim/backend"
)

// This file chooses how a program runs on a device: which kernel, which
// tile, how many threads and how much shared memory. It is plain Go with
// no CUDA in it, built (and tested) in every configuration.

// Kernel selects the kernel family a run uses.
type Kernel uint8

const (
	// Auto picks per program (see choosePlan).
	Auto Kernel = iota
	// Step launches the fused step kernel (and the readout kernel) once
	// per step: best for large networks.
	Step
	// Persistent launches the persistent kernel (kernels/persistent.cu)
	// once per Advance segment; it runs all the segment's steps itself, one
	// block per instance and block of trials: best for many small networks.
	Persistent
)

func (k Kernel) String() string {
	switch k {
	case Auto:
		return "auto"
	case Step:
		return "step"
	case Persistent:
		return "persistent"
	}
	return fmt.Sprintf("Kernel(%d)", uint8(k))
}

// deviceInfo is what planning needs to know about a device.
type deviceInfo struct {
	name          string
	totalMem      int64
	major, minor  int // compute capability
	sms           int // multiprocessors
	maxSharedOpt  int // dynamic shared memory a block may opt in to, bytes
	maxThreads    int // per block
	driverVersion int

	// What the cost model (cost.go) takes from the driver when it is
	// known; zero means unknown, and modelOf uses its compute capability's
	// defaults instead.
	clockKHz     int // SM clock (CU_DEVICE_ATTRIBUTE_CLOCK_RATE)
	memClockKHz  int // memory clock (CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)
	busWidth     int // memory bus, bits (CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)
	l2Bytes      int // CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE
	sharedPerSM  int // bytes (CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR)
	regsPerSM    int // CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR
	threadsPerSM int // CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR
}

// tile is one instantiation of the step kernel: a block of tx × ty threads,
// each computing rb trials × rn units. It must match the STEP_KERNEL lines
// of kernels/step.cu.
type tile struct {
	suffix         string
	tx, ty, rn, rb int
}

func (t tile) units() int  { return t.tx * t.rn }
func (t tile) trials() int { return t.ty * t.rb }

var stepTiles = map[backend.Precision][3]tile{
	backend.F32: {{"s", 32, 1, 1, 1}, {"m", 32, 4, 1, 2}, {"l", 16, 16, 4, 4}},
	backend.F64: {{"s", 32, 1, 1, 1}, {"m", 32, 4, 1, 2}, {"l", 16, 16, 2, 2}},
}

const (
	persistentMaxTrials  = 16  // TBMAX of the persistent kernels in kernels/persistent.cu
	persistentMaxThreads = 256 // their __launch_bounds__
	readoutThreads       = 128
	gatherThreads        = 128 // __launch_bounds__ of kernels/gather.cu
	plasticThreads       = 128
	maxGridX             = 1<<31 - 1
)

// plan is how one program runs.
type plan struct {
	shape  backend.Shape
	kernel Kernel

	// Step path.
	step        string // kernel name
	stepTile    tile
	stepGrid    int
	readout     string
	readoutGrid int
	plastic     string // the plasticity kernel of a plastic program
	// gather says that step is the gathered-drive kernel
	// (kernels/gather.cu, one thread per unit and trial, stepGrid blocks of
	// gatherThreads) instead of a tile of step.cu: the plan of a program
	// with delays or a sparse drive (withGather).
	gather bool

	// Persistent path.
	persistent       string // kernel name
	tb               int    // trials per block
	threads          int    // threads per block
	wShared          bool   // Drive staged in shared memory
	shmem            int    // dynamic shared memory per block, bytes
	persistentBlocks int

	perStep     uint64 // error-key stride of one step (see model.cuh)
	maxSegSteps int    // steps one segment may hold before the error key overflows
	elem        int    // bytes per value
	unitsOrOut  int    // U = max(N, O)

	model deviceModel // the device the plan was made for
	cost  stepCost    // the model's estimate of one step (cost.go)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// persistentShared returns the dynamic shared memory of the persistent
// kernel in bytes for tb trials per block: [W: rows·N] [z: 2·rows·tb]
// [v: tb·N].
func persistentShared(s backend.Shape, elem, tb int, wShared bool) int {
	rows, N := s.DriveRows(), s.Units
	n := 2*rows*tb + tb*N
	if wShared {
		n += rows * N
	}
	return n * elem
}

// errTooLarge marks errors after which the same program may run when split
// into shards (see shard.go): the grid limit, the error key's range, device
// memory.
var errTooLarge = errors.New("too large for one device run")

// tooLarge wraps err so that errors.Is(err, errTooLarge) holds.
type tooLarge struct{ err error }

func (e tooLarge) Error() string   { return e.err.Error() }
func (e tooLarge) Unwrap() []error { return []error{e.err, errTooLarge} }

func isTooLarge(err error) bool { return errors.Is(err, errTooLarge) }

// choosePlan decides how p's shape runs on dev with the requested kernel:
// of the candidate plans (every step-kernel tile; every persistent trial
// block 1…TBMAX that fits, with Drive in shared memory where it fits and
// in global memory), the one the cost model (cost.go) estimates cheapest
// per step. Auto considers the persistent kernel only where it keeps W on
// chip, or has at least one block per multiprocessor, or gives every trial
// its own block (tb = 1: all the independent blocks the program has):
// never a few blocks of grouped trials, each re-reading W from L2 every
// step, while most of the device idles. Step and Persistent choose among
// their own kernel's candidates. The plan sees only the shape: start asks
// for Step for programs the persistent kernel does not run (plastic ones,
// gathered drives), and sizes a persistent plan of an RK4 program anew
// (withRateForm in rateform.go: its stages need more shared memory).
func choosePlan(s backend.Shape, prec backend.Precision, dev deviceInfo, want Kernel) (plan, error) {
	return planOn(s, prec, modelOf(dev), want)
}

// planOn is choosePlan on the device model m.
func planOn(s backend.Shape, prec backend.Precision, m deviceModel, want Kernel) (plan, error) {
	cands, err := planCandidates(s, prec, m, want)
	if err != nil {
		return plan{}, err
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if c.cost.seconds < best.cost.seconds {
			best = c
		}
	}
	return best, nil
}

// planCandidates returns the plans choosePlan chooses among, each with its
// estimate, in a fixed order (step tiles s, m, l; then persistent trial
// blocks from the largest, W in shared memory first); the first of equal
// estimates wins. The errors are choosePlan's.
func planCandidates(s backend.Shape, prec backend.Precision, m deviceModel, want Kernel) ([]plan, error) {
	K, B, N, O := s.Instances, s.Trials, s.Units, s.Outputs
	elem := 4
	if prec == backend.F64 {
		elem = 8
	}
	base := plan{shape: s, elem: elem, unitsOrOut: max(N, O), model: m}

	// The error key (model.cuh) numbers every value of a step:
	// perStep = K·B·3·U·4 must leave room for the segment's steps in 64 bits.
	hi, perStep := bits.Mul64(uint64(K)*uint64(B), uint64(3*4*base.unitsOrOut))
	if hi != 0 || perStep > 1<<62 {
		return nil, tooLarge{fmt.Errorf("cuda: %d instances × %d trials × %d units is too large for one run", K, B, N)}
	}
	base.perStep = perStep
	base.maxSegSteps = int(min((^uint64(0))/perStep-1, 1<<30))

	var cands []plan
	add := func(pl plan) { // pl with its estimate, unless the model says it cannot run
		if _, ok := m.costOf(pl); ok {
			cands = append(cands, pl)
		}
	}
	stepGridOver, persistentBlocks := false, 0 // persistentBlocks: the fewest over the grid limit
	if want != Persistent {
		for _, t := range stepTiles[prec] {
			pl := base.withTile(prec, t.suffix)
			if pl.stepGrid > maxGridX || pl.readoutGrid > maxGridX {
				stepGridOver = true
				continue
			}
			add(pl)
		}
	}
	persistentFits := false
	if want != Step {
		for tb := min(B, persistentMaxTrials); tb >= 1; tb-- {
			if persistentShared(s, elem, tb, false) > m.maxSharedOpt {
				continue
			}
			persistentFits = true
			blocks := K * ceilDiv(B, tb)
			if blocks > maxGridX {
				if persistentBlocks == 0 {
					persistentBlocks = blocks
				}
				continue
			}
			for _, wShared := range []bool{true, false} {
				if wShared && persistentShared(s, elem, tb, true) > m.maxSharedOpt {
					continue
				}
				if want == Auto && !wShared && blocks < m.sms && tb > 1 {
					continue // trials grouped while multiprocessors idle, each block re-reading W
				}
				add(base.withPersistent(prec, tb, wShared))
			}
		}
	}
	if len(cands) > 0 {
		return cands, nil
	}
	switch {
	case want == Persistent && !persistentFits:
		return nil, fmt.Errorf("cuda: the persistent kernel cannot run %d units: z and v of one trial must fit in the %d bytes of shared memory a block may have; use the step kernel", N, m.maxSharedOpt)
	case persistentBlocks > 0 && want == Persistent:
		return nil, tooLarge{fmt.Errorf("cuda: %d blocks exceed the grid limit", persistentBlocks)}
	case stepGridOver || persistentBlocks > 0:
		return nil, tooLarge{fmt.Errorf("cuda: %d instances × %d trials exceed the grid limit", K, B)}
	}
	return nil, fmt.Errorf("cuda: no plan for %d instances × %d trials × %d units fits %s", K, B, N, m.name)
}

// describe says what the plan launches, for logs and benchmarks.
func (pl plan) describe() string {
	if pl.kernel == Persistent {
		return fmt.Sprintf("%s: %d blocks × %d threads, %d trials per block, Drive in %s memory, %d B shared; model: %v",
			pl.persistent, pl.persistentBlocks, pl.threads, pl.tb, map[bool]string{true: "shared", false: "global"}[pl.wShared], pl.shmem, pl.cost)
	}
	s := fmt.Sprintf("%s: %d blocks × %d×%d threads (tile %d units × %d trials) per step",
		pl.step, pl.stepGrid, pl.stepTile.tx, pl.stepTile.ty, pl.stepTile.units(), pl.stepTile.trials())
	if pl.gather {
		s = fmt.Sprintf("%s: %d blocks × %d threads (one per unit and trial) per step", pl.step, pl.stepGrid, gatherThreads)
	}
	if pl.readout != "" {
		s += fmt.Sprintf(", then %s: %d blocks", pl.readout, pl.readoutGrid)
	}
	return s + fmt.Sprintf("; model: %v", pl.cost)
}

// withTile returns pl as a step-kernel plan with the tile of the given
// suffix (the tile unchanged when no tile has it), with its estimate on
// the device it was made for.
func (pl plan) withTile(prec backend.Precision, suffix string) plan {
	for _, t := range stepTiles[prec] {
		if t.suffix == suffix {
			s := pl.shape
			pl.kernel = Step
			pl.step = "step_" + prec.String() + "_" + t.suffix
			pl.stepTile = t
			pl.stepGrid = s.Instances * ceilDiv(s.Units, t.units()) * ceilDiv(s.Trials, t.trials())
			pl.readout, pl.readoutGrid = "", 0
			if s.Outputs > 0 {
				pl.readout = "readout_" + prec.String()
				pl.readoutGrid = ceilDiv(s.Instances*s.Trials*s.Outputs, readoutThreads)
			}
		}
	}
	if pl.model.sms > 0 {
		pl.cost, _ = pl.model.costOf(pl)
	}
	return pl
}

// withGather returns pl, a step-kernel plan, with the gathered-drive
// kernel in place of the step tile: the kernel of programs with synaptic
// delays or a sparse drive (the readout is the step path's). Its estimate
// stays the dense step's (the cost model has no sparse term yet). It fails
// when the grid exceeds the device's limit.
func (pl plan) withGather(prec backend.Precision) (plan, error) {
	s := pl.shape
	pl.kernel = Step
	pl.gather = true
	pl.step = "gather_" + prec.String()
	pl.stepTile = tile{}
	pl.stepGrid = ceilDiv(s.Instances*s.Trials*s.Units, gatherThreads)
	if pl.stepGrid > maxGridX {
		return plan{}, tooLarge{fmt.Errorf("cuda: %d instances × %d trials × %d units exceed the gathered kernel's grid limit", s.Instances, s.Trials, s.Units)}
	}
	return pl, nil
}

// withPersistent returns pl as a persistent-kernel plan with tb trials per
// block and Drive in shared memory or not, and its estimate on the device
// it was made for.
func (pl plan) withPersistent(prec backend.Precision, tb int, wShared bool) plan {
	s := pl.shape
	pl.kernel = Persistent
	pl.persistent = "persistent_" + prec.String()
	pl.tb = tb
	pl.threads = min(persistentMaxThreads, ceilDiv(s.Units, 32)*32)
	pl.wShared = wShared
	pl.shmem = persistentShared(s, pl.elem, tb, wShared)
	pl.persistentBlocks = s.Instances * ceilDiv(s.Trials, tb)
	if pl.model.sms > 0 {
		pl.cost, _ = pl.model.costOf(pl)
	}
	return pl
}

// segmentSteps is how many steps one launch segment may hold: the input and
// recording buffers of a segment stay within budget bytes (at least one
// step), and the error key must not overflow.
func segmentSteps(p recShape, budget int64, pl plan) int {
	stride := int64(max(1, p.stride))
	perStep := p.inputBytesPerStep + (p.recordBytes+stride-1)/stride
	n := pl.maxSegSteps
	if perStep > 0 {
		n = int(min(int64(n), max(1, budget/perStep)))
	}
	return max(1, n)
}

// recShape is what segmentSteps needs of a program.
type recShape struct {
	inputBytesPerStep int64 // K'·B·I values
	recordBytes       int64 // one recorded step: K·B·(N·(rates+states) + O·outputs) values
	stride            int
}
