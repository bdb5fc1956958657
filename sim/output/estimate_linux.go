package output

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// HostMemory is the memory a run may use when no limit is given: the
// memory available now (MemAvailable of /proc/meminfo: free memory plus
// what the kernel can reclaim without swapping), or less when the
// process's cgroup allows less (memory.max − memory.current, or cgroup v1's
// limit − usage). source says which, for messages; ok is false when
// neither can be read.
func HostMemory() (bytes int64, source string, ok bool) {
	avail, ok := meminfo("MemAvailable")
	source = "available (MemAvailable in /proc/meminfo)"
	if lim, use, found := cgroupMemory(); found {
		if left := max(lim-use, 0); !ok || left < avail {
			avail, ok = left, true
			source = "its cgroup has left (its memory limit less its usage)"
		}
	}
	return avail, source, ok
}

// meminfo reads one field of /proc/meminfo, in bytes.
func meminfo(field string) (int64, bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return 0, false
		}
		if len(fs) > 1 && fs[1] == "kB" {
			n *= 1024
		}
		return n, true
	}
	return 0, false
}

// cgroupMemory reads the memory limit and usage of the cgroup mounted at
// /sys/fs/cgroup (v2, else v1); found is false when there is no limit.
func cgroupMemory() (limit, usage int64, found bool) {
	read := func(path string) (int64, bool) {
		data, err := os.ReadFile(path)
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		return n, err == nil // "max" (no limit) does not parse
	}
	for _, p := range [][2]string{
		{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
		{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"},
	} {
		lim, ok := read(p[0])
		if !ok || lim >= 1<<62 { // v1 writes a huge number for no limit
			continue
		}
		use, _ := read(p[1])
		return lim, use, true
	}
	return 0, 0, false
}

// FreeDisk is the space unprivileged users may still write on the
// filesystem of dir, or of its nearest existing parent when dir does not
// exist yet (statfs); ok is false when it cannot be told.
func FreeDisk(dir string) (bytes int64, ok bool) {
	p, err := filepath.Abs(dir)
	if err != nil {
		return 0, false
	}
	for {
		var st syscall.Statfs_t
		err := syscall.Statfs(p, &st)
		if err == nil {
			return int64(min(st.Bavail*uint64(st.Bsize), 1<<62)), true
		}
		parent := filepath.Dir(p)
		if parent == p || !os.IsNotExist(err) {
			return 0, false
		}
		p = parent
	}
}

// Writable reports why a run cannot write its output directory dir: dir
// itself when it exists, and the directory it is published in (its
// parent, where the output is staged), or the nearest existing directory
// above when they do not exist yet; nil when it can.
func Writable(dir string) error {
	p, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(p); err == nil {
		if !fi.IsDir() {
			return &os.PathError{Op: "write in", Path: p, Err: syscall.ENOTDIR}
		}
		if err := access(p); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
		p = filepath.Dir(p)
	}
	for {
		fi, err := os.Stat(p)
		if err == nil {
			if !fi.IsDir() {
				return &os.PathError{Op: "write in", Path: p, Err: syscall.ENOTDIR}
			}
			return access(p)
		}
		parent := filepath.Dir(p)
		if parent == p || !os.IsNotExist(err) {
			return err
		}
		p = parent
	}
}

// access reports whether files can be created in directory p.
func access(p string) error {
	if err := syscall.Access(p, 2|1); err != nil { // W_OK | X_OK
		return &os.PathError{Op: "write in", Path: p, Err: err}
	}
	return nil
}
