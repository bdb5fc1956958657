package backend

import (
	"errors"
	"fmt"
	"math"

	"github.com/ratesim/ratesim/backend/dmath"
)

// Form says which dynamics a Program runs (see the Program doc comment).
type Form uint8

const (
	// VForm is nn4n's state form v = Decay·v + Alpha·x, r = f(v) (the zero
	// value: every program written before the rate form runs it).
	VForm Form = iota
	// RateForm is τ dr/dt = −r + f(W r + I), integrated by Program.Rate.
	RateForm
)

func (f Form) String() string {
	switch f {
	case VForm:
		return "v-form"
	case RateForm:
		return "rate-form"
	}
	return fmt.Sprintf("Form(%d)", uint8(f))
}

// Integrator is the time stepper of the rate form.
type Integrator uint8

const (
	Euler Integrator = iota // forward Euler, one drive product per step
	RK4                     // classical Runge–Kutta, four drive products per step
)

func (g Integrator) String() string {
	switch g {
	case Euler:
		return "euler"
	case RK4:
		return "rk4"
	}
	return fmt.Sprintf("Integrator(%d)", uint8(g))
}

// RateDynamics holds the rate form's constants (Program.Rate).
type RateDynamics[T Float] struct {
	Integrator Integrator
	// Dt is the step, in the time unit of Tau (the rate form multiplies by
	// 1/τ and then by dt, as L5 does; the v-form's α = dt/τ would round
	// differently).
	Dt T
	// InvTau is fl(1/τ_i), K × N, computed on the host.
	InvTau []T
	// ClipAtZero sets r = +0 where the integrated rate is < 0 after the
	// step (−0 and NaN pass unchanged), L5's RK4 clip; it applies to
	// Euler too when set.
	ClipAtZero bool
}

// ActivationRange gives the units [Start, End) of every instance one
// activation (Program.UnitActivations).
type ActivationRange[T Float] struct {
	Start, End int
	Activation Activation
	// Supralinear: f(x) = min(max(x, Floor), Ceiling), NaN passes (numpy's
	// clip; max and min order signed zeros as Go's math.Max and math.Min).
	Floor, Ceiling T
	// PowerLaw: f(x) = Gain·[x]₊^Power with [x]₊ = x for x > 0, NaN for
	// NaN, +0 otherwise. A Power that is an integer n (0 ≤ n ≤ 64) is n−1
	// rounded products left to right (((x·x)·x)…; n = 0 gives 1), then
	// Gain·(…); any other Power is dmath.Pow([x]₊, Power).
	Gain, Power T
}

// maxIntegerPower is the largest Power the power law computes by repeated
// products; Validate refuses larger ones (they overflow any rate anyway).
const maxIntegerPower = 64

// RateFormCapable is implemented by backends that run rate-form programs
// and per-unit activations (Program.Form, Program.UnitActivations). A
// backend that does not implement it, or says no, must refuse such
// programs at Start with ErrNoRateForm (the conformance suite's RateForm
// entry point checks that).
type RateFormCapable interface{ SupportsRateForm() bool }

// SupportsRateForm reports whether b declares that it runs rate-form
// programs and per-unit activations.
func SupportsRateForm(b Backend) bool {
	c, ok := b.(RateFormCapable)
	return ok && c.SupportsRateForm()
}

// NeedsRateForm reports whether p uses the rate form or per-unit
// activations, which only a RateFormCapable backend runs.
func (p *Program[T]) NeedsRateForm() bool {
	return p.Form != VForm || p.UnitActivations != nil
}

// ErrNoRateForm is the error of a backend that cannot run a program with
// the rate form or per-unit activations.
func ErrNoRateForm(backend string) error {
	return fmt.Errorf("backend %q does not run rate-form programs or per-unit activations yet", backend)
}

var errRK4Delays = errors.New("program Rate.Integrator rk4 cannot be combined with Delays (the stages would need delayed copies of the stage rates, which the contract does not define)")

