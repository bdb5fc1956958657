package sweep

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// journalSweep has two groups (the seed axis changes the packing group)
// interleaved with the tau axis, so a shard's or a resumed run's points of
// a group are runs of ranks that do not start at 0.
const journalSweep = base + `
axes:
  - {path: tau, values: [20, 50, 100]}
  - {path: preact_noise, values: [0, 0.1, 0.2, 0.4]}
repeats: 2
metrics:
  - {metric: mean, of: rates}
  - {metric: std, of: outputs}
`

func readBoth(t *testing.T, dir string) (parquetBytes, csvBytes []byte) {
	t.Helper()
	p, err := os.ReadFile(filepath.Join(dir, "table.parquet"))
	require.NoError(t, err)
	c, err := os.ReadFile(filepath.Join(dir, "table.csv"))
	require.NoError(t, err)
	return p, c
}

func TestShardRangesCoverThePointsOnce(t *testing.T) {
	for _, P := range []int{1, 2, 7, 20, 101} {
		for n := 1; n <= 9; n++ {
			next := 0
			for i := 0; i < n; i++ {
				lo, hi := Shard{i, n}.Range(P)
				require.Equal(t, next, lo, "P=%d n=%d i=%d", P, n, i)
				require.LessOrEqual(t, lo, hi)
				require.LessOrEqual(t, hi-lo, P/n+1)
				next = hi
			}
			require.Equal(t, P, next)
		}
	}
	for _, bad := range []string{"3/3", "-1/2", "1", "a/b", "0/0"} {
		_, err := ParseShard(bad)
		assert.Error(t, err, bad)
	}
	s, err := ParseShard("2/5")
	require.NoError(t, err)
	assert.Equal(t, Shard{2, 5}, s)
}

// The whole sweep at once, and in 3 shards of other chunk sizes merged,
// give the same table bytes; the whole table equals Write's of Run.
func TestShardsMergeToTheWholeTable(t *testing.T) {
	sw := parse(t, journalSweep)
	require.Len(t, sw.Points, 24)
	ctx := context.Background()
	whole := filepath.Join(t.TempDir(), "whole")
	out, err := Execute(ctx, sw, whole, Options{}, true)
	require.NoError(t, err)
	assert.Equal(t, 24, out.Computed)
	wp, wc := readBoth(t, whole)

	res, err := Run(ctx, sw, Options{ChunkPoints: 5})
	require.NoError(t, err)
	direct := filepath.Join(t.TempDir(), "direct")
	_, err = Write(direct, sw, res, true)
	require.NoError(t, err)
	dp, dc := readBoth(t, direct)
	assert.Equal(t, wp, dp)
	assert.Equal(t, wc, dc)

	sharded := filepath.Join(t.TempDir(), "sharded")
	_, err = Merge(sharded, true, PictureOptions{})
	assert.ErrorContains(t, err, "has no shards")
	for i, cp := range []int{1, 3, 4} {
		if i == 1 {
			_, err = Merge(sharded, true, PictureOptions{})
			assert.ErrorContains(t, err, "shard 1/3 not started, shard 2/3 not started")
		}
		out, err := Execute(ctx, sw, sharded, Options{Shard: Shard{i, 3}, ChunkPoints: cp}, true)
		require.NoError(t, err)
		assert.Equal(t, 8, out.Points)
	}
	m, err := Merge(sharded, true, PictureOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, m.Shards)
	sp, sc := readBoth(t, sharded)
	assert.Equal(t, wp, sp, "table.parquet: merged shards differ from the whole sweep")
	assert.Equal(t, wc, sc, "table.csv: merged shards differ from the whole sweep")
	assert.FileExists(t, filepath.Join(sharded, "sweep.png"))

	// Another shard count in the same directory is refused.
	_, err = Execute(ctx, sw, sharded, Options{Shard: Shard{0, 2}}, true)
	assert.ErrorContains(t, err, "holds shards of 3")
}

// A directory of one sweep refuses another, whole or as a shard.
func TestResumeRefusesADifferentSweep(t *testing.T) {
	sw := parse(t, journalSweep)
	other := parse(t, strings.Replace(journalSweep, "[20, 50, 100]", "[20, 50, 101]", 1))
	require.NotEqual(t, Hash(sw), Hash(other))
	assert.Equal(t, Hash(sw), Hash(parse(t, journalSweep)))
	dir := t.TempDir()
	_, err := Execute(context.Background(), sw, dir, Options{Shard: Shard{1, 3}}, false)
	require.NoError(t, err)
	for _, sh := range []Shard{{}, {0, 3}, {1, 3}} {
		_, err = Execute(context.Background(), other, dir, Options{Shard: sh}, false)
		assert.ErrorContains(t, err, "holds a different sweep", "shard %v", sh)
	}
	// The refusals left the directory as it was.
	st, err := Status(dir)
	require.NoError(t, err)
	assert.Nil(t, st.Whole)
	require.Len(t, st.Shards, 3)
	assert.Equal(t, []string{"not started", "done", "not started"}, []string{st.Shards[0].State, st.Shards[1].State, st.Shards[2].State})
}

// fullDisk fails writes of chunk files once after commits chunks were
// written.
type fullDisk struct {
	w    io.Writer
	full bool
}

func (f *fullDisk) Write(p []byte) (int, error) {
	if f.full {
		return 0, &os.PathError{Op: "write", Path: "chunk", Err: syscall.ENOSPC}
	}
	return f.w.Write(p)
}

