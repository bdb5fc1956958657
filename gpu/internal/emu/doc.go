// Package emu runs the CUDA kernels of package kernels on the host, compiled
// as C++ (kernels/hostemu.h), so that the GPU backend can be tested on a
// machine without a GPU: `go test -tags 'cuda cudaemu' ./gpu` runs the
// conformance suite against backend.Reference through the same Go code,
// the same launch configurations and the same kernel sources as on a GPU.
//
// It models a device as far as the kernels rely on one: device memory is
// host memory with guard bytes around each allocation (checked on free and
// after each launch) and NaN-filled when allocated; the threads of a block
// are coroutines that run up to each barrier in turn, so __syncthreads,
// __syncthreads_or, shared memory and atomics behave as on a GPU; barrier
// divergence is an error. What it cannot show is nvcc's device code
// generation and timing: the arithmetic is IEEE either way, but only a GPU
// run proves that nvcc honoured the intrinsics and flags.
//
// The emulator is compiled only with the build tag `cudaemu`; without it
// this package is empty.
package emu

//go:generate ./stamp.sh
