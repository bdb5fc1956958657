package network

import (
	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/spec"
)

// Plasticity lays the plan out as a backend.Plasticity of one instance,
// rounding every value to T.
func Plasticity[T backend.Float](pl *spec.PlasticityPlan) *backend.Plasticity[T] {
	conv := func(a []float64) []T {
		if a == nil {
			return nil
		}
		t := make([]T, len(a))
		for i, v := range a {
			t[i] = T(v)
		}
		return t
	}
	bp := &backend.Plasticity[T]{PerTrial: pl.PerTrial, Schedule: pl.Schedule, Record: pl.Record}
	if pl.Pops != nil {
		bp.Populations = append([]uint8(nil), pl.Pops...)
	}
	var cs [3]*backend.Connection[T]
	for l, c := range pl.Conns {
		if c == nil {
			continue
		}
		bc := &backend.Connection[T]{Scale: conv(c.Scale), Sign: c.Sign, Bounded: c.Bounded,
			Min: T(c.Min), Max: T(c.Max), FreezeZero: c.FreezeZero,
			Growth: conv(c.Growth), GrowWeight: conv(c.GrowWeight)}
		for _, r := range c.Rules {
			bc.Rules = append(bc.Rules, backend.Rule[T]{
				Kind: r.Kind, Rate: conv(r.Rate), PrePops: r.PrePops, PostPops: r.PostPops,
				PreInput: r.PreInput, PreWeight: T(r.PreWeight), PostWeight: T(r.PostWeight),
				DivideByTheta: r.DivideByTheta,
				Average:       backend.Average[T]{Window: r.Average.Window, Coef: T(r.Average.Coef), Init: T(r.Average.Init)},
				SoftBound:     T(r.SoftBound), L1: T(r.L1), L2: T(r.L2), Negate: r.Negate,
				FlipInhibitory: r.FlipInhibitory, Optimizer: r.Optimizer,
				Beta1: T(r.Beta1), Beta2: T(r.Beta2), Epsilon: T(r.Epsilon),
			})
		}
		cs[l] = bc
	}
	bp.Recurrent, bp.Input, bp.Readout = cs[0], cs[1], cs[2]
	return bp
}
