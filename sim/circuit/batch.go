package circuit

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/spec"
)

// BatchFields are the circuit fields in which the points of one batched
// program may differ: each point is an instance of the program, with its
// own stimulus amplitudes (its input), τ (its 1/τ) and, learning, its own
// τ_learn and τ_θ (the L5 plasticity's per-instance Eta, ThetaRate and
// window). Everything else — populations, connectivity, seed, steps,
// rule, integrator — is the program's and must be equal, so that every
// point runs on the same drawn networks.
var BatchFields = []string{"stimulus.amplitude", "dynamics.tau", "plasticity.tau_learn", "plasticity.tau_threshold"}

// BatchKey is c without its BatchFields, as JSON: circuits with equal keys
// batch.
func BatchKey(c *spec.Circuit) string {
	d := *c
	d.Stimulus.Amplitude, d.Dynamics.Tau = nil, nil
	if c.Plasticity != nil {
		pl := *c.Plasticity
		pl.TauLearn, pl.TauThreshold = 0, 0
		d.Plasticity = &pl
	}
	b, err := json.Marshal(&d)
	if err != nil {
		panic(fmt.Sprintf("circuit: cannot marshal a circuit: %v", err)) // a spec.Circuit always marshals
	}
	return string(b) + "\x00" + c.Dir()
}

// CheckBatch reports whether the circuits can run as the instances of one
// program: they may differ only in BatchFields.
func CheckBatch(cs []*spec.Circuit) error {
	if len(cs) == 0 {
		return fmt.Errorf("circuit: an empty batch")
	}
	key := BatchKey(cs[0])
	for k, c := range cs[1:] {
		if BatchKey(c) != key {
			return fmt.Errorf("circuit: point %d differs from point 0 in more than %v, so they cannot run as one program", k+1, BatchFields)
		}
	}
	return nil
}

// ProgramBatch is network net of the circuits cs (CheckBatch) as one
// program whose instance k is Program(cs[k], ps[k], net): the same W0 and
// r_0 in every instance, instance k's own input (inputs are K × trials ×
// steps × units, no longer shared), 1/τ, and L5 plasticity rates
// (backend.L5Plasticity.PerInstance). Instance k's bits are those of
// Program(cs[k], …) run alone: nothing in the contract couples instances.
// Like Program it leaves the validation to backend.Start.
func ProgramBatch[T backend.Float](cs []*spec.Circuit, ps []L5Params, net *L5Network) (*backend.Program[T], error) {
	if len(cs) != len(ps) {
		panic("circuit: ProgramBatch needs one L5Params per circuit")
	}
	if err := CheckBatch(cs); err != nil {
		return nil, err
	}
	if len(cs) == 1 {
		return Program[T](cs[0], ps[0], net)
	}
	progs := make([]*backend.Program[T], len(cs))
	for k := range cs {
		var err error
		if progs[k], err = Program[T](cs[k], ps[k], net); err != nil {
			return nil, err
		}
	}
	q := *progs[0]
	K := len(cs)
	q.Shape.Instances = K
	q.SharedInput = false
	cat := func(get func(p *backend.Program[T]) []T) []T {
		var out []T
		for _, p := range progs {
			out = append(out, get(p)...)
		}
		return out
	}
	q.Drive = cat(func(p *backend.Program[T]) []T { return p.Drive })
	q.Decay = cat(func(p *backend.Program[T]) []T { return p.Decay })
	q.Alpha = cat(func(p *backend.Program[T]) []T { return p.Alpha })
	q.PreNoise = cat(func(p *backend.Program[T]) []T { return p.PreNoise })
	q.PostNoise = cat(func(p *backend.Program[T]) []T { return p.PostNoise })
	q.Init = cat(func(p *backend.Program[T]) []T { return p.Init })
	rate := *q.Rate
	rate.InvTau = cat(func(p *backend.Program[T]) []T { return p.Rate.InvTau })
	q.Rate = &rate
	for _, p := range progs[1:] {
		if !slices.Equal(p.UnitActivations, q.UnitActivations) {
			return nil, fmt.Errorf("circuit: the points of a batch have different activations")
		}
	}
	if q.Plasticity != nil {
		pl := *q.Plasticity
		l5 := *pl.L5
		l5.PerInstance = make([]backend.L5Rates[T], K)
		for k, p := range progs {
			o := p.Plasticity.L5
			l5.PerInstance[k] = backend.L5Rates[T]{Window: o.Window, Eta: o.Eta, ThetaRate: o.ThetaRate}
		}
		if l5.LowRank != nil {
			lr := *l5.LowRank
			lr.Spatial = nil
			for _, p := range progs {
				o := p.Plasticity.L5.LowRank
				if o.Factors != lr.Factors || !slices.Equal(o.Temporal, lr.Temporal) {
					return nil, fmt.Errorf("%s: the points of a low-rank batch need the same temporal frequencies", cs[0].File())
				}
				lr.Spatial = append(lr.Spatial, o.Spatial...)
			}
			l5.LowRank = &lr
		}
		pl.L5 = &l5
		q.Plasticity = &pl
	}
	if q.Sparse != nil {
		q.Sparse = sparseDrive[T](net.W, q.Units, K)
	}
	return &q, nil
}
