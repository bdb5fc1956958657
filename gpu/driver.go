//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/ratesim/ratesim/kernels"
)

// dptr is a device address (cu.DevicePtr, or an emulator address).
type dptr = kernels.DevicePtr

// driver is what the backend needs of a device. device.go implements it on
// the CUDA driver through gorgonia.org/cu; emu.go (tag cudaemu) on the host
// emulator of package gpu/internal/emu, so that everything above this
// interface is tested without a GPU.
//
// There is one driver per device per process (sharedDriver): one context
// and one set of loaded modules, shared by every Backend and run on that
// device. Runs allocate and free their own memory in it. A sticky device
// fault (an illegal address, a trap: *deviceFault) leaves the context
// unusable; the driver then destroys it and makes a new one before the next
// do, and counts a new generation, so that runs started in the old context
// know their memory is gone (calls.generation).
type driver interface {
	info() deviceInfo
	// do runs f with exclusive use of the device. On CUDA, f runs on the
	// one OS thread that holds the context, so a whole segment of launches
	// costs one hand-over; f must not block on other device work.
	do(f func(c calls) error) error
}

// stream names a queue of device work (a CUDA stream); nullStream is the
// legacy default stream, which waits for, and is waited for by, every
// other stream. Work on one stream runs in order; streams order against
// each other only through events.
type stream int

const nullStream stream = 0

// event marks a point in a stream's work (a CUDA event).
type event int

// hostBuf is page-locked ("pinned") host memory from calls.allocHost, which
// asynchronous copies may read and write while the host goes on. Its bytes
// are defined only while no copy into it is pending.
type hostBuf struct {
	p unsafe.Pointer
	n int64
}

// at returns the n bytes of h at off.
func (h hostBuf) at(off, n int64) hostBuf {
	if off < 0 || n < 0 || off+n > h.n {
		panic(fmt.Sprintf("gpu: host buffer range [%d, %d) outside %d bytes", off, off+n, h.n))
	}
	return hostBuf{unsafe.Add(h.p, off), n}
}

// hostSlice views h's first n values as a []T.
func hostSlice[T any](h hostBuf, n int) []T {
	if n == 0 {
		return nil
	}
	var z T
	if int64(n)*int64(unsafe.Sizeof(z)) > h.n {
		panic(fmt.Sprintf("gpu: %d values do not fit a host buffer of %d bytes", n, h.n))
	}
	return unsafe.Slice((*T)(h.p), n)
}

// calls are the device operations, valid only inside driver.do. Every
// pointer, host buffer, stream and event belongs to the context of the
// generation it was made in.
type calls interface {
	// generation counts the device's contexts: it changes when a fault
	// made the driver replace the context, and everything made in an
	// earlier generation is gone (and must not be freed or used).
	generation() uint64
	// launchBlocking reports whether every launch waits for its kernel
	// (CUDA_LAUNCH_BLOCKING=1), so that a device fault is reported by the
	// launch of the kernel that caused it.
	launchBlocking() bool

	// alloc returns bytes of device memory; what names it in errors.
	alloc(bytes int64, what string) (dptr, error)
	// free releases p; it waits for the device work in flight.
	free(p dptr)
	// allocHost returns bytes of pinned host memory.
	allocHost(bytes int64, what string) (hostBuf, error)
	freeHost(h hostBuf)
	newStream() (stream, error)
	destroyStream(s stream)
	newEvent() (event, error)
	destroyEvent(e event)

	// htod and dtoh copy synchronously on the null stream (after the
	// device's work in flight) from and to pageable memory.
	htod(dst dptr, src unsafe.Pointer, bytes int64) error
	dtoh(dst unsafe.Pointer, src dptr, bytes int64) error
	// htodAsync queues a copy from pinned src on s: src must not change
	// until the copy has run (an event after it has been reached).
	htodAsync(dst dptr, src hostBuf, s stream) error
	// dtohAsync queues a copy into pinned dst on s: dst holds the values
	// only once an event recorded after it on s has been reached.
	dtohAsync(dst hostBuf, src dptr, s stream) error
	// launch queues kernel with args on s. args is its module's argument
	// struct from kernels/args.go (kernels.StepArgs for step_f32_s, …),
	// which it checks against the kernel's parameter list
	// (kernels.CheckArgs) and passes as one 8-byte word per parameter.
	launch(s stream, kernel string, grid, block [3]uint32, shmem int, args kernels.Args) error
	// record marks e at the end of the work queued on s so far; wait makes
	// the work queued on s from now on wait until e is reached.
	record(e event, s stream) error
	wait(s stream, e event) error
	// syncEvent waits until e is reached and reports the device's errors.
	syncEvent(e event) error
	// sync waits for every queued work and reports the device's errors.
	sync() error
}

// deviceFault is a sticky device error (CUDA_ERROR_ILLEGAL_ADDRESS, a trap,
// a hardware error, or in the emulator an out-of-bounds write): every call
// of the context returns it until the driver replaces the context.
type deviceFault struct {
	name string // the CUDA error's name, CUDA_ERROR_ILLEGAL_ADDRESS
	msg  string // its description, "an illegal memory access was encountered"
}

func (e *deviceFault) Error() string { return fmt.Sprintf("%s (%s)", e.msg, e.name) }

func isDeviceFault(err error) bool {
	var f *deviceFault
	return errors.As(err, &f)
}

// errContextLost is the error of a run whose context the driver replaced
// after a fault (its own or another run's on the same device).
var errContextLost = errors.New("cuda: the device's context was replaced after a device fault; this run's device memory is gone (start the program again)")

// launchBlockingEnv reports CUDA_LAUNCH_BLOCKING=1, the CUDA variable that
// makes every launch wait for its kernel; the driver follows it too, to
// name the kernel that faulted.
func launchBlockingEnv() bool { return os.Getenv("CUDA_LAUNCH_BLOCKING") == "1" }

// The process's drivers, one per device ordinal, made on first use and kept
// for the life of the process: contexts and loaded modules are expensive
// (the driver JIT-compiles the PTX when CUDA_CACHE_PATH holds no copy).
var drivers struct {
	mu sync.Mutex
	m  map[int]*sharedEntry
}

type sharedEntry struct {
	drv driver
	err error
}

// sharedDriver returns the process's driver of device ordinal, opening it
// on first use; a device that cannot be opened keeps its error.
func sharedDriver(ordinal int) (driver, error) {
	drivers.mu.Lock()
	defer drivers.mu.Unlock()
	if drivers.m == nil {
		drivers.m = map[int]*sharedEntry{}
	}
	e, ok := drivers.m[ordinal]
	if !ok {
		e = &sharedEntry{}
		e.drv, e.err = openDriver(ordinal)
		drivers.m[ordinal] = e
	}
	return e.drv, e.err
}
