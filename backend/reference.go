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
	p    *Program[T]
	f    *Funcs[T]
	key  [2]uint32
	v, r []T // K × B × N
	pst  *refPlastic[T]
	// hist is the delay ring buffer, K × B × (D+1) × N: slot
	// HistorySlot(s, D+1) of trial (k, b) holds r_s (nil without Delays).
	hist   []T
	done   int
	err    error
	closed bool
}

func newRefRun[T Float](p *Program[T]) *refRun[T] {
	K, B, N := p.Instances, p.Trials, p.Units
	run := &refRun[T]{p: p, f: FuncsFor[T](), key: SeedKey(p.Seed),
		v: make([]T, K*B*N), r: make([]T, K*B*N)}
	switch {
	case p.Form == RateForm:
		// Init is r_0 itself; the rate form has no v (it stays zero).
		if p.Init != nil {
			copy(run.r, p.Init)
		}
	default:
		if p.Init != nil {
			copy(run.v, p.Init)
		}
		for kb := 0; kb < K*B; kb++ {
			for i := 0; i < N; i++ {
				run.r[kb*N+i] = run.activate(i, run.v[kb*N+i])
			}
		}
	}
	if p.Plasticity != nil {
		run.pst = newRefPlastic(p)
	}
	if d := p.Delays; d != nil {
		slots := d.Max + 1
		run.hist = make([]T, K*B*slots*N)
		for kb := 0; kb < K*B; kb++ {
			for sl := 0; sl < slots; sl++ {
				copy(run.hist[(kb*slots+sl)*N:], run.r[kb*N:(kb+1)*N]) // r_s = r_0 for s ≤ 0
			}
		}
	}
	return run
}

// activate is f_i(v) of unit i: its range's activation, or the program's.
func (run *refRun[T]) activate(i int, v T) T {
	for ri := range run.p.UnitActivations {
		if rg := &run.p.UnitActivations[ri]; i >= rg.Start && i < rg.End {
			return ActivateIn(rg, v, run.f)
		}
	}
	return Activate(run.p.Activation, v, run.f)
}

// SupportsRateForm says that the reference defines the rate form and
// per-unit activations (RateFormCapable).
func (reference) SupportsRateForm() bool { return true }

// SupportsL5Plasticity reports that the reference runs the L5 rules.
func (reference) SupportsL5Plasticity() bool { return true }

// SupportsL5LowRank reports that the reference defines the L5 rule's
// low-rank form.
func (reference) SupportsL5LowRank() bool { return true }

// delayed returns z_j for synapse (j, i) of trial (k, b) at step t: the
// rate r_{t-1-d}[j] of the ring buffer, d its delay (p.Delays is set and
// j < N).
func (run *refRun[T]) delayed(k, b, j, i, t int) T {
	p := run.p
	N, slots := p.Units, p.Delays.Max+1
	d := int(p.Delays.Steps[(k*N+j)*N+i])
	sl := HistorySlot(t-1-d, slots)
	return run.hist[((k*p.Trials+b)*slots+sl)*N+j]
}

// weights returns the drive and readout matrices that trial b of instance k
// runs with.
func (run *refRun[T]) weights(k, b int) (drive, readout []T) {
	p := run.p
	if run.pst == nil {
		rows, N, O := p.DriveRows(), p.Units, p.Outputs
		drive = p.Drive[k*rows*N : (k+1)*rows*N]
		if O > 0 {
			readout = p.Readout[k*(N+1)*O : (k+1)*(N+1)*O]
		}
		return drive, readout
	}
	if run.pst.M == 1 {
		b = 0
	}
	return run.pst.Matrix(p, k, b)
}

// Weights copies the current weights (see WeightRun).
func (run *refRun[T]) Weights(drive, readout []T) error {
	if run.closed {
		return ErrClosed
	}
	var w *PlasticWeights[T]
	if run.pst != nil {
		w = run.pst.PlasticWeights
		if run.pst.lr != nil {
			L5LowRankWeights(run.p, run.pst.lr, drive, readout)
			return nil
		}
	}
	CopyWeights(run.p, w, drive, readout)
	return nil
}

// L5LowRankFactors copies a low-rank run's factors (L5LowRankRun).
func (run *refRun[T]) L5LowRankFactors(P []T) error {
	if run.closed {
		return ErrClosed
	}
	if run.pst == nil || run.pst.lr == nil {
		return fmt.Errorf("L5LowRankFactors: the program has no L5 low-rank form")
	}
	L5LowRankFactors(run.pst.lr, P)
	return nil
}

