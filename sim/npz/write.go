package npz

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// zipTime is the modification time stamped on every entry. numpy.savez uses
// the same fixed date, and a constant keeps result files byte-for-byte
// reproducible across runs.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// fileMode is the permission of committed files. Temporary files start as
// 0600 (os.CreateTemp), which would be a surprising mode for a result file;
// the process umask cannot be read without changing it, so use the common
// default.
const fileMode = 0o644

// Writer writes an .npz archive atomically: see Create. It is not safe for
// concurrent use.
type Writer struct {
	path   string
	f      *os.File // the temporary file
	zw     *zip.Writer
	cur    *arrayWriter // the array being streamed, if any
	names  map[string]bool
	err    error // first failure; once set, the archive will never be committed
	closed bool
	result error // what Close returned, for repeated calls
}

// Create starts an .npz archive that will appear at path only when Close
// succeeds. Until then the data lives in a hidden temporary file in path's
// directory (same file system, so the final rename is atomic).
func Create(path string) (*Writer, error) {
	f, err := createTemp(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return &Writer{path: path, f: f, zw: zip.NewWriter(f), names: map[string]bool{}}, nil
}

// Array starts the entry name+".npy" and returns the writer for its data:
// exactly prod(shape)*dtype.ItemSize() bytes, C order, little-endian (the
// Write* helpers produce that encoding). The returned writer is valid until
// the next Array call or Close, which check that the data was complete.
func (w *Writer) Array(name string, dtype DType, shape []int) (io.Writer, error) {
	if w.closed {
		return nil, &Error{File: w.path, Array: name, Err: errors.New("writer already closed")}
	}
	if err := w.finishArray(); err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (io.Writer, error) {
		return nil, &Error{File: w.path, Array: name, Err: fmt.Errorf(format, args...)}
	}
	if name == "" {
		return bad("empty array name")
	}
	if w.names[name] {
		return bad("array written twice")
	}
	if !dtype.Valid() {
		return bad("invalid dtype %v; supported: %s", dtype, supportedList)
	}
	size, err := dataBytes(dtype, shape)
	if err != nil {
		return bad("%v", err)
	}
	// Stored, not deflated: simulation output compresses poorly, and stored
	// entries let numpy read at full disk speed.
	fw, err := w.zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store, Modified: zipTime})
	if err != nil {
		return nil, w.fail(name, err)
	}
	w.names[name] = true
	if _, err := fw.Write(formatHeader(dtype, shape)); err != nil {
		return nil, w.fail(name, err)
	}
	w.cur = &arrayWriter{w: w, fw: fw, name: name, dtype: dtype, shape: append([]int(nil), shape...), want: int64(size)}
	return w.cur, nil
}

// finishArray closes out the array being streamed, failing the archive if it
// did not get all its bytes.
func (w *Writer) finishArray() error {
	if w.err != nil {
		return w.err
	}
	a := w.cur
	if a == nil {
		return nil
	}
	w.cur = nil
	a.done = true
	if a.got != a.want {
		return w.fail(a.name, fmt.Errorf("incomplete data: shape %v of %s needs %d bytes, got %d", a.shape, a.dtype, a.want, a.got))
	}
	return nil
}

// fail records the first error; the archive is then doomed and Close will
// only clean up.
func (w *Writer) fail(array string, err error) error {
	if w.err == nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{File: w.path, Array: array, Err: err}
		}
		w.err = e
	}
	return w.err
}

// Put writes a whole array from a Go slice whose element type matches dtype
// ([]float32 for Float32, []bool for Bool, ...). len(data) must equal the
// number of elements of shape.
func (w *Writer) Put(name string, dtype DType, shape []int, data any) error {
	if err := checkData(dtype, shape, data); err != nil {
		return &Error{File: w.path, Array: name, Err: err}
	}
	aw, err := w.Array(name, dtype, shape)
	if err != nil {
		return err
	}
	return writeData(aw, dtype, data)
}

// Float32 writes a whole float32 array.
func (w *Writer) Float32(name string, shape []int, data []float32) error {
	return w.Put(name, Float32, shape, data)
}

// Float64 writes a whole float64 array.
func (w *Writer) Float64(name string, shape []int, data []float64) error {
	return w.Put(name, Float64, shape, data)
}

// Int64 writes a whole int64 array.
func (w *Writer) Int64(name string, shape []int, data []int64) error {
	return w.Put(name, Int64, shape, data)
}

