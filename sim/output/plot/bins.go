package plot

import (
	"math"

	"github.com/ratesim/ratesim/backend"
)

// MaxBins is the most time bins a figure draws: about one per two pixels of
// a panel's width. A longer series is aggregated, Per rows a bin.
const MaxBins = 500

// Bins aggregates a series of Rows rows of Width values, fed one row at a
// time in any order (Add), into time bins of Per consecutive rows (the last
// may hold fewer) and, across each row, into groups of consecutive values:
// per bin and group the mean, and with an envelope the min and max. Memory is
// O(bins × groups), whatever the length of the series.
type Bins struct {
	Rows, Width int
	// Per is the rows per bin, Count the number of bins.
	Per, Count int
	groups     int
	envelope   bool
	t          []float64 // per bin: sum of the rows' times
	n          []int     // per bin: rows added
	gsize      []int     // values per group
	sum        []float64 // Count × groups
	lo, hi     []float64 // Count × groups, with the envelope
}

// NewBins prepares the bins of rows rows of width values: at most maxBins
// bins and maxGroups groups (each at least 1), with the min–max envelope
// when envelope is set.
func NewBins(rows, width, maxBins, maxGroups int, envelope bool) *Bins {
	per := max(1, (rows+maxBins-1)/max(maxBins, 1))
	count := (rows + per - 1) / per
	groups := max(1, min(width, maxGroups))
	b := &Bins{Rows: rows, Width: width, Per: per, Count: count, groups: groups, envelope: envelope,
		t: make([]float64, count), n: make([]int, count), gsize: make([]int, groups),
		sum: make([]float64, count*groups)}
	for j := 0; j < width; j++ {
		b.gsize[b.group(j)]++
	}
	if envelope {
		b.lo, b.hi = make([]float64, count*groups), make([]float64, count*groups)
		for i := range b.lo {
			b.lo[i], b.hi[i] = math.Inf(1), math.Inf(-1)
		}
	}
	return b
}

func (b *Bins) group(j int) int { return int(int64(j) * int64(b.groups) / int64(b.Width)) }

// Groups is the number of groups across a row.
func (b *Bins) Groups() int { return b.groups }

// GroupStart is the first value of group g.
func (b *Bins) GroupStart(g int) int {
	return int((int64(g)*int64(b.Width) + int64(b.groups) - 1) / int64(b.groups))
}

// Add adds row i (Width values, or fewer: the first ones), at time t.
func Add[T backend.Float](b *Bins, i int, t float64, row []T) {
	k := i / b.Per
	b.t[k] += t
	b.n[k]++
	sum := b.sum[k*b.groups : (k+1)*b.groups]
	if b.groups == b.Width {
		for j, v := range row {
			sum[j] += float64(v)
		}
	} else {
		for j, v := range row {
			sum[b.group(j)] += float64(v)
		}
	}
	if !b.envelope {
		return
	}
	lo, hi := b.lo[k*b.groups:(k+1)*b.groups], b.hi[k*b.groups:(k+1)*b.groups]
	for j, v := range row {
		g := j
		if b.groups != b.Width {
			g = b.group(j)
		}
		lo[g], hi[g] = math.Min(lo[g], float64(v)), math.Max(hi[g], float64(v))
	}
}

// Mean is the mean of group g in bin k (NaN when nothing was added).
func (b *Bins) Mean(k, g int) float64 {
	if b.n[k] == 0 {
		return math.NaN()
	}
	return b.sum[k*b.groups+g] / float64(b.n[k]*b.gsize[g])
}

// Series is group g's trace: per bin that was added to, the mean time, the
// mean and, with the envelope, the min and max (else the mean). The times are
// scaled by tscale (e.g. dt, when rows were added at their step numbers).
func (b *Bins) Series(g int, name string, tscale float64) Series {
	s := Series{Name: name}
	for k := 0; k < b.Count; k++ {
		if b.n[k] == 0 {
			continue
		}
		m := b.Mean(k, g)
		lo, hi := m, m
		if b.envelope {
			lo, hi = b.lo[k*b.groups+g], b.hi[k*b.groups+g]
		}
		s.T = append(s.T, b.t[k]/float64(b.n[k])*tscale)
		s.Mean, s.Lo, s.Hi = append(s.Mean, m), append(s.Lo, lo), append(s.Hi, hi)
	}
	return s
}

// Grid is the heat map of the bins: groups down, bins across, each cell the
// mean of its group in its bin (NaN for a bin nothing was added to).
func (b *Bins) Grid() *Grid {
	g := &Grid{Rows: b.groups, Cols: b.Count, Z: make([]float64, b.groups*b.Count)}
	for k := 0; k < b.Count; k++ {
		for r := 0; r < b.groups; r++ {
			g.Z[r*b.Count+k] = b.Mean(k, r)
		}
	}
	return g
}

// Series is one trace over time, aggregated into bins: at each bin's mean
// time T (ms) the mean of the bin's values, and their min (Lo) and max (Hi),
// drawn as a shaded envelope where they differ from the mean.
type Series struct {
	Name            string
	T, Mean, Lo, Hi []float64
}

// Points is a series of single values (no aggregation): Lo = Hi = Mean = y.
func Points(name string, t, y []float64) Series {
	return Series{Name: name, T: t, Mean: y, Lo: y, Hi: y}
}

// Grid is a heat map's cells: Rows × Cols values, row-major, row 0 drawn
// at the top. X0 and X1 are the data coordinates of its left and right
// edges, Y0 and Y1 those of the top edge of row 0 and the bottom edge of the
// last row (zero values: −0.5 … Cols−0.5 and −0.5 … Rows−0.5, cells
// centred on their indices).
type Grid struct {
	Rows, Cols     int
	Z              []float64
	X0, X1, Y0, Y1 float64
}

// extent fills in the default extent.
func (g *Grid) extent() (x0, x1, y0, y1 float64) {
	if g.X0 == 0 && g.X1 == 0 {
		g.X0, g.X1 = -0.5, float64(g.Cols)-0.5
	}
	if g.Y0 == 0 && g.Y1 == 0 {
		g.Y0, g.Y1 = -0.5, float64(g.Rows)-0.5
	}
	return g.X0, g.X1, g.Y0, g.Y1
}

// Pool returns the rows × cols matrix m (row-major) averaged over blocks so
// that it has at most maxSide rows and columns: a Grid whose cells are the
// block means (blocks of ⌊rows/R⌋ or ⌈rows/R⌉ rows, and likewise columns),
// its extent the matrix's own row and column indices.
func Pool[T backend.Float](m []T, rows, cols, maxSide int) *Grid {
	R, C := min(rows, maxSide), min(cols, maxSide)
	g := &Grid{Rows: R, Cols: C, Z: make([]float64, R*C),
		X0: -0.5, X1: float64(cols) - 0.5, Y0: -0.5, Y1: float64(rows) - 0.5}
	n := make([]int, R*C)
	for i := 0; i < rows; i++ {
		bi := int(int64(i) * int64(R) / int64(rows))
		for j := 0; j < cols; j++ {
			k := bi*C + int(int64(j)*int64(C)/int64(cols))
			g.Z[k] += float64(m[i*cols+j])
			n[k]++
		}
	}
	for k := range g.Z {
		g.Z[k] /= float64(max(n[k], 1))
	}
	return g
}

// span is the range of the finite values of zs (0, 0 when there are none).
func span(zs ...[]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, z := range zs {
		for _, v := range z {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		return 0, 0
	}
	return lo, hi
}
