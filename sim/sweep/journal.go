package sweep

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Shard is part I of N (0 ≤ I < N) of a sweep's points; N == 0 is the
// whole sweep. Shard I holds the points [⌊I·P/N⌋, ⌊(I+1)·P/N⌋) of P: a
// contiguous range decided by the point list alone, so every machine that
// runs shard I runs the same points (and, since a point's noise instance
// is its rank in its group of the whole sweep, the same bits).
type Shard struct{ I, N int }

// ParseShard reads "i/n".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("a shard is i/n with 0 ≤ i < n (e.g. 0/4), got %q", s)
	}
	return Shard{i, n}, nil
}

func (s Shard) String() string {
	if s.N == 0 {
		return "whole"
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Range is the shard's points [lo, hi) of points.
func (s Shard) Range(points int) (lo, hi int) {
	if s.N == 0 {
		return 0, points
	}
	return s.I * points / s.N, (s.I + 1) * points / s.N
}

// Dir is where the shard writes in the sweep directory root:
// root/shards/I-of-N, or root itself for the whole sweep.
func (s Shard) Dir(root string) string {
	if s.N == 0 {
		return root
	}
	return filepath.Join(root, "shards", fmt.Sprintf("%d-of-%d", s.I, s.N))
}

// Hash identifies a resolved sweep: every point's spec as run (axis values
// set, noise instance included), the metrics with their targets' values,
// and the table's columns. A directory is resumed only by a sweep of the
// same hash. Options that do not change results (backend, chunk size,
// memory) are not part of it.
func Hash(sw *Sweep) string {
	h := sha256.New()
	fmt.Fprintf(h, "ratesim sweep v1\n%d points\n", len(sw.Points))
	for _, p := range sw.Points {
		fmt.Fprintf(h, "point %d %d bytes\n", p.Index, len(p.YAML))
		h.Write(p.YAML)
	}
	for _, m := range sw.Metrics {
		data, _ := json.Marshal(m.Metric)
		fmt.Fprintf(h, "metric %s target %d %v\n", data, len(m.target), m.targetB)
		var b [8]byte
		for _, x := range m.target {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	cols, _ := json.Marshal(Columns(sw))
	h.Write(cols)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// journalHeader is DIR/journal/sweep.json, written when a directory is
// first used: which sweep (and shard) it holds.
type journalHeader struct {
	Format int    `json:"format"`
	Hash   string `json:"hash"`
	Shard  string `json:"shard"`
	// First and End are the points [First, End) of the directory.
	First  int `json:"first"`
	End    int `json:"end"`
	Points int `json:"points"`
	// Plan is the chunks planned when the directory was first used
	// (status counts the missing chunks against it; a resumed run plans
	// its missing points anew).
	Plan []Chunk `json:"plan"`
	// Meta is the sweep's meta.json as far as the sweep decides it.
	Meta *Meta `json:"meta"`
}

// chunkRecord is one committed chunk, DIR/journal/chunk-NNNNNN.json (by
// its first point): its points' table cells, written atomically after
// the chunk ran, so a chunk is in the journal whole or not at all.
type chunkRecord struct {
	Group  int        `json:"group"`
	Points []int      `json:"points"`
	Cells  [][]string `json:"cells"`
	WallS  float64    `json:"wall_s"`
}

// journal is a directory's committed state.
type journal struct {
	dir    string
	header *journalHeader
	chunks []*chunkRecord
	// cells are the committed points' cells by point index.
	cells map[int][]string
}

func journalDir(dir string) string { return filepath.Join(dir, "journal") }

// readJournal reads dir's journal; a directory without one gives nil.
func readJournal(dir string) (*journal, error) {
	jd := journalDir(dir)
	data, err := os.ReadFile(filepath.Join(jd, "sweep.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the sweep journal: %w", err)
	}
	j := &journal{dir: dir, header: &journalHeader{}, cells: map[int][]string{}}
	if err := json.Unmarshal(data, j.header); err != nil || j.header.Hash == "" {
		return nil, fmt.Errorf("%s is not a sweep journal (%v)", filepath.Join(jd, "sweep.json"), err)
	}
	names, err := filepath.Glob(filepath.Join(jd, "chunk-*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("cannot read a committed chunk: %w", err)
		}
		c := &chunkRecord{}
		if err := json.Unmarshal(data, c); err != nil || len(c.Cells) != len(c.Points) {
			// Chunks are renamed into place whole; a broken one was
			// changed by something else.
			return nil, fmt.Errorf("%s is not a whole chunk record (%v); it was not written by ratesim sweep — remove it to recompute its points", name, err)
		}
		for i, p := range c.Points {
			if p < j.header.First || p >= j.header.End {
				return nil, fmt.Errorf("%s holds point %d, outside this directory's points %d–%d", name, p, j.header.First, j.header.End-1)
			}
			j.cells[p] = c.Cells[i]
		}
		j.chunks = append(j.chunks, c)
	}
	return j, nil
}

// complete says whether every point of the directory is committed.
func (j *journal) complete() bool { return len(j.cells) == j.header.End-j.header.First }

// rows are the committed cells of points [First, End) in point order.
func (j *journal) rows() [][]string {
	out := make([][]string, 0, j.header.End-j.header.First)
	for p := j.header.First; p < j.header.End; p++ {
		out = append(out, j.cells[p])
	}
	return out
}

// failedPoints counts the committed points whose status is not ok.
func (j *journal) failedPoints() int {
	st := statusColumn(j.header.Meta.Columns)
	n := 0
	for _, c := range j.cells {
		if c[st] != "ok" {
			n++
		}
	}
	return n
}

// wall is the sum of the committed chunks' wall times.
func (j *journal) wall() float64 {
	var s float64
	for _, c := range j.chunks {
		s += c.WallS
	}
	return s
}

// metaChunks are the committed chunks as meta.json lists them, by first
// point.
func metaChunks(js ...*journal) []Chunk {
	var out []Chunk
	for _, j := range js {
		for _, c := range j.chunks {
			out = append(out, Chunk{Group: c.Group, Points: c.Points, WallS: c.WallS})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Points[0] < out[b].Points[0] })
	return out
}

// differentSweep is the error for a directory that holds another sweep.
func differentSweep(dir string, have *journalHeader, hash string) error {
	return fmt.Errorf("%s holds a different sweep (hash %s, from %s; this sweep is %s): its results cannot be resumed by this one — use another --out, or remove %s to start over",
		dir, have.Hash, have.Meta.SweepFile, hash, dir)
}

// checkSiblings refuses a sweep directory root any part of which (the
// whole sweep or a shard) holds a different sweep, or shards of another
// count than shard's.
func checkSiblings(root string, hash string, shard Shard) error {
	dirs := []string{root}
	shardDirs, _ := filepath.Glob(filepath.Join(root, "shards", "*-of-*"))
	dirs = append(dirs, shardDirs...)
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(journalDir(d), "sweep.json"))
		if err != nil {
			continue
		}
		var h journalHeader
		if json.Unmarshal(data, &h) != nil || h.Meta == nil {
			continue
		}
		if h.Hash != hash {
			return differentSweep(d, &h, hash)
		}
		if d != root && shard.N != 0 {
			var i, n int
			if _, err := fmt.Sscanf(filepath.Base(d), "%d-of-%d", &i, &n); err == nil && n != shard.N {
				return fmt.Errorf("%s holds shards of %d (%s); this is shard %s: run the same count of shards, or remove %s to start over",
					root, n, d, shard, filepath.Join(root, "shards"))
			}
		}
	}
	return nil
}

// Outcome is what Execute did.
type Outcome struct {
	Dir   string
	Shard Shard
	// Points are the directory's points; Resumed of them were committed
	// before, Computed ran now, in Chunks chunks.
	Points, Resumed, Computed, Chunks int
	Failed                            int
	Backend                           string
	Wall                              time.Duration
	Files                             *Files
	// Picture is DIR/sweep.png ("" for a shard, or when it could not be
	// drawn: PictureErr says why).
	Picture    string
	PictureErr error
}

// Execute runs the sweep, or the shard opt.Shard of it, into root (a shard
// into Shard.Dir(root)), crash-safe and resumable: every finished chunk is
// committed to DIR/journal atomically (temporary file, fsync, rename,
// fsync of the directory), and a run into a directory that has a journal
// computes only the points not committed there, refusing a directory of a
// different sweep (Hash). While it runs it holds DIR/lock (see lockDir), so
// two runs cannot share a directory and `ratesim sweep status` sees it
// running; a run that stops with an error leaves DIR/failed with the
// error. When every point is committed it writes the table files and
// meta.json (and, for the whole sweep, sweep.png as opt.Picture says).
func Execute(ctx context.Context, sw *Sweep, root string, opt Options, withCSV bool) (out *Outcome, err error) {
	if err := checkRunnable(sw, opt); err != nil {
		return nil, err
	}
	dir := opt.Shard.Dir(root)
	if err := os.MkdirAll(journalDir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the output directory: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	failed := filepath.Join(dir, "failed")
	// A run refused before it starts (another sweep's directory) leaves
	// the directory's state as it was.
	started := false
	defer func() {
		if err != nil && started {
			// Best effort: the error is what matters, not its note.
			_ = os.WriteFile(failed, []byte(err.Error()+"\n"), 0o644)
		}
	}()
	hash := Hash(sw)
	if err := checkSiblings(root, hash, opt.Shard); err != nil {
		return nil, err
	}
	removeTemporaries(dir)
	removeTemporaries(journalDir(dir))
	lo, hi := opt.Shard.Range(len(sw.Points))
	j, err := readJournal(dir)
	if err != nil {
		return nil, err
	}
	if j == nil {
		full, err := planFor(sw, sw.Points[lo:hi], opt)
		if err != nil {
			return nil, err
		}
		h := &journalHeader{Format: 1, Hash: hash, Shard: opt.Shard.String(), First: lo, End: hi, Points: len(sw.Points), Plan: full.Chunks, Meta: newMeta(sw)}
		if opt.Shard.N != 0 {
			h.Meta.Shards = opt.Shard.N
		}
		data, err := json.MarshalIndent(h, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := writeAtomic(filepath.Join(journalDir(dir), "sweep.json"), func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return nil, err
		}
		j = &journal{dir: dir, header: h, cells: map[int][]string{}}
	} else if j.header.Hash != hash {
		return nil, differentSweep(dir, j.header, hash)
	} else if j.header.First != lo || j.header.End != hi {
		return nil, fmt.Errorf("%s holds points %d–%d, shard %s is %d–%d", dir, j.header.First, j.header.End-1, opt.Shard, lo, hi-1)
	}

	if err := os.Remove(failed); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	started = true
	out = &Outcome{Dir: dir, Shard: opt.Shard, Points: hi - lo, Resumed: len(j.cells)}
	var todo []*Point
	for _, p := range sw.Points[lo:hi] {
		if _, ok := j.cells[p.Index]; !ok {
			todo = append(todo, p)
		}
	}
	b, err := lookupBackend(sw, opt)
	if err != nil {
		return nil, err
	}
	out.Backend = b.Name()
	pl, err := planFor(sw, todo, opt)
	if err != nil {
		return nil, err
	}
	if len(j.cells) > 0 {
		// A resumed sweep runs the chunks its first run planned (the
		// journal's), whatever this run's chunk size: chunks are committed
		// whole, so the missing ones are whole chunks of that plan, and
		// the per-point archives and the table come out as in a run never
		// stopped.
		pl.Chunks = pl.Chunks[:0]
		for _, c := range j.header.Plan {
			if _, ok := j.cells[c.Points[0]]; !ok {
				pl.Chunks = append(pl.Chunks, c)
			}
		}
	}
	out.Chunks = len(pl.Chunks)
	start := time.Now()
	width := len(strconv.Itoa(len(sw.Points) - 1))
	err = runPlan(ctx, sw, b, pl.Chunks, opt, hi-lo, len(j.cells), func(i int, rows []*Row, wall time.Duration) error {
		if err := writeChunkArrays(sw, dir, rows); err != nil {
			return fmt.Errorf("cannot write the arrays of points %s: %w; the %d points committed before are kept in %s — make room and run the same command again to resume",
				pointList(pl.Chunks[i].Points), err, len(j.cells), journalDir(dir))
		}
		c := &chunkRecord{Group: pl.Chunks[i].Group, Points: pl.Chunks[i].Points, Cells: cellsOf(sw, rows), WallS: wall.Seconds()}
		data, err := json.Marshal(c)
		if err != nil {
			return err
		}
		name := filepath.Join(journalDir(dir), fmt.Sprintf("chunk-%0*d.json", width, c.Points[0]))
		if err := writeAtomic(name, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return fmt.Errorf("cannot commit the chunk of points %s: %w; the %d points committed before are kept in %s — make room and run the same command again to resume",
				pointList(c.Points), err, len(j.cells), journalDir(dir))
		}
		j.chunks = append(j.chunks, c)
		for k, p := range c.Points {
			j.cells[p] = c.Cells[k]
		}
		out.Computed += len(c.Points)
		return nil
	})
	out.Wall = time.Since(start)
	if err != nil {
		return out, err
	}
	m := *j.header.Meta
	m.Backend, m.Device = b.Name(), deviceName(b)
	m.Chunks, m.WallS = metaChunks(j), j.wall()
	if opt.Shard.N != 0 {
		m.Points = hi - lo
	}
	out.Files, err = writeTable(dir, &m, j.rows(), withCSV)
	if err != nil {
		return out, err
	}
	out.Failed = m.Failed
	if opt.Shard.N == 0 {
		out.Picture, out.PictureErr = drawInto(dir, &m, j.rows(), opt.Picture)
	}
	return out, nil
}

// pointList writes consecutive point indices as ranges: 3–5, 9.
func pointList(ps []int) string {
	var parts []string
	for i := 0; i < len(ps); {
		k := i
		for k+1 < len(ps) && ps[k+1] == ps[k]+1 {
			k++
		}
		if k == i {
			parts = append(parts, strconv.Itoa(ps[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d–%d", ps[i], ps[k]))
		}
		i = k + 1
	}
	return strings.Join(parts, ", ")
}

// removeTemporaries removes what a killed writeAtomic left in dir.
func removeTemporaries(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, n := range names {
		os.Remove(n)
	}
}

// MergeOutcome is what Merge did.
type MergeOutcome struct {
	Shards, Points, Failed int
	Files                  *Files
	Picture                string
	PictureErr             error
}

// Merge joins the shards of root (root/shards/I-of-N, every one complete)
// into root's table files and meta.json: rows in point order, written from
// the journals' cells, so the table has the bytes of the whole sweep's.
func Merge(root string, withCSV bool, pic PictureOptions) (*MergeOutcome, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "shards", "*-of-*"))
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s has no shards (%s): run ratesim sweep SWEEP.yaml --out %s --shard i/n first", root, filepath.Join(root, "shards", "I-of-N"), root)
	}
	n := -1
	byIndex := map[int]string{}
	for _, d := range dirs {
		var i, k int
		if _, err := fmt.Sscanf(filepath.Base(d), "%d-of-%d", &i, &k); err != nil {
			continue
		}
		if n >= 0 && k != n {
			return nil, fmt.Errorf("%s holds shards of %d and of %d; merge one count (remove the other's directories)", root, n, k)
		}
		n = k
		byIndex[i] = d
	}
	var js []*journal
	var missing []string
	for i := 0; i < n; i++ {
		d, ok := byIndex[i]
		var j *journal
		if ok {
			if j, err = readJournal(d); err != nil {
				return nil, err
			}
		}
		switch {
		case j == nil:
			missing = append(missing, fmt.Sprintf("%d/%d not started", i, n))
		case !j.complete():
			missing = append(missing, fmt.Sprintf("%d/%d has %d of %d points", i, n, len(j.cells), j.header.End-j.header.First))
		default:
			if len(js) > 0 && j.header.Hash != js[0].header.Hash {
				return nil, differentSweep(d, j.header, js[0].header.Hash)
			}
			js = append(js, j)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("cannot merge %s: shard %s (run the missing shards, or see ratesim sweep status %s)", root, strings.Join(missing, ", shard "), root)
	}
	m := *js[0].header.Meta
	// A shard's arrays stay in its directory: the merged table names them
	// from root (shards/I-of-N/arrays/…).
	arrays := -1
	for i, c := range m.Columns {
		if c.Name == "arrays_file" {
			arrays = i
		}
	}
	var rows [][]string
	var wall float64
	for _, j := range js {
		for _, r := range j.rows() {
			if arrays >= 0 {
				rel, err := filepath.Rel(root, j.dir)
				if err != nil {
					return nil, err
				}
				r = append([]string(nil), r...)
				r[arrays] = filepath.ToSlash(filepath.Join(rel, r[arrays]))
			}
			rows = append(rows, r)
		}
		wall += j.wall()
	}
	if len(rows) != m.Points {
		return nil, fmt.Errorf("the shards of %s hold %d points, the sweep has %d", root, len(rows), m.Points)
	}
	if shard0, err := os.ReadFile(filepath.Join(byIndex[0], "meta.json")); err == nil {
		var sm Meta
		if json.Unmarshal(shard0, &sm) == nil {
			m.Backend, m.Device = sm.Backend, sm.Device
		}
	}
	m.Chunks, m.WallS, m.Shards = metaChunks(js...), wall, n
	files, err := writeTable(root, &m, rows, withCSV)
	if err != nil {
		return nil, err
	}
	out := &MergeOutcome{Shards: n, Points: len(rows), Failed: m.Failed, Files: files}
	out.Picture, out.PictureErr = drawInto(root, &m, rows, pic)
	return out, nil
}
