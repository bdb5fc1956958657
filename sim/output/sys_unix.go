//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package output

import (
	"errors"
	"os"
	"syscall"
)

// flock takes f's exclusive flock without waiting. It fails with errBusy
// when another open file holds it, and returns false where the file system
// cannot lock directories (NFS, for one).
func flock(f *os.File) (bool, error) {
	conn, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := conn.Control(func(fd uintptr) {
		ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	}); err != nil {
		return false, err
	}
	if errors.Is(ferr, syscall.EWOULDBLOCK) {
		return false, errBusy
	}
	return ferr == nil, nil
}

// renameDir renames the directory a to b, which may be missing or an
// empty directory (rename(2); os.Rename refuses any existing directory).
func renameDir(a, b string) error {
	if err := syscall.Rename(a, b); err != nil {
		return &os.LinkError{Op: "rename", Old: a, New: b, Err: err}
	}
	return nil
}

// sameDevice says a and b are on one file system.
func sameDevice(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return !ok1 || !ok2 || sa.Dev == sb.Dev
}

// syncUnsupported says fsync failed because the file system cannot fsync
// a directory.
func syncUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}
