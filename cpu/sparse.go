package cpu

//go:generate sh -c "cd internal/asmgen && go run . -set gather -out ../../sparse_amd64.s -stubs ../../sparse_amd64.go -pkg cpu"

import (
	"math"
	"os"

	"github.com/ratesim/ratesim/backend"
)

// csrDrive is one instance's drive as the gathered product runs it: for
// postsynaptic unit i, entries rowStart[i] … rowStart[i+1]−1, presynaptic
// indices ascending (the contract's order), each with its weight and the
// delay selector that says which rate vector of the ring buffer it reads
// (its delay for a recurrent synapse, D+1 for the input and bias columns,
// which read the current values).
type csrDrive[T backend.Float] struct {
	rowStart []int32 // N+1, from 0
	col      []int32
	val      []T
	sel      []uint16
	// dense are the postsynaptic units run by the dense product (the
	// program's Sparse.Dense hint, without delays), their rows empty here;
	// w is the instance's Drive, which that product reads.
	dense []backend.ColumnRange
	w     []T
	// inputTail is set when every row's last entry is its own unit's
	// input with weight 1 (the identity input through which a circuit's
	// stimulus enters): the row kernel can then add the input where the
	// input chunk holds it (fusesInput).
	inputTail bool
}

// sparseMaxDensity is the largest density of a program's Sparse at which
// the CPU backend runs the gathered product instead of Gemm (both give the
// same bits; above it the dense product is as fast, see BenchmarkSparse).
const sparseMaxDensity = 0.25

// useGather reports whether the CPU backend runs p's drive as gathered
// rows: always with delays (Gemm cannot read a different step per
// synapse), and for a sparse drive sparse enough to pay — with a Dense
// hint, the density of the units it leaves to the gathered product (the
// hinted units then run by Gemm).
func useGather[T backend.Float](p *backend.Program[T]) bool {
	if p.Delays != nil {
		return true
	}
	sp := p.Sparse
	if sp == nil {
		return false
	}
	if len(sp.Dense) == 0 {
		return backend.SparseDensity(p) <= sparseMaxDensity
	}
	N, rows := p.Units, p.DriveRows()
	gathered := N - sp.DenseUnits()
	if gathered == 0 {
		return false
	}
	entries := 0
	for k := 0; k < p.Instances; k++ {
		entries += sp.Entries(k, N)
		for _, r := range sp.Dense {
			entries -= int(sp.RowStart[k*(N+1)+r.Hi] - sp.RowStart[k*(N+1)+r.Lo])
		}
	}
	return float64(entries)/float64(p.Instances*rows*gathered) <= sparseMaxDensity
}

// gatherBlock is the trials per task of a gathered drive: the AVX row
// kernels take 8 or 16 trials at a time (fewer run one by one in Go), so
// the trials are split into as few blocks of whole eights as keep the w
// workers busy over the K instances (B = 16 on 2 workers: two blocks of
// 8, where the dense path's four blocks of 4 would leave the kernels
// idle). Four to seven trials stay one task: gatherQuads reads an entry
// once for four trials, so one task does the work of two tasks of pairs
// on one core (the static layer-5 example, four directions on two Zen 4
// cores: 41 ms as one task, 45 ms as two, the second core then free for
// the run's recording and input).
func gatherBlock(K, B, w int) int {
	want := max(1, (w+K-1)/K)
	if hasGatherAVX && B >= 4 && B < 8 {
		return B
	}
	if B < 8 && want > 1 {
		// Fewer than eight trials run one by one in Go (gatheredTrial):
		// split them over the workers.
		return (B + min(want, B) - 1) / min(want, B)
	}
	pieces := min(want, max(1, B/8))
	block := (B + pieces - 1) / pieces
	if block >= 8 {
		block = (block + 7) / 8 * 8
	}
	return block
}

// denseUnit reports whether unit i lies in one of the ranges.
func denseUnit(ranges []backend.ColumnRange, i int) bool {
	for _, r := range ranges {
		if r.Lo <= i && i < r.Hi {
			return true
		}
	}
	return false
}

