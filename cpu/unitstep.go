package cpu

import "github.com/ratesim/ratesim/backend"

// unitStep is the elementwise part of one step for one trial's units: the
// leak, input, noise and activation of backend.UnitStep, whose result it
// must equal bit for bit (the conformance suite checks it). It is the one
// place the CPU backend calls the unit update, so a faster implementation
// replaces this body only.
func unitStep[T backend.Float](u *backend.Units[T], trial, t int, x, v, r []T) (finite bool) {
	return backend.UnitStep(u, trial, t, x, v, r)
}
