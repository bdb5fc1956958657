//go:build cuda && cudaemu

package gpu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
	"github.com/ratesim/ratesim/kernels"
)

// withoutField is a kernel's argument struct lacking one field, as a stale
// kernels/args.go would declare it after a parameter was added to the .cu.
type withoutField struct {
	kernels.Args
	name string
}

func (w withoutField) ParamNames() []string {
	return slices.DeleteFunc(slices.Clone(w.Args.ParamNames()), func(n string) bool { return n == w.name })
}

func (w withoutField) Pack() []uint64 {
	i := slices.Index(w.Args.ParamNames(), w.name)
	return slices.Delete(w.Args.Pack(), i, i+1)
}

// The backend's launch path on the emulator refuses an argument list that
// is not the kernel's parameter list, before it runs anything, and names
// what is wrong.
func TestEmuLaunchChecksArgs(t *testing.T) {
	drv, err := New().open()
	if err != nil {
		t.Fatal(err)
	}
	one := [3]uint32{1, 1, 1}
	for _, c := range []struct {
		kernel string
		args   kernels.Args
		want   string
	}{
		{"step_f64_m", withoutField{kernels.StepArgs{}, "dtBits"}, "lacks dtBits (parameter 38)"},
		{"persistent_f32", withoutField{kernels.PersistentArgs{}, "readout"}, "parameter 2 is readout, gpu.withoutField gives decay there"},
		{"plastic_f32", withoutField{kernels.PlasticArgs{}, "nSyn"}, "parameter 24 is nSyn"},
		{"readout_f32", kernels.StepArgs{}, "readout_f32 of readout.cu takes kernels.ReadoutArgs, got kernels.StepArgs"},
	} {
		err := drv.do(func(cl calls) error { return cl.launch(nullStream, c.kernel, one, one, 0, c.args) })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %T: %v, want an error saying %q", c.kernel, c.args, err, c.want)
			continue
		}
		t.Log(err)
	}
}

// emulator returns the process's emulated device.
func emulator(t *testing.T) *emuDriver {
	t.Helper()
	drv, err := New().open()
	if err != nil {
		t.Fatal(err)
	}
	return drv.(*emuDriver)
}

// withDevice runs f on d's device thread (the emulator's lock).
func withDevice(t *testing.T, d *emuDriver, f func(d *emuDriver)) {
	t.Helper()
	_ = d.do(func(calls) error { f(d); return nil })
}

// pipelineCase is a program whose calls are cut into many segments under a
// 4 KiB segment budget, recording everything every step.
func pipelineCase() (backendtest.Case, *backend.Program[float32]) {
	c := backendtest.Case{Shape: backend.Shape{Instances: 2, Trials: 3, Units: 29, Inputs: 2, Outputs: 2},
		Activation: backend.Tanh, Noise: true, Init: true, Stride: 1, Steps: 60, Seed: 5}
	return c, backendtest.NewProgram[float32](c)
}

// Every Backend of the process shares one device driver (one context, one
// set of modules).
func TestOneContextPerDevice(t *testing.T) {
	a, err := New(UseKernel(Step)).open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(SegmentBytes(1 << 10)).open()
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("two Backends opened two drivers (%p, %p), want the process's one", a, b)
	}
	d := a.(*emuDriver)
	var gen0 uint64
	var live0 int
	withDevice(t, d, func(d *emuDriver) { gen0, live0 = d.gen, len(d.live) })
	c, p := pipelineCase()
	backendtest.Expect(t, New(SegmentBytes(4<<10)), p, backendtest.NewInput(p, c.Steps, 1), c.Steps, []int{17})
	withDevice(t, d, func(d *emuDriver) {
		if d.gen != gen0 || len(d.live) != live0 {
			t.Errorf("after a closed run: generation %d, %d allocations; want %d, %d as before", d.gen, len(d.live), gen0, live0)
		}
	})
}