// newCSRDrive builds instance k's gathered drive: from p.Sparse when it is
// set, else from Drive's nonzero weights (the same sums, rule 3).
func newCSRDrive[T backend.Float](p *backend.Program[T], k int) *csrDrive[T] {
	N, rows := p.Units, p.DriveRows()
	D := 0
	if p.Delays != nil {
		D = p.Delays.Max
	}
	c := &csrDrive[T]{rowStart: make([]int32, 1, N+1)}
	if p.Sparse != nil && p.Delays == nil {
		c.dense = p.Sparse.Dense
	}
	if p.Sparse != nil {
		e := p.Sparse.Entries(k, N)
		c.col, c.val, c.sel = make([]int32, 0, e), make([]T, 0, e), make([]uint16, 0, e)
	}
	add := func(i int, j int32, w T) {
		sel := uint16(D + 1)
		if int(j) < N {
			sel = 0
			if p.Delays != nil {
				sel = p.Delays.Steps[(k*N+int(j))*N+i]
			}
		}
		c.col = append(c.col, j)
		c.val = append(c.val, w)
		c.sel = append(c.sel, sel)
	}
	W := p.Drive[k*rows*N : (k+1)*rows*N]
	c.w = W
	for i := 0; i < N; i++ {
		if denseUnit(c.dense, i) {
			// computed by the dense product (see product)
		} else if p.Sparse != nil {
			cols, vals := p.Sparse.Row(k, i, N)
			for e, j := range cols {
				add(i, j, vals[e])
			}
		} else {
			for j := 0; j < rows; j++ {
				if w := W[j*N+i]; w != 0 {
					add(i, int32(j), w)
				}
			}
		}
		c.rowStart = append(c.rowStart, int32(len(c.col)))
	}
	c.inputTail = p.Inputs >= N && len(c.dense) == 0 && p.Delays == nil
	for i := 0; i < N && c.inputTail; i++ {
		last := c.rowStart[i+1] - 1
		c.inputTail = last >= c.rowStart[i] && int(c.col[last]) == N+i && c.val[last] == 1
	}
	return c
}

// fusesInput reports whether the gathered product of the trials of h runs
// every row on gatherQuadRowsIn{S,D}, which reads each row's input from the
// input chunk (history.u) instead of the history: the rows' inputs are
// their tails (inputTail), all trials go four at a time on the AVX2 row
// kernel (gathered's path for float64, and for float32 below 8 trials)
// and the rows come in whole groups of four. The history then holds no
// inputs (see history.beginInputs).
func (c *csrDrive[T]) fusesInput(h *history[T], n int) bool {
	_, single := any(c).(*csrDrive[float32])
	return c.inputTail && hasGatherAVX2 && len(h.buf) < 1<<31 && h.nb%4 == 0 && n%4 == 0 && !(single && h.nb >= 8)
}

// product computes x = the drive of the nb trials whose presynaptic
// values h holds (see history), x laid out nb × N: for each row and trial,
// the row's entries in ascending column order added to +0, each product
// rounded before its sum — the contract's sum without the zero-weight
// terms. Trials go several at a time, the values of a synapse's trials
// adjacent so that an entry is read once for all of them: on the AVX
// kernels 16 and 8 (float32), then four and two, then one (in Go without
// AVX: eight, then one). The units of c.dense (whose
// rows are empty, so the gathered pass writes +0 there) are then computed
// by Gemm from the step's z: the same sums (rule 3).
func (c *csrDrive[T]) product(h *history[T], x []T, n int) {
	c.gathered(h, x, n)
	rows := len(c.w) / n
	for _, r := range c.dense {
		gemm(h.nb, r.Hi-r.Lo, rows, h.z, rows, c.w[r.Lo:], n, x[r.Lo:], n)
	}
}

