package cpu

//go:generate sh -c "cd internal/asmgen && go run . -set plastic -out ../../plastic_amd64.s -stubs ../../plastic_amd64.go -pkg cpu"

import (
	"math"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ratesim/ratesim/backend"
)

// The per-synapse pass of a plastic update (backend.Step.UpdateSynapses)
// and Oja's summed term, on the kernels of plastic_amd64.s where the CPU has
// them: lanes along the postsynaptic index, the rule's branches once per
// vector, a synapse's own branches (|w|, sign(w), the projection, whether it
// is written) as lane masks, every operation the Go code's, rounded alike
// and in the same order. Columns past the kernels' multiple of lanes, and
// everything from the first non-finite weight on (a NaN's payload is the Go
// code's to fix), run the Go code itself. Large matrices split their rows
// across idle cores; each synapse is still one computation, so the bits do
// not depend on the split.

// plasticImpl names an implementation of the plastic pass (and of the
// float32 relu unit step, whose kernels need the same instructions).
type plasticImpl int32

const (
	plasticGo     plasticImpl = iota // synapsesFast and ojaTermsGo (unitStep32's loop)
	plasticAVX2                      // plastic_amd64.s (unitstep_amd64.s), 256-bit
	plasticAVX512                    // plastic_amd64.s (unitstep_amd64.s), 512-bit
)

var plasticImplNames = [...]string{plasticGo: "go", plasticAVX2: "avx2", plasticAVX512: "avx512"}

func (p plasticImpl) String() string { return plasticImplNames[p] }

// plasticPath is the implementation the plastic pass uses: the best this
// CPU has, unless the environment variable RATESIM_CPU_PLASTIC names
// another that it has ("go", "avx2", "avx512"). Tests set it to check every
// path.
var plasticPath = implPath("RATESIM_CPU_PLASTIC")

// implPath returns an implementation choice set to the best this CPU has,
// or to the one the environment variable env names if the CPU has it.
func implPath(env string) *atomic.Int32 {
	var p atomic.Int32
	best := bestPlastic()
	p.Store(int32(best))
	if want := os.Getenv(env); want != "" {
		for q := plasticGo; q <= best; q++ {
			if q.String() == want && plasticAvailable(q) {
				p.Store(int32(q))
			}
		}
	}
	return &p
}

// bestPlastic is the fastest implementation this CPU runs.
func bestPlastic() plasticImpl {
	for p := plasticAVX512; p > plasticGo; p-- {
		if plasticAvailable(p) {
			return p
		}
	}
	return plasticGo
}

// synapseKernel is one of plastic_amd64.s's synapses kernels (the contract
// of cpu/internal/asmgen): the pass on rows × cols synapses, cols a multiple
// of the kernel's lanes; it returns rows·cols, or the position j·cols + i of
// the vector whose new weight was not finite, which it left unwritten.
type synapseKernel[T backend.Float] func(rows, cols int, h *T, ldh int, a *T, ld int, w *T, ldw int, scale, m, v, ok *T, rowFlags *uint8, par *T, flags int) (at int)

// ojaKernel is one of plastic_amd64.s's oja kernels: h[j·ldh+i] = Σ_x
// T(q·T(p − T(q·w))) from +0, x < nt ascending, p = pre[x·ldp+j], q =
// post[x·ldq+i], w = w[j·ldw+i], for j < rows, i < cols (a multiple of the
// lanes); it reports whether some h is NaN.
type ojaKernel[T backend.Float] func(rows, cols, nt int, h *T, ldh int, w *T, ldw int, pre *T, ldp int, post *T, ldq int) (nan bool)

// The kernels' flags and row flags (cpu/internal/asmgen).
const (
	synSoftBound = 1 << iota
	synL1
	synL2
	synBounded
	synFreeze
	synAdam
	synScale
	synOuter
)

const (
	rowClosed = 1 << iota
	rowNegate
	rowExcitatory
	rowInhibitory
)

// The constant slots of par, 64 bytes each (cpu/internal/asmgen's order).
const (
	parSoft = iota
	parL1
	parL2
	parRate
	parMin
	parMax
	parB1
	parOneMinusB1
	parB2
	parOneMinusB2
	parC1
	parC2
	parEps
	parSignBit
	parAbsMask
	parOne
	parMinusOne
	parInf
	parSlots
)

