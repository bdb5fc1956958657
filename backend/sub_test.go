package backend

import "testing"

func TestSubPanics(t *testing.T) {
	p := &Program[float32]{Shape: Shape{Instances: 3, Trials: 4, Units: 2}}
	p.Drive = make([]float32, 3*p.DriveRows()*2)
	p.Decay, p.Alpha, p.PreNoise, p.PostNoise = make([]float32, 6), make([]float32, 6), make([]float32, 6), make([]float32, 6)
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("empty range", func() { p.Sub(1, 1, 0, 4) })
	mustPanic("past the trials", func() { p.Sub(0, 3, 2, 5) })
	q := p.Sub(1, 3, 1, 3)
	if q.Instances != 2 || q.Trials != 2 || q.FirstInstance != 1 || q.FirstTrial != 1 || len(q.Drive) != 2*p.DriveRows()*2 || len(q.Alpha) != 4 {
		t.Fatalf("Sub(1,3,1,3) = K %d B %d first (%d,%d), %d drive values, %d alphas", q.Instances, q.Trials, q.FirstInstance, q.FirstTrial, len(q.Drive), len(q.Alpha))
	}
	p.Plasticity = &Plasticity[float32]{}
	mustPanic("shared plastic weights split by trial", func() { p.Sub(0, 3, 0, 2) })
	p.Sub(0, 2, 0, 4) // instances may be split
	p.Plasticity.PerTrial = true
	p.Sub(0, 3, 0, 2) // per-trial weights may be split by trial
}
