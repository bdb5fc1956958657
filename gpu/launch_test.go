package gpu

import (
	"testing"

	"github.com/ratesim/ratesim/backend"
)

var h100 = deviceInfo{name: "H100", major: 9, sms: 132, maxSharedOpt: 227 << 10, maxThreads: 1024}

// What Auto picks where the choice follows from the planner's rules rather
// than from the model's ranking of candidates (that ranking is
// TestPlansCheapest's): Step where the persistent kernel cannot fit one
// trial's z and v, or would have every one of many blocks re-read a W far
// larger than L2; Persistent where the step path's launches dwarf the work
// of a tiny network, or a sweep's W stays on chip; Auto where either may win.
func TestPlanChoices(t *testing.T) {
	for _, c := range []struct {
		K, B, N int
		prec    backend.Precision
		want    Kernel
	}{
		{1, 1, 256, backend.F32, Auto},           // one block with W global, or the step path: the model decides (TestPlanN256B1; was persistent)
		{1, 1, 1024, backend.F32, Auto},          // one large network (was the step kernel)
		{1, 1, 4096, backend.F32, Auto},          // (was the step kernel)
		{1, 32, 1024, backend.F32, Auto},         // (was the step kernel)
		{1, 256, 4096, backend.F32, Step},        // persistent: W global, 256 blocks re-reading 67 MB
		{1, 256, 4096, backend.F64, Step},        //
		{4096, 16, 256, backend.F32, Auto},       // W global either way: the model decides (was persistent)
		{256, 16, 128, backend.F64, Persistent},  // parameter sweep of small networks
		{4096, 16, 128, backend.F32, Persistent}, // W in shared memory, 4096 blocks
		{8, 16, 1024, backend.F32, Auto},         // (was the step kernel)
		{200, 16, 1024, backend.F32, Auto},       // persistent fills the device with W global: the model decides (was persistent)
		{1, 16, 5000, backend.F32, Auto},         // persistent: 16 one-trial blocks, W global (was the step kernel)
		{1, 3, 100000, backend.F32, Step},        // persistent: one trial's z and v exceed shared memory
		{2, 1000, 2, backend.F32, Persistent},    // tiny: no launches per step
		{1, 2, 5, backend.F64, Persistent},       //
		{1 << 20, 1, 8, backend.F32, Auto},       //
		{1, 1 << 20, 64, backend.F32, Auto},      //
	} {
		s := backend.Shape{Instances: c.K, Trials: c.B, Units: c.N, Inputs: 4, Outputs: 2}
		pl, err := choosePlan(s, c.prec, h100, Auto)
		if err != nil {
			t.Errorf("%+v: %v", c, err)
			continue
		}
		if pl.kernel == Persistent {
			if pl.shmem > h100.maxSharedOpt || pl.tb < 1 || pl.tb > persistentMaxTrials || pl.threads > persistentMaxThreads || pl.threads%32 != 0 {
				t.Errorf("%+v: bad persistent plan %s", c, pl.describe())
			}
		} else if pl.step == "" || pl.stepGrid < 1 || pl.stepGrid != c.K*ceilDiv(c.N, pl.stepTile.units())*ceilDiv(c.B, pl.stepTile.trials()) {
			t.Errorf("%+v: bad step plan %s", c, pl.describe())
		}
		if c.want != Auto && pl.kernel != c.want {
			t.Errorf("K=%d B=%d N=%d %v: %s, want the %v kernel", c.K, c.B, c.N, c.prec, pl.describe(), c.want)
		}
	}
}