// gathered is product's pass over the CSR rows.
func (c *csrDrive[T]) gathered(h *history[T], x []T, n int) {
	nb, buf, base := h.nb, h.buf, h.base
	if hasGatherAVX && len(buf) < 1<<31 {
		if c32, ok := any(c).(*csrDrive[float32]); ok && nb >= 8 {
			productAVX(c32, any(h).(*history[float32]), any(x).([]float32), n)
			return
		}
		// float64 (and float32 below 8 trials): four trials at a time on
		// gatherQuads, then pairs, then one.
		c.gatheredRest(h, x, n, 0)
		return
	}
	for i := 0; i < n && nb >= 8; i++ {
		lo, hi := c.rowStart[i], c.rowStart[i+1]
		vals := c.val[lo:hi]
		cols, sels := c.col[lo:hi], c.sel[lo:hi]
		cols, sels = cols[:len(vals)], sels[:len(vals)]
		b0 := 0
		for ; b0+8 <= nb; b0 += 8 {
			var a0, a1, a2, a3, a4, a5, a6, a7 T // +0
			for e, w := range vals {
				at := base[sels[e]] + int(cols[e])*nb + b0
				z := buf[at : at+8 : at+8]
				a0 = a0 + T(w*z[0])
				a1 = a1 + T(w*z[1])
				a2 = a2 + T(w*z[2])
				a3 = a3 + T(w*z[3])
				a4 = a4 + T(w*z[4])
				a5 = a5 + T(w*z[5])
				a6 = a6 + T(w*z[6])
				a7 = a7 + T(w*z[7])
			}
			x[b0*n+i], x[(b0+1)*n+i], x[(b0+2)*n+i], x[(b0+3)*n+i] = a0, a1, a2, a3
			x[(b0+4)*n+i], x[(b0+5)*n+i], x[(b0+6)*n+i], x[(b0+7)*n+i] = a4, a5, a6, a7
		}
	}
	c.gatheredRest(h, x, n, nb-nb%8)
}

// gatheredRest is gathered for the trials from b0 on: fours and pairs on
// the AVX kernels where the CPU has them, then one by one.
func (c *csrDrive[T]) gatheredRest(h *history[T], x []T, n, b0 int) {
	if hasGatherAVX && len(h.buf) < 1<<31 {
		for ; b0+4 <= h.nb; b0 += 4 {
			c.gatheredQuad(h, x, n, b0)
		}
		for ; b0+2 <= h.nb; b0 += 2 {
			c.gatheredPair(h, x, n, b0)
		}
	}
	for ; b0 < h.nb; b0++ {
		c.gatheredTrial(h, x, n, b0)
	}
}

// gatheredPair is gathered for trials b and b+1 (adjacent in the
// history) on gatherPairs{S,D} (sparse_amd64.s): four rows side by side
// for their common length, each weight read once for both trials, then
// each row's rest in Go, continuing its chain — every sum still its row's
// entries in order from +0 (gatheredTrial's bits).
func (c *csrDrive[T]) gatheredPair(h *history[T], x []T, n, b int) {
	buf, off := h.buf, h.offsets32(c)
	val, rs := c.val, c.rowStart
	var acc [8]T
	i := 0
	for ; i+4 <= n; i += 4 {
		l := [4]int32{rs[i], rs[i+1], rs[i+2], rs[i+3]}
		m := min(l[1]-l[0], l[2]-l[1], l[3]-l[2], rs[i+4]-l[3])
		clear(acc[:])
		if m > 0 {
			pairKernel(m, &val[l[0]], &val[l[1]], &val[l[2]], &val[l[3]], [4]*int32{&off[l[0]], &off[l[1]], &off[l[2]], &off[l[3]]}, &buf[b], &acc)
		}
		for r := range 4 {
			a0, a1 := acc[2*r], acc[2*r+1]
			for e := l[r] + m; e < rs[i+r+1]; e++ {
				z := buf[int(off[e])+b : int(off[e])+b+2 : int(off[e])+b+2]
				a0 = a0 + T(val[e]*z[0])
				a1 = a1 + T(val[e]*z[1])
			}
			x[b*n+i+r], x[(b+1)*n+i+r] = a0, a1
		}
	}
	for ; i < n; i++ {
		var a0, a1 T // +0
		for e := rs[i]; e < rs[i+1]; e++ {
			z := buf[int(off[e])+b : int(off[e])+b+2 : int(off[e])+b+2]
			a0 = a0 + T(val[e]*z[0])
			a1 = a1 + T(val[e]*z[1])
		}
		x[b*n+i], x[(b+1)*n+i] = a0, a1
	}
}

