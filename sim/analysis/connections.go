package analysis

import (
	"math"

	"github.com/ratesim/ratesim/sim/connect"
	"github.com/ratesim/ratesim/sim/network"
)

// ConnectionStats describes one built connection of a spec with groups:
// its synapses (stored entries), their density over the pre × post pairs,
// the weight mean, standard deviation (population), min and max over the
// synapses, whether it runs as CSR (its `form:`, or sim/connect's density
// rule) and its synaptic delay in steps (0: none).
type ConnectionStats struct {
	From, To, Type      string
	Synapses            int
	Density             float64
	Mean, Std, Min, Max float64
	Sparse              bool
	DelaySteps          int
}

// Connections returns the statistics of net's connections in list order
// (nil for a network without groups).
func Connections(net *network.Network) []ConnectionStats {
	var out []ConnectionStats
	for _, c := range net.Connections {
		st := connectionStats(c.From, c.To, c.Builder.Type(), c.Matrix)
		st.Sparse, st.DelaySteps = c.Sparse, c.DelaySteps
		out = append(out, st)
	}
	return out
}

func connectionStats(from, to, typ string, m *connect.Matrix) ConnectionStats {
	st := ConnectionStats{From: from, To: to, Type: typ, Density: m.Density()}
	var vals []float64
	if m.CSR != nil {
		vals = m.CSR.Val
	} else {
		for _, v := range m.Dense {
			if v != 0 {
				vals = append(vals, v)
			}
		}
	}
	st.Synapses = len(vals)
	if len(vals) == 0 {
		return st
	}
	st.Min, st.Max = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		st.Mean += v
		st.Min, st.Max = min(st.Min, v), max(st.Max, v)
	}
	st.Mean /= float64(len(vals))
	for _, v := range vals {
		st.Std += (v - st.Mean) * (v - st.Mean)
	}
	st.Std = math.Sqrt(st.Std / float64(len(vals)))
	return st
}
