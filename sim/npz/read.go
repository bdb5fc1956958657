package npz

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Array is one array read from an .npy file or an .npz entry.
type Array struct {
	Name  string // entry name without ".npy", or the file's base name without ".npy"
	DType DType
	Shape []int // () for a scalar; dims may be zero
	// FortranOrder records the layout in the file. Data is always C order
	// regardless: Fortran-order data is transposed while reading, so callers
	// never need to care.
	FortranOrder bool
	// Data holds the elements in C order, little-endian (big-endian input is
	// byte-swapped while reading), len(Data) == Size()*DType.ItemSize().
	Data []byte
}

// Size returns the number of elements (1 for a scalar).
func (a *Array) Size() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// ReadNPY reads a single .npy file.
func ReadNPY(path string) (*Array, error) {
	return readNPYFile(path, false)
}

// ReadNPYFrom reads one .npy stream from r; name is used as Array.Name and in
// error messages. r is read to its end: bytes after the declared data are an
// error, because they mean the header and the data disagree. If r has a Len
// method (bytes.Reader, strings.Reader, bytes.Buffer) or is a regular
// *os.File, the bytes remaining bound allocation up front; otherwise memory
// grows only as data actually arrives.
func ReadNPYFrom(r io.Reader, name string) (*Array, error) {
	limit, trusted := int64(-1), false
	switch v := r.(type) {
	case interface{ Len() int }:
		limit, trusted = int64(v.Len()), true
	case *os.File:
		// A regular file's remaining size is as good a bound as a Len.
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			if pos, err := v.Seek(0, io.SeekCurrent); err == nil && pos <= fi.Size() {
				limit, trusted = fi.Size()-pos, true
			}
		}
	}
	a, err := readNPY(r, limit, trusted, name, "")
	if a != nil {
		a.Name = name
	}
	return a, err
}

// readNPY decodes an .npy stream. limit is the number of bytes r can yield at
// most (-1 if unknown); when trusted, it is a real bound (a file size) and the
// data buffer is allocated in one go, otherwise it grows as data arrives.
func readNPY(r io.Reader, limit int64, trusted bool, file, array string) (*Array, error) {
	return decodeNPY(r, limit, trusted, file, array, false)
}

// ReadNPYHeader reads only the header of a .npy file: the Array it returns
// has DType, Shape and FortranOrder, and no Data. Like ReadNPY it refuses a
// header whose declared data size is not what the file holds, so callers
// can size what the array will take before reading it.
func ReadNPYHeader(path string) (*Array, error) {
	return readNPYFile(path, true)
}

// readNPYFile reads the .npy file at path, or only its header. The file
// size bounds what the header may declare, so a corrupt shape cannot make
// us allocate more than the file holds.
func readNPYFile(path string, headerOnly bool) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{File: path, Err: errors.New("not a regular file")}
	}
	a, err := decodeNPY(f, fi.Size(), true, path, "", headerOnly)
	if a != nil {
		a.Name = strings.TrimSuffix(filepath.Base(path), ".npy")
	}
	return a, err
}

