//go:build !cuda

package gpu

import (
	"errors"

	"github.com/ratesim/ratesim/backend"
)

func init() { backend.Register(stub{}, 20) }

// ErrNotCompiled says how to get a CUDA-enabled binary.
var ErrNotCompiled = errors.New("this binary was built without CUDA support; build it with `make cuda` (needs the NVIDIA driver to run and CUDA ≤ 12 headers to build)")

type stub struct{}

func (stub) Name() string                       { return "cuda" }
func (stub) Devices() ([]backend.Device, error) { return nil, ErrNotCompiled }
func (stub) Start32(*backend.Program[float32]) (backend.Run[float32], error) {
	return nil, ErrNotCompiled
}
func (stub) Start64(*backend.Program[float64]) (backend.Run[float64], error) {
	return nil, ErrNotCompiled
}
