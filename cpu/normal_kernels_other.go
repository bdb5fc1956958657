//go:build !amd64

package cpu

// Without amd64 kernels the normals are Go's.
var normalWidth [normalAVX512 + 1]int

func normalKernel32(p normalImpl, z []float32, plan *[21]uint64) { panic("cpu: no normal kernels") }

func normalAvailable(p normalImpl) bool { return p == normalGo }

// normalPieces32 are the kernels' two transforms alone, for the tests.
var normalPieces32 [normalAVX512 + 1]func(w *uint32, n int, logs, coss *float32, logT *[49]float64)
