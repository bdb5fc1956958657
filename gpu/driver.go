//go:build cuda

package gpu

import (
	"unsafe"

	"github.com/ratesim/ratesim/kernels"
)

// dptr is a device address (cu.DevicePtr, or an emulator address).
type dptr = kernels.DevicePtr

// driver is what the backend needs of a device. device.go implements it on
// the CUDA driver through gorgonia.org/cu; emu.go (tag cudaemu) on the host
// emulator of package gpu/internal/emu, so that everything above this
// interface is tested without a GPU.
type driver interface {
	info() deviceInfo
	// do runs f with exclusive use of the device. On CUDA, f runs on the
	// one OS thread that holds the context, so a whole segment of launches
	// costs one hand-over; f must not block on other device work.
	do(f func(c calls) error) error
}

// calls are the device operations, valid only inside driver.do.
type calls interface {
	// alloc returns bytes of device memory; what names it in errors.
	alloc(bytes int64, what string) (dptr, error)
	free(p dptr)
	htod(dst dptr, src unsafe.Pointer, bytes int64) error
	dtoh(dst unsafe.Pointer, src dptr, bytes int64) error
	// launch starts kernel with args, its module's argument struct from
	// kernels/args.go (kernels.StepArgs for step_f32_s, …), which it checks
	// against the kernel's parameter list (kernels.CheckArgs) and passes as
	// one 8-byte word per parameter. It may return before the kernel ends.
	launch(kernel string, grid, block [3]uint32, shmem int, args kernels.Args) error
	// sync waits for every launch and reports their errors.
	sync() error
}
