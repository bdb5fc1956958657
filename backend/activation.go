package backend

import "github.com/ratesim/ratesim/backend/dmath"

// Funcs holds the deterministic transcendentals of one precision, so generic
// code can call them without a type switch per element.
type Funcs[T Float] struct {
	Tanh, Sigmoid, Softplus func(T) T
}

var (
	funcs32 = Funcs[float32]{dmath.Tanh32, dmath.Sigmoid32, dmath.Softplus32}
	funcs64 = Funcs[float64]{dmath.Tanh, dmath.Sigmoid, dmath.Softplus}
)

// FuncsFor returns the function table of T.
func FuncsFor[T Float]() *Funcs[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(&funcs32).(*Funcs[T])
	}
	return any(&funcs64).(*Funcs[T])
}

// Activate applies a to v. relu and retanh return +0 for non-positive input
// (and for NaN, which the run's non-finite check has caught in v already).
func Activate[T Float](a Activation, v T, f *Funcs[T]) T {
	switch a {
	case ReLU:
		if v > 0 {
			return v
		}
		return 0
	case Tanh:
		return f.Tanh(v)
	case Sigmoid:
		return f.Sigmoid(v)
	case ReTanh:
		if t := f.Tanh(v); t > 0 {
			return t
		}
		return 0
	case Softplus:
		return f.Softplus(v)
	case Identity:
		return v
	}
	panic("backend: unknown activation " + a.String())
}

// IsFinite reports whether v is neither NaN nor ±Inf.
func IsFinite[T Float](v T) bool { return v-v == 0 }
