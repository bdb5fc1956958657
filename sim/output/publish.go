package output

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// A run's output is all or nothing: Begin stages it in a locked directory
// beside the output directory DIR, Write fills it and publishes it with one
// rename, and Close removes what is left. doc.go states the protocol as a
// reader sees it; this file carries it out.
//
// Why a directory swapped whole, and why this way:
//
//   - Readers (users, numpy, init_state {from: DIR}) open DIR/result.npz
//     and DIR/meta.json by name, so DIR stays a plain directory of plain
//     files. A symbolic link DIR → versioned directory would also switch
//     atomically, but it changes what DIR is for every tool (ls -l, cp,
//     rsync, zip, Windows) and cannot replace an existing DIR atomically.
//   - Renaming files into DIR one by one, however ordered, leaves mixed
//     generations after a crash between renames; a completion marker would
//     only help readers that check it, and numpy does not.
//   - So the new output is built in W/new and exchanged with DIR in one
//     renameat2(RENAME_EXCHANGE) (Linux; renamex_np RENAME_SWAP on macOS):
//     atomic, and DIR is never missing. Where the system cannot exchange,
//     a rename publishes atomically when DIR is absent or empty; otherwise
//     the previous DIR is first moved aside into W/old, and a crash between
//     the two renames leaves no DIR, which the next run repairs by moving
//     W/old back.
//
// Staging W is parent(DIR)/.BASE.ratesim-staging-PID-RANDOM: in DIR's parent
// so that every rename stays on one file system, hidden, named for its
// output directory and the process that made it. The run holds an flock on
// W's directory from creating it until Close, and the kernel drops it when
// the process dies however it dies, so "W is unlocked" means "its run is
// gone": Begin removes such W of the same DIR (stale staging of killed
// runs) and never one that a live run, in this process or another, holds.
// Lock and check close the race with a run creating W: a creator that
// cannot lock its fresh W, or finds it gone after locking, makes another.
//
// Removal only ever deletes names a run writes (ownName): a file a user
// put into DIR is never deleted with an old output. Begin refuses a DIR
// holding such files, since publishing replaces the directory whole.

// Commit steps, as Hooks.Step sees them, in the order a run meets them.
// A picture's step is its file name (RatesPicture, WeightsPicture).
const (
	StepBegin      = "begin"        // create and lock the staging directory
	StepResult     = "result.npz"   // write result.npz in the staging directory
	StepMeta       = "meta.json"    // write meta.json there
	StepSyncStage  = "sync staging" // fsync the staged directory
	StepExchange   = "exchange"     // swap the staged directory with DIR
	StepMoveIn     = "move in"      // rename the staged directory onto DIR (no exchange)
	StepMoveAside  = "move aside"   // move the previous DIR aside (no exchange)
	StepSyncParent = "sync parent"  // fsync DIR's parent: the publication is durable
	StepCleanup    = "cleanup"      // remove the staging and the previous output
)

// stagingInfix follows ".BASE" in a staging directory's name.
const stagingInfix = ".ratesim-staging-"

// Stage is a run's output while it is made: a locked staging directory
// beside the output directory, holding the spill files of streamed
// recordings and, in new/, the files Write publishes.
type Stage struct {
	out    string // the output directory as given, for messages and paths
	dir    string // the output directory, absolute, symbolic links resolved
	parent string
	work   string // the staging directory W
	next   string // W/new: what Write publishes
	lock   *os.File
	hooks  Hooks
	// created says Begin made the output directory, so Close removes it
	// again (if still empty) when nothing was published.
	created   bool
	published bool
	closed    bool
}

