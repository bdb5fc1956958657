package output

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress prints a one-line progress bar that rewrites itself — label, bar,
// percentage, count, rate and ETA — at most five times a second (and always
// at the end); it prints nothing when w is nil. The command line hands it
// stderr only when stderr is a terminal.
type Progress struct {
	w       io.Writer
	label   string
	unit    string // "steps", or "MB" for byte counts
	total   int64
	start   time.Time
	last    time.Time
	now     func() time.Time
	printed bool
}

// IsTerminal reports whether f is a character device (a terminal), where a
// progress line that rewrites itself makes sense.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// NewProgress starts a progress line for total units (steps, or bytes
// shown as MB when unit is "MB"), written to w (nil: nothing is shown).
func NewProgress(w io.Writer, label string, total int64, unit string) *Progress {
	p := &Progress{w: w, label: label, unit: unit, total: total, now: time.Now}
	p.start = p.now()
	p.last = p.start
	return p
}

const barWidth = 24

// Update shows done of the total.
func (p *Progress) Update(done int64) {
	if p.w == nil {
		return
	}
	now := p.now()
	if now.Sub(p.last) < 200*time.Millisecond && done < p.total {
		return
	}
	p.last = now
	p.printed = true
	fmt.Fprint(p.w, "\r"+p.line(done, now.Sub(p.start)))
}

// line formats the progress after el has elapsed with done of total units.
func (p *Progress) line(done int64, el time.Duration) string {
	frac := 1.0
	if p.total > 0 {
		frac = min(1, float64(done)/float64(p.total))
	}
	fill := int(frac * barWidth)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", barWidth-fill)
	if fill < barWidth {
		bar = bar[:fill] + ">" + bar[fill+1:]
	}
	scale, count := 1.0, fmt.Sprintf("%d/%d", done, p.total)
	if p.unit == "MB" {
		scale = 1e6
		count = fmt.Sprintf("%.0f/%.0f", float64(done)/scale, float64(p.total)/scale)
	}
	secs := el.Seconds()
	rate := float64(done) / max(secs, 1e-9)
	eta := "--"
	if done > 0 && secs > 0 {
		left := float64(p.total-done) / rate
		eta = (time.Duration(left * float64(time.Second))).Round(time.Second).String()
	}
	label := ""
	if p.label != "" {
		label = p.label + " "
	}
	speed := fmt.Sprintf("%.0f", rate)
	if p.unit == "MB" {
		speed = fmt.Sprintf("%.1f", rate/scale)
	}
	return fmt.Sprintf("  %s[%s] %3.0f%%  %s %s  %s %s/s  ETA %s   ",
		label, bar, 100*frac, count, p.unit, speed, p.unit, eta)
}

// finish ends the line, if one was printed.
// Finish ends the line (the last count and a newline).
func (p *Progress) Finish() {
	if p.w != nil && p.printed {
		fmt.Fprintln(p.w)
		p.printed = false
	}
}