// kernelsOf returns impl's kernels in T (nil for the Go path) and their
// lanes.
func kernelsOf[T backend.Float](impl plasticImpl) (synapseKernel[T], ojaKernel[T], int) {
	if impl == plasticGo {
		return nil, nil, 0
	}
	var z T
	bytes := 32
	if impl == plasticAVX512 {
		bytes = 64
	}
	if _, ok := any(z).(float32); ok {
		return any(synapseKernels32[impl]).(synapseKernel[T]), any(ojaKernels32[impl]).(ojaKernel[T]), bytes / 4
	}
	return any(synapseKernels64[impl]).(synapseKernel[T]), any(ojaKernels64[impl]).(ojaKernel[T]), bytes / 8
}

// synScratch is one task's buffers of the plastic pass.
type synScratch[T backend.Float] struct {
	rowFlags []uint8
	ok       []T
	par      []T
	pre, pst []T // Oja: the trials' pre and post vectors, trial-major
}

func newSynScratch[T backend.Float](maxA, maxC, nb int) *synScratch[T] {
	var z T
	lanes := 64 / int(sizeOf(z))
	return &synScratch[T]{rowFlags: make([]uint8, maxA), ok: make([]T, maxC), par: make([]T, parSlots*lanes),
		pre: make([]T, nb*maxA), pst: make([]T, nb*maxC)}
}

func sizeOf[T backend.Float](z T) uintptr {
	if _, ok := any(z).(float32); ok {
		return 4
	}
	return 8
}

// setPar fills par's slot with x in every lane.
func setPar[T backend.Float](par []T, slot int, x T) {
	lanes := len(par) / parSlots
	for l := range lanes {
		par[slot*lanes+l] = x
	}
}

// setParBits fills par's slot with the float of the given bits (the
// masks), bits64 for float64 and its low 32 bits for float32.
func setParBits[T backend.Float](par []T, slot int, bits64 uint64) {
	lanes := len(par) / parSlots
	switch p := any(par).(type) {
	case []float32:
		for l := range lanes {
			p[slot*lanes+l] = math.Float32frombits(uint32(bits64))
		}
	case []float64:
		for l := range lanes {
			p[slot*lanes+l] = math.Float64frombits(bits64)
		}
	}
}

