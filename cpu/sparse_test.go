package cpu

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPackRows holds the packed rows' layout that gatherQuadPacked{,In}
// reads (see cpu/internal/asmgen): each row's entries in records of two —
// both weights, then both offsets — the last record of an odd row one
// entry, meta giving each row's first record's byte offset and its number
// of entries; with dropLast each row's last entry left out. Rows of 0 … 5
// entries, an empty row at each end, both precisions.
func TestPackRows(t *testing.T) {
	lengths := []int32{0, 1, 2, 3, 5, 4, 0}
	rs := []int32{0}
	var off []int32
	var val64 []float64
	for i, n := range lengths {
		for e := range n {
			off = append(off, int32(100*i)+e)
			val64 = append(val64, float64(i)+float64(e)/8+0.5)
		}
		rs = append(rs, rs[i]+n)
	}
	val32 := make([]float32, len(val64))
	for e, v := range val64 {
		val32[e] = float32(v)
	}
	rows := len(lengths)
	for _, dropLast := range []bool{false, true} {
		for _, single := range []bool{false, true} {
			var p packedRows
			words := 3
			if single {
				p = packRows(rs, off, val32, rows, dropLast)
				words = 2
			} else {
				p = packRows(rs, off, val64, rows, dropLast)
			}
			require.True(t, p.fits)
			require.NotEmpty(t, p.rec, "the kernels take rec's address")
			next := 0 // the next row's first word
			for i := range rows {
				n := rs[i+1] - rs[i]
				if dropLast && n > 0 {
					n--
				}
				require.Equal(t, int32(8*next), p.meta[2*i], "dropLast %v single %v: row %d's byte offset", dropLast, single, i)
				require.Equal(t, n, p.meta[2*i+1], "dropLast %v single %v: row %d's entries", dropLast, single, i)
				for k := int32(0); k < n; k++ {
					e := rs[i] + k
					rec := p.rec[next+int(k/2)*words:]
					var w float64
					if single {
						w = float64(math.Float32frombits(uint32(rec[0] >> (32 * (k % 2)))))
					} else {
						w = math.Float64frombits(rec[k%2])
					}
					o := int32(uint32(rec[words-1] >> (32 * (k % 2))))
					require.Equal(t, val64[e], w, "dropLast %v single %v: row %d entry %d's weight", dropLast, single, i, k)
					require.Equal(t, off[e], o, "dropLast %v single %v: row %d entry %d's offset", dropLast, single, i, k)
				}
				next += int(n+1) / 2 * words
			}
			if next > 0 {
				require.Len(t, p.rec, next, "dropLast %v single %v", dropLast, single)
			}
		}
	}
}

// TestGatherLevel: RATESIM_CPU_GATHER's names and the default.
func TestGatherLevel(t *testing.T) {
	for env, want := range map[string]int{"go": 0, "avx": 1, "avx2": 2, "avx512": 3, "": 3, "sse": 3} {
		t.Setenv("RATESIM_CPU_GATHER", env)
		require.Equal(t, want, gatherLevel(), "RATESIM_CPU_GATHER=%q", env)
	}
}
