package sim

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints a one-line progress report to a terminal, at most five
// times a second; it prints nothing when w is nil.
type progress struct {
	w     io.Writer
	total int
	start time.Time
	last  time.Time
}

// IsTerminal reports whether f is a character device (a terminal), where a
// progress line that rewrites itself makes sense.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, total int) *progress {
	now := time.Now()
	return &progress{w: w, total: total, start: now, last: now}
}

func (p *progress) update(done int) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond && done < p.total {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	eta := float64(p.total-done) / max(rate, 1e-9)
	fmt.Fprintf(p.w, "\r  step %d/%d (%3.0f%%)  %.0f steps/s  ETA %s   ", done, p.total,
		100*float64(done)/float64(p.total), rate, time.Duration(eta*float64(time.Second)).Round(time.Second))
}

func (p *progress) finish() {
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
}