// updateSynapses is sp.UpdateSynapses(c, k, preOK, postOK, h, W, ld, m, v)
// on the plastic pass's current implementation, with the same bits and
// the same report of whether every written weight is finite, its rows in
// at most most parts.
//
// With A and C (one trial's pre and post factors; nil otherwise) the summed
// term is that trial's alone, h[j][i] = +0 + T(A[j]·C[i]) — the value of
// the trial sum of one trial, spelled out or by gemm — computed by the
// kernels as they go and written into h (a × b) only where the Go code
// needs it.
func updateSynapses[T backend.Float](sp *backend.Step[T], c *backend.Connection[T], k int, preOK, postOK []bool, h, W []T, ld int, m, v, A, C []T, s *synScratch[T], most int) (finite bool) {
	a, b := len(preOK), len(postOK)
	kern, _, lanes := kernelsOf[T](plasticImpl(plasticPath.Load()))
	cols := 0
	if kern != nil {
		cols = b - b%lanes
	}
	outer := func(j0, j1, i0, i1 int) {
		if A != nil {
			outerTerms(A, C, h, b, j0, j1, i0, i1)
		}
	}
	if cols == 0 {
		return splitRows(a, a*b, synMinWork, most, func(j0, j1 int) bool {
			outer(j0, j1, 0, b)
			return synapsesFast(sp, c, k, preOK, postOK, h, W, ld, m, v, j0, j1, 0, b)
		})
	}
	r := sp.Rule
	rf := s.rowFlags[:a]
	for j := range rf {
		if !preOK[j] {
			rf[j] = rowClosed
			continue
		}
		sign := c.SignOf(k, a, j)
		f := uint8(0)
		if r.NegateFor(sign) {
			f |= rowNegate
		}
		if sign > 0 {
			f |= rowExcitatory
		} else if sign < 0 {
			f |= rowInhibitory
		}
		rf[j] = f
	}
	ok := s.ok[:b]
	for i, o := range postOK {
		ok[i] = 0
		if o {
			ok[i] = 1
		}
	}
	par := s.par
	flags := 0
	set := func(on bool, flag, slot int, x T) {
		if on {
			flags |= flag
			setPar(par, slot, x)
		}
	}
	set(r.SoftBound != 0, synSoftBound, parSoft, r.SoftBound)
	set(r.L1 != 0, synL1, parL1, r.L1)
	set(r.L2 != 0, synL2, parL2, r.L2)
	setPar(par, parRate, r.Rate[k])
	if c.Bounded {
		flags |= synBounded
		setPar(par, parMin, c.Min)
		setPar(par, parMax, c.Max)
	}
	if c.FreezeZero {
		flags |= synFreeze
	}
	if r.Optimizer == backend.Adam {
		flags |= synAdam
		setPar(par, parB1, r.Beta1)
		setPar(par, parOneMinusB1, sp.OneMinusB1)
		setPar(par, parB2, r.Beta2)
		setPar(par, parOneMinusB2, sp.OneMinusB2)
		setPar(par, parC1, sp.C1)
		setPar(par, parC2, sp.C2)
		setPar(par, parEps, r.Epsilon)
	}
	var scale []T
	if c.Scale != nil {
		flags |= synScale
		scale = c.Scale[k*a*b : (k+1)*a*b]
	}
	if _, f32 := any(h).([]float32); f32 {
		setParBits(par, parSignBit, 1<<31)
		setParBits(par, parAbsMask, 1<<31-1)
		setParBits(par, parInf, 0x7f800000)
	} else {
		setParBits(par, parSignBit, 1<<63)
		setParBits(par, parAbsMask, 1<<63-1)
		setParBits(par, parInf, 0x7ff0000000000000)
	}
	setPar(par, parOne, 1)
	setPar(par, parMinusOne, -1)
	hk, ldh, ak := h, b, []T(nil)
	if A != nil {
		flags |= synOuter
		hk, ldh, ak = C, 0, A
	}
	return splitRows(a, a*b, synMinWork, most, func(j0, j1 int) bool {
		at := kern(j1-j0, cols, &hk[j0*ldh], ldh, ptr(ak, j0), b, &W[j0*ld], ld, ptr(scale, j0*b), ptr(m, j0*b), ptr(v, j0*b), &ok[0], &rf[j0], &par[0], flags)
		fin := true
		if n := (j1 - j0) * cols; at < n {
			// The kernel stopped at a non-finite weight: the Go code
			// finishes its row and the rows after it.
			jb := j0 + at/cols
			outer(jb, j1, 0, b)
			fin = synapsesFast(sp, c, k, preOK, postOK, h, W, ld, m, v, jb, jb+1, at%cols, b)
			fin = synapsesFast(sp, c, k, preOK, postOK, h, W, ld, m, v, jb+1, j1, 0, b) && fin
			j1 = jb
		}
		if cols < b {
			outer(j0, j1, cols, b)
			fin = synapsesFast(sp, c, k, preOK, postOK, h, W, ld, m, v, j0, j1, cols, b) && fin
		}
		return fin
	})
}

// outerTerms sets h[j·b+i] = +0 + T(A[j]·C[i]) for j in [j0, j1), i in
// [i0, i1): one trial's summed term, as applyRule's spelled-out sum has it.
func outerTerms[T backend.Float](A, C, h []T, b, j0, j1, i0, i1 int) {
	for j := j0; j < j1; j++ {
		aj, hj := A[j], h[j*b:(j+1)*b]
		for i := i0; i < i1; i++ {
			var acc T
			hj[i] = acc + T(aj*C[i])
		}
	}
}

