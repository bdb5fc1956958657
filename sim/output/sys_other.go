//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package output

import "os"

// renameDir renames the directory a to b, which may be missing or an
// empty directory (removed first: not atomic here).
func renameDir(a, b string) error {
	if fi, err := os.Lstat(b); err == nil && fi.IsDir() {
		if err := os.Remove(b); err != nil {
			return err
		}
	}
	return os.Rename(a, b)
}

// flock cannot lock here: staging is never taken for stale, and a killed
// run's staging stays until removed by hand.
func flock(f *os.File) (bool, error) { return false, nil }

func sameDevice(a, b os.FileInfo) bool { return true }

// syncUnsupported: directories cannot be fsynced everywhere (Windows).
func syncUnsupported(err error) bool { return true }
