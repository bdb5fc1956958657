//go:build cuda && !cudaemu

package gpu

// What gorgonia.org/cu v0.9.6 lacks for the asynchronous path: page-locked
// host allocation (it has cuMemFreeHost but no cuMemHostAlloc) and the
// driver's own names and descriptions of its errors.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>

static CUresult hostAlloc(void **p, size_t n) { return cuMemHostAlloc(p, n, 0); }

static const char *errName(int r) {
	const char *s = 0;
	if (cuGetErrorName((CUresult)r, &s) != CUDA_SUCCESS || s == 0) return "CUDA_ERROR_UNKNOWN";
	return s;
}

static const char *errString(int r) {
	const char *s = 0;
	if (cuGetErrorString((CUresult)r, &s) != CUDA_SUCCESS || s == 0) return "unknown CUDA error";
	return s;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// memHostAlloc returns n bytes of page-locked host memory (cuMemHostAlloc);
// oom says the error is CUDA_ERROR_OUT_OF_MEMORY.
func memHostAlloc(n int64) (p unsafe.Pointer, oom bool, err error) {
	if r := C.hostAlloc(&p, C.size_t(n)); r != C.CUDA_SUCCESS {
		return nil, r == C.CUDA_ERROR_OUT_OF_MEMORY, fmt.Errorf("cuMemHostAlloc(%d bytes): %s", n, C.GoString(C.errString(C.int(r))))
	}
	return p, false, nil
}

// errorText returns the driver's name and description of CUresult code.
func errorText(code int) (name, desc string) {
	return C.GoString(C.errName(C.int(code))), C.GoString(C.errString(C.int(code)))
}