// A forced kernel gets the cheapest plan of its own candidates, and the
// grid limit makes every kernel's error a tooLarge one (shards may help).
func TestPlanForcedCheapest(t *testing.T) {
	m := modelOf(h100)
	for _, s := range []backend.Shape{
		{Instances: 1, Trials: 1, Units: 256, Inputs: 4, Outputs: 2},
		{Instances: 3, Trials: 40, Units: 100, Inputs: 2, Outputs: 1},
		{Instances: 1, Trials: 256, Units: 4096, Inputs: 4, Outputs: 2},
	} {
		for _, want := range []Kernel{Step, Persistent} {
			pl, err := choosePlan(s, backend.F32, h100, want)
			if err != nil || pl.kernel != want {
				t.Fatalf("%v forced: %v, %v", want, pl.kernel, err)
			}
			base := plan{shape: s, elem: 4, unitsOrOut: max(s.Units, s.Outputs), model: m}
			var others []plan
			if want == Step {
				for _, tl := range stepTiles[backend.F32] {
					others = append(others, base.withTile(backend.F32, tl.suffix))
				}
			} else {
				for tb := 1; tb <= min(s.Trials, persistentMaxTrials); tb++ {
					for _, ws := range []bool{true, false} {
						if o := base.withPersistent(backend.F32, tb, ws); o.shmem <= m.maxSharedOpt {
							others = append(others, o)
						}
					}
				}
			}
			for _, o := range others {
				if c, ok := m.costOf(o); ok && c.seconds < pl.cost.seconds {
					t.Errorf("%v forced on %s: %s (%v), but %s costs %v", want, shapeName(s), planName(pl), pl.cost, planName(o), c)
				}
			}
		}
	}
	s := backend.Shape{Instances: 1 << 31, Trials: 1, Units: 1, Inputs: 1, Outputs: 1}
	for _, want := range []Kernel{Auto, Step, Persistent} {
		if _, err := choosePlan(s, backend.F32, h100, want); !isTooLarge(err) {
			t.Errorf("%v: 2³¹ blocks: %v, want a tooLarge error", want, err)
		}
	}
}

// Forcing a kernel is honoured or refused with a reason.
func TestPlanForced(t *testing.T) {
	s := backend.Shape{Instances: 1, Trials: 1, Units: 4096, Inputs: 1, Outputs: 1}
	if _, err := choosePlan(s, backend.F32, h100, Persistent); err != nil {
		t.Errorf("persistent kernel with 4096 units and one trial should fit: %v", err)
	}
	s.Units = 1 << 16
	if _, err := choosePlan(s, backend.F32, h100, Persistent); err == nil {
		t.Error("persistent kernel with 65536 units accepted")
	}
	if pl, err := choosePlan(s, backend.F32, h100, Step); err != nil || pl.kernel != Step {
		t.Errorf("step: %v, %v", pl.kernel, err)
	}
	s = backend.Shape{Instances: 4, Trials: 3, Units: 10}
	if pl, err := choosePlan(s, backend.F64, h100, Step); err != nil || pl.readout != "" {
		t.Errorf("no outputs, still a readout kernel %q (%v)", pl.readout, err)
	}
}

// The error key must number every value of a step, and too large programs
// are refused rather than overflowing it.
func TestPlanErrorKey(t *testing.T) {
	s := backend.Shape{Instances: 3, Trials: 5, Units: 7, Outputs: 9}
	pl, err := choosePlan(s, backend.F32, h100, Auto)
	if err != nil {
		t.Fatal(err)
	}
	if pl.perStep != 3*5*3*9*4 || pl.unitsOrOut != 9 || pl.maxSegSteps < 1<<20 {
		t.Errorf("perStep %d, U %d, maxSegSteps %d", pl.perStep, pl.unitsOrOut, pl.maxSegSteps)
	}
	s = backend.Shape{Instances: 1 << 28, Trials: 1 << 20, Units: 1 << 20}
	if _, err := choosePlan(s, backend.F32, h100, Auto); err == nil {
		t.Error("a program overflowing the error key was accepted")
	}
}

func TestSegmentSteps(t *testing.T) {
	pl := plan{maxSegSteps: 1000}
	if n := segmentSteps(recShape{inputBytesPerStep: 100, recordBytes: 900, stride: 1}, 10000, pl); n != 10 {
		t.Errorf("segment of %d steps, want 10", n)
	}
	if n := segmentSteps(recShape{inputBytesPerStep: 0, recordBytes: 900, stride: 3}, 3000, pl); n != 10 {
		t.Errorf("segment of %d steps, want 10", n)
	}
	if n := segmentSteps(recShape{recordBytes: 1 << 40, stride: 1}, 1<<20, pl); n != 1 {
		t.Errorf("segment of %d steps, want at least 1", n)
	}
	if n := segmentSteps(recShape{}, 1<<20, pl); n != 1000 {
		t.Errorf("nothing recorded: segment of %d steps, want the key's limit 1000", n)
	}
}
