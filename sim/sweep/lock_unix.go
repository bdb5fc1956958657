//go:build unix

package sweep

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes DIR/lock, an exclusive flock held while a run writes into
// DIR: the kernel releases it when the process ends, however it ends, so
// a held lock means a live run (`ratesim sweep status` tests it) and a
// killed run leaves no stale lock. The file holds the holder's pid.
func lockDir(dir string) (unlock func(), err error) {
	name := filepath.Join(dir, "lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another ratesim sweep (pid %s) is running in %s; wait for it, or stop it first", strings.TrimSpace(string(pid)), dir)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", name, err)
	}
	// The pid is for messages only; the flock is the lock.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}

// lockHeld says whether a live process holds DIR/lock, and its pid.
func lockHeld(dir string) (bool, string) {
	name := filepath.Join(dir, "lock")
	f, err := os.Open(name)
	if err != nil {
		return false, ""
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(name)
		return true, strings.TrimSpace(string(pid))
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, ""
}
