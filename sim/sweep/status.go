package sweep

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DirStatus is the state of one sweep directory (the whole sweep's or a
// shard's).
type DirStatus struct {
	Dir   string
	Shard string
	// State is done (every point committed), running (a live process
	// holds DIR/lock), failed (the last run stopped with an error, Error),
	// stopped (incomplete, not running, no error: killed) or not started.
	State string
	Error string
	Pid   string
	// Points of the directory; Done of them committed, Failed of those
	// with a status other than ok.
	Points, Done, Failed int
	// Chunks committed, and the planned chunks not wholly committed.
	Chunks, MissingChunks int
}

// StatusReport is `ratesim sweep status DIR`.
type StatusReport struct {
	Root  string
	Whole *DirStatus
	// Shards are shards 0 … N−1 when the directory has shards.
	Shards []DirStatus
	N      int
	// Merged says root/table.parquet exists.
	Merged bool
}

// Status reads a sweep directory: its journal, its shards' journals and
// locks. It never changes the directory.
func Status(root string) (*StatusReport, error) {
	r := &StatusReport{Root: root}
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("no sweep directory: %w", err)
	}
	whole, err := dirStatus(root)
	if err != nil {
		return nil, err
	}
	if whole.State != "not started" {
		r.Whole = whole
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "shards", "*-of-*"))
	byIndex := map[int]string{}
	for _, d := range dirs {
		var i, n int
		if _, err := fmt.Sscanf(filepath.Base(d), "%d-of-%d", &i, &n); err == nil {
			byIndex[i] = d
			r.N = max(r.N, n)
		}
	}
	for i := 0; i < r.N; i++ {
		d, ok := byIndex[i]
		if !ok {
			r.Shards = append(r.Shards, DirStatus{Dir: Shard{i, r.N}.Dir(root), Shard: Shard{i, r.N}.String(), State: "not started"})
			continue
		}
		s, err := dirStatus(d)
		if err != nil {
			return nil, err
		}
		s.Shard = Shard{i, r.N}.String()
		r.Shards = append(r.Shards, *s)
	}
	if _, err := os.Stat(filepath.Join(root, "table.parquet")); err == nil {
		r.Merged = true
	}
	if r.Whole == nil && r.N == 0 {
		return nil, fmt.Errorf("%s is not a sweep directory: it has neither %s nor shards/", root, filepath.Join("journal", "sweep.json"))
	}
	return r, nil
}

func dirStatus(dir string) (*DirStatus, error) {
	s := &DirStatus{Dir: dir}
	running, pid := lockHeld(dir)
	j, err := readJournal(dir)
	if err != nil {
		return nil, err
	}
	if j == nil {
		s.State = "not started"
		if running {
			s.State, s.Pid = "running", pid
		}
		return s, nil
	}
	s.Points, s.Done, s.Failed, s.Chunks = j.header.End-j.header.First, len(j.cells), j.failedPoints(), len(j.chunks)
	for _, c := range j.header.Plan {
		for _, p := range c.Points {
			if _, ok := j.cells[p]; !ok {
				s.MissingChunks++
				break
			}
		}
	}
	msg, ferr := os.ReadFile(filepath.Join(dir, "failed"))
	switch {
	case running:
		s.State, s.Pid = "running", pid
	case j.complete():
		s.State = "done"
	case ferr == nil:
		s.State, s.Error = "failed", strings.TrimSpace(string(msg))
	case errors.Is(ferr, fs.ErrNotExist):
		s.State = "stopped"
	default:
		return nil, ferr
	}
	return s, nil
}

// Write prints the report.
func (r *StatusReport) Write(w io.Writer) {
	line := func(s *DirStatus, name string) {
		fmt.Fprintf(w, "%s: %s", name, s.State)
		if s.Pid != "" {
			fmt.Fprintf(w, " (pid %s)", s.Pid)
		}
		if s.State != "not started" {
			fmt.Fprintf(w, "; points %d/%d done, %d missing, %d failed; chunks %d done, %d missing",
				s.Done, s.Points, s.Points-s.Done, s.Failed, s.Chunks, s.MissingChunks)
		}
		fmt.Fprintln(w)
		if s.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", s.Error)
		}
	}
	if r.Whole != nil {
		line(r.Whole, r.Root)
	}
	if r.N > 0 {
		count := map[string]int{}
		var points, done, failed int
		for i := range r.Shards {
			s := &r.Shards[i]
			line(s, "shard "+s.Shard)
			count[s.State]++
			points, done, failed = points+s.Points, done+s.Done, failed+s.Failed
		}
		var states []string
		for _, st := range []string{"done", "running", "failed", "stopped", "not started"} {
			if count[st] > 0 {
				states = append(states, fmt.Sprintf("%d %s", count[st], st))
			}
		}
		merged := "not merged"
		if r.Merged {
			merged = "merged into " + filepath.Join(r.Root, "table.parquet")
		}
		fmt.Fprintf(w, "shards: %d: %s; points of started shards %d/%d done, %d failed; %s\n", r.N, strings.Join(states, ", "), done, points, failed, merged)
	}
}
