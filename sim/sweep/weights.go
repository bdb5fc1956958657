package sweep

import (
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/spec"
)

// Weight metrics summarize a point's final weights, the plasticity
// summary of a sweep: final_weight_mean and final_weight_std over the
// synapses of one block of a connection — of: recurrent (default), input
// or readout; pre: [a, b] and post: [a, b] the presynaptic and
// postsynaptic units a ≤ j < b (default: all) — and over the weight
// matrices of the point (one, or one per trial with weights: per_trial).
// The values are summed in a fixed order (matrix, presynaptic unit,
// postsynaptic unit, each ascending), mean first, then the squared
// deviations from it (std is the population std). A static point's
// weights are its initial ones. Biases are not weights here.

// isWeightMetric says whether kind is one of the weight metrics.
func isWeightMetric(kind string) bool {
	return kind == "final_weight_mean" || kind == "final_weight_std"
}

// checkWeightMetric checks a weight metric against one point and returns
// its connection's [pre, post) ranges.
func (m *ResolvedMetric) weightBlock(s *spec.Spec) (pre, post [2]int, err error) {
	I, N, O := s.Dims[0], s.Dims[1], s.Dims[2]
	var np, nq int
	switch m.Of {
	case "recurrent":
		np, nq = N, N
	case "input":
		np, nq = I, N
	case "readout":
		np, nq = N, O
	}
	rng := func(field string, r []int, n int) ([2]int, error) {
		if r == nil {
			return [2]int{0, n}, nil
		}
		if len(r) != 2 || r[0] < 0 || r[0] >= r[1] || r[1] > n {
			return [2]int{}, fmt.Errorf("%s: want [a, b] with 0 ≤ a < b ≤ %d (the %s connection's %s units), got %v", field, n, m.Of, field, r)
		}
		return [2]int{r[0], r[1]}, nil
	}
	if pre, err = rng("pre", m.Pre, np); err != nil {
		return
	}
	post, err = rng("post", m.Post, nq)
	return
}

// weightValue is the weight metric m of instance k of p, whose final
// weights are drive (K × M × rows × N) and readout (K × M × (N+1) × O).
func weightValue[T backend.Float](m *ResolvedMetric, s *spec.Spec, p *backend.Program[T], k int, drive, readout []T) float64 {
	pre, post, err := m.weightBlock(s)
	if err != nil {
		panic(fmt.Sprintf("sweep: a checked weight metric does not apply: %v", err))
	}
	N, O, rows := p.Units, p.Outputs, p.DriveRows()
	M := p.Matrices()
	at := func(mi, j, i int) T { // weight j → i of matrix mi
		switch m.Of {
		case "input":
			return drive[((k*M+mi)*rows+N+j)*N+i]
		case "readout":
			return readout[((k*M+mi)*(N+1)+j)*O+i]
		}
		return drive[((k*M+mi)*rows+j)*N+i]
	}
	var sum, n float64
	for mi := 0; mi < M; mi++ {
		for j := pre[0]; j < pre[1]; j++ {
			for i := post[0]; i < post[1]; i++ {
				sum += float64(at(mi, j, i))
				n++
			}
		}
	}
	mean := sum / n
	if m.Kind == "final_weight_mean" {
		return mean
	}
	var ss float64
	for mi := 0; mi < M; mi++ {
		for j := pre[0]; j < pre[1]; j++ {
			for i := post[0]; i < post[1]; i++ {
				d := float64(at(mi, j, i)) - mean
				ss += d * d
			}
		}
	}
	return math.Sqrt(ss / n)
}

// finalWeights are the program's weights after the run: the learnt ones
// of a plastic program, the program's own of a static one.
func finalWeights[T backend.Float](run backend.Run[T], p *backend.Program[T]) (drive, readout []T, err error) {
	if p.Plasticity == nil {
		return p.Drive, p.Readout, nil
	}
	M := p.Matrices()
	drive = make([]T, p.Instances*M*p.DriveRows()*p.Units)
	if p.Outputs > 0 {
		readout = make([]T, p.Instances*M*(p.Units+1)*p.Outputs)
	}
	return drive, readout, backend.Weights(run, drive, readout)
}
