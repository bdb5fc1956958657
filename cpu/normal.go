package cpu

//go:generate sh -c "cd internal/asmgen && go run . -set normal -out ../../normal_amd64.s -stubs ../../normal_amd64.go -pkg cpu"

import (
	"math/bits"
	"os"
	"sync/atomic"

	"github.com/ratesim/ratesim/backend"
)

// normalImpl names an implementation of normals32.
type normalImpl int32

const (
	normalGo     normalImpl = iota // normals32Go
	normalAVX2                     // normal_amd64.s, 256-bit
	normalAVX512                   // normal_amd64.s, 512-bit
)

var normalImplNames = [...]string{normalGo: "go", normalAVX2: "avx2", normalAVX512: "avx512"}

func (p normalImpl) String() string { return normalImplNames[p] }

// normalPath is the implementation normals32 uses: the best this CPU has,
// unless the environment variable RATESIM_CPU_NORMAL names another that it
// has ("go", "avx2", "avx512"). Tests set it to check every path.
var normalPath = func() *atomic.Int32 {
	var p atomic.Int32
	best := bestNormal()
	p.Store(int32(best))
	if want := os.Getenv("RATESIM_CPU_NORMAL"); want != "" {
		for q := normalGo; q <= best; q++ {
			if q.String() == want && normalAvailable(q) {
				p.Store(int32(q))
			}
		}
	}
	return &p
}()

// bestNormal is the fastest implementation this CPU runs.
func bestNormal() normalImpl {
	for p := normalAVX512; p > normalGo; p-- {
		if normalAvailable(p) {
			return p
		}
	}
	return normalGo
}

// NormalPath names the float32 noise's implementation in use ("avx512",
// "avx2" or "go"), for benchmark reports.
func NormalPath() string { return normalImpl(normalPath.Load()).String() }

// normals32 sets z[j] = normal32(key, instance, trial, step, u0+j, p) for
// j < len(z) ≤ normalBlock: backend.Normal[float32] of those coordinates,
// bit for bit. On the kernels' path it may also overwrite z's array past
// len(z) up to the next multiple of the kernel's width, where cap(z)
// allows (unitStep32's buffers do, so their rows need no Go tail).
func normals32(key [2]uint32, instance, trial, step, u0 int, p backend.Purpose, z []float32) {
	impl := normalImpl(normalPath.Load())
	width := normalWidth[impl]
	if width == 0 || u0%16 != 0 { // the kernels start at a group of 16 units (backend.NormalPair32)
		normals32Go(key, instance, trial, step, u0, p, z)
		return
	}
	n := len(z)
	full := n - n%width
	if full < n && cap(z) >= full+width {
		full += width
	}
	if full > 0 {
		block, _ := backend.NormalPair32(u0)
		plan := newNormalPlan(key, uint32(block), uint32(step), uint32(trial), uint32(instance)<<4|uint32(p)&15)
		normalKernel32(impl, z[:full], &plan)
	}
	if full < n {
		normals32Go(key, instance, trial, step, u0+full, p, z[full:])
	}
}

// newNormalPlan lays out Philox's counter (c0 the first unit; c1, c2, c3
// the same for every unit) and key for the kernels: the parts of rounds 1
// and 2 that depend on c1 … c3 alone, computed here once, and the keys of
// rounds 3 … 10 (the layout is cpu/internal/asmgen's; philox is the
// reference).
func newNormalPlan(key [2]uint32, c0, c1, c2, c3 uint32) (plan [21]uint64) {
	const m0, m1 = 0xD2511F53, 0xCD9E8D57
	const w0, w1 = 0x9E3779B9, 0xBB67AE85
	k0, k1 := key[0], key[1]
	// Round 1: c0' = hi(M1·c2) ⊕ c1 ⊕ k0 and c1' = lo(M1·c2) are common;
	// c2' = hi(M0·c0) ⊕ (c3 ⊕ k1) and c3' = lo(M0·c0) are the lane's.
	hi1, lo1 := bits.Mul32(m1, c2)
	a, b := hi1^c1^k0, lo1
	// Round 2: hi(M0·c0'), lo(M0·c0') are common, so c2'' = c3' ⊕ (hi ⊕ k1'),
	// c3'' = lo; c0'' = hi(M1·c2') ⊕ (c1' ⊕ k0'), c1'' = lo(M1·c2').
	hi0, lo0 := bits.Mul32(m0, a)
	plan[0] = uint64(c0)
	plan[1] = uint64(c3 ^ k1)
	plan[2] = uint64(b ^ (k0 + w0))
	plan[3] = uint64(hi0 ^ (k1 + w1))
	plan[4] = uint64(lo0)
	for r := uint32(2); r < 10; r++ {
		plan[5+2*(r-2)] = uint64(k0 + r*w0)
		plan[6+2*(r-2)] = uint64(k1 + r*w1)
	}
	return plan
}
