package backendtest

import (
	"testing"

	"github.com/ratesim/ratesim/backend"
)

func TestReferenceDelays(t *testing.T) { long(t); Delays(t, backend.Reference) }
func TestReferenceSparse(t *testing.T) { long(t); Sparse(t, backend.Reference) }

// planted is a backend with a planted bug: the reference run on the
// program edit makes of each program it is given (for the sparse form, as
// a backend that reads its CSR wrongly would).
type planted struct {
	name string
	edit func(p any) any
}

func (b planted) Name() string                       { return b.name }
func (b planted) Devices() ([]backend.Device, error) { return backend.Reference.Devices() }
func (b planted) SupportsDelays() bool               { return true }
func (b planted) Start32(p *backend.Program[float32]) (backend.Run[float32], error) {
	return backend.Reference.Start32(b.edit(p).(*backend.Program[float32]))
}
func (b planted) Start64(p *backend.Program[float64]) (backend.Run[float64], error) {
	return backend.Reference.Start64(b.edit(p).(*backend.Program[float64]))
}

// editDelays returns an edit that changes every delay d to f(d, Max).
func editDelays(f func(d, max int) int) func(any) any {
	return func(p any) any {
		q := *p.(*backend.Program[float32])
		d := *q.Delays
		d.Steps = append([]uint16(nil), d.Steps...)
		for x, s := range d.Steps {
			d.Steps[x] = uint16(f(int(s), d.Max))
		}
		d.Max++
		q.Delays = &d
		return &q
	}
}

// The delay checks fail on a backend that delays by one step too many, on
// one that treats a delay of 0 as the maximal lag (SPAIC's ring buffer),
// and on one that forgets the ring buffer between Advance calls.
func TestDelaysCatchPlantedBugs(t *testing.T) {
	cases := DelayCases(true)[:4]
	for _, b := range []planted{
		{"off-by-one", editDelays(func(d, _ int) int { return d + 1 })},
		{"zero-is-max", editDelays(func(d, max int) int {
			if d == 0 {
				return max
			}
			return d
		})},
	} {
		for _, c := range cases {
			if err := CheckDelayCase[float32](b, c); err == nil {
				t.Errorf("%s: case %v passed", b.name, c)
			}
		}
	}
	// Noise off: restarting from the current state is then exact except
	// for the ring buffer, which restarts as r repeated.
	c := DelayCase{Case: Case{Shape: backend.Shape{Instances: 2, Trials: 3, Units: 20, Inputs: 2, Outputs: 1},
		Activation: backend.Tanh, Init: true, Stride: 1, Steps: 60, Seed: 5}, Max: 9, Chunks: []int{10}}
	forgetful := forgetfulBackend{}
	if err := CheckDelayCase[float32](forgetful, DelayCase{Case: c.Case, Max: c.Max}); err != nil {
		t.Fatalf("the forgetful backend run in one call should be exact: %v", err)
	}
	if err := CheckDelayCase[float32](forgetful, c); err == nil {
		t.Error("a backend that drops the ring buffer between Advance calls passed")
	}
}

// forgetfulBackend runs the reference afresh from the current state at
// every Advance call, so the delays' ring buffer starts again as r
// repeated: exact for programs without noise, except for that.
type forgetfulBackend struct{ planted }

func (forgetfulBackend) Name() string { return "forgetful" }
func (forgetfulBackend) Start32(p *backend.Program[float32]) (backend.Run[float32], error) {
	return &forgetfulRun{p: p}, nil
}

type forgetfulRun struct {
	p    *backend.Program[float32]
	v, r []float32
	done int
}

func (f *forgetfulRun) Advance(n int, in []float32, out *backend.Chunk[float32]) error {
	q := *f.p
	if f.v != nil {
		q.Init = f.v
	}
	run, err := backend.Reference.Start32(&q)
	if err != nil {
		return err
	}
	defer run.Close()
	if err := run.Advance(n, in, out); err != nil {
		return err
	}
	K := q.Instances * q.Trials * q.Units
	f.v, f.r = make([]float32, K), make([]float32, K)
	f.done += n
	return run.State(f.v, f.r)
}
func (f *forgetfulRun) Done() int { return f.done }
func (f *forgetfulRun) State(v, r []float32) error {
	copy(v, f.v)
	copy(r, f.r)
	return nil
}
func (f *forgetfulRun) Close() error { return nil }

// The sparse checks fail on a backend that drops the last entry of every
// CSR row.
func TestSparseCatchesPlantedBug(t *testing.T) {
	drop := planted{"drop-last", func(p any) any {
		q := *p.(*backend.Program[float32])
		q.Drive = append([]float32(nil), q.Drive...)
		N, rows := q.Units, q.DriveRows()
		for k := 0; k < q.Instances; k++ {
			for i := 0; i < N; i++ {
				if cols, _ := q.Sparse.Row(k, i, N); len(cols) > 0 {
					q.Drive[(k*rows+int(cols[len(cols)-1]))*N+i] = 0
				}
			}
		}
		q.Sparse = backend.NewSparseDrive(q.Shape, q.Drive)
		return &q
	}}
	n := 0
	for _, c := range SparseCases(true) {
		if c.Density < 0.1 || c.Shape.Units < 31 || n == 3 {
			continue
		}
		n++
		if err := CheckSparseCase[float32](drop, c); err == nil {
			t.Errorf("case %v passed", c)
		}
	}
}

// A backend that does not declare delays and refuses them passes Delays;
// the partitioner refuses them for it too.
func TestDelaysRefused(t *testing.T) {
	b := refuser{struct{ backend.Backend }{backend.Reference}}
	Delays(t, b)
	p := NewDelayProgram[float32](DelayCases(true)[0])
	pt, err := backend.Split(p, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backend.StartSharded(struct{ backend.Backend }{backend.Reference}, pt); err == nil || err.Error() != backend.ErrNoDelays("reference").Error() {
		t.Errorf("StartSharded of a delayed program on a backend without delays = %v", err)
	}
}

// refuser refuses delayed programs itself, as a backend without delays
// must (until backend.Start does it for every backend).
type refuser struct{ backend.Backend }

func (r refuser) Start32(p *backend.Program[float32]) (backend.Run[float32], error) {
	if p.Delays != nil {
		return nil, backend.ErrNoDelays(r.Name())
	}
	return r.Backend.Start32(p)
}
