package output

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// stage writes files (name → content) into a fresh stage of out and
// publishes it.
func stageAndPublish(t *testing.T, out string, hooks Hooks, files map[string]string) error {
	t.Helper()
	st, err := Begin(out, hooks)
	if err != nil {
		return err
	}
	defer st.Close()
	for name, data := range files {
		if err := writeFile(st.staged(name), []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return st.publish()
}

// contents reads every entry of dir (nil when dir is missing).
func contents(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			m[e.Name()] = "<dir>"
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func TestOwnName(t *testing.T) {
	for name, want := range map[string]bool{
		"result.npz": true, "meta.json": true, "rates.png": true, "weights.png": true,
		".result.npz.123.tmp": true, "..result.npz.4.staged.5.tmp": true, ".result.npz.rates.9.part": true,
		".meta.json.1.staged": true, ".rates.png.7.staged": true,
		"result.npz.bak": false, "notes.txt": false, ".result.npzx": false, "spec.yaml": false, ".git": false,
	} {
		if got := ownName(name); got != want {
			t.Errorf("ownName(%q) = %v, want %v", name, got, want)
		}
	}
}

// Publishing replaces the output directory whole, by exchange and by the
// fallback's renames, whether it was missing, empty or held an output (of
// this layout or the earlier one, whose leftover staged files go with it);
// nothing is left beside it.
func TestPublishReplacesWhole(t *testing.T) {
	for _, noExchange := range []bool{false, true} {
		hooks := Hooks{NoExchange: noExchange}
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		first := map[string]string{"result.npz": "1", "meta.json": "m1", "rates.png": "p1"}
		if err := stageAndPublish(t, out, hooks, first); err != nil {
			t.Fatal(err)
		}
		if got := contents(t, out); !reflect.DeepEqual(got, first) {
			t.Fatalf("no exchange %v: first output %v", noExchange, got)
		}
		os.WriteFile(filepath.Join(out, "..result.npz.3.staged.4.tmp"), []byte("old leftover"), 0o644)
		second := map[string]string{"result.npz": "2", "meta.json": "m2"}
		if err := stageAndPublish(t, out, hooks, second); err != nil {
			t.Fatal(err)
		}
		if got := contents(t, out); !reflect.DeepEqual(got, second) {
			t.Errorf("no exchange %v: second output %v, want %v (rates.png and leftovers gone)", noExchange, got, second)
		}
		if s := StagingDirs(out); len(s) != 0 {
			t.Errorf("no exchange %v: left %v", noExchange, s)
		}
		// A user's empty directory is used as it is.
		empty := t.TempDir()
		if err := stageAndPublish(t, empty, hooks, second); err != nil {
			t.Fatal(err)
		}
		if got := contents(t, empty); !reflect.DeepEqual(got, second) {
			t.Errorf("no exchange %v: into an empty directory: %v", noExchange, got)
		}
	}
}

// An output directory that is a symbolic link is published at its target,
// and the link stays.
func TestPublishThroughSymlink(t *testing.T) {
	parent := t.TempDir()
	target := filepath.Join(parent, "data", "run")
	os.MkdirAll(target, 0o755)
	link := filepath.Join(parent, "out")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	files := map[string]string{"result.npz": "1", "meta.json": "m"}
	if err := stageAndPublish(t, link, Hooks{}, files); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
	if got := contents(t, target); !reflect.DeepEqual(got, files) {
		t.Errorf("target holds %v", got)
	}
}

// Begin refuses what publishing cannot replace safely, before the run, and
// leaves things as they were.
func TestBeginRefuses(t *testing.T) {
	parent := t.TempDir()
	mine := filepath.Join(parent, "mine")
	os.MkdirAll(filepath.Join(mine, "sub"), 0o755)
	os.WriteFile(filepath.Join(mine, "result.npz"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(mine, "spec.yaml"), []byte("x"), 0o644)
	file := filepath.Join(parent, "file")
	os.WriteFile(file, nil, 0o644)
	wd, _ := os.Getwd()
	for _, c := range []struct{ out, want string }{
		{mine, "holds spec.yaml, sub, which ratesim did not write"},
		{file, "not a directory"},
		{wd, "holds the current directory"},
		{filepath.Dir(wd), "holds the current directory"},
		{"/", "root"},
	} {
		st, err := Begin(c.out, Hooks{})
		if err == nil {
			st.Close()
			t.Errorf("Begin(%s): no error", c.out)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Begin(%s): %v, want %q", c.out, err, c.want)
		}
	}
	if len(contents(t, mine)) != 3 || len(StagingDirs(mine)) != 0 {
		t.Errorf("a refused Begin changed %s or left staging", mine)
	}
	// Files appearing during the run are not published over either.
	out := filepath.Join(parent, "out")
	st, err := Begin(out, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644)
	if err := st.publish(); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("publish over a user's file: %v", err)
	}
	st.Close()
	if got := contents(t, out); !reflect.DeepEqual(got, map[string]string{"notes.txt": "mine"}) {
		t.Errorf("after a refused publish the directory holds %v", got)
	}
}

// Stale staging — unlocked, its run gone — is removed by the next Begin of
// the same output directory; a live run's (locked) staging never is, nor
// a file a run did not write.
func TestStaleStagingCleaned(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	live, err := Begin(out, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	writeFile(live.staged("result.npz"), []byte("live"))
	// A killed run's staging: a half-written result and a spill file.
	stale := filepath.Join(parent, ".out"+stagingInfix+"99999-1")
	os.MkdirAll(filepath.Join(stale, "new"), 0o755)
	os.WriteFile(filepath.Join(stale, "new", ".result.npz.1.tmp"), make([]byte, 1000), 0o644)
	os.WriteFile(filepath.Join(stale, ".result.npz.rates.2.part"), nil, 0o644)
	// One holding a file no run writes.
	odd := filepath.Join(parent, ".out"+stagingInfix+"99999-2")
	os.MkdirAll(filepath.Join(odd, "new"), 0o755)
	os.WriteFile(filepath.Join(odd, "new", "result.npz"), nil, 0o644)
	os.WriteFile(filepath.Join(odd, "new", "notes.txt"), nil, 0o644)
	// Another output directory's staging is not this one's business.
	other := filepath.Join(parent, ".other"+stagingInfix+"99999-3")
	os.MkdirAll(other, 0o755)

	next, err := Begin(out, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	got := StagingDirs(out)
	want := []string{filepath.Base(odd), filepath.Base(live.work), filepath.Base(next.work)}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after Begin the staging is %v, want %v", got, want)
	}
	if b, err := os.ReadFile(live.staged("result.npz")); err != nil || string(b) != "live" {
		t.Errorf("a live run's staged file was touched (%v)", err)
	}
	if c := contents(t, filepath.Join(odd, "new")); !reflect.DeepEqual(c, map[string]string{"notes.txt": ""}) {
		t.Errorf("stale staging holding a foreign file: %v left, want notes.txt only", c)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another directory's staging was removed")
	}
	next.Close()
	live.Close()
	if s := StagingDirs(out); !reflect.DeepEqual(s, []string{filepath.Base(odd)}) {
		t.Errorf("after Close: %v", s)
	}
}

// A run that died between the fallback's two renames left no output
// directory and the previous output in its staging; the next Begin puts it
// back.
func TestStaleAsideRestored(t *testing.T) {
	for _, gone := range []bool{true, false} {
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		w := filepath.Join(parent, ".out"+stagingInfix+"99999-1")
		os.MkdirAll(filepath.Join(w, "old"), 0o755)
		os.MkdirAll(filepath.Join(w, "new"), 0o755)
		prev := map[string]string{"result.npz": "prev", "meta.json": "m"}
		for n, d := range prev {
			os.WriteFile(filepath.Join(w, "old", n), []byte(d), 0o644)
		}
		os.WriteFile(filepath.Join(w, "new", "result.npz"), []byte("new"), 0o644)
		if !gone {
			os.Mkdir(out, 0o755) // empty: as a later Begin leaves it
		}
		st, err := Begin(out, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		if got := contents(t, out); !reflect.DeepEqual(got, prev) {
			t.Errorf("missing %v: output directory holds %v, want the previous output", gone, got)
		}
		if s := StagingDirs(out); len(s) != 0 {
			t.Errorf("left %v", s)
		}
	}
}

// A failure at any step of publishing leaves the previous output (or none)
// and no staging; a failure to clean up after publishing leaves the new
// output, and the staging goes at the next Begin.
func TestPublishFaults(t *testing.T) {
	prev := map[string]string{"result.npz": "1", "meta.json": "m1", "rates.png": "p1"}
	next := map[string]string{"result.npz": "2", "meta.json": "m2"}
	for _, noExchange := range []bool{false, true} {
		for _, hadPrev := range []bool{false, true} {
			setup := func() string {
				out := filepath.Join(t.TempDir(), "out")
				if hadPrev {
					if err := stageAndPublish(t, out, Hooks{}, prev); err != nil {
						t.Fatal(err)
					}
				}
				return out
			}
			var steps []string
			rec := Hooks{NoExchange: noExchange, Step: func(s string) error { steps = append(steps, s); return nil }}
			if err := stageAndPublish(t, setup(), rec, next); err != nil {
				t.Fatal(err)
			}
			t.Logf("exchange %v, previous %v: steps %v", !noExchange, hadPrev, steps)
			if len(steps) < 4 || steps[0] != StepBegin || steps[len(steps)-1] != StepCleanup {
				t.Fatalf("steps %v", steps)
			}
			for i, step := range steps {
				out := setup()
				n := 0
				fault := errors.New("injected fault")
				hooks := Hooks{NoExchange: noExchange, Step: func(string) error {
					if n++; n == i+1 {
						return fault
					}
					return nil
				}}
				err := stageAndPublish(t, out, hooks, next)
				want := prev
				if !hadPrev {
					want = nil
				}
				if step == StepCleanup {
					want = next
					if err != nil {
						t.Errorf("%v %v fault at %s: %v", noExchange, hadPrev, step, err)
					}
				} else if !errors.Is(err, fault) {
					t.Errorf("%v %v fault at %s: err = %v", noExchange, hadPrev, step, err)
				}
				if got := contents(t, out); !reflect.DeepEqual(got, want) {
					t.Errorf("exchange %v, previous %v: fault at step %d (%s) left %v, want %v", !noExchange, hadPrev, i, step, got, want)
				}
				if step == StepCleanup {
					st, err := Begin(out, Hooks{})
					if err != nil {
						t.Fatal(err)
					}
					st.Close()
				}
				if s := StagingDirs(out); len(s) != 0 {
					t.Errorf("fault at %s: staging %v left", step, s)
				}
			}
		}
	}
}
