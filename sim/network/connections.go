package network

import (
	"fmt"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/spec"
)

// Connection is a built connection of a spec with groups: the builder's
// matrix (post, pre) and where it was placed.
type Connection struct {
	spec.Placed
	Matrix *connect.Matrix
}

// buildConnections draws every connection of s (each from its own host
// streams, spec.ConnectionRandom) and sums it into the layer it targets:
// layer = Σ over connections in list order of the matrix placed at its
// groups' offsets, an elementwise float64 addition (a pair no other
// connection touches keeps the builder's value exactly). Biases of conv
// or full connections add to the post units' bias the same way. Layers no
// connection targets are zero.
func buildConnections(s *spec.Spec, net *Network) ([]Connection, error) {
	placed, err := s.PlaceConnections()
	if err != nil {
		return nil, err
	}
	N, I, O := net.N, net.I, net.O
	net.In, net.Hidden, net.Out = make([]float64, N*I), make([]float64, N*N), make([]float64, O*N)
	var built []Connection
	for _, p := range placed {
		m, err := p.Builder.Build(p.Pre, p.Post, spec.ConnectionRandom(s.Seed, p.Index))
		if err != nil {
			return nil, err
		}
		dst, cols, bias := net.Hidden, N, net.HiddenB
		switch p.Layer {
		case 0:
			dst, cols, bias = net.In, I, net.InB
		case 2:
			dst, cols, bias = net.Out, N, net.ReadB
		}
		d := m.ToDense()
		if p.DelaySteps > 0 && net.Delays == nil {
			net.Delays = make([]int, N*N)
		}
		for i := 0; i < m.Rows; i++ {
			for j := 0; j < m.Cols; j++ {
				w := d[i*m.Cols+j]
				prev := dst[(p.PostOff+i)*cols+p.PreOff+j]
				dst[(p.PostOff+i)*cols+p.PreOff+j] += w
				if p.Layer == 1 && w != 0 && net.Delays != nil {
					x := (p.PostOff+i)*N + p.PreOff + j
					if net.Delays[x] != p.DelaySteps && prev != 0 {
						return nil, &spec.Error{File: s.File(), Field: fmt.Sprintf("connections[%d].delay_steps", p.Index), Reason: fmt.Sprintf("synapse %d → %d is also made by an earlier connection with delay %d steps; overlapping connections must share their delay", p.PreOff+j, p.PostOff+i, net.Delays[x])}
					}
					net.Delays[x] = p.DelaySteps
				}
			}
			if m.Bias != nil {
				bias[p.PostOff+i] += m.Bias[i]
			}
		}
		built = append(built, Connection{Placed: p, Matrix: m})
	}
	return built, nil
}
