package backend

// Units is what the elementwise step needs of the N units of one instance:
// the program's activation, the per-unit parameter rows of that instance and
// the run's noise key. UnitsOf builds it from a Program.
type Units[T Float] struct {
	Activation Activation
	// Ranges is Program.UnitActivations: when set, it overrides
	// Activation per unit.
	Ranges   []ActivationRange[T]
	Funcs    *Funcs[T] // FuncsFor[T]()
	Key      [2]uint32 // SeedKey(Program.Seed)
	Instance int       // global instance index (FirstInstance + k), for the noise
	// The instance's rows of the Program's Decay (1−α), Alpha (α), PreNoise
	// (α·σ_pre) and PostNoise (σ_post), N values each.
	Decay, Alpha, PreNoise, PostNoise []T
}

// UnitsOf returns the Units of instance k (0 ≤ k < p.Instances) of p, with
// the function table f and the noise key key (SeedKey(p.Seed)).
func UnitsOf[T Float](p *Program[T], f *Funcs[T], key [2]uint32, k int) Units[T] {
	N := p.Units
	return Units[T]{Activation: p.Activation, Ranges: p.UnitActivations, Funcs: f, Key: key, Instance: p.FirstInstance + k,
		Decay: p.Decay[k*N : (k+1)*N], Alpha: p.Alpha[k*N : (k+1)*N],
		PreNoise: p.PreNoise[k*N : (k+1)*N], PostNoise: p.PostNoise[k*N : (k+1)*N]}
}

// UnitStep is the elementwise part of one step (the unit update of the
// Program doc comment) for the units of one trial: the reference and every Go
// backend call it, once per trial and step, after the drive
// x_i = Σ_j z_j·Drive[j][i] is summed. It is the Go twin of rs::unitStep in
// kernels/model.cuh, which the CUDA kernels call per unit: the same
// operations in the same order.
//
// trial is the global trial index (FirstTrial + b) and t the step (1-based),
// the noise's coordinates with u.Instance. x, v and r hold one value per unit;
// v (the state v_{t−1}) and r are overwritten with v_t and r_t. For each unit
// i in ascending order, every operation rounded to nearest in T:
//
//	v' = T(Decay[i]·v[i]) + T(Alpha[i]·x[i])      two products, then their sum
//	v' = v' + T(PreNoise[i]·ξ_pre)                if PreNoise[i] ≠ 0
//	r' = Activate(Activation, v')
//	r' = r' + T(PostNoise[i]·ξ_post)              if PostNoise[i] ≠ 0
//	v[i], r[i] = v', r'
//
// with ξ_pre = Normal[T](Key, Instance, trial, t, i, PurposePreNoise) and
// ξ_post likewise with PurposePostNoise, drawn only when their factor is
// non-zero. No multiply-add is fused: every product is the direct operand
// of a conversion to T, which the Go spec says rounds it (the rule
// backend/dmath's TestNoFusionLint enforces there and TestNoFusion here).
//
// It reports whether every new state and rate is finite; when one is not, a
// caller finds the first in the contract's order with FirstNonFinite.
//
// UnitStep takes whole rows so that its loop is compiled once into the
// caller's (a per-unit function cannot be inlined: Activate and Normal are
// calls), which costs the CPU backend one call per trial and step.
func UnitStep[T Float](u *Units[T], trial, t int, x, v, r []T) (finite bool) {
	if u.Ranges != nil {
		return UnitStepRanges(u, trial, t, x, v, r)
	}
	act, f := u.Activation, u.Funcs
	decay, alpha, pre, post := u.Decay[:len(v)], u.Alpha[:len(v)], u.PreNoise[:len(v)], u.PostNoise[:len(v)]
	x, r = x[:len(v)], r[:len(v)]
	bad := false
	for i := range v {
		vi := T(decay[i]*v[i]) + T(alpha[i]*x[i])
		if sp := pre[i]; sp != 0 {
			vi = vi + T(sp*Normal[T](u.Key, u.Instance, trial, t, i, PurposePreNoise))
		}
		ri := Activate(act, vi, f)
		if sp := post[i]; sp != 0 {
			ri = ri + T(sp*Normal[T](u.Key, u.Instance, trial, t, i, PurposePostNoise))
		}
		v[i], r[i] = vi, ri
		bad = bad || !IsFinite(vi) || !IsFinite(ri)
	}
	return !bad
}

// UnitStepRanges is UnitStep for units with per-unit activations
// (u.Ranges set): the same operations for each unit, with f_i the
// activation of unit i's range (ActivateIn). The CPU backend calls it for
// such programs in both precisions.
func UnitStepRanges[T Float](u *Units[T], trial, t int, x, v, r []T) (finite bool) {
	f := u.Funcs
	decay, alpha, pre, post := u.Decay[:len(v)], u.Alpha[:len(v)], u.PreNoise[:len(v)], u.PostNoise[:len(v)]
	x, r = x[:len(v)], r[:len(v)]
	bad := false
	for ri := range u.Ranges {
		rg := &u.Ranges[ri]
		for i := rg.Start; i < rg.End; i++ {
			vi := T(decay[i]*v[i]) + T(alpha[i]*x[i])
			if sp := pre[i]; sp != 0 {
				vi = vi + T(sp*Normal[T](u.Key, u.Instance, trial, t, i, PurposePreNoise))
			}
			ri := ActivateIn(rg, vi, f)
			if sp := post[i]; sp != 0 {
				ri = ri + T(sp*Normal[T](u.Key, u.Instance, trial, t, i, PurposePostNoise))
			}
			v[i], r[i] = vi, ri
			bad = bad || !IsFinite(vi) || !IsFinite(ri)
		}
	}
	return !bad
}

// FirstNonFinite scans one trial's step in the contract's order — states v,
// then rates r, then outputs y, each by ascending unit — and returns the
// first non-finite value as an error at (global) instance k, trial b and
// step t, or nil. Any of the slices may be nil.
func FirstNonFinite[T Float](v, r, y []T, k, b, t int) *NonFiniteError {
	for _, q := range [...]struct {
		name string
		a    []T
	}{{"state", v}, {"rate", r}, {"output", y}} {
		for i, x := range q.a {
			if !IsFinite(x) {
				return &NonFiniteError{Instance: k, Trial: b, Step: t, Unit: i, Quantity: q.name, Value: float64(x)}
			}
		}
	}
	return nil
}
