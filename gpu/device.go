//go:build cuda && !cudaemu

package gpu

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/kernels"
)

// This file is the backend's device layer on the CUDA driver API, through
// gorgonia.org/cu. Pitfalls it avoids (ARCHITECTURE.md, "The CUDA backend's constraints"):
//
//   - A context is current per OS thread. One goroutine, locked to its
//     thread with runtime.LockOSThread for the life of the process, creates
//     the context and makes every driver call; others hand it closures
//     over a channel (cudaDriver.do). cu.Ctx, which does the same with its
//     own goroutine, is not used: calling cu.Ctx methods inside ctx.Do
//     deadlocks, and there is no (*cu.Ctx).LoadData.
//   - cu copies 8 bytes from each kernel argument pointer: every argument
//     is a uint64 (pointers are cu.DevicePtr values, integers widened),
//     as the generated argument structs of kernels/args.go pack them.
//   - cu's init calls cuInit and exits the process when that fails, before
//     any of this code runs; see README.md.
//   - One context per device per process (sharedDriver in driver.go):
//     creating one and loading the modules costs seconds, most of it the
//     driver's JIT compilation of the PTX (cached by the driver under
//     CUDA_CACHE_PATH, see doc.go). Modules load on the first launch of one
//     of their kernels. After a sticky fault the context is destroyed and
//     made again on the next do (recreate).

// emulated says whether this build runs the kernels on the host emulator.
const emulated = false

func listDevices() ([]backend.Device, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: cannot count devices: %v (is the NVIDIA driver loaded? try nvidia-smi)", err)
	}
	if n == 0 {
		return nil, errors.New("cuda: no CUDA device visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)")
	}
	devs := make([]backend.Device, 0, n)
	for i := 0; i < n; i++ {
		inf, err := deviceInfoOf(cu.Device(i))
		if err != nil {
			return nil, err
		}
		devs = append(devs, backend.Device{
			Name: fmt.Sprintf("%s (GPU %d)", inf.name, i),
			Detail: fmt.Sprintf("%.1f GiB, compute capability %d.%d, %d SMs, %d KiB shared memory per block, CUDA driver %d.%d",
				float64(inf.totalMem)/(1<<30), inf.major, inf.minor, inf.sms, inf.maxSharedOpt>>10,
				inf.driverVersion/1000, inf.driverVersion%1000/10),
		})
	}
	return devs, nil
}

func deviceInfoOf(d cu.Device) (deviceInfo, error) {
	var inf deviceInfo
	var err error
	if inf.name, err = d.Name(); err != nil {
		return inf, fmt.Errorf("cuda: device %d: %v", int(d), err)
	}
	if inf.totalMem, err = d.TotalMem(); err != nil {
		return inf, fmt.Errorf("cuda: device %d: %v", int(d), err)
	}
	for _, a := range []struct {
		dst  *int
		attr cu.DeviceAttribute
	}{
		{&inf.major, cu.ComputeCapabilityMajor},
		{&inf.minor, cu.ComputeCapabilityMinor},
		{&inf.sms, cu.MultiprocessorCount},
		{&inf.maxSharedOpt, maxSharedPerBlockOptin},
		{&inf.maxThreads, cu.MaxThreadsPerBlock},
	} {
		if *a.dst, err = d.Attribute(a.attr); err != nil {
			return inf, fmt.Errorf("cuda: device %d: attribute %d: %v", int(d), a.attr, err)
		}
	}
	// What the cost model refines its device model with (launch.go's
	// modelOf); a driver that cannot tell leaves 0, and the model's
	// defaults for the compute capability stand.
	for _, a := range []struct {
		dst  *int
		attr cu.DeviceAttribute
	}{
		{&inf.clockKHz, cu.ClockRate},
		{&inf.memClockKHz, cu.MemoryClockRate},
		{&inf.busWidth, cu.GlobalMemoryBusWidth},
		{&inf.l2Bytes, cu.L2CacheSize},
		{&inf.sharedPerSM, cu.MaxSharedMemoryPerMultiprocessor},
		{&inf.regsPerSM, cu.MaxRegistersPerMultiprocessor},
		{&inf.threadsPerSM, cu.MaxThreadsPerMultiprocessor},
	} {
		if v, err := d.Attribute(a.attr); err == nil && v > 0 {
			*a.dst = v
		}
	}
	inf.driverVersion = cu.Version()
	return inf, nil
}

