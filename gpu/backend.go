//go:build cuda

package gpu

import (
	"fmt"
	"sync"

	"github.com/ratesim/ratesim/backend"
)

func init() { backend.Register(New(), 20) }

// Backend runs programs on one NVIDIA GPU.
type Backend struct {
	ordinal int
	kernel  Kernel
	budget  int64
	// maxRunBytes caps the device memory of one run; larger programs are
	// split into shards (0: 90% of the device's memory).
	maxRunBytes int64
	tile        string // forces a step tile by suffix (tests)
	// persistentTB and persistentWGlobal force the persistent kernel's
	// trials per block (0: the plan's) and Drive in global memory, so the
	// suite runs every variant the kernel dispatches to (tests).
	persistentTB      int
	persistentWGlobal bool
	// sharedSlot puts every segment of a call in one pipeline slot, a
	// planted bug for the test that the emulator exposes buffers reused
	// while their copies are in flight (tests).
	sharedSlot bool

	once sync.Once
	drv  driver
	err  error
}

// Option configures a Backend.
type Option func(*Backend)

// Device selects the GPU by its CUDA ordinal (default 0).
func Device(ordinal int) Option { return func(b *Backend) { b.ordinal = ordinal } }

// UseKernel forces the step or the persistent kernel instead of choosing per
// program; tests use it to check both.
func UseKernel(k Kernel) Option { return func(b *Backend) { b.kernel = k } }

// SegmentBytes bounds the device memory one Advance segment uses for its
// inputs and recordings (default 256 MiB); longer Advance calls are cut into
// segments, each copied back before the next starts.
func SegmentBytes(n int64) Option { return func(b *Backend) { b.budget = n } }

// MaxRunBytes caps the device memory one run may hold (default 90% of the
// device's). A program that needs more, or that exceeds a launch limit, runs
// as shards of instances (and of trials, for one instance) one after another,
// with the same bits as one run.
func MaxRunBytes(n int64) Option { return func(b *Backend) { b.maxRunBytes = n } }

// New returns a CUDA backend. It touches no device until a run starts; then
// it shares the device's one context and loaded modules with every other
// Backend of the process (see driver.go).
func New(opts ...Option) *Backend {
	b := &Backend{budget: 256 << 20}
	for _, o := range opts {
		o(b)
	}
	return b
}

func (b *Backend) Name() string { return "cuda" }

// Devices lists the visible GPUs.
func (b *Backend) Devices() ([]backend.Device, error) { return listDevices() }

// open returns the device's driver, opening it on the process's first use.
func (b *Backend) open() (driver, error) {
	b.once.Do(func() {
		b.drv, b.err = sharedDriver(b.ordinal)
		if b.err == nil {
			if inf := b.drv.info(); inf.major < 7 {
				b.err = fmt.Errorf("cuda: %s has compute capability %d.%d; ratesim's kernels need 7.0 (Volta) or newer", inf.name, inf.major, inf.minor)
			}
		}
	})
	return b.drv, b.err
}

// SupportsPlasticity reports that the backend runs plastic programs
// (backend.PlasticityCapable).
func (b *Backend) SupportsPlasticity() bool { return true }

// SupportsL5Plasticity reports that the backend runs the layer-5 model's
// rules (backend.L5PlasticityCapable), with kernels/plasticl5.cu.
func (b *Backend) SupportsL5Plasticity() bool { return true }

// SupportsDelays reports that the backend runs programs with synaptic
// delays (backend.DelayCapable), with the gathered-drive kernel.
func (b *Backend) SupportsDelays() bool { return true }

// SupportsRateForm reports that the backend runs rate-form programs and
// per-unit activations (backend.RateFormCapable), Euler and RK4, on the
// step and the persistent path (rateform.go).
func (b *Backend) SupportsRateForm() bool { return true }

func (b *Backend) Start32(p *backend.Program[float32]) (backend.Run[float32], error) {
	return startSharded(b, p)
}

func (b *Backend) Start64(p *backend.Program[float64]) (backend.Run[float64], error) {
	return startSharded(b, p)
}