// Begin prepares publishing a run's output to the directory out: it
// creates out if needed (so that an unusable one fails before the run),
// checks that publishing can replace it, removes stale staging left beside
// it by killed runs, and creates this run's locked staging directory. The
// caller passes the stage to Write and closes it in any case.
func Begin(out string, hooks Hooks) (_ *Stage, err error) {
	st := &Stage{out: out, hooks: hooks}
	if _, err := os.Lstat(out); errors.Is(err, os.ErrNotExist) {
		st.created = true
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create output directory %s: %w", out, err)
	}
	defer func() {
		if err != nil && st.created {
			os.Remove(out)
		}
	}()
	dir, err := filepath.EvalSymlinks(out)
	if err == nil {
		dir, err = filepath.Abs(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("output directory %s: %w", out, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("output directory %s: %w", out, err)
	}
	parent := filepath.Dir(dir)
	if parent == dir {
		return nil, fmt.Errorf("output directory %s: a run replaces its output directory whole, so it cannot be the root", out)
	}
	if wd, err := os.Getwd(); err == nil {
		if wd, err = filepath.EvalSymlinks(wd); err == nil && (wd == dir || strings.HasPrefix(wd, dir+string(filepath.Separator))) {
			return nil, fmt.Errorf("output directory %s holds the current directory; a run replaces its output directory whole, so choose another", out)
		}
	}
	if pfi, err := os.Stat(parent); err != nil || !sameDevice(fi, pfi) {
		return nil, fmt.Errorf("output directory %s is a mount point (or its parent is unreadable); a run replaces its output directory whole by rename, so choose a directory inside it", out)
	}
	if err := checkOwned(out, dir); err != nil {
		return nil, err
	}
	st.dir, st.parent = dir, parent
	if err := st.step(StepBegin); err != nil {
		return nil, fmt.Errorf("cannot stage the output beside %s: %w", out, err)
	}
	base := filepath.Base(dir)
	cleanStale(parent, base, dir)
	for range 8 {
		w, err := os.MkdirTemp(parent, "."+base+stagingInfix+strconv.Itoa(os.Getpid())+"-*")
		if err != nil {
			return nil, fmt.Errorf("cannot stage the output beside %s: %w", out, err)
		}
		lock, _, err := lockDir(w)
		if errors.Is(err, errBusy) || errors.Is(err, errMoved) {
			continue // a cleaner took it between mkdir and lock; it removes it
		}
		if err != nil {
			os.Remove(w)
			return nil, fmt.Errorf("cannot stage the output beside %s: %w", out, err)
		}
		st.work, st.next, st.lock = w, filepath.Join(w, "new"), lock
		// The published directory keeps the mode the output directory has.
		err = os.Mkdir(st.next, 0o755)
		if err == nil {
			err = os.Chmod(st.next, fi.Mode().Perm())
		}
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("cannot stage the output beside %s: %w", out, err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("cannot stage the output beside %s: staging directories kept vanishing", out)
}

// SpillDir is where streamed recordings put their spill files: the staging
// directory, never published.
func (st *Stage) SpillDir() string { return st.work }

// path is name inside the output directory as given.
func (st *Stage) path(name string) string { return filepath.Join(st.out, name) }

// staged is name inside the directory Write publishes.
func (st *Stage) staged(name string) string { return filepath.Join(st.next, name) }

func (st *Stage) step(name string) error {
	if st.hooks.Step != nil {
		return st.hooks.Step(name)
	}
	return nil
}

// publish makes the staged directory the output directory: fsync it, swap
// it in with one rename, fsync the parent. On failure the previous output
// is where it was.
func (st *Stage) publish() error {
	if err := st.step(StepSyncStage); err != nil {
		return fmt.Errorf("cannot write %s: %w", st.out, err)
	}
	if err := syncDir(st.next); err != nil {
		return fmt.Errorf("cannot write %s: %w", st.out, err)
	}
	// A user may have put files into the output directory during the run;
	// publishing would move them out with the previous output.
	if err := checkOwned(st.out, st.dir); err != nil {
		return err
	}
	how, err := st.swap()
	if err != nil {
		return fmt.Errorf("cannot publish %s: %w", st.out, err)
	}
	err = st.step(StepSyncParent)
	if err == nil {
		err = syncDir(st.parent)
	}
	if err != nil {
		// Not durable: undo the swap, so that failure means the previous
		// output, as everywhere else.
		st.unswap(how)
		syncDir(st.parent)
		return fmt.Errorf("cannot publish %s: %w", st.out, err)
	}
	st.published = true
	return nil
}

// How swap published: by exchange, by rename onto a missing or empty
// directory, or by rename after moving the previous output aside.
type swapped int

const (
	byExchange swapped = iota
	byRename
	byMoveAside
)

func (st *Stage) swap() (swapped, error) {
	old := filepath.Join(st.work, "old")
	for range 3 {
		if !st.hooks.NoExchange {
			if err := st.step(StepExchange); err != nil {
				return 0, err
			}
			err := exchange(st.next, st.dir)
			if err == nil {
				return byExchange, nil
			}
			if !exchangeUnsupported(err) && !errors.Is(err, os.ErrNotExist) {
				return 0, err
			}
		}
		// A directory renames onto a missing or empty one, atomically.
		if err := st.step(StepMoveIn); err != nil {
			return 0, err
		}
		err := renameDir(st.next, st.dir)
		if err == nil {
			return byRename, nil
		}
		if !occupied(err) {
			return 0, err
		}
		// The previous output must go first: from here until the next
		// rename there is no output directory (a crash here is repaired
		// by the next run's cleanStale).
		if err := st.step(StepMoveAside); err != nil {
			return 0, err
		}
		if err := renameDir(st.dir, old); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return 0, err
		}
		err = st.step(StepMoveIn)
		if err == nil {
			err = renameDir(st.next, st.dir)
		}
		if err == nil {
			return byMoveAside, nil
		}
		if renameDir(old, st.dir) != nil && occupied(err) {
			// Another run published in the gap: its output stays, and
			// the previous one goes with this staging.
			return 0, fmt.Errorf("another run published at the same time: %w", err)
		}
		return 0, err
	}
	return 0, errors.New("it kept vanishing while publishing")
}

// unswap puts the previous output back after swap published by how.
func (st *Stage) unswap(how swapped) {
	switch how {
	case byExchange:
		exchange(st.next, st.dir)
	case byRename:
		if renameDir(st.dir, st.next) == nil {
			os.Mkdir(st.dir, 0o755) // it was missing or empty
		}
	case byMoveAside:
		if renameDir(st.dir, st.next) == nil {
			renameDir(filepath.Join(st.work, "old"), st.dir)
		}
	}
}

// occupied says a rename failed because its target is a non-empty directory.
func occupied(err error) bool {
	return errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY)
}

// Close removes the staging directory — the staged files of a run that
// failed, or the previous output a published one replaced — and releases
// its lock. It also removes an output directory Begin created if nothing
// was published into it. Close may be called more than once.
func (st *Stage) Close() error {
	if st == nil || st.closed {
		return nil
	}
	st.closed = true
	var err error
	if err = st.step(StepCleanup); err == nil && st.work != "" {
		removeStaging(st.work, st.dir)
	}
	if st.lock != nil {
		st.lock.Close()
	}
	if st.created && !st.published {
		os.Remove(st.out) // only if still empty
	}
	return err
}

// ownName says a run writes files called name: result.npz, meta.json and
// the pictures, and the hidden temporaries of those (".result.npz.*.tmp",
// spill files ".result.npz.rates.*.part", and older versions' staged
// "..result.npz.*.staged.*.tmp" and the like). Nothing else is ever removed.
func ownName(name string) bool {
	for _, own := range ownFiles() {
		if name == own || strings.HasPrefix(name, ".") && strings.HasPrefix(strings.TrimLeft(name, "."), own+".") {
			return true
		}
	}
	return false
}

func ownFiles() []string {
	return append(append([]string{"result.npz", "meta.json"}, PictureNames...), CircuitFileNames...)
}

// checkOwned fails if dir holds anything a run does not write.
func checkOwned(out, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output directory %s: %w", out, err)
	}
	var foreign []string
	for _, e := range entries {
		if !ownName(e.Name()) || e.IsDir() {
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) == 0 {
		return nil
	}
	slices.Sort(foreign)
	if len(foreign) > 4 {
		foreign = append(foreign[:4], "…")
	}
	return fmt.Errorf("output directory %s holds %s, which ratesim did not write; a run replaces its output directory whole, so move those away or choose another", out, strings.Join(foreign, ", "))
}

// StagingDirs lists, sorted, the staging directories of output directory
// out that exist beside it (.BASE.ratesim-staging-PID-…): a live run's, or
// a killed one's until the next run into out removes it.
func StagingDirs(out string) []string {
	out = filepath.Clean(out)
	return stagingDirs(filepath.Dir(out), filepath.Base(out))
}

func stagingDirs(parent, base string) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "."+base+stagingInfix) {
			names = append(names, e.Name()) // ReadDir sorts by name
		}
	}
	return names
}

