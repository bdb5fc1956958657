package gpu

import (
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

var h100 = deviceInfo{name: "H100", major: 9, sms: 132, maxSharedOpt: 227 << 10, maxThreads: 1024}

func TestPlanChoices(t *testing.T) {
	for _, c := range []struct {
		K, B, N int
		prec    backend.Precision
		want    string // kernel name prefix
	}{
		{1, 1, 256, backend.F32, "persistent_f32"},      // small: no launches per step
		{1, 1, 1024, backend.F32, "step_f32_s"},         // one large network
		{1, 1, 4096, backend.F32, "step_f32_s"},         //
		{1, 32, 1024, backend.F32, "step_f32_m"},        // too few blocks for large tiles
		{1, 256, 4096, backend.F32, "step_f32_l"},       // enough for large tiles
		{1, 256, 4096, backend.F64, "step_f64_l"},       //
		{4096, 16, 256, backend.F32, "persistent_f32"},  // parameter sweeps: many instances
		{256, 16, 128, backend.F64, "persistent_f64"},   //
		{8, 16, 1024, backend.F32, "step_f32_m"},        // mid-size, device not filled by the persistent kernel
		{200, 16, 1024, backend.F32, "persistent_f32"},  // mid-size, device filled
		{1, 16, 5000, backend.F32, "step_f32_m"},        // too large for the persistent kernel
		{1, 3, 100000, backend.F32, "step_f32_m"},       //
		{2, 1000, 2, backend.F32, "persistent_f32"},     //
		{1, 2, 5, backend.F64, "persistent_f64"},        //
		{1 << 20, 1, 8, backend.F32, "persistent_f32"},  //
		{1, 1 << 20, 64, backend.F32, "persistent_f32"}, //
	} {
		s := backend.Shape{Instances: c.K, Trials: c.B, Units: c.N, Inputs: 4, Outputs: 2}
		pl, err := choosePlan(s, c.prec, h100, Auto)
		if err != nil {
			t.Errorf("%+v: %v", c, err)
			continue
		}
		got := pl.step
		if pl.kernel == Persistent {
			got = pl.persistent
			if pl.shmem > h100.maxSharedOpt || pl.tb < 1 || pl.tb > persistentMaxTrials || pl.threads > persistentMaxThreads || pl.threads%32 != 0 {
				t.Errorf("%+v: bad persistent plan %s", c, pl.describe())
			}
		}
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("K=%d B=%d N=%d %v: %s, want %s", c.K, c.B, c.N, c.prec, pl.describe(), c.want)
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
