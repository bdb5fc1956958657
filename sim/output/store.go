package output

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/ratesim/ratesim/backend"
)

// array holds one recorded array, (B, M, width) in C order, either in
// memory or in a spill file on disk. Chunks arrive in time order while the
// array is batch-first, so each chunk's rows for trial b are written at
// their final place: byte offset ((b·M + m0)·width)·size of the file.
// Memory stays O(chunk) however long the run.
type array[T backend.Float] struct {
	name        string
	B, M, width int
	mem         []T
	file        SpillFile
	buf         []byte // encoding scratch for file
}

// SpillFile is a temporary file holding one streamed array.
type SpillFile interface {
	io.WriterAt
	io.ReaderAt
	Close() error
}

// CreateSpill creates a temporary file in dir (a run's staging directory,
// Stage.SpillDir) for the array name. The file is unlinked at once where
// the system allows it (it lives on while open), so nothing is left behind
// even if the process is killed; where it is not, it goes with the staging
// directory, which is never published.
func CreateSpill(dir, name string) (SpillFile, error) {
	f, err := os.CreateTemp(dir, ".result.npz."+name+".*.part")
	if err != nil {
		return nil, err
	}
	if os.Remove(f.Name()) != nil {
		return &removeOnClose{f}, nil
	}
	return f, nil
}

// removeOnClose deletes its file on Close, for systems that cannot delete
// an open file.
type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	if rerr := os.Remove(r.Name()); err == nil && rerr != nil && !os.IsNotExist(rerr) {
		err = rerr
	}
	return err
}

func elemSize[T backend.Float]() int {
	var z T
	if _, ok := any(z).(float32); ok {
		return 4
	}
	return 8
}

func (a *array[T]) bytes() int64 {
	return int64(a.B) * int64(a.M) * int64(a.width) * int64(elemSize[T]())
}

// put stores rows (k·width values) of trial b as records m0 … m0+k−1.
func (a *array[T]) put(b, m0 int, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	off := (b*a.M + m0) * a.width
	if a.file == nil {
		copy(a.mem[off:off+len(rows)], rows)
		return nil
	}
	size := elemSize[T]()
	if cap(a.buf) < len(rows)*size {
		a.buf = make([]byte, len(rows)*size)
	}
	buf := a.buf[:len(rows)*size]
	encode(buf, rows)
	if _, err := a.file.WriteAt(buf, int64(off)*int64(size)); err != nil {
		return fmt.Errorf("streaming %s to disk: %w", a.name, err)
	}
	return nil
}

// row reads record m of trial b into dst (width values).
func (a *array[T]) row(b, m int, dst []T) error {
	off := (b*a.M + m) * a.width
	if a.file == nil {
		copy(dst, a.mem[off:off+a.width])
		return nil
	}
	size := elemSize[T]()
	buf := make([]byte, a.width*size)
	if _, err := a.file.ReadAt(buf, int64(off)*int64(size)); err != nil {
		return fmt.Errorf("reading back %s: %w", a.name, err)
	}
	decode(dst, buf)
	return nil
}

// writeTo copies the whole array, little-endian C order, to w, calling
// progress after each block; an error from progress stops it.
func (a *array[T]) writeTo(w io.Writer, progress func(int64) error) error {
	size := int64(elemSize[T]())
	total := a.bytes()
	const block = 1 << 20
	buf := make([]byte, min(total, block))
	for done := int64(0); done < total; {
		n := min(total-done, block)
		if a.file == nil {
			encode(buf[:n], a.mem[done/size:(done+n)/size])
		} else if _, err := a.file.ReadAt(buf[:n], done); err != nil {
			return fmt.Errorf("reading back %s: %w", a.name, err)
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		done += n
		if progress != nil {
			if err := progress(n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *array[T]) close() {
	if a.file != nil {
		a.file.Close()
		a.file = nil
	}
}

func encode[T backend.Float](dst []byte, src []T) {
	switch s := any(src).(type) {
	case []float32:
		for i, v := range s {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case []float64:
		for i, v := range s {
			binary.LittleEndian.PutUint64(dst[8*i:], math.Float64bits(v))
		}
	}
}

func decode[T backend.Float](dst []T, src []byte) {
	switch d := any(dst).(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:]))
		}
	}
}