// cleanStale removes the staging directories of dir whose runs are gone
// (unlocked), restoring a previous output one of them moved aside.
func cleanStale(parent, base, dir string) {
	for _, name := range stagingDirs(parent, base) {
		w := filepath.Join(parent, name)
		lock, locked, err := lockDir(w)
		if err != nil {
			continue // live, or gone
		}
		if locked {
			removeStaging(w, dir)
		}
		lock.Close()
	}
}

// removeStaging removes the staging directory w of the output directory
// dir: a run's files in new/ and old/ and its spill files, then the
// directories once empty. A previous output moved aside into old/ goes
// back to dir first if dir is missing or empty (a run that failed or died
// between the fallback's two renames); the rename fails harmlessly when dir
// holds an output.
func removeStaging(w, dir string) {
	if renameDir(filepath.Join(w, "old"), dir) == nil {
		syncDir(filepath.Dir(dir))
	}
	removeOwn(filepath.Join(w, "new"))
	removeOwn(filepath.Join(w, "old"))
	removeOwn(w)
}

// removeOwn removes the files of dir that a run writes, then dir if that
// left it empty.
func removeOwn(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && ownName(e.Name()) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir)
}

var (
	errBusy  = errors.New("locked by a live run")
	errMoved = errors.New("moved or removed while locking")
)

// lockDir opens the directory w and takes its exclusive flock without
// waiting, then checks that w still names the locked directory. It fails
// with errBusy when another open file (of any process) holds the lock, and
// with errMoved when w vanished or was replaced meanwhile. Where the file
// system cannot lock directories it returns the open directory unlocked
// (locked false): such staging is never taken for stale.
func lockDir(w string) (f *os.File, locked bool, err error) {
	f, err = os.Open(w)
	if err != nil {
		return nil, false, err
	}
	locked, err = flock(f)
	if err != nil {
		f.Close()
		return nil, false, err
	}
	fi, err1 := f.Stat()
	li, err2 := os.Lstat(w)
	if err1 != nil || err2 != nil || !os.SameFile(fi, li) {
		f.Close()
		return nil, false, errMoved
	}
	return f, locked, nil
}

// syncDir makes dir's entries durable. File systems that cannot fsync a
// directory say so, and that is no error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !syncUnsupported(err) {
		return err
	}
	return nil
}

// writeFile writes data to path, durably: written, fsynced, closed.
func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, serr, cerr)
}
