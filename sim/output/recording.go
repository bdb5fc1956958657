package output

import (
	"fmt"
	"io"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/sim/spec"
)

// Hooks let tests inject faults into the output path; the zero value uses
// the real one.
type Hooks struct {
	// Spill creates the spill file of a streamed array (default CreateSpill).
	Spill func(dir, name string) (SpillFile, error)
	// WrapArray wraps the writer of each array of result.npz.
	WrapArray func(name string, w io.Writer) io.Writer
	// Step is called before each step of staging and publishing the output
	// (the Step constants, and each picture's name); an error it returns
	// fails that step as a failing system call would. Tests also stop the
	// process there, to crash at a chosen step.
	Step func(step string) error
	// NoExchange publishes as on a system that cannot exchange two
	// directories: by rename, moving a previous output aside first.
	NoExchange bool
}

// Recording is a run's recordings as a spec.RecordPlan selects them, held in
// memory or streamed to spill files on disk, plus the final state and, for a
// plastic run, the weight record.
type Recording[T backend.Float] struct {
	Plan                   *spec.RecordPlan
	rates, states, outputs *array[T] // nil when not recorded
	// FinalState and FinalRates are (B, N), filled at the end of the run.
	FinalState, FinalRates []T
	// Time is the time in ms of each recorded step.
	Time     []float64
	Streamed bool
	// Weights is the weight record of a plastic run, nil when static.
	Weights *Weights[T]
	// PlotFormat is the pictures' format: png (also ""), svg or pdf.
	PlotFormat string
	// input is trial 0's input, binned for the rates picture (PutInput).
	input *inputBins
}

// RecordBytes is the size of the recordings plan p makes for precision T.
func RecordBytes[T backend.Float](p *spec.RecordPlan) int64 {
	per := 0
	if p.Rates {
		per += len(p.Units)
	}
	if p.States {
		per += len(p.Units)
	}
	per += p.O
	return int64(p.B) * int64(p.M) * int64(per) * int64(elemSize[T]())
}

// NewRecording prepares the arrays plan records, run at time step dt ms. With
// spillDir set they stream to unlinked temporary files there, otherwise they
// are held in memory. The caller closes the recording.
func NewRecording[T backend.Float](plan *spec.RecordPlan, dt float64, spillDir string, hooks Hooks) (_ *Recording[T], err error) {
	rec := &Recording[T]{Plan: plan, Time: plan.Times(dt), Streamed: spillDir != ""}
	defer func() {
		if err != nil {
			rec.Close()
		}
	}()
	newArray := func(on bool, name string) (*array[T], error) {
		if !on {
			return nil, nil
		}
		a := &array[T]{name: name, B: plan.B, M: plan.M, width: plan.Width(name)}
		if spillDir == "" {
			a.mem = make([]T, plan.B*plan.M*a.width)
			return a, nil
		}
		create := CreateSpill
		if hooks.Spill != nil {
			create = hooks.Spill
		}
		f, err := create(spillDir, name)
		if err != nil {
			return nil, fmt.Errorf("cannot stream %s to %s: %w", name, spillDir, err)
		}
		a.file = f
		return a, nil
	}
	if rec.rates, err = newArray(plan.Rates, "rates"); err != nil {
		return nil, err
	}
	if rec.states, err = newArray(plan.States, "states"); err != nil {
		return nil, err
	}
	if rec.outputs, err = newArray(plan.Outputs, "outputs"); err != nil {
		return nil, err
	}
	return rec, nil
}

// Put keeps what the plan selects of a backend chunk that recorded m rows
// for steps done+1 … done+n of a network of N units and O outputs: the
// rows inside the window, and of rates and states only the chosen units.
// pick is scratch of at least m·len(Plan.Units) values when the plan does
// not record every unit.
func (r *Recording[T]) Put(done, n, m, N, O int, c *backend.Chunk[T], pick []T) error {
	plan := r.Plan
	U := len(plan.Units)
	j0, j1, m0 := plan.Keep(done, n)
	for bi := 0; bi < plan.B && j1 > j0; bi++ {
		for _, x := range []struct {
			a   *array[T]
			src []T
			w   int
			sel bool
		}{{r.rates, c.Rates, N, !plan.All}, {r.states, c.States, N, !plan.All}, {r.outputs, c.Outputs, O, false}} {
			if x.a == nil {
				continue
			}
			rows := x.src[(bi*m+j0)*x.w : (bi*m+j1)*x.w]
			if x.sel {
				rows = selectUnits(pick[:(j1-j0)*U], rows, N, plan.Units)
			}
			if err := x.a.put(bi, m0, rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// selectUnits gathers the given units of each row of rows (N values a row)
// into dst and returns it.
func selectUnits[T backend.Float](dst, rows []T, N int, units []int) []T {
	k := 0
	for r := 0; r+N <= len(rows); r += N {
		row := rows[r : r+N]
		for _, u := range units {
			dst[k] = row[u]
			k++
		}
	}
	return dst[:k]
}

// InMemory returns the recorded arrays of a recording held in memory, nil
// where an array is not recorded (or is streamed).
func (r *Recording[T]) InMemory() (rates, states, outputs []T) {
	mem := func(a *array[T]) []T {
		if a == nil {
			return nil
		}
		return a.mem
	}
	return mem(r.rates), mem(r.states), mem(r.outputs)
}

func (r *Recording[T]) arrays() []*array[T] {
	var as []*array[T]
	for _, a := range []*array[T]{r.rates, r.outputs, r.states} {
		if a != nil {
			as = append(as, a)
		}
	}
	return as
}

// Close releases the spill files, if any.
func (r *Recording[T]) Close() {
	for _, a := range r.arrays() {
		a.close()
	}
}
