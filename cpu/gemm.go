package cpu

//go:generate sh -c "cd internal/asmgen && go run . -out ../../gemm_amd64.s -stubs ../../gemm_amd64.go -pkg cpu"

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/ratesim/ratesim/backend"
)

// gemm computes c = a·b for row-major m×k a and k×n b, untransposed, as
// gonum's Sgemm/Dgemm with alpha = 1, beta = 0 does — the contract's sum:
//
//	c[i][j] = +0, then c[i][j] = c[i][j] + T(a[i][l]·b[l][j]) for l ascending,
//	skipping every l with a[i][l] = ±0 (a NaN factor is not skipped),
//
// each product rounded before its addition (no fused multiply-add). On amd64
// with AVX2 or AVX-512 it runs the register-blocked kernels of
// gemm_amd64.s (see gemmBlocked); elsewhere, and when kernelPath says so,
// gonum itself. A large product with idle cores splits its columns across
// goroutines; every c[i][j] is still one sum in one order, so the bits do
// not depend on the split.
func gemm[T backend.Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	// The kernels do not check bounds: what gonum would refuse panics here.
	if lda < max(1, k) || ldb < n || ldc < n || len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic("cpu: gemm: matrix shorter than its shape and stride")
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	if ks := kernelsFor[T](kernelPath.Load()); ks != nil {
		gemmBlocked(ks, m, n, k, a, lda, b, ldb, nil, c, ldc)
		return
	}
	gemmGonum(m, n, k, a, lda, b, ldb, c, ldc)
}

// packedB is a k×n right-hand factor b copied into the column panels the
// tile kernels read: tile t's k rows of nr columns contiguous at t·k·nr, the
// last, partial tile zero-padded to nr columns. A static network multiplies
// the same weights every step, and the kernels read one panel per tile many
// times (once per block of trials): rows of b a whole matrix row apart map
// to a few cache sets and one page each, so at N = 2048 a panel did not stay
// in cache between two blocks and the product ran from memory at half its
// speed; a contiguous panel does (measured in bench/RESULTS.md, "the packed
// drive"). Packing is a pure copy, so the sums are unchanged.
type packedB[T backend.Float] struct {
	path   int32 // the path whose nr the panels have
	k, n   int
	panels []T
}

// packB returns b packed for the kernels of the current path, or nil when
// that path is gonum's (which reads b in place).
func packB[T backend.Float](k, n int, b []T, ldb int) *packedB[T] {
	p := kernelPath.Load()
	ks := kernelsFor[T](p)
	if ks == nil || k == 0 || n == 0 {
		return nil
	}
	if ldb < n || len(b) < (k-1)*ldb+n {
		panic("cpu: packB: matrix shorter than its shape and stride")
	}
	nr := ks.nr
	tiles := (n + nr - 1) / nr
	pb := &packedB[T]{path: p, k: k, n: n, panels: make([]T, tiles*k*nr)}
	for t := 0; t < tiles; t++ {
		j0, j1 := t*nr, min(n, (t+1)*nr)
		panel := pb.panels[t*k*nr : (t+1)*k*nr]
		for l := 0; l < k; l++ {
			copy(panel[l*nr:l*nr+j1-j0], b[l*ldb+j0:l*ldb+j1])
		}
	}
	return pb
}

// gemmPacked is gemm with b also given packed (pb, from packB(k, n, b,
// ldb); nil for none). The panels serve while the path they were packed for
// is the current one; otherwise, as for pb == nil, it is gemm on b.
func gemmPacked[T backend.Float](m, n, k int, a []T, lda int, b []T, ldb int, pb *packedB[T], c []T, ldc int) {
	p := kernelPath.Load()
	if pb == nil || pb.path != p || m == 0 {
		gemm(m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	if pb.k != k || pb.n != n {
		panic("cpu: gemmPacked: packed factor of another shape")
	}
	if lda < k || ldc < n || len(a) < (m-1)*lda+k || len(c) < (m-1)*ldc+n {
		panic("cpu: gemm: matrix shorter than its shape and stride")
	}
	gemmBlocked(kernelsFor[T](p), m, n, k, a, lda, b, ldb, pb, c, ldc)
}

// gemmGonum is gemm on gonum's exact-order Sgemm/Dgemm (4-wide SSE on
// amd64, plain Go elsewhere): the path of CPUs without AVX2, and the one the
// kernels fall back to for a tile that came out NaN.
func gemmGonum[T backend.Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		gonumImpl.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, lda, any(b).([]float32), ldb, 0, any(c).([]float32), ldc)
	case []float64:
		gonumImpl.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, lda, any(b).([]float64), ldb, 0, any(c).([]float64), ldc)
	}
}

