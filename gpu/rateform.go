//go:build cuda

package gpu

import (
	"math"
	"unsafe"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/kernels"
)

// This file is the host side of the rate form and per-unit activations
// (backend.Program.Form, Rate, UnitActivations; ARCHITECTURE.md rule 10).
// The kernels share one update for them (kernels/model.cuh: activateIn,
// rateUnit, keepRate):
//
//   - Euler runs wherever the v-form does: the step kernels, the gathered
//     drive (sparse drives, delays), the persistent kernel
//     (persistent_rate_T, which also runs v-form programs with per-unit
//     activations) and between the plasticity launches.
//   - RK4 runs on the step path as four launches of the step (or
//     gathered) kernel per step, each a drive product of the stage's
//     rates with the weights and input held fixed, then the readout; and
//     in the persistent kernel as four products a step with a barrier
//     after each stage, its third z buffer and k1 … k3 in shared memory
//     (withRateForm sizes it; the planner's candidates are sized for the
//     v-form, so a plan that no longer fits falls back to Drive in global
//     memory, then to the step path).
//
// On the step path the stage buffers alternate so that no launch reads
// what it writes: stage 1 reads r_{t−1} and writes q[0], stage 2 q[0] →
// q[1], stage 3 q[1] → q[0], stage 4 q[0] → r_t; ks keeps k1, k2, k3
// (K × B × N each) for stage 4's combination.

// rateDev is a run's rate-form and per-unit activation state on the
// device.
type rateDev struct {
	form   int64  // kernels' formV, formEuler, formRK4 (model.cuh)
	clip   int64  // Rate.ClipAtZero
	dtBits uint64 // the float64 bits of Rate.Dt (exact for a float32 Dt)
	// invTau is Rate.InvTau (K × N), acts the per-unit activation table
	// (actTable); 0 when the program has none.
	invTau, acts dptr
	// q and ks are RK4's stage rates and velocities (0 otherwise).
	q  [2]dptr
	ks dptr
}

// The kernels' form codes and activation table layout (model.cuh).
const (
	formV     = 0
	formEuler = 1
	formRK4   = 2
	actWords  = 5 // code, Floor, Ceiling, Gain, Power
)

// rateStages is the number of step-kernel launches a step of p takes.
func rateStages[T backend.Float](p *backend.Program[T]) int {
	if p.Form == backend.RateForm && p.Rate.Integrator == backend.RK4 {
		return 4
	}
	return 1
}

// actTable is p.UnitActivations as the kernels read it: actWords values
// per unit (the same for every instance), the code of the unit's range's
// activation and that range's Floor, Ceiling, Gain and Power; nil without
// per-unit activations.
func actTable[T backend.Float](p *backend.Program[T]) []T {
	if p.UnitActivations == nil {
		return nil
	}
	t := make([]T, p.Units*actWords)
	for _, rg := range p.UnitActivations {
		for i := rg.Start; i < rg.End; i++ {
			copy(t[i*actWords:], []T{T(rg.Activation), rg.Floor, rg.Ceiling, rg.Gain, rg.Power})
		}
	}
	return t
}

// initialState returns the run's v_0 and r_0 with the reference's own
// code: in the rate form v stays zero and r_0 is Init; in the v-form
// v_0 is Init and r_0 = f_i(v_0), per unit with UnitActivations. Both are
// zero where Init is nil.
func initialState[T backend.Float](p *backend.Program[T]) (v0, r0 []T) {
	K, B, N := p.Instances, p.Trials, p.Units
	v0, r0 = make([]T, K*B*N), make([]T, K*B*N)
	if p.Form == backend.RateForm {
		copy(r0, p.Init)
		return v0, r0
	}
	copy(v0, p.Init)
	f := backend.FuncsFor[T]()
	if p.UnitActivations != nil {
		for kb := 0; kb < K*B; kb++ {
			backend.ActivateRanges(p.UnitActivations, v0[kb*N:(kb+1)*N], r0[kb*N:(kb+1)*N], f)
		}
		return v0, r0
	}
	for i, v := range v0 {
		r0[i] = backend.Activate(p.Activation, v, f)
	}
	return v0, r0
}

// rk4Shared is the shared memory RK4 adds to the persistent kernel's
// block of tb trials (kernels/persistent.cu): a third z buffer, aligned
// (rows·tb + 4 values bound it), and k1 … k3 (3·tb·N values).
func rk4Shared(s backend.Shape, elem, tb int) int {
	return (s.DriveRows()*tb + 4 + 3*tb*s.Units) * elem
}

