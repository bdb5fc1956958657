// Package kernels holds the CUDA C sources of the GPU backend and the device
// code generated from them, embedded for package gpu. The CUDA kernels are
// not written yet (see the CUDA backend issue); until then this package is
// empty and the default build needs no CUDA toolkit.
package kernels