// A full disk stops the sweep with an error that says so, keeps every
// chunk committed before, leaves no temporary file, and the resumed run's
// table is the uninterrupted one's; status tells failed, then done.
func TestFullDiskKeepsCommittedChunks(t *testing.T) {
	sw := parse(t, journalSweep)
	ctx := context.Background()
	whole := t.TempDir()
	_, err := Execute(ctx, sw, whole, Options{}, true)
	require.NoError(t, err)
	wp, wc := readBoth(t, whole)

	dir := t.TempDir()
	commits := 0
	openHook = func(path string, w io.Writer) io.Writer {
		if !strings.Contains(filepath.Base(path), "chunk-") {
			return w
		}
		commits++
		return &fullDisk{w: w, full: commits > 3}
	}
	defer func() { openHook = nil }()
	_, err = Execute(ctx, sw, dir, Options{ChunkPoints: 2}, true)
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)
	assert.ErrorContains(t, err, "no space left on device")
	assert.ErrorContains(t, err, "the 6 points committed before are kept")
	chunks, _ := filepath.Glob(filepath.Join(dir, "journal", "chunk-*.json"))
	assert.Len(t, chunks, 3)
	tmp, _ := filepath.Glob(filepath.Join(dir, "journal", ".*"))
	assert.Empty(t, tmp)
	assert.NoFileExists(t, filepath.Join(dir, "table.parquet"))

	st, err := Status(dir)
	require.NoError(t, err)
	require.NotNil(t, st.Whole)
	assert.Equal(t, "failed", st.Whole.State)
	assert.Equal(t, 6, st.Whole.Done)
	assert.Equal(t, 24, st.Whole.Points)
	assert.Equal(t, 3, st.Whole.Chunks)
	assert.Equal(t, 9, st.Whole.MissingChunks)
	assert.Contains(t, st.Whole.Error, "no space left on device")

	openHook = nil
	out, err := Execute(ctx, sw, dir, Options{ChunkPoints: 5}, true)
	require.NoError(t, err)
	assert.Equal(t, 6, out.Resumed)
	assert.Equal(t, 18, out.Computed)
	p, c := readBoth(t, dir)
	assert.Equal(t, wp, p)
	assert.Equal(t, wc, c)
	st, err = Status(dir)
	require.NoError(t, err)
	assert.Equal(t, "done", st.Whole.State)
	assert.Equal(t, 0, st.Whole.MissingChunks)
	var buf bytes.Buffer
	st.Write(&buf)
	assert.Contains(t, buf.String(), "done; points 24/24 done, 0 missing, 0 failed")
}

// A held lock keeps a second run out and status reports it running.
func TestLockKeepsOneRunPerDirectory(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir)
	require.NoError(t, err)
	_, err = lockDir(dir)
	assert.ErrorContains(t, err, "another ratesim sweep (pid")
	held, pid := lockHeld(dir)
	assert.True(t, held)
	assert.Equal(t, strings.TrimSpace(pid), pid)
	assert.NotEmpty(t, pid)
	unlock()
	held, _ = lockHeld(dir)
	assert.False(t, held)
	unlock, err = lockDir(dir)
	require.NoError(t, err)
	unlock()
}

// pictureStats are a PNG's size, how many pixels are not white, and how
// many colours it has.
func pictureStats(t *testing.T, data []byte) (image.Rectangle, float64, int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	b := img.Bounds()
	colours := map[color.RGBA]bool{}
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			c := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bb >> 8), 255}
			colours[c] = true
			if c != (color.RGBA{255, 255, 255, 255}) {
				inked++
			}
		}
	}
	return b, float64(inked) / float64(b.Dx()*b.Dy()), len(colours)
}

// The sweep picture: a heat map for two axes (mostly coloured, many
// colours), lines for one; the documented size; a bad metric or axis is
// named.
func TestPicture(t *testing.T) {
	sw := parse(t, journalSweep)
	dir := t.TempDir()
	_, err := Execute(context.Background(), sw, dir, Options{}, false)
	require.NoError(t, err)
	j, err := readJournal(dir)
	require.NoError(t, err)
	m, rows := j.header.Meta, j.rows()

	heat, err := os.ReadFile(filepath.Join(dir, "sweep.png"))
	require.NoError(t, err)
	b, heatInked, colours := pictureStats(t, heat)
	assert.Equal(t, image.Rect(0, 0, PictureWidth, PictureHeight), b)
	assert.Greater(t, heatInked, 0.4, "a heat map covers most of the picture")
	assert.Greater(t, colours, 50)

	line, err := DrawPicture(m, rows, PictureOptions{Metric: "std_outputs", Axes: []string{"tau"}})
	require.NoError(t, err)
	b, inked, colours := pictureStats(t, line)
	assert.Equal(t, image.Rect(0, 0, PictureWidth, PictureHeight), b)
	assert.Greater(t, inked, 0.01, "lines and axes are drawn")
	assert.Less(t, inked, heatInked, "lines ink less than a heat map")
	assert.Greater(t, colours, 8)
	assert.NotEqual(t, heat, line)

	_, err = DrawPicture(m, rows, PictureOptions{Metric: "nope"})
	assert.ErrorContains(t, err, `metric "nope" is not a column of the table (metrics: mean_rates, std_outputs)`)
	_, err = DrawPicture(m, rows, PictureOptions{Axes: []string{"dt"}})
	assert.ErrorContains(t, err, `"dt" is not an axis of the sweep (axes: tau, preact_noise)`)
	_, err = Execute(context.Background(), sw, t.TempDir(), Options{Picture: PictureOptions{Off: true}}, false)
	require.NoError(t, err)
}

// The scripts' arguments survive the shell, whatever they hold.
func TestShellQuote(t *testing.T) {
	for _, s := range []string{"plain/path-1.yaml", "with space", "it's", `"$HOME" $(x) \n`, ""} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(s)).Output()
		require.NoError(t, err)
		assert.Equal(t, s, string(out))
	}
}
