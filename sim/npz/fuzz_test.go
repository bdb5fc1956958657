package npz

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validNPYs returns well-formed .npy streams of every dtype, written by this
// package, plus numpy's fixtures: the seeds from which fuzzing mutates.
func validNPYs(t testing.TB) [][]byte {
	var out [][]byte
	for _, dt := range allDTypes {
		for _, shape := range [][]int{{}, {0}, {2, 3}} {
			var b bytes.Buffer
			b.Write(formatHeader(dt, shape))
			if err := writeData(&b, dt, sampleData(dt, prod(shape))); err != nil {
				t.Fatal(err)
			}
			out = append(out, b.Bytes())
		}
	}
	files, _ := filepath.Glob("testdata/*.npy")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func validNPZs(t testing.TB) [][]byte {
	var out [][]byte
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for i, npy := range validNPYs(t)[:8] {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: string(rune('a'+i)) + ".npy", Method: method})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(npy)
		}
		zw.Close()
		out = append(out, b.Bytes())
	}
	files, _ := filepath.Glob("testdata/*.npz")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkErr insists that failures are *Error values naming the input.
func checkErr(t *testing.T, err error, file string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.File != file || !strings.HasPrefix(err.Error(), "npz: "+file+": ") {
		t.Fatalf("error %q (%T) does not name %s", err, err, file)
	}
}

// checkArray verifies a successfully decoded array is self-consistent and
// survives the accessors and a write/read round trip.
func checkArray(t *testing.T, a *Array) {
	t.Helper()
	n, err := dataBytes(a.DType, a.Shape)
	if err != nil || n != len(a.Data) {
		t.Fatalf("inconsistent array: %v %v with %d bytes (%v)", a.DType, a.Shape, len(a.Data), err)
	}
	if _, err := a.Float32s(); err != nil {
		t.Fatal(err)
	}
	a.Float64s() // may refuse inexact integers, must not panic
	a.Int64s()
	var b bytes.Buffer
	b.Write(formatHeader(a.DType, a.Shape))
	b.Write(a.Data)
	again, err := ReadNPYFrom(&b, "again")
	if err != nil {
		t.Fatalf("re-reading our own encoding: %v", err)
	}
	if !bytes.Equal(again.Data, a.Data) || again.DType != a.DType {
		t.Fatal("round trip changed the array")
	}
}

func FuzzReadNPY(f *testing.F) {
	for _, b := range validNPYs(f) {
		f.Add(b)
		for _, cut := range []int{1, 7, 9, 11, 40, len(b) / 2, len(b) - 1} {
			if cut < len(b) {
				f.Add(b[:cut])
			}
		}
		f.Add(append(append([]byte{}, b...), 0))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadNPYFrom(bytes.NewReader(data), "fuzz.npy")
		// A plain reader (no length hint) must reach the same verdict.
		a2, err2 := ReadNPYFrom(struct{ io.Reader }{bytes.NewReader(data)}, "fuzz.npy")
		if (err == nil) != (err2 == nil) {
			t.Fatalf("verdict depends on the reader: %v vs %v", err, err2)
		}
		if err != nil {
			checkErr(t, err, "fuzz.npy")
			checkErr(t, err2, "fuzz.npy")
			return
		}
		if !bytes.Equal(a.Data, a2.Data) {
			t.Fatal("data depends on the reader")
		}
		checkArray(t, a)
	})
}

func FuzzOpenNPZ(f *testing.F) {
	for _, b := range validNPZs(f) {
		f.Add(b)
		for _, cut := range []int{4, 30, 100, len(b) / 2, len(b) - 22, len(b) - 1} {
			if cut > 0 && cut < len(b) {
				f.Add(b[:cut])
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ar, err := newArchive(bytes.NewReader(data), int64(len(data)), "fuzz.npz")
		if err != nil {
			checkErr(t, err, "fuzz.npz")
			return
		}
		for _, name := range ar.Names() {
			a, err := ar.Array(name)
			if err != nil {
				checkErr(t, err, "fuzz.npz")
				if e := (*Error)(nil); errors.As(err, &e) && e.Array != name {
					t.Fatalf("error %q does not name array %q", err, name)
				}
				continue
			}
			checkArray(t, a)
		}
	})
}