// Close finishes the archive and, only if every array is complete and nothing
// failed, fsyncs it and renames it onto the path given to Create. On any
// failure the temporary file is removed and nothing appears at the path (an
// existing file there is left untouched). Calling Close again returns the
// same result.
func (w *Writer) Close() error {
	if w.closed {
		return w.result
	}
	w.closed = true
	err := w.finishArray()
	if err == nil {
		if cerr := w.zw.Close(); cerr != nil {
			err = w.fail("", cerr)
		}
	}
	if err == nil {
		if cerr := commit(w.f, w.path); cerr != nil {
			err = w.fail("", cerr)
		}
	}
	if err != nil {
		discard(w.f)
	}
	w.result = err
	return err
}

// Abort abandons the archive and removes its temporary file. It is a no-op
// after Close or a previous Abort, so `defer w.Abort()` is the natural way to
// guarantee cleanup on every early return.
func (w *Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.result = &Error{File: w.path, Err: errors.New("write aborted")}
	if w.cur != nil {
		w.cur.done = true
	}
	if err := discard(w.f); err != nil {
		return &Error{File: w.path, Err: err}
	}
	return nil
}

// arrayWriter counts the bytes of one streamed array so that too much or too
// little data is caught instead of producing a file numpy misreads.
type arrayWriter struct {
	w     *Writer
	fw    io.Writer
	name  string
	dtype DType
	shape []int
	want  int64
	got   int64
	done  bool // superseded by the next array, or the archive closed
}

func (a *arrayWriter) Write(p []byte) (int, error) {
	if a.done {
		return 0, a.w.fail(a.name, errors.New("write after the next array was started or the archive was closed"))
	}
	if a.w.err != nil {
		return 0, a.w.err
	}
	if int64(len(p)) > a.want-a.got {
		return 0, a.w.fail(a.name, fmt.Errorf("too much data: shape %v of %s needs %d bytes, got at least %d", a.shape, a.dtype, a.want, a.got+int64(len(p))))
	}
	n, err := a.fw.Write(p)
	a.got += int64(n)
	if err != nil {
		return n, a.w.fail(a.name, err)
	}
	return n, nil
}

// WriteNPY writes a single array to an .npy file, atomically like Create.
// data is a Go slice whose element type matches dtype (see Writer.Put).
func WriteNPY(path string, dtype DType, shape []int, data any) error {
	if err := checkData(dtype, shape, data); err != nil {
		return &Error{File: path, Err: err}
	}
	f, err := createTemp(path)
	if err != nil {
		return &Error{File: path, Err: err}
	}
	bw := bufio.NewWriterSize(f, encodeBufSize)
	_, err = bw.Write(formatHeader(dtype, shape))
	if err == nil {
		err = writeData(bw, dtype, data)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = commit(f, path)
	}
	if err != nil {
		discard(f)
		return &Error{File: path, Err: err}
	}
	return nil
}

// checkData validates a Put/WriteNPY call before anything is written, so a
// caller's mistake does not doom an archive that is otherwise fine.
func checkData(dtype DType, shape []int, data any) error {
	if !dtype.Valid() {
		return fmt.Errorf("invalid dtype %v; supported: %s", dtype, supportedList)
	}
	dt, n, ok := sliceInfo(data)
	if !ok {
		return fmt.Errorf("unsupported data type %T (want a slice of bool, intN, uintN or floatN)", data)
	}
	if dt != dtype {
		return fmt.Errorf("data is %T but dtype is %s", data, dtype)
	}
	want, err := numElements(shape)
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("data has %d elements but shape %v needs %d", n, shape, want)
	}
	return nil
}

// createTemp creates the hidden temporary file next to path. Same directory
// means same file system, which is what makes the final rename atomic.
func createTemp(path string) (*os.File, error) {
	return os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
}

// commit makes the temporary file durable and moves it onto path. The fsync
// before the rename matters: without it a crash can leave a renamed but empty
// or partial file, exactly what atomic writing is meant to prevent.
func commit(f *os.File, path string) error {
	if err := f.Chmod(fileMode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir persists the rename itself. It is best effort: the file is already
// complete and in place, and some systems cannot fsync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// discard closes and deletes a temporary file; closing twice is harmless.
func discard(f *os.File) error {
	_ = f.Close()
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