func (reference) SupportsPlasticity() bool { return true }

// SupportsDelays says that the reference defines synaptic delays
// (DelayCapable).
func (reference) SupportsDelays() bool { return true }

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
	m, err := CheckAdvance(p, run.done, n, in, out)
	if err != nil {
		return err
	}
	mw := p.WeightsRecorded(run.done, n)
	width := p.WeightWidth()
	rows := p.DriveRows()
	x := make([]T, N)
	z := make([]T, rows)
	y := make([]T, O)
	rec, recW := 0, 0
	var scratch *RateScratch[T]
	if p.Form == RateForm {
		scratch = NewRateScratch[T](N, p.Rate.Integrator)
	}
	for s := 0; s < n; s++ {
		t := run.done + s + 1
		record := t%p.Record.Every() == 0
		var first *NonFiniteError
		pst := run.pst
		if pst != nil && pst.pl.Schedule.Updates(t) {
			pst.beginUpdate()
		}
		for k := 0; k < K; k++ {
			var firstK *NonFiniteError // this instance's dynamics
			var units Units[T]
			var rate RateUnits[T]
			if p.Form == RateForm {
				rate = RateUnitsOf(p, run.f, run.key, k)
			} else {
				units = UnitsOf(p, run.f, run.key, k)
			}
			for b := 0; b < B; b++ {
				W, R := run.weights(k, b)
				off := (k*B + b) * N
				gk, gb := p.FirstInstance+k, p.FirstTrial+b
				v, r := run.v[off:off+N], run.r[off:off+N]
				// z = [r_{t-1}; u_t; 1]
				copy(z, r)
				for j := 0; j < I; j++ {
					z[N+j] = run.input(in, k, b, s, n, j)
				}
				z[N+I] = 1
				// product sets x to the drive of the rates q: z = [q; u_t; 1]
				// (q = r_{t−1} but for RK4's stages; delays read the history).
				product := func(q, x []T) {
					copy(z, q)
					for i := 0; i < N; i++ {
						var acc T // +0
						for j := 0; j < rows; j++ {
							zj := z[j]
							if run.hist != nil && j < N {
								zj = run.delayed(k, b, j, i, t)
							}
							acc = acc + T(zj*W[j*N+i])
						}
						x[i] = acc
					}
					if run.pst != nil && run.pst.lr != nil {
						run.pst.lr[k*B+b].AddProduct(q, x)
					}
				}
				// The scan below finds any non-finite value.
				if p.Form == RateForm {
					RateStep(&rate, scratch, gb, t, r, x, product)
				} else {
					product(r, x)
					UnitStep(&units, gb, t, x, v, r)
				}
				if run.hist != nil {
					slots := p.Delays.Max + 1
					copy(run.hist[((k*B+b)*slots+HistorySlot(t, slots))*N:], r)
				}
				if O > 0 {
					for o := 0; o < O; o++ {
						var acc T
						for j := 0; j < N; j++ {
							acc = acc + T(r[j]*R[j*O+o])
						}
						y[o] = acc + R[N*O+o]
					}
				}
				vs := v
				if p.Form == RateForm {
					vs = nil // no state in the rate form
				}
				if e := FirstNonFinite(vs, r, y[:O], gk, gb, t); e != nil && e.Before(firstK) {
					firstK = e
				}
				if pst != nil {
					copy(pst.y[(k*B+b)*O:(k*B+b+1)*O], y[:O])
					copy(pst.u[(k*B+b)*I:(k*B+b+1)*I], z[N:N+I])
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
			if pst != nil && firstK == nil {
				pst.traces(p, run.r, k, t)
				if pst.pl.Schedule.Updates(t) {
					firstK = pst.update(p, run.key, run.r, k, t)
				}
				if t%max(pst.pl.Record.Stride, 1) == 0 && pst.pl.Record.Stride > 0 {
					for mb := 0; mb < pst.M; mb++ {
						at := ((k*pst.M+mb)*mw + recW) * width
						dr, ro := pst.Matrix(p, k, mb)
						Snapshot(p, dr, ro, out.Weights[at:at+width])
					}
				}
			}
			if firstK != nil && firstK.Before(first) {
				first = firstK
			}
		}
		if record {
			rec++
		}
		if pst != nil && pst.pl.Record.Stride > 0 && t%pst.pl.Record.Stride == 0 {
			recW++
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