var gonumImpl gonum.Implementation

// path names a gemm implementation.
type path int32

const (
	pathGonum  path = iota // gonum's Sgemm/Dgemm
	pathAVX2               // gemm_amd64.s, 256-bit kernels
	pathAVX512             // gemm_amd64.s, 512-bit kernels
)

var pathNames = [...]string{pathGonum: "gonum", pathAVX2: "avx2", pathAVX512: "avx512"}

func (p path) String() string { return pathNames[p] }

// kernelPath is the implementation gemm uses: the best this CPU has, unless
// the environment variable RATESIM_CPU_GEMM names another that it has
// ("gonum", "avx2", "avx512"; benchmarks compare them in one binary). Tests
// set it to run the conformance suite on every path.
var kernelPath = func() *atomic.Int32 {
	var p atomic.Int32
	best := bestPath()
	p.Store(int32(best))
	if want := os.Getenv("RATESIM_CPU_GEMM"); want != "" {
		for q := pathGonum; q <= best; q++ {
			if q.String() == want && pathAvailable(q) {
				p.Store(int32(q))
			}
		}
	}
	return &p
}()

// GemmPath names the drive product's implementation in use ("avx512",
// "avx2" or "gonum"), for benchmark reports.
func GemmPath() string { return path(kernelPath.Load()).String() }

// tileKernel computes one tile of c = a·b (gemm_amd64.s; the contract of
// cpu/internal/asmgen): mr rows (the kernel's own) × nr columns (its set's),
// summing over the k columns l of a (row i at a + i·lda) that rows lists, in
// that order, and the same rows l of b; it reports whether the tile holds a
// NaN.
type tileKernel[T backend.Float] func(k int, a *T, lda int, rows *int, b *T, ldb int, c *T, ldc int) (nan bool)

// kernelSet is one instruction set's kernels of one precision.
type kernelSet[T backend.Float] struct {
	nr    int             // columns of every tile
	tiles []tileKernel[T] // tiles[mr-1] has mr rows
	// nonzero sets bit b of masks[g] when a[i][g·lanes+b] ≠ ±0 (or NaN)
	// for some row i < mr of a, for g < groups (lanes ≤ 32).
	nonzero func(a *T, lda, mr, groups int, masks *uint32)
	lanes   int
}

// kernelsFor returns the kernels of p in T, or nil for pathGonum.
func kernelsFor[T backend.Float](p int32) *kernelSet[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(kernels32[p]).(*kernelSet[T])
	}
	return any(kernels64[p]).(*kernelSet[T])
}

// gemmBlocked is gemm on the tile kernels of ks. Rows are taken in blocks of
// up to mrMax; for each block, the l with a[i][l] ≠ 0 for some row i of the
// block are listed. A kernel then sums, for every row of the block, the
// products of all listed l, read from a in place — including the few where
// its own a[i][l] is ±0, which gonum skips. That adds the same sum bit for
// bit unless the sum is NaN:
//
//   - the sum starts at +0 and is therefore never −0 (x + y is −0 in round
//     to nearest only when both are −0), and s + (±0) = s for every s ≠ −0,
//     NaN included (x86 returns the NaN operand);
//   - a[i][l] = ±0 times a finite b[l][j] is ±0, so such a term leaves the sum
//     unchanged; times ±Inf or NaN it is NaN, which makes the sum NaN.
//
// So a tile without NaN equals gonum's; a tile the kernel reports NaN in is
// recomputed by gonum (rare: only where a run turns non-finite). Columns come
// in tiles of nr; a last partial tile runs on a zero-padded copy of its b
// columns into a scratch tile when it has enough work, else on gonum.
//
// With pb (b packed, see packedB) the kernels read its panels instead of b;
// gonum's NaN recomputation still reads b.
func gemmBlocked[T backend.Float](ks *kernelSet[T], m, n, k int, a []T, lda int, b []T, ldb int, pb *packedB[T], c []T, ldc int) {
	mrMax, nr := len(ks.tiles), ks.nr
	w := getWorkspace[T]()
	defer putWorkspace(w)
	nblocks := (m + mrMax - 1) / mrMax
	if ld := copyStride[T](lda, k); ld != lda && m > 1 {
		// Rows a multiple of 4 KiB apart (give or take a cache line) share
		// one set of a core's L1 cache, which holds 8 lines: a tile's 12
		// rows, read side by side, would evict each other (at N = 1024 and
		// 2048 a relu network's state rows are 4116 and 8212 bytes). Their
		// copy at a stride that spreads them over the sets costs one pass.
		w.ap = grow(w.ap, (m-1)*ld+k)
		for i := 0; i < m; i++ {
			copy(w.ap[i*ld:i*ld+k], a[i*lda:i*lda+k])
		}
		a, lda = w.ap, ld
	}
	w.rows = grow(w.rows, nblocks*k)
	w.masks = grow(w.masks, k/ks.lanes)
	w.kept = grow(w.kept, nblocks)
	for ib := 0; ib < nblocks; ib++ {
		i0 := ib * mrMax
		mr := min(mrMax, m-i0)
		w.kept[ib] = listColumns(ks, a[i0*lda:], lda, mr, k, w.rows[ib*k:], w.masks)
	}

	// Columns: full tiles split into parts for idle cores, then the edge.
	full := n / nr
	parts := gemmParts(m, n, k, full)
	defer releaseCores(parts - 1)
	if parts > 1 {
		var wg sync.WaitGroup
		for p := 1; p < parts; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				gemmTiles(ks, w, m, k, a, lda, b, ldb, pb, c, ldc, full*p/parts, full*(p+1)/parts)
			}()
		}
		gemmTiles(ks, w, m, k, a, lda, b, ldb, pb, c, ldc, 0, full/parts)
		wg.Wait()
	} else {
		gemmTiles(ks, w, m, k, a, lda, b, ldb, pb, c, ldc, 0, full)
	}
	if j0 := full * nr; j0 < n {
		gemmEdge(ks, w, m, n, k, a, lda, b, ldb, pb, c, ldc, j0)
	}
}

