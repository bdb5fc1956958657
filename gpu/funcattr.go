//go:build cuda && !cudaemu

package gpu

// gorgonia.org/cu v0.9.6 can read a function's attributes but not set
// them, and lacks the opt-in shared-memory attribute; these few lines of
// cgo fill the gap.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>

static CUresult setMaxDynamicShared(CUfunction f, int bytes) {
	return cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// maxSharedPerBlockOptin is CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN.
const maxSharedPerBlockOptin = cu.DeviceAttribute(C.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)

// cu.Function is struct{ fn C.CUfunction }: one pointer, read through
// unsafe below. These fail to compile if its size ever changes.
var (
	_ [unsafe.Sizeof(cu.Function{}) - unsafe.Sizeof(C.CUfunction(nil))]struct{}
	_ [unsafe.Sizeof(C.CUfunction(nil)) - unsafe.Sizeof(cu.Function{})]struct{}
)

func setMaxDynamicShared(fn cu.Function, bytes int) error {
	f := *(*C.CUfunction)(unsafe.Pointer(&fn))
	if r := C.setMaxDynamicShared(f, C.int(bytes)); r != C.CUDA_SUCCESS {
		return fmt.Errorf("cuFuncSetAttribute: CUresult %d", int(r))
	}
	return nil
}