// decodeNPY is readNPY; with headerOnly it stops after the header's checks
// and returns the array without its data.
func decodeNPY(r io.Reader, limit int64, trusted bool, file, array string, headerOnly bool) (*Array, error) {
	fail := func(err error) (*Array, error) {
		return nil, &Error{File: file, Array: array, Err: err}
	}
	// readFull maps a short read to a message saying what was being read, since
	// io.ErrUnexpectedEOF alone does not tell a user which part is missing.
	readFull := func(buf []byte, what string) error {
		n, err := io.ReadFull(r, buf)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%w: truncated %s: got %d of %d bytes", ErrMalformed, what, n, len(buf))
		default:
			return fmt.Errorf("reading %s: %w", what, err)
		}
	}

	var pre [10]byte
	if err := readFull(pre[:8], "magic"); err != nil {
		if bytes.HasPrefix(pre[:], []byte("PK\x03\x04")) {
			return fail(fmt.Errorf("%w: this is a zip archive (.npz), not an .npy file: name an array inside it", ErrMalformed))
		}
		return fail(err)
	}
	if string(pre[:6]) != npyMagic {
		if string(pre[:4]) == "PK\x03\x04" {
			return fail(fmt.Errorf("%w: this is a zip archive (.npz), not an .npy file: name an array inside it", ErrMalformed))
		}
		return fail(fmt.Errorf("%w: bad magic %q, not an .npy file", ErrMalformed, pre[:6]))
	}
	major, minor := pre[6], pre[7]
	var hlen, prelen int64
	switch {
	case major == 1 && minor == 0:
		if err := readFull(pre[8:10], "header length"); err != nil {
			return fail(err)
		}
		hlen, prelen = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case (major == 2 || major == 3) && minor == 0:
		if err := readFull(pre[8:10], "header length"); err != nil {
			return fail(err)
		}
		var b [2]byte
		if err := readFull(b[:], "header length"); err != nil {
			return fail(err)
		}
		hlen = int64(binary.LittleEndian.Uint16(pre[8:10])) | int64(binary.LittleEndian.Uint16(b[:]))<<16
		prelen = 12
	default:
		return fail(fmt.Errorf("%w: .npy format version %d.%d (supported: 1.0, 2.0, 3.0)", ErrUnsupported, major, minor))
	}
	if hlen > maxHeaderLen {
		return fail(fmt.Errorf("%w: header length %d exceeds the %d-byte limit", ErrMalformed, hlen, maxHeaderLen))
	}
	if limit >= 0 && prelen+hlen > limit {
		return fail(fmt.Errorf("%w: truncated header: declares %d bytes but only %d remain", ErrMalformed, hlen, max(limit-prelen, 0)))
	}
	hbuf := make([]byte, hlen)
	if err := readFull(hbuf, "header"); err != nil {
		return fail(err)
	}
	// Version 1.0 and 2.0 headers are latin-1, 3.0 is UTF-8; valid headers
	// are pure ASCII either way, so the bytes are parsed as they are.
	h, err := parseHeaderDict(string(hbuf))
	if err != nil {
		return fail(err)
	}
	size, _ := dataBytes(h.dtype, h.shape) // checked by parseHeaderDict
	// Where the bytes that follow are known, the header must declare
	// exactly them: refused here, before the data buffer is allocated.
	if limit >= 0 && int64(size) > limit-prelen-hlen {
		return fail(fmt.Errorf("%w: truncated data: shape %s of %s needs %d bytes but only %d remain",
			ErrMalformed, FormatShape(h.shape), h.dtype, size, limit-prelen-hlen))
	}
	if limit >= 0 && int64(size) < limit-prelen-hlen {
		return fail(fmt.Errorf("%w: %d bytes of data after the declared shape %s of %s (%d bytes): the header does not describe the file",
			ErrMalformed, limit-prelen-hlen-int64(size), FormatShape(h.shape), h.dtype, size))
	}
	if headerOnly {
		return &Array{DType: h.dtype, Shape: h.shape, FortranOrder: h.fortran}, nil
	}
	data, err := readData(r, size, trusted)
	if err != nil {
		var te *truncatedError
		if errors.As(err, &te) {
			return fail(fmt.Errorf("%w: truncated data: shape %v of %s needs %d bytes, got %d", ErrMalformed, h.shape, h.dtype, size, te.got))
		}
		return fail(fmt.Errorf("reading data: %w", err))
	}
	// Anything after the data means header and data disagree. Reading to EOF
	// also makes archive/zip verify the entry's CRC.
	var one [1]byte
	if n, err := io.ReadFull(r, one[:]); n > 0 {
		extra := "at least 1 byte"
		if limit >= 0 {
			extra = fmt.Sprintf("%d bytes", limit-prelen-hlen-int64(size))
		}
		return fail(fmt.Errorf("%w: %s of data after the declared shape %v of %s (%d bytes)", ErrMalformed, extra, h.shape, h.dtype, size))
	} else if err != io.EOF {
		return fail(fmt.Errorf("reading data: %w", err))
	}

	if h.bigEndian {
		swapBytes(data, h.dtype.ItemSize())
	}
	if h.fortran && len(h.shape) > 1 {
		data = fortranToC(data, h.shape, h.dtype.ItemSize())
	}
	return &Array{DType: h.dtype, Shape: h.shape, FortranOrder: h.fortran, Data: data}, nil
}