// copyStride returns lda when rows lda elements apart fall in distinct L1
// cache sets (a 4 KiB way of 64-byte lines), else the least stride ≥ k
// whose rows are 5 lines apart in the sets.
func copyStride[T backend.Float](lda, k int) int {
	var z T
	size := int(sizeOf(z))
	if off := lda * size % 4096; off >= 256 && off <= 4096-256 {
		return lda
	}
	ld := (k*size + 4096 - 1) / 4096 * 4096 // bytes
	return (ld + 5*64) / size
}

// listColumns lists in cols the l < k where some row i < mr of a has
// a[i][l] ≠ ±0 (NaN ≠ 0 is listed; −0 is not), and returns how many it
// listed: ks's nonzero kernel marks the columns a vector at a time (the
// scalar loop below, alone, was 8 % of a step at N = 1024, B = 64), then
// the marks are listed without a data-dependent branch (a relu network's
// rates are ±0 about half the time, and a branch per column on them was a
// quarter of a step at N = 256, mispredicted): each l is written into the
// next place unconditionally and kept by advancing the count; an l not kept
// is overwritten by the next.
func listColumns[T backend.Float](ks *kernelSet[T], a []T, lda, mr, k int, cols []int, masks []uint32) int {
	_ = a[(mr-1)*lda+k-1]
	_ = cols[k-1]
	kept, l := 0, 0
	if groups := k / ks.lanes; groups > 0 {
		masks = masks[:groups]
		ks.nonzero(&a[0], lda, mr, groups, &masks[0])
		for _, m := range masks {
			for b := 0; b < ks.lanes; b++ {
				cols[kept] = l
				kept += int(m >> b & 1)
				l++
			}
		}
	}
	for ; l < k; l++ {
		nz := 0
		for i := 0; i < mr; i++ {
			nz |= oneIf(a[i*lda+l] != 0)
		}
		cols[kept] = l
		kept += nz
	}
	return kept
}

// oneIf is 1 for true, else 0 (compiled to a flag set, not a branch).
func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

// gemmTiles runs the column tiles [t0, t1) of every row block.
func gemmTiles[T backend.Float](ks *kernelSet[T], w *workspace[T], m, k int, a []T, lda int, b []T, ldb int, pb *packedB[T], c []T, ldc int, t0, t1 int) {
	mrMax, nr := len(ks.tiles), ks.nr
	for t := t0; t < t1; t++ {
		j := t * nr
		panel, ld := &b[j], ldb
		if pb != nil {
			panel, ld = &pb.panels[t*k*nr], nr
		}
		for ib, i0 := 0, 0; i0 < m; ib, i0 = ib+1, i0+mrMax {
			mr := min(mrMax, m-i0)
			kept := w.kept[ib]
			if ks.tiles[mr-1](kept, &a[i0*lda], lda, ptr(w.rows, ib*k), panel, ld, &c[i0*ldc+j], ldc) {
				gemmGonum(mr, nr, k, a[i0*lda:], lda, b[j:], ldb, c[i0*ldc+j:], ldc)
			}
		}
	}
}

