//go:build cuda && cudaemu

package gpu

import (
	"fmt"
	"testing"

	"github.com/ratesim/ratesim/backend"
	"github.com/ratesim/ratesim/backend/backendtest"
)

// lowRankBytes, the runs' memory estimate, is what newLowRankDev allocates,
// for every low-rank case of the suite (windows shorter than the run and
// the whole history, phases, per-instance windows) in both precisions.
func TestLowRankBytes(t *testing.T) {
	n := 0
	for _, c := range backendtest.L5Cases() {
		if !c.LowRank {
			continue
		}
		n++
		t.Run(c.String(), func(t *testing.T) {
			if err := lowRankBytesOf[float32](c); err != nil {
				t.Error(err)
			}
			if err := lowRankBytesOf[float64](c); err != nil {
				t.Error(err)
			}
		})
	}
	if n == 0 {
		t.Fatal("no low-rank case in the suite")
	}
}

func lowRankBytesOf[T backend.Float](c backendtest.L5Case) error {
	p := backendtest.NewL5Program[T](c)
	var r0 []T
	for kb := range p.Instances * p.Trials {
		r0 = append(r0, backend.L5InitialRates(p, kb)...)
	}
	drv, err := New().open()
	if err != nil {
		return err
	}
	return drv.do(func(cl calls) error {
		used := cl.(*emuDriver).used
		d, err := newLowRankDev(cl, p, r0, int64(elemSize[T]()))
		if err != nil {
			return err
		}
		defer d.release(cl)
		if got, want := cl.(*emuDriver).used-used, lowRankBytes(p); got != want {
			return fmt.Errorf("%v: newLowRankDev allocated %d bytes, lowRankBytes says %d", backend.PrecisionOf[T](), got, want)
		}
		return nil
	})
}
