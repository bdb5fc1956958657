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
	// pack is the drive's rows packed for the AVX-512 row kernels
	// (packed), valid while packValid: built from off, so only without
	// delays.
	pack      packedRows
	packValid bool
	// offInt is off as int for the Go rows (gatheredTrial), valid while
	// offIntValid, under the same rule.
	offInt      []int
	offIntValid bool
	// z is the step's presynaptic vectors (nb × rows, set by begin), which
	// the dense part of a mixed drive reads.
	z []T
	// u, when set (beginInputs), is the step's inputs where the input chunk
	// holds them, trial b's at u[b·ldu …]: the row kernel reads them there
	// (csrDrive.fusesInput) and the history's input columns go stale.
	u   []T
	ldu int
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
	interleave(h.buf[sl*N*nb:(sl+1)*N*nb], z, nb, rows, 0, N)
}

// interleave sets dst[(j−c0)·nb+b] = z[b·rows+j] for the nb trials of z
// (nb × rows) and columns c0 ≤ j < c1: the history's layout, a column's
// trials adjacent. Four and two trials (gatherQuads', gatherPairs') are
// written a column at a time, four trials four columns at a time on
// interleave4{S,D} where the CPU has AVX2.
func interleave[T backend.Float](dst, z []T, nb, rows, c0, c1 int) {
	n := c1 - c0
	switch nb {
	case 4:
		if k := n - n%4; hasGatherAVX2 && k > 0 {
			_, _ = dst[4*k-1], z[3*rows+c0+k-1]
			interleave4Kernel(k, &z[c0], rows, &dst[0])
			dst, c0, n = dst[4*k:], c0+k, n-k
		}
		z0, z1, z2, z3 := z[c0:c1], z[rows+c0:rows+c1], z[2*rows+c0:2*rows+c1], z[3*rows+c0:3*rows+c1]
		z1, z2, z3 = z1[:len(z0)], z2[:len(z0)], z3[:len(z0)]
		dst = dst[:4*n]
		for j, a := range z0 {
			q := dst[4*j : 4*j+4 : 4*j+4]
			q[0], q[1], q[2], q[3] = a, z1[j], z2[j], z3[j]
		}
	case 2:
		z0, z1 := z[c0:c1], z[rows+c0:rows+c1]
		z1 = z1[:len(z0)]
		dst = dst[:2*n]
		for j, a := range z0 {
			q := dst[2*j : 2*j+2 : 2*j+2]
			q[0], q[1] = a, z1[j]
		}
	default:
		for b := 0; b < nb; b++ {
			for j, r := range z[b*rows+c0 : b*rows+c1] {
				dst[j*nb+b] = r
			}
		}
	}
}

// begin prepares step t: the inputs u_t from z and the slots each delay
// reads.
func (h *history[T]) begin(t int, z []T, rows int) {
	h.beginFrom(t, z, z[h.n:], rows, rows-1-h.n)
}

// beginFrom is begin with the inputs read from u instead of z: trial b's
// I inputs at u[b·ld …] (the caller's input chunk, which then need not be
// copied into z first).
func (h *history[T]) beginFrom(t int, z, u []T, ld, I int) {
	h.u = nil
	interleave(h.buf[h.slots*h.n*h.nb:], u, h.nb, ld, 0, I)
	h.beginSlots(t, z)
}

// beginInputs is beginFrom for a product that reads the inputs from u
// itself (csrDrive.fusesInput): they are not copied into the history.
func (h *history[T]) beginInputs(t int, z, u []T, ld int) {
	h.u, h.ldu = u, ld
	h.beginSlots(t, z)
}

// beginSlots is begin's part for the rates: z and the slots each delay
// reads.
func (h *history[T]) beginSlots(t int, z []T) {
	nb, N := h.nb, h.n
	h.z = z
	if h.slots > 1 {
		h.offValid, h.offIntValid, h.packValid = false, false, false // the slots rotate
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

// interleave4Kernel calls interleave4S or interleave4D.
func interleave4Kernel[T backend.Float](n int, z *T, ldz int, dst *T) {
	switch z := any(z).(type) {
	case *float32:
		interleave4S(n, z, ldz, any(dst).(*float32))
	case *float64:
		interleave4D(n, z, ldz, any(dst).(*float64))
	}
}
