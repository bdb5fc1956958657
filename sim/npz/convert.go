package npz

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"
)

// Float64s returns the elements as float64. Every conversion is exact: floats
// and bools always are, and integers are checked; an integer too large to be
// represented exactly (beyond ±2^53, roughly) is an error naming the element,
// because silently perturbing, say, an index or a seed would be worse.
func (a *Array) Float64s() ([]float64, error) {
	n, err := a.check()
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	le := binary.LittleEndian
	d := a.Data
	switch a.DType {
	case Float64:
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(d[8*i:]))
		}
	case Float32:
		for i := range out {
			out[i] = float64(math.Float32frombits(le.Uint32(d[4*i:])))
		}
	case Int64:
		for i := range out {
			v := int64(le.Uint64(d[8*i:]))
			f := float64(v)
			// 2^63 is out of int64 range, so compare in float space first.
			if f >= 0x1p63 || int64(f) != v {
				return nil, a.inexact(i, fmt.Sprint(v))
			}
			out[i] = f
		}
	case Uint64:
		for i := range out {
			v := le.Uint64(d[8*i:])
			f := float64(v)
			if f >= 0x1p64 || uint64(f) != v {
				return nil, a.inexact(i, fmt.Sprint(v))
			}
			out[i] = f
		}
	default:
		// Every remaining type (ints up to 32 bits, bool) fits exactly.
		for i := range out {
			out[i] = float64(a.int64At(i))
		}
	}
	return out, nil
}

// Float32s returns the elements as float32. float32 data is returned exactly;
// every other type is converted with round-to-nearest-even (Go's conversion),
// so float64 data loses precision and large integers are rounded. Use
// Float64s when exactness matters.
func (a *Array) Float32s() ([]float32, error) {
	n, err := a.check()
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	le := binary.LittleEndian
	d := a.Data
	switch a.DType {
	case Float32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(d[4*i:]))
		}
	case Float64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(d[8*i:])))
		}
	case Uint64:
		for i := range out {
			out[i] = float32(le.Uint64(d[8*i:]))
		}
	default:
		for i := range out {
			out[i] = float32(a.int64At(i))
		}
	}
	return out, nil
}

// Int64s returns the elements of an integer or bool array as int64. Float
// arrays are refused rather than truncated, and uint64 values above
// math.MaxInt64 are an error.
func (a *Array) Int64s() ([]int64, error) {
	n, err := a.check()
	if err != nil {
		return nil, err
	}
	if a.DType.isFloat() {
		return nil, &Error{File: a.Name, Err: fmt.Errorf("Int64s: array is %s; use Float64s", a.DType)}
	}
	out := make([]int64, n)
	for i := range out {
		if a.DType == Uint64 {
			if v := binary.LittleEndian.Uint64(a.Data[8*i:]); v > math.MaxInt64 {
				return nil, &Error{File: a.Name, Err: fmt.Errorf("Int64s: element %d (%d) exceeds int64", i, v)}
			}
		}
		out[i] = a.int64At(i)
	}
	return out, nil
}

// check guards the accessors against a hand-built Array whose Data does not
// match its DType and Shape, which would otherwise panic on indexing. It
// returns the number of elements.
func (a *Array) check() (int, error) {
	if !a.DType.Valid() {
		return 0, &Error{File: a.Name, Err: fmt.Errorf("invalid dtype %v", a.DType)}
	}
	want, err := dataBytes(a.DType, a.Shape)
	if err != nil {
		return 0, &Error{File: a.Name, Err: err}
	}
	if want != len(a.Data) {
		return 0, &Error{File: a.Name, Err: fmt.Errorf("Data holds %d bytes but shape %v of %s needs %d", len(a.Data), a.Shape, a.DType, want)}
	}
	return want / a.DType.ItemSize(), nil
}

func (a *Array) inexact(i int, v string) error {
	return &Error{File: a.Name, Err: fmt.Errorf("Float64s: element %d (%s) of %s array is not exactly representable as float64", i, v, a.DType)}
}

// int64At decodes element i of an integer or bool array (uint64 wraps; the
// callers handle it separately).
func (a *Array) int64At(i int) int64 {
	le := binary.LittleEndian
	d := a.Data
	switch a.DType {
	case Bool:
		if d[i] != 0 {
			return 1
		}
		return 0
	case Int8:
		return int64(int8(d[i]))
	case Uint8:
		return int64(d[i])
	case Int16:
		return int64(int16(le.Uint16(d[2*i:])))
	case Uint16:
		return int64(le.Uint16(d[2*i:]))
	case Int32:
		return int64(int32(le.Uint32(d[4*i:])))
	case Uint32:
		return int64(le.Uint32(d[4*i:]))
	case Int64, Uint64:
		return int64(le.Uint64(d[8*i:]))
	}
	panic("npz: int64At on " + a.DType.String())
}