// validateRate checks the rate form's fields and per-unit activations.
func (p *Program[T]) validateRate() error {
	K, N := p.Instances, p.Units
	switch p.Form {
	case VForm:
		if p.Rate != nil {
			return errors.New("program Rate is set but Form is the v-form")
		}
	case RateForm:
		d := p.Rate
		if d == nil {
			return errors.New("program Form is the rate form but Rate is nil")
		}
		if d.Integrator > RK4 {
			return fmt.Errorf("program Rate.Integrator %v is not defined", d.Integrator)
		}
		if f := float64(d.Dt); !(f > 0) || math.IsInf(f, 0) {
			return fmt.Errorf("program Rate.Dt = %v: must be finite and > 0", f)
		}
		if len(d.InvTau) != K*N {
			return fmt.Errorf("program Rate.InvTau has %d values, want %d", len(d.InvTau), K*N)
		}
		for i, v := range d.InvTau {
			if !IsFinite(v) {
				return fmt.Errorf("program Rate.InvTau[%d] = %v: values must be finite", i, v)
			}
		}
		for i, v := range p.PreNoise {
			if v != 0 {
				return fmt.Errorf("program PreNoise[%d] = %v: the rate form has no state to add pre-activation noise to (must be 0)", i, v)
			}
		}
		if p.Record.States {
			return errors.New("program Record.States: the rate form has no state v to record")
		}
		if d.Integrator == RK4 && p.Delays != nil {
			return errRK4Delays
		}
	default:
		return fmt.Errorf("program Form %v is not defined", p.Form)
	}
	if p.UnitActivations == nil {
		if p.Activation == Supralinear || p.Activation == PowerLaw {
			return fmt.Errorf("program Activation %v needs parameters: give it through UnitActivations", p.Activation)
		}
		return nil
	}
	next := 0
	for i, rg := range p.UnitActivations {
		if rg.Start != next || rg.End <= rg.Start || rg.End > N {
			return fmt.Errorf("program UnitActivations[%d] = [%d, %d): the ranges must tile the units 0 … %d ascending without gaps (this one must start at %d)", i, rg.Start, rg.End, N, next)
		}
		next = rg.End
		if rg.Activation >= numActivations {
			return fmt.Errorf("program UnitActivations[%d].Activation %v is not defined", i, rg.Activation)
		}
		for _, c := range []struct {
			name string
			v    T
		}{{"Floor", rg.Floor}, {"Ceiling", rg.Ceiling}, {"Gain", rg.Gain}, {"Power", rg.Power}} {
			if !IsFinite(c.v) {
				return fmt.Errorf("program UnitActivations[%d].%s = %v: must be finite", i, c.name, c.v)
			}
		}
		if rg.Activation == Supralinear && !(rg.Floor <= rg.Ceiling) {
			return fmt.Errorf("program UnitActivations[%d]: Floor %v > Ceiling %v", i, rg.Floor, rg.Ceiling)
		}
		if rg.Activation == PowerLaw && (rg.Power < 0 || rg.Power > maxIntegerPower) {
			return fmt.Errorf("program UnitActivations[%d].Power = %v: must be in [0, %d]", i, rg.Power, maxIntegerPower)
		}
	}
	if next != N {
		return fmt.Errorf("program UnitActivations end at unit %d, want %d (the ranges must cover every unit)", next, N)
	}
	return nil
}

// sub returns the rate constants of instances [k0, k1).
func (d *RateDynamics[T]) sub(k0, k1, N int) *RateDynamics[T] {
	if d == nil {
		return nil
	}
	q := *d
	q.InvTau = d.InvTau[k0*N : k1*N]
	return &q
}

// SubRate returns the Rate of p's sub-program of instances [k0, k1), for
// Program.Sub.
func (p *Program[T]) SubRate(k0, k1 int) *RateDynamics[T] { return p.Rate.sub(k0, k1, p.Units) }

// maxZero is Go's math.Max(x, y) for non-NaN x and y: the larger, and +0
// for two zeros unless both are −0.
func maxZero[T Float](x, y T) T {
	switch {
	case x > y:
		return x
	case y > x:
		return y
	case x == 0 && math.Signbit(float64(x)):
		return y
	}
	return x
}

// minZero is Go's math.Min(x, y) for non-NaN x and y: the smaller, and −0
// for two zeros when either is −0.
func minZero[T Float](x, y T) T {
	switch {
	case x < y:
		return x
	case y < x:
		return y
	case x == 0 && math.Signbit(float64(y)):
		return y
	}
	return x
}

