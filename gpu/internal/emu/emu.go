//go:build cudaemu

package emu

/*
#cgo CXXFLAGS: -std=c++17 -O2 -I${SRCDIR}/../../../kernels
#include <stdlib.h>
#include "emu.h"
*/
import "C"

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"unsafe"
)

// Ptr is an emulated device address.
type Ptr = uintptr

// Alloc returns n bytes of emulated device memory, filled with NaN bytes.
func Alloc(n int64) (Ptr, error) {
	p := C.emu_alloc(C.size_t(n))
	if p == 0 {
		return 0, fmt.Errorf("emu: out of host memory allocating %d bytes", n)
	}
	return Ptr(p), nil
}

// ErrGuard says that a kernel wrote outside an allocation.
var ErrGuard = errors.New("emu: a guard byte around a device allocation was overwritten (out-of-bounds write)")

// Free releases p and reports whether its guards were intact.
func Free(p Ptr) error {
	if C.emu_free(C.uintptr_t(p)) != 0 {
		return ErrGuard
	}
	return nil
}

// Check reports whether p's guards are intact.
func Check(p Ptr) error {
	if C.emu_check(C.uintptr_t(p)) != 0 {
		return ErrGuard
	}
	return nil
}

// HtoD copies n bytes from host memory at src to p.
func HtoD(p Ptr, src unsafe.Pointer, n int64) {
	if n > 0 {
		C.emu_htod(C.uintptr_t(p), src, C.size_t(n))
	}
}

// DtoH copies n bytes from p to host memory at dst.
func DtoH(dst unsafe.Pointer, p Ptr, n int64) {
	if n > 0 {
		C.emu_dtoh(dst, C.uintptr_t(p), C.size_t(n))
	}
}

// Launch runs kernel to completion on a grid of blocks; args are its
// parameters, 8 bytes each, as on the device.
func Launch(kernel string, grid, block [3]uint32, shmem int, args []uint64) error {
	name := C.CString(kernel)
	defer C.free(unsafe.Pointer(name))
	var buf [512]C.char
	var a *C.uint64_t
	if len(args) > 0 {
		a = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	if C.emu_launch(name, C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]), C.uint(block[0]), C.uint(block[1]), C.uint(block[2]),
		C.size_t(shmem), a, C.int(len(args)), &buf[0], C.size_t(len(buf))) != 0 {
		return fmt.Errorf("emu: %s", C.GoString(&buf[0]))
	}
	return nil
}

// ContractProbe computes a·b + c with the kernels' rounded operations, as
// compiled into the emulator.
func ContractProbe(a, b, c float64) float64 {
	return float64(C.emu_contract_probe(C.double(a), C.double(b), C.double(c)))
}

// ContractProbe32 is ContractProbe in float32.
func ContractProbe32(a, b, c float32) float32 {
	return float32(C.emu_contract_probe32(C.float(a), C.float(b), C.float(c)))
}

// Kernels lists the kernels compiled into the emulator.
func Kernels() []string {
	n := int(C.emu_kernel_count())
	ks := make([]string, n)
	for i := range ks {
		ks[i] = C.GoString(C.emu_kernel_name(C.int(i)))
	}
	sort.Strings(ks)
	return ks
}

// CheckSources returns an error when the kernel sources in dir (the
// kernels directory) differ from those compiled into the emulator: go
// build does not see edits outside this package, only the stamp.h that
// stamp.sh (or kernels/gen.sh) writes.
func CheckSources(dir string) error {
	var files []string
	for _, pat := range []string{"*.cu", "*.cuh", "*.h"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return err
		}
		files = append(files, m...)
	}
	sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) < filepath.Base(files[j]) })
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		h.Write(b)
	}
	if got, built := hex.EncodeToString(h.Sum(nil)), C.GoString(C.emu_sources_hash()); got != built {
		return fmt.Errorf("emu: the emulator was built from other kernel sources than %s holds; run gpu/internal/emu/stamp.sh (or kernels/gen.sh) and test again", dir)
	}
	return nil
}
