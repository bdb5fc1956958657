//go:build cuda

package gpu

import (
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// spans cuts a call into segments that cover its steps in order, each at
// most segSteps long, whose recorded steps and snapshots add up to the
// call's and sit at consecutive slots; a call whose recordings are large is
// cut into at least pipelineMinSegments segments, so that copies overlap.
func TestSpans(t *testing.T) {
	c := plasticCase(false, backend.Shape{Instances: 2, Trials: 3, Units: 20, Inputs: 1, Outputs: 2})
	p := backendtest.NewProgram[float32](c)
	p.Plasticity.Record.Stride = 3
	for _, big := range []bool{false, true} {
		for _, stride := range []int{1, 2, 7} {
			for _, seg := range []int{1, 5, 64, 1 << 30} {
				for _, done := range []int{0, 4} {
					for _, n := range []int{0, 1, 9, 100} {
						name := fmt.Sprintf("big=%v/stride=%d/seg=%d/done=%d/n=%d", big, stride, seg, done, n)
						q := *p
						q.Record.Stride = stride
						if big {
							q.Shape.Trials = 1 << 14 // 100 recorded steps: > 1 MiB
						}
						r := &run[float32]{p: &q, elem: 4, segSteps: seg}
						sp := r.spans(done, n)
						s0, rec0, w0 := 0, 0, 0
						for i, s := range sp {
							if s.s0 != s0 || s.rec0 != rec0 || s.w0 != w0 || s.ns < 1 || s.ns > seg {
								t.Fatalf("%s: segment %d is %+v after steps %d, slots %d, snapshots %d", name, i, s, s0, rec0, w0)
							}
							if s.ms != q.Record.Recorded(done+s.s0, s.ns) || s.mws != q.WeightsRecorded(done+s.s0, s.ns) {
								t.Fatalf("%s: segment %d is %+v: wrong recorded counts", name, i, s)
							}
							s0, rec0, w0 = s0+s.ns, rec0+s.ms, w0+s.mws
						}
						if s0 != n || rec0 != q.Record.Recorded(done, n) || w0 != q.WeightsRecorded(done, n) {
							t.Fatalf("%s: segments %+v cover %d steps, %d slots, %d snapshots", name, sp, s0, rec0, w0)
						}
						if want := min(n, pipelineMinSegments); big && stride == 1 && len(sp) < want {
							t.Errorf("%s: %d segments for %d MiB of recordings, want ≥ %d", name, len(sp), r.recordBytes(rec0)>>20, want)
						}
					}
				}
			}
		}
	}
}