// The pipeline's copies overlap the next segment's kernels, and its slots
// keep a segment's buffers until their copies are done: with the planted
// bug of one slot for every segment, the emulator exposes the race both
// ways: with the device ahead of the host, its delayed copies read
// recordings the next segment already overwrote; with the device behind,
// its uploads read the input and error keys the host already refilled.
func TestPipelineSlots(t *testing.T) {
	d := emulator(t)
	for _, lag := range []bool{false, true} {
		for _, k := range []Kernel{Step, Persistent} {
			t.Run(fmt.Sprintf("%v/lagging=%v", k, lag), func(t *testing.T) {
				withDevice(t, d, func(d *emuDriver) { d.lagging = lag })
				defer withDevice(t, d, func(d *emuDriver) { d.lagging = false })
				c, p := pipelineCase()
				in := backendtest.NewInput(p, c.Steps, 2)
				want, err := backendtest.RunChunked(backend.Reference, p, in, c.Steps, nil)
				if err != nil {
					t.Fatal(err)
				}
				var before, after int
				withDevice(t, d, func(d *emuDriver) { before = d.overlapped })
				got, err := backendtest.RunChunked(New(UseKernel(k), SegmentBytes(4<<10)), p, in, c.Steps, []int{c.Steps})
				if err != nil {
					t.Fatal(err)
				}
				withDevice(t, d, func(d *emuDriver) { after = d.overlapped })
				if diff := backendtest.Compare(got, want, 1); diff != nil {
					t.Fatalf("two slots: %s", diff)
				}
				if !lag && after == before {
					t.Errorf("no kernel ran while a copy to the host was pending: the segments did not overlap")
				}
				bad := New(UseKernel(k), SegmentBytes(4<<10))
				bad.sharedSlot = true
				got, err = backendtest.RunChunked(bad, p, in, c.Steps, []int{c.Steps})
				if err != nil {
					t.Fatal(err)
				}
				if diff := backendtest.Compare(got, want, 1); diff == nil {
					t.Fatal("one slot shared by every segment gave the reference's bits: the emulator does not expose a buffer reused before its copy ran")
				} else {
					t.Logf("one shared slot, as it must: %s", diff)
				}
			})
		}
		// Plastic steps: rule tables and weight snapshots through the slots.
		t.Run(fmt.Sprintf("plastic/lagging=%v", lag), func(t *testing.T) {
			withDevice(t, d, func(d *emuDriver) { d.lagging = lag })
			defer withDevice(t, d, func(d *emuDriver) { d.lagging = false })
			c := plasticCase(true, backend.Shape{Instances: 2, Trials: 3, Units: 12, Inputs: 2, Outputs: 2})
			p := backendtest.NewProgram[float32](c)
			backendtest.Expect(t, New(SegmentBytes(4<<10)), p, backendtest.NewInput(p, c.Steps, 3), c.Steps, []int{c.Steps, 7})
		})
	}
}

