//go:build cuda && !cudaemu

package gpu

import (
	"errors"
	"fmt"
	"runtime"
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
	inf.driverVersion = cu.Version()
	return inf, nil
}

// cudaDriver owns one device's context on one locked OS thread.
type cudaDriver struct {
	inf  deviceInfo
	work chan func()
	fns  map[string]cu.Function
}

func openDriver(ordinal int) (driver, error) {
	n, err := cu.NumDevices()
	if err != nil || ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda: no device %d (%d visible, %v)", ordinal, n, err)
	}
	d := &cudaDriver{work: make(chan func()), fns: map[string]cu.Function{}}
	ready := make(chan error)
	go d.loop(cu.Device(ordinal), ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// loop is the device's goroutine: it never unlocks its thread, because the
// context stays current on it for the life of the process.
func (d *cudaDriver) loop(dev cu.Device, ready chan<- error) {
	runtime.LockOSThread()
	if err := d.init(dev); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for f := range d.work {
		f()
	}
}

func (d *cudaDriver) init(dev cu.Device) error {
	inf, err := deviceInfoOf(dev)
	if err != nil {
		return err
	}
	d.inf = inf
	// MakeContext (cuCtxCreate) makes the new context current on this
	// thread. Blocking sync: a waiting host thread sleeps instead of
	// spinning on a core the CPU backend or the user may need.
	if _, err := dev.MakeContext(cu.SchedBlockingSync); err != nil {
		return fmt.Errorf("cuda: cannot create a context on %s: %v", inf.name, err)
	}
	for _, m := range kernels.Modules() {
		mod, err := cu.LoadData(kernels.PTX(m))
		if err != nil {
			return fmt.Errorf("cuda: loading the embedded PTX module %q failed: %v; the NVIDIA driver must support PTX ISA 7.8 (CUDA 11.8, driver ≥ 520): update the driver, or rebuild the kernels with an older nvcc (make kernels)", m, err)
		}
		for _, k := range kernels.Kernels() {
			if km, _ := kernels.ModuleOf(k); km != m {
				continue
			}
			fn, err := mod.Function(k)
			if err != nil {
				return fmt.Errorf("cuda: kernel %s not found in module %s: %v (run make kernels)", k, m, err)
			}
			d.fns[k] = fn
		}
	}
	// The persistent kernels keep Drive in shared memory: let them use all
	// a block may have (above 48 KiB needs this opt-in).
	for _, k := range []string{"persistent_f32", "persistent_f64"} {
		if err := setMaxDynamicShared(d.fns[k], inf.maxSharedOpt); err != nil {
			return fmt.Errorf("cuda: %s: cannot allow %d bytes of shared memory: %v", k, inf.maxSharedOpt, err)
		}
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
		done <- f(d)
	}
	return <-done
}

func (d *cudaDriver) alloc(n int64, what string) (dptr, error) {
	p, err := cu.MemAlloc(n)
	if err != nil {
		if errors.Is(err, cu.OutOfMemory) {
			free, total, _ := cu.MemInfo()
			return 0, oomError(what, n, free, total)
		}
		return 0, fmt.Errorf("cuda: allocating the %s (%d bytes): %v", what, n, err)
	}
	return dptr(p), nil
}

func (d *cudaDriver) free(p dptr) { _ = cu.MemFree(cu.DevicePtr(p)) }

func (d *cudaDriver) htod(dst dptr, src unsafe.Pointer, n int64) error {
	if err := cu.MemcpyHtoD(cu.DevicePtr(dst), src, n); err != nil {
		return fmt.Errorf("cuda: copy to device: %v", err)
	}
	return nil
}

func (d *cudaDriver) dtoh(dst unsafe.Pointer, src dptr, n int64) error {
	if err := cu.MemcpyDtoH(dst, cu.DevicePtr(src), n); err != nil {
		return fmt.Errorf("cuda: copy from device: %v (a kernel may have failed)", err)
	}
	return nil
}

func (d *cudaDriver) launch(kernel string, grid, block [3]uint32, shmem int, a kernels.Args) error {
	fn, ok := d.fns[kernel]
	if !ok {
		return fmt.Errorf("cuda: no kernel %s in the embedded PTX (run make kernels)", kernel)
	}
	if err := kernels.CheckArgs(kernel, a); err != nil {
		return fmt.Errorf("cuda: %w", err)
	}
	args := a.Pack()
	ptrs := make([]unsafe.Pointer, len(args))
	for i := range args {
		ptrs[i] = unsafe.Pointer(&args[i])
	}
	if err := fn.Launch(int(grid[0]), int(grid[1]), int(grid[2]), int(block[0]), int(block[1]), int(block[2]), shmem, cu.NoStream, ptrs); err != nil {
		return fmt.Errorf("cuda: launching %s (grid %v, block %v, %d bytes shared): %v", kernel, grid, block, shmem, err)
	}
	return nil
}

func (d *cudaDriver) sync() error {
	if err := cu.Synchronize(); err != nil {
		return fmt.Errorf("cuda: %v", err)
	}
	return nil
}
