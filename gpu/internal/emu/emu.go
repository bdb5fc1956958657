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
	"strings"
	"sync"
	"unsafe"

	"github.com/ratesim/ratesim/kernels"
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

// Launch runs kernel to completion on a grid of blocks with the arguments
// a, its module's struct of kernels/args.go. Before it runs anything it
// checks them: a's parameter names and number against the kernel's
// parameter list (kernels.CheckArgs), and that list's kinds (pointer,
// int64, uint64) against the signature the C++ compiler saw in the .cu
// source; a mismatch is an error that names the parameter.
func Launch(kernel string, grid, block [3]uint32, shmem int, a kernels.Args) error {
	if err := kernels.CheckArgs(kernel, a); err != nil {
		return fmt.Errorf("emu: %w", err)
	}
	if err := checkSignature(kernel); err != nil {
		return err
	}
	return launchWords(kernel, grid, block, shmem, a.Pack())
}

// checkSignature compares kernels.Params(kernel) with the compiled kernel.
func checkSignature(kernel string) error {
	sig, ok := Signature(kernel)
	if !ok {
		return fmt.Errorf("emu: no kernel %s compiled into the emulator (gpu/internal/emu/emu.cc lists them)", kernel)
	}
	ps, _ := kernels.Params(kernel)
	return compareSignature(kernel, sig, ps)
}

// compareSignature compares the compiler's parameter kinds sig with ps.
func compareSignature(kernel string, sig []kernels.Kind, ps []kernels.Param) error {
	if len(ps) != len(sig) {
		return fmt.Errorf("emu: kernel %s: the compiler sees %d parameters, kernels/args.go %d (%s): kernels/args.go is stale or kernels/internal/cusig misread the source; run make kernels", kernel, len(sig), len(ps), names(ps))
	}
	for i, p := range ps {
		if sig[i] != p.Kind {
			return fmt.Errorf("emu: kernel %s: parameter %d (%s %s) is a %v to the compiler, a %v in kernels/args.go: run make kernels", kernel, i+1, p.CType, p.Name, sig[i], p.Kind)
		}
	}
	return nil
}

func names(ps []kernels.Param) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Name
	}
	return strings.Join(s, ", ")
}

// Signature returns the kinds of kernel's parameters as the C++ compiler
// saw them.
func Signature(kernel string) ([]kernels.Kind, bool) {
	ks, ok := signatures()[kernel]
	return ks, ok
}

var signatures = sync.OnceValue(func() map[string][]kernels.Kind {
	m := map[string][]kernels.Kind{}
	for i := 0; i < int(C.emu_kernel_count()); i++ {
		s := C.GoString(C.emu_kernel_signature(C.int(i)))
		ks := make([]kernels.Kind, len(s))
		for j := range s {
			switch s[j] {
			case 'p':
				ks[j] = kernels.Pointer
			case 'i':
				ks[j] = kernels.Int64
			case 'u':
				ks[j] = kernels.Uint64
			}
		}
		m[C.GoString(C.emu_kernel_name(C.int(i)))] = ks
	}
	return m
})

// launchWords runs kernel with args as its parameters, 8 bytes each, as on
// the device; the emulator checks only their number.
func launchWords(kernel string, grid, block [3]uint32, shmem int, args []uint64) error {
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