// cudaDriver owns one device's context on one locked OS thread. Its fields
// are the device thread's only.
type cudaDriver struct {
	dev      cu.Device
	inf      deviceInfo
	work     chan func()
	blocking bool

	ctx     cu.CUContext
	gen     uint64
	fault   *deviceFault // the sticky fault that broke ctx, if any
	fns     map[string]cu.Function
	streams map[stream]cu.Stream
	events  map[event]cu.Event
	handles int
}

func openDriver(ordinal int) (driver, error) {
	n, err := cu.NumDevices()
	if err != nil || ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda: no device %d (%d visible, %v)", ordinal, n, err)
	}
	d := &cudaDriver{dev: cu.Device(ordinal), work: make(chan func()), blocking: launchBlockingEnv()}
	ready := make(chan error)
	go d.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// loop is the device's goroutine: it never unlocks its thread, because the
// context stays current on it for the life of the process.
func (d *cudaDriver) loop(ready chan<- error) {
	runtime.LockOSThread()
	inf, err := deviceInfoOf(d.dev)
	if err == nil {
		d.inf = inf
		err = d.makeContext()
	}
	ready <- err
	if err != nil {
		return
	}
	for f := range d.work {
		f()
	}
}

// makeContext creates the context, current on this thread from then on,
// with empty tables of modules, streams and events.
func (d *cudaDriver) makeContext() error {
	// Blocking sync: a waiting host thread sleeps instead of spinning on a
	// core the CPU backend or the user may need.
	ctx, err := d.dev.MakeContext(cu.SchedBlockingSync)
	if err != nil {
		return fmt.Errorf("cuda: cannot create a context on %s: %v", d.inf.name, err)
	}
	d.ctx, d.fault = ctx, nil
	d.fns, d.streams, d.events = map[string]cu.Function{}, map[stream]cu.Stream{}, map[event]cu.Event{}
	return nil
}

// recreate replaces the context a sticky fault broke: destroying it frees
// everything made in it (device and pinned memory, streams, events,
// modules).
func (d *cudaDriver) recreate() error {
	fault := d.fault
	_ = d.ctx.Destroy()
	d.gen++
	if err := d.makeContext(); err != nil {
		d.fault = fault
		return fmt.Errorf("cuda: device %d is unusable in this process after %v: %w; restart the process", int(d.dev), fault, err)
	}
	return nil
}

func (d *cudaDriver) info() deviceInfo { return d.inf }

func (d *cudaDriver) do(f func(c calls) error) error {
	done := make(chan error, 1)
	d.work <- func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("cuda: panic on the device thread: %v", p)
			}
		}()
		if d.fault != nil {
			if err := d.recreate(); err != nil {
				done <- err
				return
			}
		}
		done <- f(d)
	}
	return <-done
}

func (d *cudaDriver) generation() uint64   { return d.gen }
func (d *cudaDriver) launchBlocking() bool { return d.blocking }

// sticky are the CUDA errors after which the context cannot be used.
var sticky = []error{
	cu.IllegalAddress, cu.LaunchTimeout, cu.HardwareStackError, cu.IllegalInstruction,
	cu.MisalignedAddress, cu.InvalidAddressSpace, cu.InvalidPc, cu.LaunchFailed,
	cu.Assert, cu.EccUncorrectable, cu.NvlinkUncorrectable, cu.ContextIsDestroyed, cu.Unknown,
}

