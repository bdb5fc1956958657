package network

import (
	"fmt"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/spec"
)

// Connection is a built connection of a spec with groups: the builder's
// matrix (post, pre) and where it was placed.
type Connection struct {
	spec.Placed
	Matrix *connect.Matrix
	// Sparse is the connection's resolved form: Form "sparse", or "auto"
	// and a density below connect.SparseBelow.
	Sparse bool
}

// GroupRange is a named group of hidden units, Lo … Hi−1.
type GroupRange struct {
	Name   string
	Lo, Hi int
}

// DriveForm says how a wired network's drive runs: sparse reports whether
// any group runs as CSR, and dense lists the unit ranges (whole groups,
// adjacent ones merged) that run the dense product in a drive that mixes
// both (nil when every group is sparse). A group runs sparse when every
// connection into it (from the input or a group) is sparse; a group no
// connection reaches has empty rows and counts as sparse. Connections into
// one group add into the same drive rows, so the form is chosen per target
// group, not per connection; the bits are the same either way (the
// backend's SparseDrive).
func DriveForm(net *Network) (sparse bool, dense []backend.ColumnRange) {
	if len(net.Groups) == 0 {
		return false, nil
	}
	isDense := make([]bool, len(net.Groups))
	for _, c := range net.Connections {
		if c.Layer == 2 || c.Sparse {
			continue
		}
		for g, r := range net.Groups {
			if r.Lo == c.PostOff {
				isDense[g] = true
			}
		}
	}
	for g, r := range net.Groups {
		if !isDense[g] {
			sparse = true
			continue
		}
		if n := len(dense); n > 0 && dense[n-1].Hi == r.Lo {
			dense[n-1].Hi = r.Hi
		} else {
			dense = append(dense, backend.ColumnRange{Lo: r.Lo, Hi: r.Hi})
		}
	}
	if !sparse {
		return false, nil
	}
	return true, dense
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
	off := 0
	for _, g := range s.Groups {
		n := g.Size
		if n == 0 {
			n = connect.Group{Shape: g.Shape}.Size()
		}
		net.Groups = append(net.Groups, GroupRange{Name: g.Name, Lo: off, Hi: off + n})
		off += n
	}
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
		sparse := p.Form == "sparse" || p.Form == "auto" && connect.Sparse(m.Density())
		built = append(built, Connection{Placed: p, Matrix: m, Sparse: sparse})
	}
	return built, nil
}