type truncatedError struct{ got int }

func (e *truncatedError) Error() string { return fmt.Sprintf("truncated after %d bytes", e.got) }

// readData reads exactly n bytes. Unless the caller vouches that n bytes
// exist (trusted), the buffer grows geometrically with what arrives, so a
// lying header costs at most about twice the bytes really present.
func readData(r io.Reader, n int, trusted bool) ([]byte, error) {
	const firstChunk = 1 << 20
	c := n
	if !trusted {
		c = min(n, firstChunk)
	}
	buf := make([]byte, c)
	got := 0
	for {
		m, err := io.ReadFull(r, buf[got:])
		got += m
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &truncatedError{got: got}
			}
			return nil, err
		}
		if got == n {
			return buf, nil
		}
		grown := make([]byte, min(n, 2*len(buf)))
		copy(grown, buf)
		buf = grown
	}
}

func swapBytes(data []byte, size int) {
	for i := 0; i+size <= len(data); i += size {
		e := data[i : i+size]
		for a, b := 0, size-1; a < b; a, b = a+1, b-1 {
			e[a], e[b] = e[b], e[a]
		}
	}
}

// fortranToC transposes column-major data into row-major order. It walks the
// output in C order with an odometer over the index while keeping the
// matching Fortran offset incrementally, so no per-element multiplication.
func fortranToC(src []byte, shape []int, size int) []byte {
	dst := make([]byte, len(src))
	if len(src) == 0 {
		return dst
	}
	nd := len(shape)
	fstride := make([]int, nd) // byte stride of each axis in Fortran order
	s := size
	for k := 0; k < nd; k++ {
		fstride[k] = s
		s *= shape[k]
	}
	idx := make([]int, nd)
	off := 0
	for o := 0; o < len(dst); o += size {
		copy(dst[o:o+size], src[off:off+size])
		for k := nd - 1; k >= 0; k-- {
			idx[k]++
			off += fstride[k]
			if idx[k] < shape[k] {
				break
			}
			off -= idx[k] * fstride[k]
			idx[k] = 0
		}
	}
	return dst
}

// Archive is an open .npz file. It is safe for concurrent Array calls only if
// the underlying file is (os.File is).
type Archive struct {
	path    string
	closer  io.Closer
	size    int64
	entries map[string]*zip.File // by array name, without ".npy"
	names   []string
}

// Open opens an .npz archive for reading arrays one at a time.
func Open(path string) (*Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &Error{File: path, Err: err}
	}
	a, err := newArchive(f, fi.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.closer = f
	return a, nil
}

func newArchive(ra io.ReaderAt, size int64, path string) (*Archive, error) {
	zr, err := zip.NewReader(ra, size)
	if errors.Is(err, zip.ErrInsecurePath) && zr != nil {
		// Names like "../x.npy" only matter when extracting to disk; we never
		// do, so such an archive is as readable as any other.
		err = nil
	}
	if err != nil {
		var magic [6]byte
		if n, _ := ra.ReadAt(magic[:], 0); n == 6 && string(magic[:]) == npyMagic {
			return nil, &Error{File: path, Err: fmt.Errorf("%w: this is a single .npy file, not an .npz archive (it holds one array, without a name)", ErrMalformed)}
		}
		return nil, &Error{File: path, Err: fmt.Errorf("%w: not a valid .npz (zip) archive: %v", ErrMalformed, err)}
	}
	a := &Archive{path: path, size: size, entries: map[string]*zip.File{}}
	for _, f := range zr.File {
		name, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok {
			continue // numpy also ignores non-.npy members when loading arrays
		}
		if _, dup := a.entries[name]; dup {
			return nil, &Error{File: path, Array: name, Err: fmt.Errorf("%w: archive holds the entry %q twice", ErrMalformed, f.Name)}
		}
		a.entries[name] = f
		a.names = append(a.names, name)
	}
	sort.Strings(a.names)
	return a, nil
}

