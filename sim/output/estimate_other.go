//go:build !linux

package output

import "os"

// HostMemory is unknown on this system: runs are not checked against it
// unless a limit is given.
func HostMemory() (bytes int64, source string, ok bool) { return 0, "", false }

// FreeDisk is unknown on this system.
func FreeDisk(dir string) (bytes int64, ok bool) { return 0, false }

// Writable reports why files cannot be created in dir, when it exists.
func Writable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	if !fi.IsDir() {
		return &os.PathError{Op: "write in", Path: dir, Err: os.ErrInvalid}
	}
	return nil
}
