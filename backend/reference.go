package backend

import (
	"fmt"
	"runtime"
)

// Reference is the numeric contract written as plain loops. It is slow on
// purpose: one unit at a time, every sum spelled out, so that it can be read
// as the specification every other backend is compared with bit for bit.
// It is not registered; tests and the conformance suite use it directly.
var Reference Backend = reference{}

type reference struct{}

func (reference) Name() string { return "reference" }

func (reference) Devices() ([]Device, error) {
	return []Device{{Name: "reference loops", Detail: fmt.Sprintf("1 goroutine, %s", runtime.GOARCH)}}, nil
}

func (reference) Start32(p *Program[float32]) (Run[float32], error) { return newRefRun(p), nil }
func (reference) Start64(p *Program[float64]) (Run[float64], error) { return newRefRun(p), nil }

type refRun[T Float] struct {
	p      *Program[T]
	f      *Funcs[T]
	key    [2]uint32
	v, r   []T // K × B × N
	done   int
	err    error
	closed bool
}

func newRefRun[T Float](p *Program[T]) *refRun[T] {
	K, B, N := p.Instances, p.Trials, p.Units
	run := &refRun[T]{p: p, f: FuncsFor[T](), key: SeedKey(p.Seed),
		v: make([]T, K*B*N), r: make([]T, K*B*N)}
	if p.Init != nil {
		copy(run.v, p.Init)
	}
	for i, v := range run.v {
		run.r[i] = Activate(p.Activation, v, run.f)
	}
	return run
}

func (run *refRun[T]) Done() int { return run.done }

func (run *refRun[T]) State(v, r []T) error {
	if run.closed {
		return ErrClosed
	}
	copy(v, run.v)
	copy(r, run.r)
	return nil
}

func (run *refRun[T]) Close() error { run.closed = true; return nil }

// input returns u_t[j] for instance k, trial b and the s-th step of a chunk of n.
func (run *refRun[T]) input(in []T, k, b, s, n, j int) T {
	if in == nil {
		return 0
	}
	p := run.p
	if p.SharedInput {
		k = 0
	}
	return in[((k*p.Trials+b)*n+s)*p.Inputs+j]
}

func (run *refRun[T]) Advance(n int, in []T, out *Chunk[T]) error {
	p := run.p
	K, B, N, I, O := p.Instances, p.Trials, p.Units, p.Inputs, p.Outputs
	if run.closed {
		return ErrClosed
	}
	if run.err != nil {
		return run.err
	}
	if in != nil && len(in) != p.InputLen(n) {
		return fmt.Errorf("input chunk has %d values, want %d for %d steps", len(in), p.InputLen(n), n)
	}
	m := p.Record.Recorded(run.done, n)
	if err := CheckChunk(p, out, m); err != nil {
		return err
	}
	rows := p.DriveRows()
	x := make([]T, N)
	z := make([]T, rows)
	y := make([]T, O)
	rec := 0
	for s := 0; s < n; s++ {
		t := run.done + s + 1
		record := t%p.Record.Every() == 0
		var first *NonFiniteError
		for k := 0; k < K; k++ {
			W := p.Drive[k*rows*N : (k+1)*rows*N]
			for b := 0; b < B; b++ {
				off := (k*B + b) * N
				gk, gb := p.FirstInstance+k, p.FirstTrial+b
				v, r := run.v[off:off+N], run.r[off:off+N]
				// z = [r_{t-1}; u_t; 1]
				copy(z, r)
				for j := 0; j < I; j++ {
					z[N+j] = run.input(in, k, b, s, n, j)
				}
				z[N+I] = 1
				for i := 0; i < N; i++ {
					var acc T // +0
					for j := 0; j < rows; j++ {
						acc = acc + T(z[j]*W[j*N+i])
					}
					x[i] = acc
				}
				for i := 0; i < N; i++ {
					u := k*N + i
					vi := T(p.Decay[u]*v[i]) + T(p.Alpha[u]*x[i])
					if sp := p.PreNoise[u]; sp != 0 {
						vi = vi + T(sp*Normal[T](run.key, gk, gb, t, i, PurposePreNoise))
					}
					ri := Activate(p.Activation, vi, run.f)
					if sp := p.PostNoise[u]; sp != 0 {
						ri = ri + T(sp*Normal[T](run.key, gk, gb, t, i, PurposePostNoise))
					}
					v[i], r[i] = vi, ri
				}
				if O > 0 {
					R := p.Readout[k*(N+1)*O : (k+1)*(N+1)*O]
					for o := 0; o < O; o++ {
						var acc T
						for j := 0; j < N; j++ {
							acc = acc + T(r[j]*R[j*O+o])
						}
						y[o] = acc + R[N*O+o]
					}
				}
				if e := firstNonFinite(v, r, y[:O], gk, gb, t); e != nil && e.Before(first) {
					first = e
				}
				if record {
					at := (k*B+b)*m + rec
					if p.Record.Rates {
						copy(out.Rates[at*N:], r)
					}
					if p.Record.States {
						copy(out.States[at*N:], v)
					}
					if p.Record.Outputs {
						copy(out.Outputs[at*O:], y[:O])
					}
				}
			}
		}
		if record {
			rec++
		}
		if first != nil {
			run.done = t
			run.err = first
			return first
		}
	}
	run.done += n
	return nil
}

// firstNonFinite scans one trial's step in the contract's order: states,
// then rates, then outputs, each by ascending unit.
func firstNonFinite[T Float](v, r, y []T, k, b, t int) *NonFiniteError {
	for _, q := range []struct {
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
