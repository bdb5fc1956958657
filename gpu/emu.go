//go:build cuda && cudaemu

package gpu

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/gpu/internal/emu"
	"github.com/ratesim/ratesim/kernels"
)

// This file puts the backend on the host emulator of package
// gpu/internal/emu instead of a GPU: a binary built with the tags `cuda
// cudaemu` runs the CUDA kernels' sources as C++ on the CPU, slowly, with
// guard checks on every allocation. It exists to test the backend here.

// emuInfo describes the emulated device as an H100, so plans (tiles, trial
// blocks, shared memory) are the ones a real run would choose.
var emuInfo = deviceInfo{
	name: "ratesim CUDA emulator (host CPU)", totalMem: 80 << 30, major: 9, minor: 0,
	sms: 132, maxSharedOpt: 227 << 10, maxThreads: 1024,
}

// emulated says whether this build runs the kernels on the host emulator.
const emulated = true

func listDevices() ([]backend.Device, error) {
	return []backend.Device{{Name: emuInfo.name,
		Detail: fmt.Sprintf("kernels compiled as C++ for %s/%s, planned as an H100 (%d SMs)", runtime.GOOS, runtime.GOARCH, emuInfo.sms)}}, nil
}

type emuDriver struct {
	mu    sync.Mutex
	live  map[dptr]int64
	limit int64 // bytes the emulated device holds
	used  int64
	// corrupt is set once a launch has reported an overwritten guard.
	corrupt bool
}

func openDriver(ordinal int) (driver, error) {
	if ordinal != 0 {
		return nil, fmt.Errorf("cuda: no device %d (the emulator has one)", ordinal)
	}
	return &emuDriver{live: map[dptr]int64{}, limit: emuInfo.totalMem}, nil
}

func (d *emuDriver) info() deviceInfo { return emuInfo }

func (d *emuDriver) do(f func(c calls) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return f(d)
}

func (d *emuDriver) alloc(n int64, what string) (dptr, error) {
	if d.used+n > d.limit {
		return 0, oomError(what, n, d.limit-d.used, d.limit)
	}
	a, err := emu.Alloc(n)
	if err != nil {
		return 0, err
	}
	p := dptr(a)
	d.live[p] = n
	d.used += n
	return p, nil
}

func (d *emuDriver) free(p dptr) {
	d.used -= d.live[p]
	delete(d.live, p)
	if err := emu.Free(emu.Ptr(p)); err != nil && !d.corrupt {
		// A kernel wrote past a buffer and no launch reported it: fail
		// loudly, this is a bug.
		panic(err)
	}
}

func (d *emuDriver) htod(dst dptr, src unsafe.Pointer, n int64) error {
	emu.HtoD(emu.Ptr(dst), src, n)
	return nil
}

func (d *emuDriver) dtoh(dst unsafe.Pointer, src dptr, n int64) error {
	emu.DtoH(dst, emu.Ptr(src), n)
	return nil
}

// launch runs kernel on the emulator, which first checks args against the
// kernel's parameters: their names and number against kernels/args.go's
// table, their kinds against the signature the C++ compiler saw
// (emu.Launch).
func (d *emuDriver) launch(kernel string, grid, block [3]uint32, shmem int, args kernels.Args) error {
	if shmem > emuInfo.maxSharedOpt {
		return fmt.Errorf("cuda: kernel %s asks for %d bytes of shared memory, the device has %d", kernel, shmem, emuInfo.maxSharedOpt)
	}
	if err := emu.Launch(kernel, grid, block, shmem, args); err != nil {
		return err
	}
	for p := range d.live {
		if err := emu.Check(emu.Ptr(p)); err != nil {
			d.corrupt = true
			return fmt.Errorf("after %s: %w", kernel, err)
		}
	}
	return nil
}

func (d *emuDriver) sync() error { return nil }