func isSticky(err error) bool {
	for _, s := range sticky {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// check turns a sticky error into the context's fault, which it returns
// from then on; other errors pass.
func (d *cudaDriver) check(err error) error {
	if err == nil {
		return nil
	}
	if d.fault == nil && isSticky(err) {
		code := -1
		if v := reflect.ValueOf(err); v.CanInt() {
			code = int(v.Int())
		}
		name, desc := errorText(code)
		d.fault = &deviceFault{name: name, msg: desc}
	}
	if d.fault != nil {
		return d.fault
	}
	return err
}

// function returns kernel, loading its module on first use.
func (d *cudaDriver) function(kernel string) (cu.Function, error) {
	if fn, ok := d.fns[kernel]; ok {
		return fn, nil
	}
	m, ok := kernels.ModuleOf(kernel)
	if !ok {
		return cu.Function{}, fmt.Errorf("cuda: no kernel %s in the embedded modules (run make kernels)", kernel)
	}
	image := kernels.Image(m)
	if image == "" {
		image = kernels.PTX(m) // a module without machine code: the driver JIT-compiles it
	}
	mod, err := cu.LoadData(image)
	if err != nil {
		if err := d.check(err); isDeviceFault(err) {
			return cu.Function{}, err
		}
		return cu.Function{}, fmt.Errorf("cuda: loading the embedded module %q (a fat binary: sm_80 and sm_90 machine code and compute_70 PTX) failed: %v; on other GPUs the driver compiles the PTX, which needs PTX ISA 7.8 support (CUDA 11.8, driver ≥ 520): update the driver, or rebuild the kernels with an older nvcc (make kernels)", m, err)
	}
	for _, k := range kernels.Kernels() {
		if km, _ := kernels.ModuleOf(k); km != m {
			continue
		}
		fn, err := mod.Function(k)
		if err != nil {
			return cu.Function{}, fmt.Errorf("cuda: kernel %s not found in module %s: %v (run make kernels)", k, m, err)
		}
		// The persistent kernels keep Drive in shared memory: let them
		// use all a block may have (above 48 KiB needs this opt-in).
		if strings.HasPrefix(k, "persistent_") {
			if err := setMaxDynamicShared(fn, d.inf.maxSharedOpt); err != nil {
				return cu.Function{}, fmt.Errorf("cuda: %s: cannot allow %d bytes of shared memory: %v", k, d.inf.maxSharedOpt, err)
			}
		}
		d.fns[k] = fn
	}
	return d.fns[kernel], nil
}

func (d *cudaDriver) alloc(n int64, what string) (dptr, error) {
	if d.fault != nil {
		return 0, d.fault
	}
	p, err := cu.MemAlloc(n)
	if err != nil {
		if errors.Is(err, cu.OutOfMemory) {
			free, total, _ := cu.MemInfo()
			return 0, oomError(what, n, free, total)
		}
		if err := d.check(err); isDeviceFault(err) {
			return 0, err
		}
		return 0, fmt.Errorf("cuda: allocating the %s (%d bytes): %v", what, n, err)
	}
	return dptr(p), nil
}

func (d *cudaDriver) free(p dptr) { _ = d.check(cu.MemFree(cu.DevicePtr(p))) }

func (d *cudaDriver) allocHost(n int64, what string) (hostBuf, error) {
	if d.fault != nil {
		return hostBuf{}, d.fault
	}
	p, oom, err := memHostAlloc(n)
	if err != nil {
		if oom {
			return hostBuf{}, tooLarge{fmt.Errorf("cuda: out of page-locked host memory allocating the %s (%.1f MiB): %v", what, mib(n), err)}
		}
		return hostBuf{}, fmt.Errorf("cuda: allocating the %s: %v", what, err)
	}
	return hostBuf{p, n}, nil
}

func (d *cudaDriver) freeHost(h hostBuf) { _ = d.check(cu.MemFreeHost(h.p)) }

func (d *cudaDriver) newStream() (stream, error) {
	if d.fault != nil {
		return 0, d.fault
	}
	// A blocking stream: the null stream's synchronous copies of State
	// and Weights wait for its work.
	s, err := cu.MakeStream(cu.DefaultStream)
	if err != nil {
		return 0, fmt.Errorf("cuda: cannot create a stream: %w", d.check(err))
	}
	d.handles++
	h := stream(d.handles)
	d.streams[h] = s
	return h, nil
}

func (d *cudaDriver) destroyStream(s stream) {
	if cs, ok := d.streams[s]; ok {
		_ = d.check(cs.Destroy())
		delete(d.streams, s)
	}
}

func (d *cudaDriver) newEvent() (event, error) {
	if d.fault != nil {
		return 0, d.fault
	}
	e, err := cu.MakeEvent(cu.DisableTiming | cu.BlockingSyncEvent)
	if err != nil {
		return 0, fmt.Errorf("cuda: cannot create an event: %w", d.check(err))
	}
	d.handles++
	h := event(d.handles)
	d.events[h] = e
	return h, nil
}

func (d *cudaDriver) destroyEvent(e event) {
	if ce, ok := d.events[e]; ok {
		_ = d.check(cu.DestroyEvent(&ce))
		delete(d.events, e)
	}
}

// cuStream returns s's CUDA stream (cu.NoStream for the null stream).
func (d *cudaDriver) cuStream(s stream) (cu.Stream, error) {
	if s == nullStream {
		return cu.NoStream, nil
	}
	cs, ok := d.streams[s]
	if !ok {
		return cu.NoStream, fmt.Errorf("cuda: stream %d is not of this context", s)
	}
	return cs, nil
}

func (d *cudaDriver) htod(dst dptr, src unsafe.Pointer, n int64) error {
	if d.fault != nil {
		return d.fault
	}
	if err := cu.MemcpyHtoD(cu.DevicePtr(dst), src, n); err != nil {
		return fmt.Errorf("cuda: copy to device: %w", d.check(err))
	}
	return nil
}

func (d *cudaDriver) dtoh(dst unsafe.Pointer, src dptr, n int64) error {
	if d.fault != nil {
		return d.fault
	}
	if err := cu.MemcpyDtoH(dst, cu.DevicePtr(src), n); err != nil {
		return fmt.Errorf("cuda: copy from device: %w", d.check(err))
	}
	return nil
}

func (d *cudaDriver) htodAsync(dst dptr, src hostBuf, s stream) error {
	if d.fault != nil {
		return d.fault
	}
	cs, err := d.cuStream(s)
	if err != nil {
		return err
	}
	if err := cu.MemcpyHtoDAsync(cu.DevicePtr(dst), src.p, src.n, cs); err != nil {
		return fmt.Errorf("cuda: queueing a copy to the device: %w", d.check(err))
	}
	return nil
}

func (d *cudaDriver) dtohAsync(dst hostBuf, src dptr, s stream) error {
	if d.fault != nil {
		return d.fault
	}
	cs, err := d.cuStream(s)
	if err != nil {
		return err
	}
	if err := cu.MemcpyDtoHAsync(dst.p, cu.DevicePtr(src), dst.n, cs); err != nil {
		return fmt.Errorf("cuda: queueing a copy from the device: %w", d.check(err))
	}
	return nil
}

func (d *cudaDriver) launch(s stream, kernel string, grid, block [3]uint32, shmem int, a kernels.Args) error {
	if d.fault != nil {
		return d.fault
	}
	if err := kernels.CheckArgs(kernel, a); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	fn, err := d.function(kernel)
	if err != nil {
		return err
	}
	cs, err := d.cuStream(s)
	if err != nil {
		return err
	}
	args := a.Pack()
	ptrs := make([]unsafe.Pointer, len(args))
	for i := range args {
		ptrs[i] = unsafe.Pointer(&args[i])
	}
	if err := fn.Launch(int(grid[0]), int(grid[1]), int(grid[2]), int(block[0]), int(block[1]), int(block[2]), shmem, cs, ptrs); err != nil {
		if err := d.check(err); isDeviceFault(err) {
			return err
		}
		return fmt.Errorf("cuda: launching %s (grid %v, block %v, %d bytes shared): %v", kernel, grid, block, shmem, err)
	}
	if d.blocking {
		if s == nullStream {
			return d.check(cu.Synchronize())
		}
		return d.check(cs.Synchronize())
	}
	return nil
}

func (d *cudaDriver) record(e event, s stream) error {
	if d.fault != nil {
		return d.fault
	}
	ce, ok := d.events[e]
	if !ok {
		return fmt.Errorf("cuda: event %d is not of this context", e)
	}
	cs, err := d.cuStream(s)
	if err != nil {
		return err
	}
	return d.check(ce.Record(cs))
}

func (d *cudaDriver) wait(s stream, e event) error {
	if d.fault != nil {
		return d.fault
	}
	ce, ok := d.events[e]
	if !ok {
		return fmt.Errorf("cuda: event %d is not of this context", e)
	}
	cs, err := d.cuStream(s)
	if err != nil {
		return err
	}
	return d.check(cs.Wait(ce, 0))
}

func (d *cudaDriver) syncEvent(e event) error {
	if d.fault != nil {
		return d.fault
	}
	ce, ok := d.events[e]
	if !ok {
		return fmt.Errorf("cuda: event %d is not of this context", e)
	}
	return d.check(ce.Synchronize())
}

func (d *cudaDriver) sync() error {
	if d.fault != nil {
		return d.fault
	}
	if err := cu.Synchronize(); err != nil {
		return fmt.Errorf("cuda: %w", d.check(err))
	}
	return nil
}