// encodeBufSize is the chunk the Write* helpers encode into before each
// Write: large enough that per-call overhead (zip CRC, syscalls) is amortised,
// small enough to stay in cache.
const encodeBufSize = 64 << 10

var encodeBufs = sync.Pool{New: func() any { b := make([]byte, encodeBufSize); return &b }}

// writeChunks encodes data into a pooled buffer a chunk at a time, so there is
// one Write per 64 KiB rather than one per element, and no allocation in the
// steady state.
func writeChunks[T any](w io.Writer, data []T, size int, enc func(dst []byte, src []T)) error {
	bp := encodeBufs.Get().(*[]byte)
	defer encodeBufs.Put(bp)
	buf := *bp
	per := len(buf) / size
	for len(data) > 0 {
		n := min(per, len(data))
		enc(buf[:n*size], data[:n])
		if _, err := w.Write(buf[:n*size]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// WriteFloat32s writes data to w as little-endian float32.
func WriteFloat32s(w io.Writer, data []float32) error {
	return writeChunks(w, data, 4, func(dst []byte, src []float32) {
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	})
}

// WriteFloat64s writes data to w as little-endian float64.
func WriteFloat64s(w io.Writer, data []float64) error {
	return writeChunks(w, data, 8, func(dst []byte, src []float64) {
		for i, v := range src {
			binary.LittleEndian.PutUint64(dst[8*i:], math.Float64bits(v))
		}
	})
}

// WriteInt64s writes data to w as little-endian int64.
func WriteInt64s(w io.Writer, data []int64) error {
	return writeChunks(w, data, 8, func(dst []byte, src []int64) {
		for i, v := range src {
			binary.LittleEndian.PutUint64(dst[8*i:], uint64(v))
		}
	})
}

// WriteInt32s writes data to w as little-endian int32.
func WriteInt32s(w io.Writer, data []int32) error {
	return writeChunks(w, data, 4, func(dst []byte, src []int32) {
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], uint32(v))
		}
	})
}

// WriteBools writes data to w as numpy bools (one byte, 0 or 1).
func WriteBools(w io.Writer, data []bool) error {
	return writeChunks(w, data, 1, func(dst []byte, src []bool) {
		for i, v := range src {
			dst[i] = 0
			if v {
				dst[i] = 1
			}
		}
	})
}

// writeData encodes a Go slice whose element type matches dtype. The match is
// required rather than converted so that a caller's []float64 never turns into
// a float32 file by accident.
func writeData(w io.Writer, dtype DType, data any) error {
	le := binary.LittleEndian
	switch v := data.(type) {
	case []float32:
		return WriteFloat32s(w, v)
	case []float64:
		return WriteFloat64s(w, v)
	case []int64:
		return WriteInt64s(w, v)
	case []int32:
		return WriteInt32s(w, v)
	case []bool:
		return WriteBools(w, v)
	case []uint8:
		_, err := w.Write(v)
		return err
	case []int8:
		return writeChunks(w, v, 1, func(dst []byte, src []int8) {
			for i, x := range src {
				dst[i] = byte(x)
			}
		})
	case []int16:
		return writeChunks(w, v, 2, func(dst []byte, src []int16) {
			for i, x := range src {
				le.PutUint16(dst[2*i:], uint16(x))
			}
		})
	case []uint16:
		return writeChunks(w, v, 2, func(dst []byte, src []uint16) {
			for i, x := range src {
				le.PutUint16(dst[2*i:], x)
			}
		})
	case []uint32:
		return writeChunks(w, v, 4, func(dst []byte, src []uint32) {
			for i, x := range src {
				le.PutUint32(dst[4*i:], x)
			}
		})
	case []uint64:
		return writeChunks(w, v, 8, func(dst []byte, src []uint64) {
			for i, x := range src {
				le.PutUint64(dst[8*i:], x)
			}
		})
	}
	return fmt.Errorf("unsupported data type %T", data)
}

// sliceInfo reports the DType matching a Go slice type and its length.
func sliceInfo(data any) (DType, int, bool) {
	switch v := data.(type) {
	case []bool:
		return Bool, len(v), true
	case []int8:
		return Int8, len(v), true
	case []int16:
		return Int16, len(v), true
	case []int32:
		return Int32, len(v), true
	case []int64:
		return Int64, len(v), true
	case []uint8:
		return Uint8, len(v), true
	case []uint16:
		return Uint16, len(v), true
	case []uint32:
		return Uint32, len(v), true
	case []uint64:
		return Uint64, len(v), true
	case []float32:
		return Float32, len(v), true
	case []float64:
		return Float64, len(v), true
	}
	return 0, 0, false
}