// Supra is the supralinear activation min(max(x, floor), ceiling) with
// NaN passing through.
func Supra[T Float](x, floor, ceiling T) T {
	if x != x {
		return x
	}
	return minZero(maxZero(x, floor), ceiling)
}

// PowerLawOf is gain·[x]₊^power (see ActivationRange).
func PowerLawOf[T Float](x, gain, power T) T {
	var y T
	switch {
	case x > 0:
		y = x
	case x != x:
		return x
	}
	if n := int(power); T(n) == power {
		acc := T(1)
		if n > 0 {
			acc = y
			for range n - 1 {
				acc = T(acc * y)
			}
		}
		return T(gain * acc)
	}
	var p T
	switch any(y).(type) {
	case float32:
		p = T(dmath.Pow32(float32(y), float32(power)))
	default:
		p = T(dmath.Pow(float64(y), float64(power)))
	}
	return T(gain * p)
}

// ActivateIn applies rg's activation to x.
func ActivateIn[T Float](rg *ActivationRange[T], x T, f *Funcs[T]) T {
	switch rg.Activation {
	case Supralinear:
		return Supra(x, rg.Floor, rg.Ceiling)
	case PowerLaw:
		return PowerLawOf(x, rg.Gain, rg.Power)
	}
	return Activate(rg.Activation, x, f)
}

// ActivateRanges sets out[i] = f_i(x[i]) for the units of ranges, one tight
// loop per range.
func ActivateRanges[T Float](ranges []ActivationRange[T], x, out []T, f *Funcs[T]) {
	for ri := range ranges {
		rg := &ranges[ri]
		xs, os := x[rg.Start:rg.End], out[rg.Start:rg.End]
		switch rg.Activation {
		case Supralinear:
			lo, hi := rg.Floor, rg.Ceiling
			for i, v := range xs {
				os[i] = Supra(v, lo, hi)
			}
		case PowerLaw:
			g, pw := rg.Gain, rg.Power
			for i, v := range xs {
				os[i] = PowerLawOf(v, g, pw)
			}
		case ReLU:
			for i, v := range xs {
				if v > 0 {
					os[i] = v
				} else {
					os[i] = 0
				}
			}
		default:
			a := rg.Activation
			for i, v := range xs {
				os[i] = Activate(a, v, f)
			}
		}
	}
}

// RateUnits is what the rate form's elementwise step needs of the N units
// of one instance. RateUnitsOf builds it from a Program.
type RateUnits[T Float] struct {
	Activation Activation
	Ranges     []ActivationRange[T] // Program.UnitActivations; nil: Activation everywhere
	Funcs      *Funcs[T]
	Key        [2]uint32
	Instance   int // global instance index, for the noise
	Integrator Integrator
	Dt         T
	Clip       bool
	// The instance's rows of Rate.InvTau and PostNoise, N values each.
	InvTau, PostNoise []T
}

// RateUnitsOf returns the RateUnits of instance k of the rate-form program p.
func RateUnitsOf[T Float](p *Program[T], f *Funcs[T], key [2]uint32, k int) RateUnits[T] {
	N := p.Units
	d := p.Rate
	return RateUnits[T]{Activation: p.Activation, Ranges: p.UnitActivations, Funcs: f, Key: key,
		Instance: p.FirstInstance + k, Integrator: d.Integrator, Dt: d.Dt, Clip: d.ClipAtZero,
		InvTau: d.InvTau[k*N : (k+1)*N], PostNoise: p.PostNoise[k*N : (k+1)*N]}
}

// RK4 weights fl(1/6) and fl(1/3) in T.
func rk4Sixth[T Float]() T { return T(1.0 / 6.0) }
func rk4Third[T Float]() T { return T(1.0 / 3.0) }

// Velocity sets k_i = InvTau_i·((−r_i) + f_i(x_i)) for one trial's units:
// x is the drive product of the rates r, k receives F(r).
func (u *RateUnits[T]) Velocity(x, r, k []T) {
	n := len(r)
	x, k = x[:n], k[:n]
	if u.Ranges != nil {
		ActivateRanges(u.Ranges, x, k, u.Funcs)
	} else {
		act, f := u.Activation, u.Funcs
		for i, v := range x {
			k[i] = Activate(act, v, f)
		}
	}
	inv := u.InvTau[:n]
	for i := range k {
		k[i] = T(inv[i] * ((-r[i]) + k[i]))
	}
}