// gatheredQuad is gatheredPair for trials b … b+3: every row on
// gatherQuadRows{S,D} where the CPU has AVX2, else four rows at a time on
// gatherQuads{S,D} with each row's rest in Go. It is gatheredPair's loop
// with four sums for two, not one function of the trial count: the rows'
// rests then loop over the trials, and two trials (B = 2, N = 4096 at 5 %,
// BenchmarkSparseDrive) ran 30 % slower.
func (c *csrDrive[T]) gatheredQuad(h *history[T], x []T, n, b int) {
	buf, off := h.buf, h.offsets32(c)
	val, rs := c.val, c.rowStart
	var acc [16]T
	i := 0
	if g := n / 4; hasGatherAVX2 && g > 0 && len(val) > 0 {
		_ = x[(b+3)*n+4*g-1]
		u := h.u
		if u != nil {
			_ = u[(b+3)*h.ldu+4*g-1]
		}
		if pk, ok := h.packed(c, 4*g, u != nil); ok {
			if u != nil {
				packedInKernel(g, &pk.meta[0], &pk.rec[0], &buf[b], &x[b*n], n, &u[b*h.ldu], h.ldu)
				return // every row, fusesInput
			}
			packedKernel(g, &pk.meta[0], &pk.rec[0], &buf[b], &x[b*n], n)
			i = 4 * g
		} else if u != nil {
			quadRowsInKernel(g, &rs[0], &off[0], &val[0], &buf[b], &x[b*n], n, &u[b*h.ldu], h.ldu)
			return // every row, fusesInput
		} else {
			quadRowsKernel(g, &rs[0], &off[0], &val[0], &buf[b], &x[b*n], n)
			i = 4 * g
		}
	}
	for ; i+4 <= n; i += 4 {
		l := [4]int32{rs[i], rs[i+1], rs[i+2], rs[i+3]}
		m := min(l[1]-l[0], l[2]-l[1], l[3]-l[2], rs[i+4]-l[3])
		clear(acc[:])
		if m > 0 {
			quadKernel(m, &val[l[0]], &val[l[1]], &val[l[2]], &val[l[3]], [4]*int32{&off[l[0]], &off[l[1]], &off[l[2]], &off[l[3]]}, &buf[b], &acc)
		}
		for r := range 4 {
			a := (*[4]T)(acc[4*r : 4*r+4])
			for e := l[r] + m; e < rs[i+r+1]; e++ {
				z := buf[int(off[e])+b : int(off[e])+b+4 : int(off[e])+b+4]
				a[0] = a[0] + T(val[e]*z[0])
				a[1] = a[1] + T(val[e]*z[1])
				a[2] = a[2] + T(val[e]*z[2])
				a[3] = a[3] + T(val[e]*z[3])
			}
			x[b*n+i+r], x[(b+1)*n+i+r], x[(b+2)*n+i+r], x[(b+3)*n+i+r] = a[0], a[1], a[2], a[3]
		}
	}
	for ; i < n; i++ {
		var a [4]T // +0
		for e := rs[i]; e < rs[i+1]; e++ {
			z := buf[int(off[e])+b : int(off[e])+b+4 : int(off[e])+b+4]
			a[0] = a[0] + T(val[e]*z[0])
			a[1] = a[1] + T(val[e]*z[1])
			a[2] = a[2] + T(val[e]*z[2])
			a[3] = a[3] + T(val[e]*z[3])
		}
		x[b*n+i], x[(b+1)*n+i], x[(b+2)*n+i], x[(b+3)*n+i] = a[0], a[1], a[2], a[3]
	}
}

// quadRowsKernel calls gatherQuadRowsS or gatherQuadRowsD.
func quadRowsKernel[T backend.Float](groups int, rs, off *int32, w, buf, x *T, ldx int) {
	switch w := any(w).(type) {
	case *float32:
		gatherQuadRowsS(groups, rs, off, w, any(buf).(*float32), any(x).(*float32), ldx)
	case *float64:
		gatherQuadRowsD(groups, rs, off, w, any(buf).(*float64), any(x).(*float64), ldx)
	}
}

