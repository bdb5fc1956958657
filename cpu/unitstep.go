package cpu

//go:generate sh -c "cd internal/asmgen && go run . -set unit -out ../../unitstep_amd64.s -stubs ../../unitstep_amd64.go -pkg cpu"

import "github.com/ratesim/ratesim/backend"

// unitStep is the elementwise part of one step for one trial's units: the
// leak, input, noise and activation of backend.UnitStep, whose result it
// must equal bit for bit (the conformance suite and TestUnitStep check it).
// It is the one place the CPU backend calls the unit update. float32 runs
// unitStep32, the same loop with the cheaper exact noise of
// unitstep_normal.go; float64 runs backend.UnitStep itself, and per-unit
// activations (u.Ranges) backend.UnitStepRanges in both precisions.
func unitStep[T backend.Float](u *backend.Units[T], trial, t int, x, v, r []T) (finite bool) {
	if u.Ranges != nil {
		return backend.UnitStepRanges(u, trial, t, x, v, r)
	}
	if u32, ok := any(u).(*backend.Units[float32]); ok {
		return unitStep32(u32, trial, t, any(x).([]float32), any(v).([]float32), any(r).([]float32))
	}
	return backend.UnitStep(u, trial, t, x, v, r)
}

// unitStep32 is backend.UnitStep[float32] with normals32 for
// backend.Normal[float32]: the same operations in the same order for each
// unit. The row goes in blocks of normalBlock units; a block's normals are
// drawn first (all of them, when any unit of the block has noise: a draw
// is a pure function of its coordinates, so drawing one that is not used
// changes nothing), then its units are updated: with relu, on the kernels
// of unitstep_amd64.s where the CPU has them (unitPath), up to the last
// whole vector or the first vector with a non-finite value, and in Go
// from there.
func unitStep32(u *backend.Units[float32], trial, t int, x, v, r []float32) (finite bool) {
	act, f := u.Activation, u.Funcs
	var kern unitKernel
	lanes := 0
	if act == backend.ReLU {
		kern, lanes = unitKernelOf(plasticImpl(unitPath.Load()))
	}
	decay, alpha, pre, post := u.Decay[:len(v)], u.Alpha[:len(v)], u.PreNoise[:len(v)], u.PostNoise[:len(v)]
	x, r = x[:len(v)], r[:len(v)]
	key, inst := u.Key, u.Instance
	bad := false
	var zPre, zPost [normalBlock]float32
	for i0 := 0; i0 < len(v); i0 += normalBlock {
		i1 := min(i0+normalBlock, len(v))
		if anyNonZero(pre[i0:i1]) {
			normals32(key, inst, trial, t, i0, backend.PurposePreNoise, zPre[:i1-i0])
		}
		if anyNonZero(post[i0:i1]) {
			normals32(key, inst, trial, t, i0, backend.PurposePostNoise, zPost[:i1-i0])
		}
		i := i0
		if n := (i1 - i0) / max(lanes, 1) * lanes; kern != nil && n > 0 {
			i += kern(n, &decay[i0], &alpha[i0], &pre[i0], &post[i0], &x[i0], &v[i0], &r[i0], &zPre[0], &zPost[0])
		}
		for ; i < i1; i++ {
			vi := float32(decay[i]*v[i]) + float32(alpha[i]*x[i])
			if sp := pre[i]; sp != 0 {
				vi = vi + float32(sp*zPre[i-i0])
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
				ri = ri + float32(sp*zPost[i-i0])
			}
			v[i], r[i] = vi, ri
			bad = bad || vi-vi != 0 || ri-ri != 0
		}
	}
	return !bad
}

func anyNonZero(s []float32) bool {
	for _, x := range s {
		if x != 0 {
			return true
		}
	}
	return false
}

// unitKernel is one of unitstep_amd64.s's kernels (cpu/internal/asmgen):
// the relu unit step of units j < n, a multiple of its lanes, with the
// block's normals zPre and zPost; it returns n, or the first unit of the
// vector with a non-finite value, which it left unwritten.
type unitKernel func(n int, decay, alpha, pre, post, x, v, r, zPre, zPost *float32) (at int)

// unitPath is the implementation of the float32 relu unit step and of the
// rate form's Euler step on supralinear units (eulerUnits): the best
// this CPU has, unless the environment variable RATESIM_CPU_UNIT names
// another that it has ("go", "avx2", "avx512"). Tests set it to check every
// path.
var unitPath = implPath("RATESIM_CPU_UNIT")

// unitKernelOf returns impl's kernel and its lanes (nil for Go).
func unitKernelOf(impl plasticImpl) (unitKernel, int) {
	switch impl {
	case plasticAVX2:
		return unitKernels[impl], 8
	case plasticAVX512:
		return unitKernels[impl], 16
	}
	return nil, 0
}
