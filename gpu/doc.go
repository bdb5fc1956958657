// Package gpu is the ratesim backend for NVIDIA GPUs, on gorgonia.org/cu.
//
// The real backend is compiled only with the build tag `cuda` (make cuda),
// because importing gorgonia.org/cu initializes the CUDA driver and exits the
// process when no device is visible. Without the tag this package registers
// a "cuda" backend that reports why it cannot run, so `ratesim devices` and
// `--backend cuda` say what to do instead of failing obscurely. With the tags
// `cuda cudaemu` the same code runs on the host emulator of
// gpu/internal/emu (emu.go), which is how it is tested without a GPU.
//
// # One context per device
//
// A process has one driver per device (driver.go: sharedDriver), shared by
// every Backend: one CUDA context, current on one locked OS thread, and one
// set of loaded modules. A module is loaded on the first launch of one of
// its kernels; loading compute_70 PTX makes the driver JIT-compile it for
// the GPU, a few seconds per module. The driver keeps what it compiled in
// its cache, so later processes load in milliseconds: the cache is
// ~/.nv/ComputeCache unless CUDA_CACHE_PATH names another directory, holds
// CUDA_CACHE_MAXSIZE bytes (raise it to 4294967296, the maximum, when many
// builds of the kernels come and go), and is off with CUDA_CACHE_DISABLE=1.
// On a machine lent for minutes, point CUDA_CACHE_PATH at a directory that
// outlives the commands (bench/gpu-run.sh does). Runs allocate and free
// their own device memory in the shared context.
//
// A sticky device fault (CUDA_ERROR_ILLEGAL_ADDRESS, a trap, a hardware
// error) makes the context unusable: the run that meets it fails with the
// kernels and steps that were in flight, the driver destroys the context and
// makes a new one before the next call, and runs of the old context fail
// with errContextLost instead of touching memory that is gone. With
// CUDA_LAUNCH_BLOCKING=1 every launch waits for its kernel, so the error
// names the kernel and step exactly (slow; for diagnosis). The emulator
// does the same, with faults tests inject.
//
// # Asynchronous recording
//
// An Advance call runs as segments in a two-slot pipeline (run.go): inputs
// and error keys go up and recordings come back through pinned host
// buffers, the copies back on a second stream after an event, so that one
// segment's copies overlap the next one's kernels; the host copies each
// segment's recordings into the caller's chunk once its event is reached.
//
// # Delays and sparse drives
//
// A program with synaptic delays, or with a sparse drive (Program.Sparse)
// at most sparseMaxDensity full, runs on the gathered-drive kernel
// (kernels/gather.cu, gather.go) in place of the step tile, whatever kernel
// was asked for: one thread per unit and trial sums its CSR row in
// ascending column order, reading each recurrent entry's rate from a ring
// buffer of D+2 rate vectors per trial kept on the device for the run. The
// readout kernel follows as on the step path.
package gpu