// gemmEdge computes the columns [j0, n), fewer than one tile.
func gemmEdge[T backend.Float](ks *kernelSet[T], w *workspace[T], m, n, k int, a []T, lda int, b []T, ldb int, pb *packedB[T], c []T, ldc int, j0 int) {
	mrMax, nr := len(ks.tiles), ks.nr
	cols := n - j0
	var panel []T
	switch {
	case pb != nil:
		panel = pb.panels[j0/nr*k*nr:]
	case m*cols < nr:
		// Less work than copying the padded panel.
		gemmGonum(m, cols, k, a, lda, b[j0:], ldb, c[j0:], ldc)
		return
	default:
		w.bp = grow(w.bp, k*nr)
		for l := 0; l < k; l++ {
			row := w.bp[l*nr : (l+1)*nr]
			copy(row, b[l*ldb+j0:l*ldb+n])
			clear(row[cols:])
		}
		panel = w.bp
	}
	w.ct = grow(w.ct, mrMax*nr)
	for ib, i0 := 0, 0; i0 < m; ib, i0 = ib+1, i0+mrMax {
		mr := min(mrMax, m-i0)
		if ks.tiles[mr-1](w.kept[ib], &a[i0*lda], lda, ptr(w.rows, ib*k), &panel[0], nr, &w.ct[0], nr) {
			// The padding may be what is NaN; gonum writes the real columns.
			gemmGonum(mr, cols, k, a[i0*lda:], lda, b[j0:], ldb, c[i0*ldc+j0:], ldc)
			continue
		}
		for i := 0; i < mr; i++ {
			copy(c[(i0+i)*ldc+j0:(i0+i)*ldc+n], w.ct[i*nr:i*nr+cols])
		}
	}
}

// gemmMinWork is the number of multiply-adds below which a part of a
// product is not worth a goroutine (tens of microseconds).
var gemmMinWork = 1 << 20

// busyCores counts the goroutines doing a run's work now: Advance's
// workers, each from its first task to its last, and the extra parts that
// gemm and splitRows start. The cores beyond them are idle, so a large
// product or pass may claim them — one large network with few trials has
// fewer tasks than cores, and the last task of a step runs alone — but
// never a core that another task is using: a part queued behind another
// task's unit step would hold up its whole product.
var busyCores atomic.Int32

// claimCores claims up to want − 1 idle cores for the parts of a product or
// pass beyond the caller's own and returns how many it got (a caller
// outside Advance counts as one busy core); releaseCores gives them back.
func claimCores(want int) int {
	procs := int32(runtime.GOMAXPROCS(0))
	for {
		b := busyCores.Load()
		extra := min(int32(want-1), procs-max(b, 1))
		if extra <= 0 {
			return 0
		}
		if busyCores.CompareAndSwap(b, b+extra) {
			return int(extra)
		}
	}
}

func releaseCores(n int) {
	if n > 0 {
		busyCores.Add(int32(-n))
	}
}

// gemmParts returns how many goroutines should share the tiles of a
// product, claiming the cores of all but the first; the caller releases
// them (releaseCores(parts − 1)) when the parts are done.
func gemmParts(m, n, k, tiles int) int {
	return 1 + claimCores(min(tiles, m*n*k/gemmMinWork))
}

// workspace holds one gemm call's packed rows and scratch.
type workspace[T backend.Float] struct {
	ap     []T      // a copied at copyStride, when its own stride is not
	rows   []int    // block ib's listed columns of a (rows of b) at ib·k
	masks  []uint32 // listColumns' marks
	kept   []int    // listed rows per block
	bp, ct []T      // edge: padded b columns, scratch tile
}

var workspaces32, workspaces64 sync.Pool

func getWorkspace[T backend.Float]() *workspace[T] {
	pool := &workspaces64
	var z T
	if _, ok := any(z).(float32); ok {
		pool = &workspaces32
	}
	if w, ok := pool.Get().(*workspace[T]); ok {
		return w
	}
	return &workspace[T]{}
}

func putWorkspace[T backend.Float](w *workspace[T]) {
	var z T
	if _, ok := any(z).(float32); ok {
		workspaces32.Put(w)
	} else {
		workspaces64.Put(w)
	}
}

// grow returns s with length n, reallocated when its capacity is short.
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// ptr is &s[i], or a valid pointer (never read: the kernel loops zero
// times) when s has no element i.
func ptr[E any](s []E, i int) *E {
	if i < len(s) {
		return &s[i]
	}
	var zero E
	return &zero
}
