package cpu

import "github.com/ratesim/ratesim/backend"

// unitStep is the elementwise part of one step for one trial's units: the
// leak, input, noise and activation of backend.UnitStep, whose result it
// must equal bit for bit (the conformance suite and TestUnitStep check it).
// It is the one place the CPU backend calls the unit update. float32 runs
// unitStep32, the same loop with the cheaper exact noise of
// unitstep_normal.go; float64 runs backend.UnitStep itself.
func unitStep[T backend.Float](u *backend.Units[T], trial, t int, x, v, r []T) (finite bool) {
	if u32, ok := any(u).(*backend.Units[float32]); ok {
		return unitStep32(u32, trial, t, any(x).([]float32), any(v).([]float32), any(r).([]float32))
	}
	return backend.UnitStep(u, trial, t, x, v, r)
}

// unitStep32 is backend.UnitStep[float32] with normal32 for
// backend.Normal[float32]: the same operations in the same order.
func unitStep32(u *backend.Units[float32], trial, t int, x, v, r []float32) (finite bool) {
	act, f := u.Activation, u.Funcs
	decay, alpha, pre, post := u.Decay[:len(v)], u.Alpha[:len(v)], u.PreNoise[:len(v)], u.PostNoise[:len(v)]
	x, r = x[:len(v)], r[:len(v)]
	key, inst := u.Key, u.Instance
	bad := false
	for i := range v {
		vi := float32(decay[i]*v[i]) + float32(alpha[i]*x[i])
		if sp := pre[i]; sp != 0 {
			vi = vi + float32(sp*normal32(key, inst, trial, t, i, backend.PurposePreNoise))
		}
		var ri float32
		if act == backend.ReLU {
			// backend.Activate's relu, without the call.
			if vi > 0 {
				ri = vi
			}
		} else {
			ri = backend.Activate(act, vi, f)
		}
		if sp := post[i]; sp != 0 {
			ri = ri + float32(sp*normal32(key, inst, trial, t, i, backend.PurposePostNoise))
		}
		v[i], r[i] = vi, ri
		bad = bad || vi-vi != 0 || ri-ri != 0
	}
	return !bad
}