// synapsesFast is synapsesGo with the rule's and the connection's
// constants read once and each row taken in blocks of up to fastBlock
// synapses, one short loop per operation of Step.Apply and
// Connection.Project in their order (each product rounded by its
// conversion, no fused multiply-add), so that no loop carries the branches
// of the others. A synapse whose new weight is not finite is left to
// synapsesGo, from its unchanged weight and Adam state, for the NaN
// payloads of the backend's code.
func synapsesFast[T backend.Float](sp *backend.Step[T], c *backend.Connection[T], k int, preOK, postOK []bool, h, W []T, ld int, m, v []T, j0, j1, i0, i1 int) (finite bool) {
	r := sp.Rule
	lr := r.Rate[k]
	a, b := len(preOK), len(postOK)
	adam := r.Optimizer == backend.Adam
	fin := true
	var dBuf, nBuf, mBuf, vBuf [fastBlock]T
	for j := j0; j < j1; j++ {
		if !preOK[j] {
			continue
		}
		sign := c.SignOf(k, a, j)
		negate := r.NegateFor(sign)
		for x0 := i0; x0 < i1; x0 += fastBlock {
			x1 := min(x0+fastBlock, i1)
			n := x1 - x0
			w, d, nw := W[j*ld+x0:j*ld+x1], dBuf[:n], nBuf[:n]
			copy(d, h[j*b+x0:j*b+x1])
			if s := r.SoftBound; s != 0 {
				for i, wi := range w {
					if wi < 0 {
						wi = -wi
					}
					d[i] = T(d[i] * T(s-wi))
				}
			}
			if l1 := r.L1; l1 != 0 {
				for i, wi := range w {
					var sg T
					if wi > 0 {
						sg = 1
					} else if wi < 0 {
						sg = -1
					}
					d[i] = d[i] - T(l1*sg)
				}
			}
			if l2 := r.L2; l2 != 0 {
				for i, wi := range w {
					d[i] = d[i] - T(l2*wi)
				}
			}
			if negate {
				for i := range d {
					d[i] = -d[i]
				}
			}
			var sc []T
			if c.Scale != nil {
				sc = c.Scale[(k*a+j)*b+x0 : (k*a+j)*b+x1]
				for i, s := range sc {
					d[i] = T(s * d[i]) // without a scale, 1·d = d
				}
			}
			var mj, vj, mm, vv []T
			if adam {
				mj, vj, mm, vv = m[j*b+x0:j*b+x1], v[j*b+x0:j*b+x1], mBuf[:n], vBuf[:n]
				b1, b2, omb1, omb2 := r.Beta1, r.Beta2, sp.OneMinusB1, sp.OneMinusB2
				c1, c2, eps := sp.C1, sp.C2, r.Epsilon
				for i, g := range d {
					mm[i] = T(b1*mj[i]) + T(omb1*g)
					vv[i] = T(b2*vj[i]) + T(omb2*T(g*g))
					nw[i] = w[i] + T(lr*((mm[i]/c1)/(backend.Sqrt(vv[i]/c2)+eps)))
				}
			} else {
				for i, g := range d {
					nw[i] = w[i] + T(lr*g)
				}
			}
			if sign > 0 {
				for i, x := range nw {
					if x < 0 {
						nw[i] = 0
					}
				}
			} else if sign < 0 {
				for i, x := range nw {
					if x > 0 {
						nw[i] = 0
					}
				}
			}
			if c.Bounded {
				lo, hi := c.Min, c.Max
				for i, x := range nw {
					if x < lo {
						x = lo
					}
					if x > hi {
						x = hi
					}
					nw[i] = x
				}
			}
			ok := postOK[x0:x1]
			for i, x := range nw {
				if !ok[i] || sc != nil && sc[i] == 0 || c.FreezeZero && w[i] == 0 {
					continue
				}
				if x-x != 0 {
					fin = synapsesGo(sp, c, k, preOK, postOK, h, W, ld, m, v, j, j+1, x0+i, x0+i+1) && fin
					continue
				}
				w[i] = x
				if adam {
					mj[i], vj[i] = mm[i], vv[i]
				}
			}
		}
	}
	return fin
}

// fastBlock is the width of synapsesFast's blocks.
const fastBlock = 256

