package cpu

import "github.com/ratesim/ratesim/backend"

// history is one task's presynaptic values for the gathered product,
// trial-minor so a synapse reads its nb trials' values in one run: D+1
// slots of rates (slot HistorySlot(s, D+1) holds r_s of every trial,
// [slot][j][b]) followed by the current inputs and the bias 1
// ([j−N][b]). Without delays D = 0 and the one slot is r_{t−1}. It lives
// as long as the run, so the delays' ring buffer carries across Advance
// calls; each part of a partition has a run, and so a buffer, of its own.
type history[T backend.Float] struct {
	nb, n, slots int
	buf          []T
	// base[sel] is where column 0 of a selector's values starts at the
	// current step: base[d] the slot of r_{t−1−d}, base[D+1] placed so
	// that column j ≥ N lands on the inputs and bias.
	base []int
	// off is each entry's place in buf at the current step for the AVX
	// row kernels (productAVX), valid while offValid: always without
	// delays, until the next step with them.
	off      []int32
	offValid bool
	// offInt is off as int for the Go rows (gatheredTrial), valid while
	// offIntValid, under the same rule.
	offInt      []int
	offIntValid bool
	// z is the step's presynaptic vectors (nb × rows, set by begin), which
	// the dense part of a mixed drive reads.
	z []T
}

// newHistory returns the history of nb trials of a program, every slot
// filled with r_0 from z (nb × rows, [r; u; 1] per trial), which is the
// contract's history before step 1.
func newHistory[T backend.Float](p *backend.Program[T], z []T, nb int) *history[T] {
	N, rows := p.Units, p.DriveRows()
	D := 0
	if p.Delays != nil {
		D = p.Delays.Max
	}
	h := &history[T]{nb: nb, n: N, slots: D + 1, buf: make([]T, ((D+1)*N+rows-N)*nb),
		base: make([]int, D+2)}
	for sl := 0; sl < h.slots; sl++ {
		h.store(sl, z, rows)
	}
	bias := h.buf[((D+1)*N+rows-N-1)*nb:]
	for b := range bias {
		bias[b] = 1
	}
	return h
}

// store copies the rates of z (nb × rows) into slot sl.
func (h *history[T]) store(sl int, z []T, rows int) {
	nb, N := h.nb, h.n
	dst := h.buf[sl*N*nb : (sl+1)*N*nb]
	for b := 0; b < nb; b++ {
		for j, r := range z[b*rows : b*rows+N] {
			dst[j*nb+b] = r
		}
	}
}

// begin prepares step t: the inputs u_t from z and the slots each delay
// reads.
func (h *history[T]) begin(t int, z []T, rows int) {
	nb, N := h.nb, h.n
	h.z = z
	in := h.buf[h.slots*N*nb:]
	for b := 0; b < nb; b++ {
		for j, u := range z[b*rows+N : b*rows+rows-1] {
			in[j*nb+b] = u
		}
	}
	if h.slots > 1 {
		h.offValid, h.offIntValid = false, false // the slots rotate
	}
	for d := 0; d < h.slots; d++ {
		h.base[d] = backend.HistorySlot(t-1-d, h.slots) * N * nb
	}
	h.base[h.slots] = (h.slots - 1) * N * nb
}

// end records r_t, the rates of z after step t.
func (h *history[T]) end(t int, z []T, rows int) {
	h.store(backend.HistorySlot(t, h.slots), z, rows)
}