// quadRowsInKernel calls gatherQuadRowsInS or gatherQuadRowsInD.
func quadRowsInKernel[T backend.Float](groups int, rs, off *int32, w, buf, x *T, ldx int, u *T, ldu int) {
	switch w := any(w).(type) {
	case *float32:
		gatherQuadRowsInS(groups, rs, off, w, any(buf).(*float32), any(x).(*float32), ldx, any(u).(*float32), ldu)
	case *float64:
		gatherQuadRowsInD(groups, rs, off, w, any(buf).(*float64), any(x).(*float64), ldx, any(u).(*float64), ldu)
	}
}

// packedKernel calls gatherQuadPackedS or gatherQuadPackedD.
func packedKernel[T backend.Float](groups int, meta *int32, rec *uint64, buf, x *T, ldx int) {
	switch buf := any(buf).(type) {
	case *float32:
		gatherQuadPackedS(groups, meta, rec, buf, any(x).(*float32), ldx)
	case *float64:
		gatherQuadPackedD(groups, meta, rec, buf, any(x).(*float64), ldx)
	}
}

// packedInKernel calls gatherQuadPackedInS or gatherQuadPackedInD.
func packedInKernel[T backend.Float](groups int, meta *int32, rec *uint64, buf, x *T, ldx int, u *T, ldu int) {
	switch buf := any(buf).(type) {
	case *float32:
		gatherQuadPackedInS(groups, meta, rec, buf, any(x).(*float32), ldx, any(u).(*float32), ldu)
	case *float64:
		gatherQuadPackedInD(groups, meta, rec, buf, any(x).(*float64), ldx, any(u).(*float64), ldu)
	}
}

// quadKernel calls gatherQuadsS or gatherQuadsD on rows starting at
// w0 … w3 with offsets off.
func quadKernel[T backend.Float](m int32, w0, w1, w2, w3 *T, off [4]*int32, buf *T, acc *[16]T) {
	switch w0 := any(w0).(type) {
	case *float32:
		w := [4]*float32{w0, any(w1).(*float32), any(w2).(*float32), any(w3).(*float32)}
		gatherQuadsS(int(m), &w, &off, any(buf).(*float32), any(acc).(*[16]float32))
	case *float64:
		w := [4]*float64{w0, any(w1).(*float64), any(w2).(*float64), any(w3).(*float64)}
		gatherQuadsD(int(m), &w, &off, any(buf).(*float64), any(acc).(*[16]float64))
	}
}

// pairKernel calls gatherPairsS or gatherPairsD on rows starting at
// w0 … w3 with offsets off.
func pairKernel[T backend.Float](m int32, w0, w1, w2, w3 *T, off [4]*int32, buf *T, acc *[8]T) {
	switch w0 := any(w0).(type) {
	case *float32:
		w := [4]*float32{w0, any(w1).(*float32), any(w2).(*float32), any(w3).(*float32)}
		gatherPairsS(int(m), &w, &off, any(buf).(*float32), any(acc).(*[8]float32))
	case *float64:
		w := [4]*float64{w0, any(w1).(*float64), any(w2).(*float64), any(w3).(*float64)}
		gatherPairsD(int(m), &w, &off, any(buf).(*float64), any(acc).(*[8]float64))
	}
}

