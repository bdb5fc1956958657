//go:build cuda

package gpu

import "unsafe"

// dptr is a device address (cu.DevicePtr, or an emulator address).
type dptr = uintptr

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
	// launch starts kernel with its parameters, each 8 bytes (pointers and
	// int64 values widened to uint64). It may return before the kernel ends.
	launch(kernel string, grid, block [3]uint32, shmem int, args []uint64) error
	// sync waits for every launch and reports their errors.
	sync() error
}