// A sticky device fault fails the run it hits with the kernels and steps in
// flight, fails a run started before it (its memory is gone) without
// touching the new context, and the next run gets a new context and the
// reference's bits.
func TestFaultRecovery(t *testing.T) {
	d := emulator(t)
	c, p := pipelineCase()
	in := backendtest.NewInput(p, c.Steps, 3)
	before, err := New().Start32(p)
	if err != nil {
		t.Fatal(err)
	}
	var gen0 uint64
	withDevice(t, d, func(d *emuDriver) { gen0, d.inject = d.gen, &emuInjection{kernel: "step_f32_s", skip: 20} })
	defer withDevice(t, d, func(d *emuDriver) { d.inject = nil })
	b := New(UseKernel(Step), SegmentBytes(4<<10))
	forceTile(b, stepTiles[backend.F32][0])
	faulty, err := b.Start32(p)
	if err != nil {
		t.Fatal(err)
	}
	err = faulty.Advance(c.Steps, in, backend.NewChunk(p, c.Steps))
	for _, want := range []string{"cuda: step_f32_s", "at steps ", "an illegal memory access was encountered", "CUDA_ERROR_ILLEGAL_ADDRESS", "cannot continue"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Advance into an injected fault: %v, want an error with %q", err, want)
		}
	}
	t.Log(err)
	if again := faulty.Advance(1, in[:p.InputLen(1)], backend.NewChunk(p, 1)); again == nil || again.Error() != err.Error() {
		t.Errorf("Advance after the fault: %v, want the same error", again)
	}
	// The next run on the device: a new context, the reference's bits.
	backendtest.Expect(t, New(SegmentBytes(4<<10)), p, in, c.Steps, []int{13})
	withDevice(t, d, func(d *emuDriver) {
		if d.gen != gen0+1 {
			t.Errorf("generation %d after one fault, want %d", d.gen, gen0+1)
		}
	})
	// The run started before the fault lost its memory and says so.
	if err := before.Advance(1, in[:p.InputLen(1)], backend.NewChunk(p, 1)); !errors.Is(err, errContextLost) {
		t.Errorf("Advance of a run from the faulted context: %v, want %v", err, errContextLost)
	}
	if err := before.State(make([]float32, p.Instances*p.Trials*p.Units), nil); !errors.Is(err, errContextLost) {
		t.Errorf("State of a run from the faulted context: %v, want %v", err, errContextLost)
	}
	// Closing the old runs frees nothing of the new context.
	var live int
	withDevice(t, d, func(d *emuDriver) { live = len(d.live) })
	before.Close()
	faulty.Close()
	withDevice(t, d, func(d *emuDriver) {
		if len(d.live) != live {
			t.Errorf("closing runs of the old context changed the new one's allocations from %d to %d", live, len(d.live))
		}
	})
}

// With CUDA_LAUNCH_BLOCKING=1 every launch waits for its kernel, and the
// error names the kernel and the step exactly.
func TestFaultLaunchBlocking(t *testing.T) {
	d := emulator(t)
	c, p := pipelineCase()
	p.Record.States = false
	in := backendtest.NewInput(p, c.Steps, 4)
	withDevice(t, d, func(d *emuDriver) { d.blocking, d.inject = true, &emuInjection{kernel: "readout_f32", skip: 41} })
	defer withDevice(t, d, func(d *emuDriver) { d.blocking, d.inject = launchBlockingEnv(), nil })
	r, err := New(UseKernel(Step), SegmentBytes(4<<10)).Start32(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.Advance(c.Steps, in, backend.NewChunk(p, c.Steps))
	// The 42nd readout launch is step 42's.
	want := "cuda: readout_f32 at step 42: an illegal memory access was encountered"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Advance into a fault with blocking launches: %v, want an error starting %q", err, want)
	}
	t.Log(err)
}

// Advance queues its uploads and copies asynchronously and waits only for
// events: no synchronous copy or device-wide sync, with plasticity too
// (whose Adam rule tables are uploaded once per segment, not per update).
func TestAdvanceWithoutSyncCopies(t *testing.T) {
	d := emulator(t)
	for _, plastic := range []bool{false, true} {
		t.Run(fmt.Sprintf("plastic=%v", plastic), func(t *testing.T) {
			c, p := pipelineCase()
			if plastic {
				c = plasticCase(false, c.Shape)
				p = backendtest.NewProgram[float32](c)
			}
			in := backendtest.NewInput(p, c.Steps, 1)
			r, err := New().Start32(p)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var before, after int
			withDevice(t, d, func(d *emuDriver) { before = d.syncCalls })
			out := backend.NewChunkFor(p, 0, c.Steps)
			if err := r.Advance(c.Steps, in, out); err != nil {
				t.Fatal(err)
			}
			withDevice(t, d, func(d *emuDriver) { after = d.syncCalls })
			if after != before {
				t.Errorf("Advance(%d) made %d synchronous copies or syncs, want none", c.Steps, after-before)
			}
		})
	}
}
