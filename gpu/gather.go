//go:build cuda

package gpu

import (
	"unsafe"

	"github.com/ratesim/ratesim/backend"
)

// sparseMaxDensity is the largest density of a program's Sparse at which a
// run uses the gathered kernel instead of the tiled dense one (both give
// the same bits). Above it the tiles' shared-memory reuse wins; the value
// is the CPU backend's until a device measures its own.
const sparseMaxDensity = 0.25

// useGather reports whether p runs with the gathered-drive kernel: always
// with delays (each synapse reads its own step) and the L5 rule's low-rank
// form, and for a sparse drive sparse enough to pay.
func useGather[T backend.Float](p *backend.Program[T]) bool {
	if p.Delays != nil || backend.IsL5LowRank(p) {
		return true // the low-rank form's part is added by the gathered kernel
	}
	return p.Sparse != nil && backend.SparseDensity(p) <= sparseMaxDensity
}

// gatherHost is a program's drive as kernels/gather.cu reads it: CSR rows
// of every instance, one after another (rowStart K × (N+1), offsets from
// 0), from p.Sparse when set (so a shard uploads only its own instances'
// entries) or from Drive's nonzero weights, and each entry's delay when p
// has delays (nil otherwise).
type gatherHost[T backend.Float] struct {
	rowStart, col []int32
	val           []T
	delay         []uint16
}

func newGatherHost[T backend.Float](p *backend.Program[T]) *gatherHost[T] {
	K, N, rows := p.Instances, p.Units, p.DriveRows()
	g := &gatherHost[T]{rowStart: make([]int32, 0, K*(N+1))}
	add := func(k, i int, j int32, w T) {
		g.col = append(g.col, j)
		g.val = append(g.val, w)
		if p.Delays != nil {
			var d uint16
			if int(j) < N {
				d = p.Delays.Steps[(k*N+int(j))*N+i]
			}
			g.delay = append(g.delay, d)
		}
	}
	for k := 0; k < K; k++ {
		W := p.Drive[k*rows*N : (k+1)*rows*N]
		for i := 0; i < N; i++ {
			g.rowStart = append(g.rowStart, int32(len(g.col)))
			if p.Sparse != nil {
				cols, vals := p.Sparse.Row(k, i, N)
				for e, j := range cols {
					add(k, i, j, vals[e])
				}
				continue
			}
			for j := 0; j < rows; j++ {
				if w := W[j*N+i]; w != 0 {
					add(k, i, int32(j), w)
				}
			}
		}
		g.rowStart = append(g.rowStart, int32(len(g.col)))
	}
	return g
}

// historySlots is the number of rate vectors per trial the device's delay
// ring buffer holds: D+2, one more than a step reads, so that the slot a
// step writes is one no thread of it reads (kernels/gather.cu).
func historySlots[T backend.Float](p *backend.Program[T]) int {
	if p.Delays == nil {
		return 0
	}
	return p.Delays.Max + 2
}

// gatherBytes estimates the device memory the gathered drive of p adds
// to runBytes: its CSR and the delays' ring buffer.
func gatherBytes[T backend.Float](p *backend.Program[T]) int64 {
	if !useGather(p) {
		return 0
	}
	elem := int64(elemSize[T]())
	entries := int64(p.Instances) * int64(p.DriveRows()) * int64(p.Units) // dense drives: at most every weight
	if p.Sparse != nil {
		entries = int64(backend.SparseEntries(p))
	}
	per := 4 + elem
	if p.Delays != nil {
		per += 2
	}
	n := int64(p.Instances)*int64(p.Units+1)*4 + entries*per
	return n + int64(historySlots(p))*int64(p.Instances)*int64(p.Trials)*int64(p.Units)*elem
}

// gatherDev is a run's gathered drive on the device.
type gatherDev struct {
	rowStart, col, val, delay, hist dptr
	slots                           int
}

// uploadGather puts p's gathered drive on the device, and the delays' ring
// buffer with r_0 (K × B × N) in every slot, the contract's history before
// step 1.
func uploadGather[T backend.Float](c calls, p *backend.Program[T], r0 []T) (*gatherDev, error) {
	h := newGatherHost(p)
	g := &gatherDev{slots: historySlots(p)}
	up := func(dst *dptr, src unsafe.Pointer, n int64, what string) error {
		if n == 0 {
			return nil
		}
		d, err := c.alloc(n, what)
		if err != nil {
			return err
		}
		*dst = d
		return c.htod(d, src, n)
	}
	ptr := func(n int, p unsafe.Pointer) unsafe.Pointer {
		if n == 0 {
			return nil
		}
		return p
	}
	elem := int64(elemSize[T]())
	var hist []T
	if g.slots > 0 {
		K, B, N := p.Instances, p.Trials, p.Units
		hist = make([]T, 0, K*B*g.slots*N)
		for kb := 0; kb < K*B; kb++ {
			for s := 0; s < g.slots; s++ {
				hist = append(hist, r0[kb*N:(kb+1)*N]...)
			}
		}
	}
	for _, a := range []struct {
		dst  *dptr
		src  unsafe.Pointer
		n    int64
		what string
	}{
		{&g.rowStart, ptr(len(h.rowStart), unsafe.Pointer(unsafe.SliceData(h.rowStart))), int64(len(h.rowStart)) * 4, "sparse drive rows"},
		{&g.col, ptr(len(h.col), unsafe.Pointer(unsafe.SliceData(h.col))), int64(len(h.col)) * 4, "sparse drive columns"},
		{&g.val, ptr(len(h.val), unsafe.Pointer(unsafe.SliceData(h.val))), int64(len(h.val)) * elem, "sparse drive weights"},
		{&g.delay, ptr(len(h.delay), unsafe.Pointer(unsafe.SliceData(h.delay))), int64(len(h.delay)) * 2, "synaptic delays"},
		{&g.hist, ptr(len(hist), unsafe.Pointer(unsafe.SliceData(hist))), int64(len(hist)) * elem, "delay ring buffer"},
	} {
		if err := up(a.dst, a.src, a.n, a.what); err != nil {
			g.release(c)
			return nil, err
		}
	}
	return g, nil
}

func (g *gatherDev) release(c calls) {
	for _, p := range []*dptr{&g.rowStart, &g.col, &g.val, &g.delay, &g.hist} {
		if *p != 0 {
			c.free(*p)
			*p = 0
		}
	}
}
