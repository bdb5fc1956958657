package sweep

import (
	"encoding/json"
	"fmt"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/network"
	"github.com/ratesim/ratesim/sim/spec"
)

// plasticKey is what plastic points must share to run as one program,
// beyond groupKey: a program has one set of rules, populations, schedule
// and weight recording, and only the learning rates (η per rule), the
// per-synapse scales, signs and growth are per instance. So the key is the
// point's model without its dynamics (τ or α, noise) and without the rules'
// η, and its dt (which enters the derived rates and averages). A static
// point's key is empty.
func plasticKey(s *spec.Spec) string {
	if s.Plasticity == nil {
		return ""
	}
	m := withoutDynamics(s.Model)
	pl := *s.Plasticity
	for _, c := range []**spec.ConnectionSpec{&pl.Recurrent, &pl.Hidden, &pl.Input, &pl.Readout} {
		if *c == nil {
			continue
		}
		cs := **c
		cs.Rules = append([]spec.RuleSpec(nil), cs.Rules...)
		for i := range cs.Rules {
			cs.Rules[i].Eta = nil
		}
		*c = &cs
	}
	m.Plasticity = &pl
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("sweep: model of a valid spec does not marshal: %v", err))
	}
	return fmt.Sprintf("plastic|%s|%v|%s", b, s.Dt, s.Dir())
}

// packPlasticity is the plasticity of a program whose instances are the
// points of pts (one group, so one plasticKey): each point's own
// (network.Plasticity of its plan against its network's masks), with the
// per-instance arrays — every rule's Rate, every connection's Scale,
// Sign, Growth and GrowWeight — laid end to end in point order, and the
// shared fields point 0's. nil for static points.
func packPlasticity[T backend.Float](pts []*Point, nets []*network.Network) *backend.Plasticity[T] {
	if pts[0].Spec.Plasticity == nil {
		return nil
	}
	var out *backend.Plasticity[T]
	for k, pt := range pts {
		plan, err := pt.Spec.PlasticityPlan(nets[k].Masks())
		if err != nil {
			panic(fmt.Sprintf("sweep: point %d of a checked sweep has no plasticity plan: %v", pt.Index, err))
		}
		q := network.Plasticity[T](plan)
		if k == 0 {
			out = q
			// The sweep reads rates, states and outputs only: no weight
			// snapshots are copied out of the backend.
			out.Record = backend.WeightRecord{}
			continue
		}
		for _, pair := range [][2]*backend.Connection[T]{{out.Recurrent, q.Recurrent}, {out.Input, q.Input}, {out.Readout, q.Readout}} {
			dst, src := pair[0], pair[1]
			if (dst == nil) != (src == nil) || dst != nil && len(dst.Rules) != len(src.Rules) {
				panic(fmt.Sprintf("sweep: point %d learns on other connections than point %d of its group (their plasticity keys are equal)", pt.Index, pts[0].Index))
			}
			if dst == nil {
				continue
			}
			for i := range dst.Rules {
				dst.Rules[i].Rate = append(dst.Rules[i].Rate, src.Rules[i].Rate...)
			}
			dst.Scale = appendPer(dst.Scale, src.Scale)
			dst.Growth = appendPer(dst.Growth, src.Growth)
			dst.GrowWeight = appendPer(dst.GrowWeight, src.GrowWeight)
			if dst.Sign != nil || src.Sign != nil {
				dst.Sign = append(dst.Sign, src.Sign...)
			}
		}
	}
	return out
}

// appendPer appends one instance's per-synapse array to the instances'
// before it; nil (the default everywhere) stays nil.
func appendPer[T backend.Float](dst, src []T) []T {
	if dst == nil && src == nil {
		return nil
	}
	return append(dst, src...)
}