// Stage sets y_i = r_i + (0.5·k_i)·Dt (half) or r_i + k_i·Dt (the RK4
// stage rates).
func (u *RateUnits[T]) Stage(r, k, y []T, half bool) {
	dt := u.Dt
	n := len(r)
	k, y = k[:n], y[:n]
	if half {
		for i := range r {
			y[i] = r[i] + T(T(0.5*k[i])*dt)
		}
		return
	}
	for i := range r {
		y[i] = r[i] + T(k[i]*dt)
	}
}

// EulerFinish sets r_i = r_i + Dt·k_i.
func (u *RateUnits[T]) EulerFinish(r, k []T) {
	dt := u.Dt
	k = k[:len(r)]
	for i := range r {
		r[i] = r[i] + T(dt*k[i])
	}
}

// RK4Finish sets r_i = r_i + Dt·((((s6·k1 + s3·k2) + s3·k3) + s6·k4)).
func (u *RateUnits[T]) RK4Finish(r, k1, k2, k3, k4 []T) {
	dt, s6, s3 := u.Dt, rk4Sixth[T](), rk4Third[T]()
	n := len(r)
	k1, k2, k3, k4 = k1[:n], k2[:n], k3[:n], k4[:n]
	for i := range r {
		sum := T(T(T(s6*k1[i])+T(s3*k2[i]))+T(s3*k3[i])) + T(s6*k4[i])
		r[i] = r[i] + T(dt*sum)
	}
}

// Finish applies the clip at zero (when set) and the post-activation noise
// to one trial's new rates r (trial the global trial index, t the step),
// and reports whether every rate is finite.
func (u *RateUnits[T]) Finish(trial, t int, r []T) (finite bool) {
	post := u.PostNoise[:len(r)]
	clip := u.Clip
	bad := false
	for i, ri := range r {
		if clip && ri < 0 {
			ri = 0
		}
		if sp := post[i]; sp != 0 {
			ri = ri + T(sp*Normal[T](u.Key, u.Instance, trial, t, i, PurposePostNoise))
		}
		r[i] = ri
		bad = bad || !IsFinite(ri)
	}
	return !bad
}

// RateScratch holds one trial's buffers of the rate-form step.
type RateScratch[T Float] struct {
	R0, K1, K2, K3, K4 []T
}

// NewRateScratch allocates the buffers for n units (K2…K4 only for RK4).
func NewRateScratch[T Float](n int, g Integrator) *RateScratch[T] {
	s := &RateScratch[T]{R0: make([]T, n), K1: make([]T, n)}
	if g == RK4 {
		s.K2, s.K3, s.K4 = make([]T, n), make([]T, n), make([]T, n)
	}
	return s
}

// RateStep is the rate form's step for one trial (see the Program doc
// comment): r holds r_{t−1} and receives r_t. product(q, x) must set x to
// the drive product Σ_j↑ z_j·Drive[j][i] with z = [q; u_t; 1] (q the
// rates of the stage; for Euler q = r). It reports whether every new rate
// is finite. The CPU backend runs the same pieces (Velocity, Stage,
// EulerFinish, RK4Finish, Finish) batched over trials.
func RateStep[T Float](u *RateUnits[T], s *RateScratch[T], trial, t int, r, x []T, product func(q, x []T)) (finite bool) {
	if u.Integrator == Euler {
		product(r, x)
		u.Velocity(x, r, s.K1)
		u.EulerFinish(r, s.K1)
		return u.Finish(trial, t, r)
	}
	copy(s.R0, r)
	q := r // the stage rates reuse r's storage; s.R0 keeps r_{t−1}
	product(s.R0, x)
	u.Velocity(x, s.R0, s.K1)
	u.Stage(s.R0, s.K1, q, true)
	product(q, x)
	u.Velocity(x, q, s.K2)
	u.Stage(s.R0, s.K2, q, true)
	product(q, x)
	u.Velocity(x, q, s.K3)
	u.Stage(s.R0, s.K3, q, false)
	product(q, x)
	u.Velocity(x, q, s.K4)
	copy(r, s.R0)
	u.RK4Finish(r, s.K1, s.K2, s.K3, s.K4)
	return u.Finish(trial, t, r)
}