// withRateForm turns the persistent plan pl of the rate-form or per-unit
// activation program p into one of persistent_rate_T, with RK4's shared
// memory: pl itself when it fits, else with Drive in global memory, else
// the step path's plan (dev's limit).
func withRateForm[T backend.Float](p *backend.Program[T], pl plan, prec backend.Precision, dev deviceInfo) (plan, error) {
	if rateStages(p) > 1 {
		limit := pl.model.maxSharedOpt
		if pl.wShared && pl.shmem+rk4Shared(p.Shape, pl.elem, pl.tb) > limit {
			pl = pl.withPersistent(prec, pl.tb, false)
		}
		if pl.shmem+rk4Shared(p.Shape, pl.elem, pl.tb) > limit {
			return choosePlan(p.Shape, prec, dev, Step)
		}
		pl.shmem += rk4Shared(p.Shape, pl.elem, pl.tb)
	}
	pl.persistent = "persistent_rate_" + prec.String()
	return pl, nil
}

// rateBytes estimates the device memory p's rate form and per-unit
// activations add to runBytes: 1/τ, the activation table, and RK4's two
// stage-rate buffers and three velocity buffers.
func rateBytes[T backend.Float](p *backend.Program[T]) int64 {
	K, B, N := int64(p.Instances), int64(p.Trials), int64(p.Units)
	n := int64(0)
	if p.Form == backend.RateForm {
		n += K * N
		if p.Rate.Integrator == backend.RK4 {
			n += 5 * K * B * N
		}
	}
	if p.UnitActivations != nil {
		n += N * actWords
	}
	return n * int64(elemSize[T]())
}

// uploadRate puts p's rate constants and activation table on the device
// and allocates RK4's stage buffers; for a v-form program without
// per-unit activations it allocates nothing.
func uploadRate[T backend.Float](c calls, p *backend.Program[T]) (*rateDev, error) {
	rd := &rateDev{form: formV}
	elem := int64(elemSize[T]())
	up := func(dst *dptr, src []T, what string) error {
		if len(src) == 0 {
			return nil
		}
		n := int64(len(src)) * elem
		d, err := c.alloc(n, what)
		if err != nil {
			return err
		}
		*dst = d
		return c.htod(d, unsafe.Pointer(&src[0]), n)
	}
	if err := up(&rd.acts, actTable(p), "per-unit activation table"); err != nil {
		rd.release(c)
		return nil, err
	}
	if p.Form != backend.RateForm {
		return rd, nil
	}
	d := p.Rate
	rd.form, rd.clip, rd.dtBits = formEuler, b2i64(d.ClipAtZero), math.Float64bits(float64(d.Dt))
	if err := up(&rd.invTau, d.InvTau, "Rate.InvTau"); err != nil {
		rd.release(c)
		return nil, err
	}
	if d.Integrator == backend.RK4 {
		rd.form = formRK4
		n := int64(p.Instances*p.Trials*p.Units) * elem
		for _, a := range []struct {
			dst *dptr
			n   int64
		}{{&rd.q[0], n}, {&rd.q[1], n}, {&rd.ks, 3 * n}} {
			var err error
			if *a.dst, err = c.alloc(a.n, "RK4 stage buffers"); err != nil {
				rd.release(c)
				return nil, err
			}
		}
	}
	return rd, nil
}

func (rd *rateDev) release(c calls) {
	for _, p := range []*dptr{&rd.invTau, &rd.acts, &rd.q[0], &rd.q[1], &rd.ks} {
		if *p != 0 {
			c.free(*p)
			*p = 0
		}
	}
}

// stageRates returns the buffers stage s (1 … 4; 0 for a one-launch step)
// of step t reads its product's rates from and writes to, given the run's
// rate buffers r (r_{t−1} in r[(t−1)&1], r_t into r[t&1]); see the file
// comment.
func (rd *rateDev) stageRates(r [2]dptr, t, s int) (from, to dptr) {
	prev, next := r[(t-1)&1], r[t&1]
	switch s {
	case 1:
		return prev, rd.q[0]
	case 2:
		return rd.q[0], rd.q[1]
	case 3:
		return rd.q[1], rd.q[0]
	case 4:
		return rd.q[0], next
	}
	return prev, next
}

// setStep fills the rate-form fields of the step kernel's arguments for
// step t's stage s.
func (rd *rateDev) setStep(a *kernels.StepArgs, r [2]dptr, t, s int) {
	a.InvTau, a.Acts, a.R0, a.Ks = rd.invTau, rd.acts, r[(t-1)&1], rd.ks
	a.Form, a.Stage, a.Clip, a.DtBits = rd.form, int64(s), rd.clip, rd.dtBits
	a.Rprev, a.Rnext = rd.stageRates(r, t, s)
}

// setGather is setStep for the gathered-drive kernel.
func (rd *rateDev) setGather(a *kernels.GatherArgs, r [2]dptr, t, s int) {
	a.InvTau, a.Acts, a.R0, a.Ks = rd.invTau, rd.acts, r[(t-1)&1], rd.ks
	a.Form, a.Stage, a.Clip, a.DtBits = rd.form, int64(s), rd.clip, rd.dtBits
	a.Rprev, a.Rnext = rd.stageRates(r, t, s)
}