// gatheredTrial is gathered for trial b alone (fewer than eight left): a
// row's sum is a chain of dependent additions, so four rows run side by
// side (their common length, then each row's rest), each still summed in
// its own ascending order from +0 — the same bits, at four times the
// additions in flight.
func (c *csrDrive[T]) gatheredTrial(h *history[T], x []T, n, b int) {
	buf := h.buf
	off := h.offsets(c)
	val, rs := c.val, c.rowStart
	row := func(i int, lo, hi int32) T {
		var a T // +0
		for e := lo; e < hi; e++ {
			a = a + T(val[e]*buf[off[e]+b])
		}
		return a
	}
	i := 0
	for ; i+4 <= n; i += 4 {
		l0, l1, l2, l3 := rs[i], rs[i+1], rs[i+2], rs[i+3]
		m := min(l1-l0, rs[i+2]-l1, rs[i+3]-l2, rs[i+4]-l3)
		var a0, a1, a2, a3 T // +0
		for e := int32(0); e < m; e++ {
			a0 = a0 + T(val[l0+e]*buf[off[l0+e]+b])
			a1 = a1 + T(val[l1+e]*buf[off[l1+e]+b])
			a2 = a2 + T(val[l2+e]*buf[off[l2+e]+b])
			a3 = a3 + T(val[l3+e]*buf[off[l3+e]+b])
		}
		// The rest of each row continues its own chain (a + 0·… would not
		// be the same sum: the rest is added, never restarted).
		for e := l0 + m; e < rs[i+1]; e++ {
			a0 = a0 + T(val[e]*buf[off[e]+b])
		}
		for e := l1 + m; e < rs[i+2]; e++ {
			a1 = a1 + T(val[e]*buf[off[e]+b])
		}
		for e := l2 + m; e < rs[i+3]; e++ {
			a2 = a2 + T(val[e]*buf[off[e]+b])
		}
		for e := l3 + m; e < rs[i+4]; e++ {
			a3 = a3 + T(val[e]*buf[off[e]+b])
		}
		x[b*n+i], x[b*n+i+1], x[b*n+i+2], x[b*n+i+3] = a0, a1, a2, a3
	}
	for ; i < n; i++ {
		x[b*n+i] = row(i, rs[i], rs[i+1])
	}
}

// offsets returns each entry's place in the history (its slot for its
// delay, its column, times nb), computed once per step with delays and
// once per run without.
func (h *history[T]) offsets(c *csrDrive[T]) []int {
	if !h.offIntValid || len(h.offInt) != len(c.col) {
		if len(h.offInt) != len(c.col) {
			h.offInt = make([]int, len(c.col))
		}
		for e, j := range c.col {
			h.offInt[e] = h.base[c.sel[e]] + int(j)*h.nb
		}
		h.offIntValid = true
	}
	return h.offInt
}

// productAVX is product for float32 and at least 8 trials on the AVX row
// kernels (sparse_amd64.s): 16 trials at a time, then 8, then the rest one
// by one in Go, each trial's sum over the row's entries in order from +0
// as in product. Each entry's place in the history (its slot for its
// delay, its column, times nb) is gathered into h.off first, once per step
// with delays, once per run without.
func productAVX(c *csrDrive[float32], h *history[float32], x []float32, n int) {
	nb, buf := h.nb, h.buf
	off := h.offsets32(c)
	var acc [16]float32
	for i := 0; i < n; i++ {
		lo, hi := c.rowStart[i], c.rowStart[i+1]
		m := int(hi - lo)
		if m == 0 {
			for b := 0; b < nb; b++ {
				x[b*n+i] = 0
			}
			continue
		}
		w, o := &c.val[lo], &off[lo]
		b0 := 0
		for ; b0+16 <= nb; b0 += 16 {
			gatherRow16(m, w, o, &buf[b0], &acc[0])
			for l, a := range acc {
				x[(b0+l)*n+i] = a
			}
		}
		if b0+8 <= nb {
			gatherRow8(m, w, o, &buf[b0], &acc[0])
			for l, a := range acc[:8] {
				x[(b0+l)*n+i] = a
			}
		}
	}
	c.gatheredRest(h, x, n, nb-nb%8)
}

// offsets32 is offsets as int32, for the AVX kernels (valid while
// h.offValid, under offsets' rule).
func (h *history[T]) offsets32(c *csrDrive[T]) []int32 {
	if !h.offValid || len(h.off) != len(c.col) {
		if len(h.off) != len(c.col) {
			h.off = make([]int32, len(c.col))
		}
		for e, j := range c.col {
			h.off[e] = int32(h.base[c.sel[e]] + int(j)*h.nb)
		}
		h.offValid = true
	}
	return h.off
}

