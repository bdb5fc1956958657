package npz

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

type fixtureArray struct {
	DType   string    `json:"dtype"`
	Shape   []int     `json:"shape"`
	Fortran bool      `json:"fortran"`
	Values  []float64 `json:"values"`
}

type fixtureFile struct {
	fixtureArray
	Arrays map[string]fixtureArray `json:"arrays"`
}

// TestNumpyFixtures reads the files numpy wrote via testdata/gen.py and
// compares them with the values numpy reported, so numpy compatibility is
// checked even where numpy is not installed.
func TestNumpyFixtures(t *testing.T) {
	raw, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Expected map[string]fixtureFile `json:"expected"`
		Rejected map[string]string      `json:"rejected"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, a *Array, want fixtureArray) {
		t.Helper()
		if a.DType.String() != want.DType || !reflect.DeepEqual(append([]int{}, a.Shape...), append([]int{}, want.Shape...)) || a.FortranOrder != want.Fortran {
			t.Fatalf("%s: got %v %v fortran=%v, want %s %v fortran=%v", a.Name, a.DType, a.Shape, a.FortranOrder, want.DType, want.Shape, want.Fortran)
		}
		got, err := a.Float64s()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(append([]float64{}, got...), append([]float64{}, want.Values...)) {
			t.Fatalf("%s: values %v, want %v", a.Name, got, want.Values)
		}
	}
	fortranSeen := 0
	for file, want := range fx.Expected {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", file)
			if want.Arrays == nil {
				a, err := ReadNPY(path)
				if err != nil {
					t.Fatal(err)
				}
				check(t, a, want.fixtureArray)
				if want.Fortran {
					fortranSeen++
				}
				return
			}
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != len(want.Arrays) {
				t.Fatalf("%d arrays, want %d", len(m), len(want.Arrays))
			}
			for name, w := range want.Arrays {
				if m[name] == nil {
					t.Fatalf("array %q missing", name)
				}
				check(t, m[name], w)
			}
		})
	}
	if fortranSeen < 3 {
		t.Errorf("only %d Fortran-order fixtures; gen.py changed?", fortranSeen)
	}
	for file, want := range fx.Rejected {
		path := filepath.Join("testdata", file)
		_, err := ReadNPY(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) || !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want an unsupported-dtype error containing %q", file, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "supported: ") {
			t.Errorf("%s: error does not list what is supported: %v", file, err)
		}
	}
}

// rawNPY assembles an .npy stream from a dict text, padding like numpy.
func rawNPY(major byte, dict string, data []byte) []byte {
	lenSize := 2
	if major > 1 {
		lenSize = 4
	}
	total := 8 + lenSize + len(dict) + 1
	dict += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{major, 0})
	if lenSize == 2 {
		binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(dict)))
	}
	b.WriteString(dict)
	b.Write(data)
	return b.Bytes()
}

func TestHeaderVariants(t *testing.T) {
	data := leBytes(t, []int64{1, 2, 3, 4, 5, 6})
	for _, dict := range []string{
		"{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }", // Python 2 numpy
		`{"descr": "<i8", "fortran_order": False, "shape": (2, 3)}`,
		"{'shape':(2,3),'fortran_order':False,'descr':'<i8'}",
		"{u'descr': u'<i8', 'fortran_order': False, 'shape': (2, 3,), }",
		"{'descr': '<i8', 'fortran_order': 0 == 0, 'shape': (2, 3), }", // must fail: not a literal
	} {
		for _, major := range []byte{1, 2, 3} {
			a, err := ReadNPYFrom(bytes.NewReader(rawNPY(major, dict, data)), "v.npy")
			if strings.Contains(dict, "==") {
				if err == nil {
					t.Errorf("%s accepted", dict)
				}
				continue
			}
			if err != nil {
				t.Errorf("v%d %s: %v", major, dict, err)
				continue
			}
			if !reflect.DeepEqual(a.Shape, []int{2, 3}) || !bytes.Equal(a.Data, data) {
				t.Errorf("%s: %v %x", dict, a.Shape, a.Data)
			}
		}
	}
}

func TestMalformedNPY(t *testing.T) {
	good := func(shape string, n int) []byte {
		return rawNPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': "+shape+", }", make([]byte, n))
	}
	valid := good("(2, 3)", 24)
	v2huge := append([]byte(npyMagic+"\x02\x00"), 0xff, 0xff, 0xff, 0xff)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated magic"},
		{"bad magic", append([]byte("\x93NUMPX\x01\x00"), valid[8:]...), "bad magic"},
		{"zip", []byte("PK\x03\x04rest of a zip"), "zip archive"},
		{"truncated magic", valid[:5], "truncated magic"},
		{"truncated length", valid[:9], "truncated header length"},
		{"truncated header", valid[:40], "truncated header"},
		{"version 4", append([]byte(npyMagic+"\x04\x00"), valid[8:]...), "version 4.0"},
		{"version 1.1", append([]byte(npyMagic+"\x01\x01"), valid[8:]...), "version 1.1"},
		{"huge header", v2huge, "header length 4294967295"},
		{"not a dict", rawNPY(1, "[1, 2]", nil), "not a dict"},
		{"not a literal", rawNPY(1, "{'descr': <f4}", nil), "not a Python dict literal"},
		{"unterminated", rawNPY(1, "{'descr': '<f4", nil), "newline inside a string"},
		{"unterminated at end", []byte(npyMagic + "\x01\x00\x0b\x00{'descr': '"), "unterminated string"},
		{"trailing junk", rawNPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", nil), "after the literal"},
		{"missing key", rawNPY(1, "{'descr': '<f4', 'shape': (2,), }", nil), `lacks the key "fortran_order"`},
		{"extra key", rawNPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", nil), `unexpected keys "x"`},
		{"negative dim", good("(-1,)", 0), "shape element 0 is -1"},
		{"overflow", good("(9223372036854775807, 2)", 0), "more elements than fit"},
		{"bytes overflow", good("(4611686018427387904,)", 0), "larger than addressable memory"},
		{"huge literal", good("(99999999999999999999,)", 0), "out of range"},
		{"shape not tuple", good("(3)", 12), "shape is a Python int"},
		{"shape float", good("(3.0,)", 12), "not an integer literal"},
		{"shape list", good("[3]", 12), "shape is a Python list"},
		{"too many dims", good("("+strings.Repeat("1,", 65)+")", 4), "65 dimensions"},
		{"fortran not bool", rawNPY(1, "{'descr': '<f4', 'fortran_order': 1, 'shape': ()}", nil), "fortran_order is a Python int"},
		{"descr int", rawNPY(1, "{'descr': 4, 'fortran_order': False, 'shape': ()}", nil), "descr is a Python int"},
		{"native order", rawNPY(1, "{'descr': '=f8', 'fortran_order': False, 'shape': ()}", nil), "no definite byte order"},
		{"short data", valid[:len(valid)-1], "needs 24 bytes but only 23 remain"},
		{"long data", append(append([]byte{}, valid...), 0), "1 bytes of data after"},
		{"absurd size", good("(1099511627776,)", 16), "needs 4398046511104 bytes but only 16 remain"},
		{"deep nesting", rawNPY(1, strings.Repeat("(", 1000), nil), "nested deeper"},
	}
	for _, c := range cases {
		_, err := ReadNPYFrom(bytes.NewReader(c.in), "bad.npy")
		var e *Error
		if err == nil || !errors.As(err, &e) || e.File != "bad.npy" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an *Error for bad.npy containing %q", c.name, err, c.want)
			continue
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v wraps neither ErrMalformed nor ErrUnsupported", c.name, err)
		}
		// Without a length hint the reader must reach the same verdict.
		if _, err2 := ReadNPYFrom(struct{ io.Reader }{bytes.NewReader(c.in)}, "bad.npy"); err2 == nil {
			t.Errorf("%s: accepted from a plain io.Reader", c.name)
		}
	}

	// The same through ReadNPY, where the file size is the bound.
	path := filepath.Join(t.TempDir(), "short.npy")
	os.WriteFile(path, valid[:len(valid)-3], 0o644)
	if _, err := ReadNPY(path); err == nil || !strings.Contains(err.Error(), path+": malformed: truncated data") {
		t.Errorf("ReadNPY of a short file: %v", err)
	}
	if _, err := ReadNPY(path + ".missing"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadNPY of a missing file: %v", err)
	}
}

// TestAbsurdSizeDoesNotAllocate: a header claiming a terabyte must be refused
// without allocating anything like it, with or without a length hint.
func TestAbsurdSizeDoesNotAllocate(t *testing.T) {
	in := rawNPY(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", make([]byte, 100))
	for _, r := range []func() io.Reader{
		func() io.Reader { return bytes.NewReader(in) },
		func() io.Reader { return struct{ io.Reader }{bytes.NewReader(in)} },
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadNPYFrom(r(), "absurd.npy")
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatal("accepted")
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 4<<20 {
			t.Errorf("allocated %d bytes to reject it", d)
		}
	}
}

func TestFortranToC(t *testing.T) {
	// A 2x3 matrix [[0,1,2],[3,4,5]] stored column-major is 0,3,1,4,2,5.
	f := []byte{0, 3, 1, 4, 2, 5}
	if got := fortranToC(f, []int{2, 3}, 1); !bytes.Equal(got, []byte{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("2x3: %v", got)
	}
	// 2x3x4 against an explicit index computation, 2-byte items.
	shape := []int{2, 3, 4}
	src := make([]byte, 2*24)
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				c := (i*3+j)*4 + k
				fo := i + 2*(j+3*k)
				binary.LittleEndian.PutUint16(src[2*fo:], uint16(c))
			}
		}
	}
	got := fortranToC(src, shape, 2)
	for c := 0; c < 24; c++ {
		if v := binary.LittleEndian.Uint16(got[2*c:]); int(v) != c {
			t.Fatalf("element %d = %d", c, v)
		}
	}
}

func writeZip(t *testing.T, path string, entries map[string][]byte, method uint16) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedNPZ(t *testing.T) {
	dir := t.TempDir()
	valid := rawNPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", make([]byte, 24))

	notZip := filepath.Join(dir, "notzip.npz")
	os.WriteFile(notZip, []byte("hello, world"), 0o644)
	if _, err := Open(notZip); err == nil || !strings.Contains(err.Error(), notZip+": malformed: not a valid .npz") {
		t.Errorf("not a zip: %v", err)
	}
	npy := filepath.Join(dir, "x.npy")
	os.WriteFile(npy, valid, 0o644)
	if _, err := Open(npy); err == nil || !strings.Contains(err.Error(), "a single .npy file, not an .npz archive") || strings.Contains(err.Error(), "npz.") {
		t.Errorf("npy given to Open: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.npz")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}

	mixed := filepath.Join(dir, "mixed.npz")
	writeZip(t, mixed, map[string][]byte{"a.npy": valid, "README.txt": []byte("hi"), "short.npy": valid[:len(valid)-4]}, zip.Deflate)
	ar, err := Open(mixed)
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	if got := ar.Names(); !reflect.DeepEqual(got, []string{"a", "short"}) {
		t.Errorf("Names = %v", got)
	}
	if _, err := ar.Array("a"); err != nil {
		t.Error(err)
	}
	if _, err := ar.Array("short"); err == nil || !strings.Contains(err.Error(), mixed+`: array "short": malformed: truncated data`) {
		t.Errorf("short entry: %v", err)
	}
	if _, err := Load(mixed); err == nil || !strings.Contains(err.Error(), `array "short"`) {
		t.Errorf("Load: %v", err)
	}
	if _, err := ReadNPY(mixed); err == nil || !strings.Contains(err.Error(), "a zip archive (.npz), not an .npy file") || strings.Contains(err.Error(), "npz.") {
		t.Errorf("npz given to ReadNPY: %v", err)
	}

	// Flip a data byte of a stored entry: only the CRC can catch it.
	crc := filepath.Join(dir, "crc.npz")
	writeZip(t, crc, map[string][]byte{"a.npy": valid}, zip.Store)
	b, _ := os.ReadFile(crc)
	i := bytes.Index(b, valid) + len(valid) - 1
	b[i] ^= 0xff
	os.WriteFile(crc, b, 0o644)
	if _, err := Load(crc); err == nil || !errors.Is(err, ErrMalformed) || !errors.Is(err, zip.ErrChecksum) || !strings.Contains(err.Error(), `array "a"`) {
		t.Errorf("CRC error: %v", err)
	}

	// Every truncation of a valid archive fails cleanly.
	good := filepath.Join(dir, "good.npz")
	w, _ := Create(good)
	w.Float32("x", []int{2, 3}, make([]float32, 6))
	w.Int64("y", []int{4}, make([]int64, 4))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(good)
	for n := 0; n < len(full); n++ {
		ar, err := newArchive(bytes.NewReader(full[:n]), int64(n), "cut.npz")
		if err != nil {
			continue
		}
		for _, name := range ar.Names() {
			if _, err := ar.Array(name); err == nil {
				t.Fatalf("truncated to %d bytes, array %s read fine", n, name)
			}
		}
	}
}

func TestReadNPYFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.npy")
	if err := WriteNPY(path, Int16, []int{3}, []int16{-1, 0, 1}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := ReadNPYFrom(f, "f")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Int64s(); !reflect.DeepEqual(v, []int64{-1, 0, 1}) || a.Name != "f" {
		t.Fatalf("%s: %v", a.Name, v)
	}
}
