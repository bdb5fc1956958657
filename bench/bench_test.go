package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

func TestParseSizes(t *testing.T) {
	s, err := ParseSizes("64x1, 256x32")
	if err != nil || len(s) != 2 || s[1] != (Size{256, 32}) {
		t.Fatalf("ParseSizes = %v, %v", s, err)
	}
	for _, bad := range []string{"64", "0x3", "ax2", "64x-1"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
}

func TestMeasureAndTable(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Reps, cfg.RepTime = 3, 0
	r, err := Measure(context.Background(), backend.Reference, cfg, Size{8, 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.MedianUS <= 0 || r.MinUS > r.MedianUS || r.T < 1 || r.GFLOPS <= 0 {
		t.Fatalf("implausible result %+v", r)
	}
	if want := Flops(8, 2, 4, 2, 1) / r.MedianUS / 1e3; r.GFLOPS != want {
		t.Errorf("GFLOP/s = %v, want %v", r.GFLOPS, want)
	}
	peer := r
	peer.Peer, peer.MedianUS = "torch-loop", 4*r.MedianUS
	var buf bytes.Buffer
	Table(&buf, []Result{r}, []Result{peer})
	if !strings.Contains(buf.String(), "4.00x") {
		t.Errorf("table does not show the 4× ratio:\n%s", buf.String())
	}
}