// packed returns the first rows of c packed for gatherQuadPacked{,In}
// (with input, without their input entries), built once and kept while
// the history's offsets stay valid. It reports false where those kernels
// do not run: without AVX-512, with delays (the offsets change every
// step) or past their 32-bit offsets.
func (h *history[T]) packed(c *csrDrive[T], rows int, input bool) (packedRows, bool) {
	if !hasGatherAVX512 || h.slots > 1 {
		return packedRows{}, false
	}
	if !h.packValid || h.pack.rows != rows || h.pack.input != input || h.pack.entries != len(c.col) {
		// A refusal is kept too: it is not packed again every step.
		h.pack, h.packValid = packRows(c.rowStart, h.offsets32(c), c.val, rows, input), true
	}
	return h.pack, h.pack.fits
}

// packedRows are rows of a drive as gatherQuadPacked{,In}{S,D} read them
// (see cpu/internal/asmgen): rec holds each row's entries as records of
// two — the two weights, then the two offsets into the history — and the
// last record of an odd row one entry; meta[2i] is row i's first record's
// byte offset in rec, meta[2i+1] its number of entries.
type packedRows struct {
	meta []int32
	rec  []uint64
	// what was packed: the rows, with or without their input entries,
	// of a drive of this many entries; fits is false where the records
	// would pass the kernels' 32-bit byte offsets (then nothing is packed)
	rows, entries int
	input, fits   bool
}

// packRows packs rows 0 … rows−1 of rs, off and val; with dropLast, each
// row without its last entry (the input that gatherQuadPackedIn adds
// from the input chunk; an empty row stays empty). The result's fits is
// false when rec would not fit the kernels' 32-bit byte offsets.
func packRows[T backend.Float](rs, off []int32, val []T, rows int, dropLast bool) packedRows {
	_, single := any(val).([]float32)
	words := 3 // float64: w0, w1, the offsets
	if single {
		words = 2 // float32: w0 and w1 in one word
	}
	// end is where row i's packed entries end.
	end := func(i int) int32 {
		if dropLast && rs[i+1] > rs[i] {
			return rs[i+1] - 1
		}
		return rs[i+1]
	}
	records := 0
	for i := range rows {
		records += int(end(i)-rs[i]+1) / 2
	}
	p := packedRows{rows: rows, entries: len(val), input: dropLast}
	if records*words*8 >= 1<<31 {
		return p
	}
	// rec holds one word at least: the kernels take its address.
	p.meta, p.rec, p.fits = make([]int32, 2*rows), make([]uint64, 0, max(records*words, 1)), true
	bits := func(w T) uint64 {
		if single {
			return uint64(math.Float32bits(float32(w)))
		}
		return math.Float64bits(float64(w))
	}
	for i := range rows {
		lo, hi := rs[i], end(i)
		p.meta[2*i], p.meta[2*i+1] = int32(8*len(p.rec)), hi-lo
		for e := lo; e < hi; e += 2 {
			w1, o1 := uint64(0), uint64(0)
			if e+1 < hi {
				w1, o1 = bits(val[e+1]), uint64(uint32(off[e+1]))
			}
			offs := uint64(uint32(off[e])) | o1<<32
			if single {
				p.rec = append(p.rec, bits(val[e])|w1<<32, offs)
			} else {
				p.rec = append(p.rec, bits(val[e]), w1, offs)
			}
		}
	}
	if len(p.rec) == 0 {
		p.rec = append(p.rec, 0) // no entries: never read
	}
	return p
}

// gatherLevel is the highest level of the gathered product's kernels that
// the environment variable RATESIM_CPU_GATHER allows: go (0), avx (1), avx2
// (2) or avx512 (3, the default; an unknown name too). The CPU's own
// features cap it (hasGatherAVX … hasGatherAVX512); benchmarks set it to
// compare the levels in one binary, and every level gives the same bits.
func gatherLevel() int {
	switch os.Getenv("RATESIM_CPU_GATHER") {
	case "go":
		return 0
	case "avx":
		return 1
	case "avx2":
		return 2
	}
	return 3
}
