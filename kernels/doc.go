// Package kernels holds the CUDA C sources of the GPU backend and the device
// code generated from them, embedded for package gpu.
//
// One kernel per .cu file: step, readout, persistent (many steps per
// launch, one block per instance and block of trials), plastic (the fused
// plasticity update, run in phases) and the test kernels mathcheck and
// randcheck, each instantiated per precision (and tile) with one parameter
// list. The headers hold what they share: arith.cuh
// (the contract's rounded operations), dmath.cuh (the twin of
// backend/dmath), philox.cuh (the twin of backend's Philox and normal
// transforms) and model.cuh (activation, unit update, non-finite record).
// hostemu.h lets the same sources compile as host C++ for package
// gpu/internal/emu, which runs them without a GPU.
//
// gen.sh compiles each .cu with nvcc to PTX in ptx/, puts that PTX and the
// sm_80 and sm_90 machine code ptxas makes from it into one fat binary in
// fatbin/ (Image: loaded without JIT compilation on those GPUs), and
// writes ptx.go, which embeds both, and args.go, generated from the
// kernels' parameter lists (internal/genargs, internal/cusig): one struct
// per module (StepArgs, ReadoutArgs, PersistentArgs, PlasticArgs, …) with
// a named, typed field per parameter, whose Pack method gives the 8-byte
// words of a launch in parameter order, and a table of every kernel's
// parameters (Params) that CheckArgs holds a launch's arguments to. All of
// it is committed, so building needs no CUDA toolkit, and `gen.sh -check`
// (CI) fails when it is stale. `gen.sh -report` is the static kernel
// report (internal/sassreport, REPORT.md): registers, spills and the hot
// loops' FP fraction per kernel, held to report-baseline.json. This
// package is pure Go and is built in every configuration; only package gpu
// with the `cuda` tag loads the device code.
package kernels

//go:generate ./gen.sh
