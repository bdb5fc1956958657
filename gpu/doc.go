// Package gpu is the ratesim backend for NVIDIA GPUs, on gorgonia.org/cu.
//
// The real backend is compiled only with the build tag `cuda` (make cuda),
// because importing gorgonia.org/cu initializes the CUDA driver and exits the
// process when no device is visible. Without the tag this package registers
// a "cuda" backend that reports why it cannot run, so `ratesim devices` and
// `--backend cuda` say what to do instead of failing obscurely.
package gpu