// synapsesGo is backend.Step.UpdateSynapses's loop on the rows [j0, j1)
// and columns [i0, i1) of the matrix, the same calls of Step.Apply and
// Connection.Project per synapse.
func synapsesGo[T backend.Float](sp *backend.Step[T], c *backend.Connection[T], k int, preOK, postOK []bool, h, W []T, ld int, m, v []T, j0, j1, i0, i1 int) (finite bool) {
	r := sp.Rule
	lr := r.Rate[k]
	a, b := len(preOK), len(postOK)
	bad := false
	for j := j0; j < j1; j++ {
		if !preOK[j] {
			continue
		}
		sign := c.SignOf(k, a, j)
		negate := r.NegateFor(sign)
		row := W[j*ld : j*ld+b]
		for i := i0; i < i1; i++ {
			w := row[i]
			if !postOK[i] {
				continue
			}
			sc := T(1)
			if c.Scale != nil {
				sc = c.Scale[(k*a+j)*b+i]
			}
			if sc == 0 || c.FreezeZero && w == 0 {
				continue
			}
			var mp, vp *T
			if m != nil {
				mp, vp = &m[j*b+i], &v[j*b+i]
			}
			w = c.Project(sp.Apply(h[j*b+i], w, sc, lr, negate, mp, vp), sign)
			row[i] = w
			bad = bad || !backend.IsFinite(w)
		}
	}
	return !bad
}

// ojaTerms sets h (a × b, pre-major) to Oja's summed term over the nt
// trials whose pre vectors are pre[x·a : (x+1)·a] and post vectors
// pst[x·b : (x+1)·b], with the weights W (leading dimension ld): each h
// element adds its trials' terms in ascending order from +0, as the
// reference does. When some sum is NaN, all of h is summed again by
// ojaTermsGo, whose NaN payloads are those of the Go code before the
// kernels.
func ojaTerms[T backend.Float](a, b, nt int, pre, pst, h, W []T, ld, most int) {
	_, kern, lanes := kernelsOf[T](plasticImpl(plasticPath.Load()))
	cols := 0
	if kern != nil {
		cols = b - b%lanes
	}
	if cols == 0 {
		ojaTermsGo(a, b, nt, pre, pst, h, W, ld)
		return
	}
	finite := splitRows(a, a*b*max(nt, 1), synMinWork, most, func(j0, j1 int) bool {
		if kern(j1-j0, cols, nt, &h[j0*b], b, &W[j0*ld], ld, ptr(pre, j0), a, ptr(pst, 0), b) {
			return false
		}
		for j := j0; j < j1; j++ {
			hj, wj := h[j*b:(j+1)*b], W[j*ld:j*ld+b]
			for i := cols; i < b; i++ {
				var acc T
				for x := 0; x < nt; x++ {
					acc = acc + backend.OjaTerm(pre[x*a+j], pst[x*b+i], wj[i])
				}
				if acc != acc {
					return false
				}
				hj[i] = acc
			}
		}
		return true
	})
	if !finite {
		ojaTermsGo(a, b, nt, pre, pst, h, W, ld)
	}
}

// ojaTermsGo is ojaTerms in Go, trials outermost.
func ojaTermsGo[T backend.Float](a, b, nt int, pre, pst, h, W []T, ld int) {
	clear(h[:a*b])
	for x := 0; x < nt; x++ {
		px, qx := pre[x*a:(x+1)*a], pst[x*b:(x+1)*b]
		for j := 0; j < a; j++ {
			hj, wj, pj := h[j*b:(j+1)*b], W[j*ld:j*ld+b], px[j]
			for i, q := range qx {
				hj[i] = hj[i] + backend.OjaTerm(pj, q, wj[i])
			}
		}
	}
}

// synMinWork is the number of synapses below which a part of the pass is
// not worth a goroutine (a few microseconds of the kernels).
var synMinWork = 1 << 14

// splitRows runs f on row ranges that tile [0, rows), in at most most
// parts and on idle cores (claimCores) when the work (in units of minWork)
// is large enough, and reports whether every call did.
func splitRows(rows, work, minWork, most int, f func(j0, j1 int) bool) bool {
	parts := 1 + claimCores(min(most, rows, work/minWork))
	defer releaseCores(parts - 1)
	if parts == 1 {
		return f(0, rows)
	}
	fin := make([]bool, parts)
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fin[p] = f(rows*p/parts, rows*(p+1)/parts)
		}()
	}
	fin[0] = f(0, rows/parts)
	wg.Wait()
	for _, ok := range fin {
		if !ok {
			return false
		}
	}
	return true
}
