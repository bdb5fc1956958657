//go:build cuda

package gpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// RK4's stage buffers chain: stage 1 reads r_{t−1}, each later stage reads
// what the one before wrote, stage 4 writes r_t, and no launch reads the
// buffer it writes (another block may still be reading it); a one-launch
// step reads r_{t−1} and writes r_t.
func TestStageRatesChain(t *testing.T) {
	r := [2]dptr{0x100, 0x200}
	rd := &rateDev{q: [2]dptr{0x300, 0x400}}
	for step := 1; step <= 4; step++ {
		prev, next := r[(step-1)&1], r[step&1]
		if from, to := rd.stageRates(r, step, 0); from != prev || to != next {
			t.Errorf("step %d, one launch: reads %#x, writes %#x; want r_{t-1} %#x → r_t %#x", step, from, to, prev, next)
		}
		var wrote dptr
		for s := 1; s <= 4; s++ {
			from, to := rd.stageRates(r, step, s)
			switch {
			case from == to:
				t.Errorf("step %d stage %d reads and writes %#x", step, s, from)
			case s == 1 && from != prev:
				t.Errorf("step %d stage 1 reads %#x, want r_{t-1} %#x", step, from, prev)
			case s > 1 && from != wrote:
				t.Errorf("step %d stage %d reads %#x, want stage %d's output %#x", step, s, from, s-1, wrote)
			case s == 4 && to != next:
				t.Errorf("step %d stage 4 writes %#x, want r_t %#x", step, to, next)
			case s < 4 && (to == prev || to == next):
				t.Errorf("step %d stage %d writes a rate buffer %#x", step, s, to)
			}
			wrote = to
		}
	}
}

// The activation table holds each unit's range: its activation's code and
// the range's parameters, unit by unit.
func TestActTable(t *testing.T) {
	p := &backend.Program[float32]{Shape: backend.Shape{Instances: 1, Trials: 1, Units: 5}}
	p.UnitActivations = []backend.ActivationRange[float32]{
		{Start: 0, End: 2, Activation: backend.Supralinear, Floor: 0.25, Ceiling: 2},
		{Start: 2, End: 3, Activation: backend.Tanh},
		{Start: 3, End: 5, Activation: backend.PowerLaw, Gain: 0.5, Power: 1.5},
	}
	tab := actTable(p)
	if len(tab) != 5*actWords {
		t.Fatalf("%d values, want %d", len(tab), 5*actWords)
	}
	for i := 0; i < 5; i++ {
		for _, rg := range p.UnitActivations {
			if i < rg.Start || i >= rg.End {
				continue
			}
			want := []float32{float32(rg.Activation), rg.Floor, rg.Ceiling, rg.Gain, rg.Power}
			for w, v := range want {
				if got := tab[i*actWords+w]; got != v {
					t.Errorf("unit %d word %d = %v, want %v", i, w, got, v)
				}
			}
		}
	}
	p.UnitActivations = nil
	if actTable(p) != nil {
		t.Error("a table without per-unit activations")
	}
}

// A persistent plan of an RK4 program holds RK4's shared memory as well
// and stays within what a block may have: Drive moves to global memory,
// or the program to the step path, where it does not fit.
func TestWithRateFormFits(t *testing.T) {
	dev := deviceInfo{name: "test", major: 9, sms: 132, maxSharedOpt: 227 << 10}
	for _, prec := range []backend.Precision{backend.F32, backend.F64} {
		for _, n := range []int{16, 100, 160, 236, 400, 1200, 3000, 9000} {
			for _, trials := range []int{1, 3, 16} {
				s := backend.Shape{Instances: 2, Trials: trials, Units: n, Inputs: 3, Outputs: 1}
				p := &backend.Program[float32]{Shape: s, Form: backend.RateForm, Rate: &backend.RateDynamics[float32]{Integrator: backend.RK4}}
				pl, err := choosePlan(s, prec, dev, Persistent)
				if err != nil {
					continue // no persistent plan for the v-form either
				}
				got, err := withRateForm(p, pl, prec, dev)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case got.kernel == Step:
					if persistentShared(s, pl.elem, pl.tb, false)+rk4Shared(s, pl.elem, pl.tb) <= dev.maxSharedOpt {
						t.Errorf("%v N=%d B=%d: the step path, though Drive in global memory would fit", prec, n, trials)
					}
				case got.persistent != "persistent_rate_"+prec.String():
					t.Errorf("%v N=%d B=%d: kernel %s", prec, n, trials, got.persistent)
				case got.shmem != persistentShared(s, got.elem, got.tb, got.wShared)+rk4Shared(s, got.elem, got.tb):
					t.Errorf("%v N=%d B=%d: %d B shared, want the v-form's and RK4's", prec, n, trials, got.shmem)
				case got.shmem > dev.maxSharedOpt:
					t.Errorf("%v N=%d B=%d: %d B shared, more than a block may have", prec, n, trials, got.shmem)
				case got.wShared && !pl.wShared:
					t.Errorf("%v N=%d B=%d: Drive moved into shared memory", prec, n, trials)
				}
			}
		}
	}
}
