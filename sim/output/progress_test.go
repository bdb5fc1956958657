package output

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	p := NewProgress(&buf, "", 1000, "steps")
	p.now = func() time.Time { return clock }
	p.start, p.last = clock, clock
	clock = clock.Add(100 * time.Millisecond)
	p.Update(10)
	if buf.Len() != 0 {
		t.Errorf("progress printed within 200 ms: %q", buf.String())
	}
	clock = clock.Add(900 * time.Millisecond) // 1 s in, 250 done: 250 steps/s, 3 s left
	p.Update(250)
	line := buf.String()
	for _, want := range []string{"\r", " 25%", "250/1000 steps", "250 steps/s", "ETA 3s", "[======>"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	clock = clock.Add(10 * time.Millisecond)
	p.Update(1000) // the end is always shown
	p.Finish()
	if out := buf.String(); !strings.Contains(out, "100%") || !strings.HasSuffix(out, "\n") || strings.Count(out, "\r") != 2 {
		t.Errorf("final progress output %q", out)
	}
	if got := (&Progress{unit: "steps", total: 1e6}).line(123456, time.Second); !strings.Contains(got, "123456 steps/s") || !strings.Contains(got, "ETA 7s") {
		t.Errorf("fast progress %q", got)
	}
	var silent bytes.Buffer
	q := NewProgress(&silent, "", 10, "steps")
	q.Finish()
	if silent.Len() != 0 {
		t.Errorf("finish printed %q with no progress shown", silent.String())
	}
	if got := (&Progress{unit: "MB", total: 3e6}).line(15e5, 2*time.Second); !strings.Contains(got, "2/3 MB") || !strings.Contains(got, " 50%") || !strings.Contains(got, "0.8 MB/s") {
		t.Errorf("byte progress %q", got)
	}
}
