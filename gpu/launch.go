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

// choosePlan decides how p's shape runs on dev with the requested kernel.
func choosePlan(s backend.Shape, prec backend.Precision, dev deviceInfo, want Kernel) (plan, error) {
	K, B, N, O := s.Instances, s.Trials, s.Units, s.Outputs
	elem := 4
	if prec == backend.F64 {
		elem = 8
	}
	pl := plan{shape: s, elem: elem, unitsOrOut: max(N, O)}

	// The error key (model.cuh) numbers every value of a step:
	// perStep = K·B·3·U·4 must leave room for the segment's steps in 64 bits.
	hi, perStep := bits.Mul64(uint64(K)*uint64(B), uint64(3*4*pl.unitsOrOut))
	if hi != 0 || perStep > 1<<62 {
		return pl, tooLarge{fmt.Errorf("cuda: %d instances × %d trials × %d units is too large for one run", K, B, N)}
	}
	pl.perStep = perStep
	pl.maxSegSteps = int(min((^uint64(0))/perStep-1, 1<<30))

	// Persistent kernel: the largest trial block that fits, then smaller
	// ones while the device would have idle multiprocessors.
	tb := min(B, persistentMaxTrials)
	for tb > 1 && persistentShared(s, elem, tb, false) > dev.maxSharedOpt {
		tb--
	}
	persistentOK := persistentShared(s, elem, tb, false) <= dev.maxSharedOpt
	if persistentOK {
		for tb > 1 && K*ceilDiv(B, tb) < dev.sms {
			tb--
		}
	}

	kind := want
	if kind == Auto {
		// Small networks: no launch per step beats everything. Larger
		// ones: the persistent kernel only pays when it fills the device.
		if persistentOK && (N <= 256 || N <= 4*persistentMaxThreads && K*ceilDiv(B, tb) >= dev.sms) {
			kind = Persistent
		} else {
			kind = Step
		}
	}
	if kind == Persistent && !persistentOK {
		return pl, fmt.Errorf("cuda: the persistent kernel cannot run %d units: z and v of one trial must fit in the %d bytes of shared memory a block may have; use the step kernel", N, dev.maxSharedOpt)
	}
	pl.kernel = kind
	suffix := "_" + prec.String()

	if kind == Persistent {
		pl.persistent = "persistent" + suffix
		pl.tb = tb
		pl.threads = min(persistentMaxThreads, ceilDiv(N, 32)*32)
		pl.wShared = persistentShared(s, elem, tb, true) <= dev.maxSharedOpt
		pl.shmem = persistentShared(s, elem, tb, pl.wShared)
		pl.persistentBlocks = K * ceilDiv(B, tb)
		if pl.persistentBlocks > maxGridX {
			return pl, tooLarge{fmt.Errorf("cuda: %d blocks exceed the grid limit", pl.persistentBlocks)}
		}
		return pl, nil
	}

	// Step tile: one trial per tile when there are one or two; large
	// register tiles when at least half their trials are real and they
	// still give every multiprocessor a block; the middle one otherwise.
	tiles := stepTiles[prec]
	t := tiles[1]
	switch l := tiles[2]; {
	case B <= 2:
		t = tiles[0]
	case 2*B >= l.trials() && K*ceilDiv(N, l.units())*ceilDiv(B, l.trials()) >= dev.sms:
		t = l
	}
	pl.step = "step" + suffix + "_" + t.suffix
	pl.stepTile = t
	pl.stepGrid = K * ceilDiv(N, t.units()) * ceilDiv(B, t.trials())
	if O > 0 {
		pl.readout = "readout" + suffix
		pl.readoutGrid = ceilDiv(K*B*O, readoutThreads)
	}
	if pl.stepGrid > maxGridX || pl.readoutGrid > maxGridX {
		return pl, tooLarge{fmt.Errorf("cuda: %d instances × %d trials exceed the grid limit", K, B)}
	}
	return pl, nil
}

// describe says what the plan launches, for logs and benchmarks.
func (pl plan) describe() string {
	if pl.kernel == Persistent {
		return fmt.Sprintf("%s: %d blocks × %d threads, %d trials per block, Drive in %s memory, %d B shared",
			pl.persistent, pl.persistentBlocks, pl.threads, pl.tb, map[bool]string{true: "shared", false: "global"}[pl.wShared], pl.shmem)
	}
	s := fmt.Sprintf("%s: %d blocks × %d×%d threads (tile %d units × %d trials) per step",
		pl.step, pl.stepGrid, pl.stepTile.tx, pl.stepTile.ty, pl.stepTile.units(), pl.stepTile.trials())
	if pl.readout != "" {
		s += fmt.Sprintf(", then %s: %d blocks", pl.readout, pl.readoutGrid)
	}
	return s
}

// withTile returns pl with the step kernel's tile replaced by the one with
// the given suffix.
func (pl plan) withTile(prec backend.Precision, suffix string) plan {
	for _, t := range stepTiles[prec] {
		if t.suffix == suffix {
			s := pl.shape
			pl.step = "step_" + prec.String() + "_" + t.suffix
			pl.stepTile = t
			pl.stepGrid = s.Instances * ceilDiv(s.Units, t.units()) * ceilDiv(s.Trials, t.trials())
		}
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
