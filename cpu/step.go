package cpu

import "github.com/ratesim/ratesim/backend"

type unitParams[T backend.Float] struct {
	decay, alpha, pre, post []T
}

// updateRow applies the leak, noise and activation to one trial's units:
// x is the drive, v the state (updated), r the rate (updated, inside z). It
// returns the first non-finite state or rate, states before rates.
func (r *run[T]) updateRow(par *unitParams[T], gk, gb, step int, x, v, rr []T) *backend.NonFiniteError {
	act, f := r.p.Activation, r.f
	bad := false
	for i := range v {
		vi := T(par.decay[i]*v[i]) + T(par.alpha[i]*x[i])
		if sp := par.pre[i]; sp != 0 {
			vi = vi + T(sp*backend.Normal[T](r.key, gk, gb, step, i, backend.PurposePreNoise))
		}
		ri := backend.Activate(act, vi, f)
		if sp := par.post[i]; sp != 0 {
			ri = ri + T(sp*backend.Normal[T](r.key, gk, gb, step, i, backend.PurposePostNoise))
		}
		v[i], rr[i] = vi, ri
		bad = bad || !backend.IsFinite(vi) || !backend.IsFinite(ri)
	}
	if !bad {
		return nil
	}
	for _, q := range []struct {
		name string
		a    []T
	}{{"state", v}, {"rate", rr}} {
		for i, x := range q.a {
			if !backend.IsFinite(x) {
				return &backend.NonFiniteError{Instance: gk, Trial: gb, Step: step, Unit: i, Quantity: q.name, Value: float64(x)}
			}
		}
	}
	return nil
}