// Names lists the arrays in the archive (entry names without ".npy"), sorted.
func (a *Archive) Names() []string { return append([]string(nil), a.names...) }

// Array reads one array; name may be given with or without the ".npy" suffix.
func (a *Archive) Array(name string) (*Array, error) {
	f, ok := a.entries[name]
	if !ok {
		if base, cut := strings.CutSuffix(name, ".npy"); cut {
			f, ok = a.entries[base]
			name = base
		}
	}
	if !ok {
		if len(a.names) == 0 {
			return nil, &Error{File: a.path, Array: name, Err: errors.New("no such array: the archive holds no arrays")}
		}
		return nil, &Error{File: a.path, Array: name, Err: fmt.Errorf("no such array (the archive holds %s)", strings.Join(a.names, ", "))}
	}
	fail := func(err error) (*Array, error) { return nil, &Error{File: a.path, Array: name, Err: err} }
	if f.UncompressedSize64 > 1<<62 {
		return fail(fmt.Errorf("%w: entry claims %d bytes", ErrMalformed, f.UncompressedSize64))
	}
	rc, err := f.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return fail(fmt.Errorf("%w: zip compression method %d (supported: stored, deflate)", ErrUnsupported, f.Method))
		}
		return fail(fmt.Errorf("%w: cannot open zip entry: %v", ErrMalformed, err))
	}
	defer rc.Close()
	// archive/zip enforces the entry's declared uncompressed size, so it bounds
	// the header's claims. Only a stored entry no larger than the archive is
	// backed by real bytes; a deflated one could be a compression bomb, so its
	// buffer grows with the data instead.
	limit := int64(f.UncompressedSize64)
	trusted := f.Method == zip.Store && limit <= a.size
	arr, err := readNPY(rc, limit, trusted, a.path, name)
	if err != nil {
		// Failures of the zip layer while streaming the entry (bad CRC, size
		// mismatch, corrupt deflate data) are malformed input too.
		var e *Error
		var ce flate.CorruptInputError
		if errors.As(err, &e) && !errors.Is(e.Err, ErrMalformed) &&
			(errors.Is(e.Err, zip.ErrChecksum) || errors.Is(e.Err, zip.ErrFormat) ||
				errors.Is(e.Err, io.ErrUnexpectedEOF) || errors.As(e.Err, &ce)) {
			e.Err = fmt.Errorf("%w: %w", ErrMalformed, e.Err)
		}
		return nil, err
	}
	arr.Name = name
	return arr, nil
}

// Header reads only the header of one array (as ReadNPYHeader): the Array
// has DType, Shape and FortranOrder, and no Data. A header whose data size
// is not the entry's declared size is refused.
func (a *Archive) Header(name string) (*Array, error) {
	f, ok := a.entries[name]
	if !ok {
		if base, cut := strings.CutSuffix(name, ".npy"); cut {
			f, ok = a.entries[base]
			name = base
		}
	}
	if !ok {
		return a.Array(name) // says there is no such array
	}
	if f.UncompressedSize64 > 1<<62 {
		return nil, &Error{File: a.path, Array: name, Err: fmt.Errorf("%w: entry claims %d bytes", ErrMalformed, f.UncompressedSize64)}
	}
	rc, err := f.Open()
	if err != nil {
		return a.Array(name) // says why it cannot be read
	}
	defer rc.Close()
	arr, err := decodeNPY(rc, int64(f.UncompressedSize64), false, a.path, name, true)
	if err != nil {
		return nil, err
	}
	arr.Name = name
	return arr, nil
}

// Close releases the archive's file.
func (a *Archive) Close() error {
	if a.closer == nil {
		return nil
	}
	err := a.closer.Close()
	a.closer = nil
	if err != nil {
		return &Error{File: a.path, Err: err}
	}
	return nil
}

// Load reads every array of an .npz archive into a map keyed by name.
func Load(path string) (map[string]*Array, error) {
	a, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	out := make(map[string]*Array, len(a.names))
	for _, name := range a.names {
		arr, err := a.Array(name)
		if err != nil {
			return nil, err
		}
		out[name] = arr
	}
	return out, nil
}
