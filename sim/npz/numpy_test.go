package npz

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// systemPython is Debian's interpreter, which has numpy; the python3 first on
// PATH may be a pyenv build without it.
const systemPython = "/usr/bin/python3"

func requireNumpy(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(systemPython, "-c", "import numpy").CombinedOutput(); err != nil {
		t.Skipf("numpy not available via %s (%v: %s); cross-check skipped", systemPython, err, out)
	}
}

func runPython(t *testing.T, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(systemPython, append([]string{"-c", script}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python: %v\n%s", err, stderr)
	}
	return out
}

type pyArray struct {
	Descr   string `json:"descr"`
	Shape   []int  `json:"shape"`
	Fortran bool   `json:"fortran"`
	SHA256  string `json:"sha256"`
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// describePy loads files with numpy and reports, per array, the dtype, the
// shape and a hash of its C-order little-endian bytes.
const describePy = `
import sys, json, hashlib
import numpy as np
def desc(a):
    le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))
    return {"descr": a.dtype.str, "shape": list(a.shape), "fortran": False,
            "sha256": hashlib.sha256(le.tobytes()).hexdigest()}
out = {}
for path in sys.argv[1:]:
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as z:
            for k in z.files:
                out[k] = desc(z[k])
    else:
        out[path] = desc(np.load(path, allow_pickle=False))
print(json.dumps(out))
`

// TestNumpyReadsOurFiles writes every dtype and several shapes with Go and
// checks numpy sees the same dtypes, shapes and bytes.
func TestNumpyReadsOurFiles(t *testing.T) {
	requireNumpy(t)
	dir := t.TempDir()
	npzPath := filepath.Join(dir, "go.npz")
	w, err := Create(npzPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	want := map[string]pyArray{}
	for _, dt := range allDTypes {
		for _, shape := range testShapes {
			name := dt.String() + shapeName(shape)
			data := sampleData(dt, prod(shape))
			if err := w.Put(name, dt, shape, data); err != nil {
				t.Fatal(err)
			}
			want[name] = pyArray{Descr: dt.Descr(), Shape: append([]int{}, shape...), SHA256: sha(leBytes(t, data))}
		}
	}
	// A streamed array in uneven chunks.
	stream := sampleData(Float64, 300*7).([]float64)
	aw, err := w.Array("streamed", Float64, []int{300, 7})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(stream); i += 301 {
		if err := WriteFloat64s(aw, stream[i:min(i+301, len(stream))]); err != nil {
			t.Fatal(err)
		}
	}
	want["streamed"] = pyArray{Descr: "<f8", Shape: []int{300, 7}, SHA256: sha(leBytes(t, stream))}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	npyPath := filepath.Join(dir, "single.npy")
	single := sampleData(Int32, 24)
	if err := WriteNPY(npyPath, Int32, []int{2, 3, 4}, single); err != nil {
		t.Fatal(err)
	}
	want[npyPath] = pyArray{Descr: "<i4", Shape: []int{2, 3, 4}, SHA256: sha(leBytes(t, single))}

	var got map[string]pyArray
	if err := json.Unmarshal(runPython(t, describePy, npzPath, npyPath), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("numpy saw %d arrays, want %d", len(got), len(want))
	}
	for name, w := range want {
		if g := got[name]; !reflect.DeepEqual(g, w) {
			t.Errorf("%s: numpy saw %+v, want %+v", name, g, w)
		}
	}
	t.Logf("numpy agreed on %d arrays", len(want))
}

// genPy writes arrays with numpy in every layout it can produce and reports
// what each should decode to.
const genPy = `
import sys, os, json, hashlib
import numpy as np
from numpy.lib import format as F
d = sys.argv[1]
rng = np.random.default_rng(12345)
out = {}
def note(key, a):
    le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))
    out[key] = {"descr": a.dtype.newbyteorder('<').str if a.dtype.itemsize > 1 else a.dtype.str,
                "shape": list(a.shape), "fortran": bool(a.flags.f_contiguous and not a.flags.c_contiguous),
                "sha256": hashlib.sha256(le.tobytes()).hexdigest()}
def save(name, a, version=None):
    with open(os.path.join(d, name), 'wb') as f:
        F.write_array(f, a, version=version)
    note(name, a)
save('f8.npy', rng.standard_normal((3, 5)))
save('i8.npy', rng.integers(-2**62, 2**62, (4, 6), dtype=np.int64))
save('f8_fortran.npy', np.asfortranarray(rng.standard_normal((37, 41, 3))))
save('f4_fortran_be.npy', np.asfortranarray(rng.standard_normal((8, 9)).astype('>f4')))
save('f8_be.npy', rng.standard_normal(17).astype('>f8'))
save('i8_be_fortran.npy', np.asfortranarray(rng.integers(-9, 9, (5, 4, 3)).astype('>i8')))
save('f8_v2.npy', rng.standard_normal((6, 2)), version=(2, 0))
save('i4_v3.npy', rng.integers(-9, 9, (3, 3), dtype=np.int32), version=(3, 0))
save('b1.npy', rng.random((4, 5)) > 0.5)
save('u2_be.npy', rng.integers(0, 65535, 9).astype('>u2'))
save('scalar.npy', np.array(-1.25))
save('empty.npy', np.zeros((0, 3), np.float32))
arrays = {'w': rng.standard_normal((10, 10)).astype(np.float32),
          'x': np.asfortranarray(rng.standard_normal((4, 5, 6))),
          'n': np.arange(12, dtype='>i8').reshape(3, 4),
          'flag': np.array(True)}
np.savez(os.path.join(d, 'plain.npz'), **arrays)
np.savez_compressed(os.path.join(d, 'compressed.npz'), **arrays)
for z in ('plain.npz', 'compressed.npz'):
    for k, a in arrays.items():
        note(z + '/' + k, a)
print(json.dumps(out))
`

// TestWeReadNumpyFiles has numpy write files in every layout (Fortran order,
// big-endian, format 2.0 and 3.0, compressed archives) and checks that we
// decode exactly the bytes numpy reports.
func TestWeReadNumpyFiles(t *testing.T) {
	requireNumpy(t)
	dir := t.TempDir()
	var want map[string]pyArray
	if err := json.Unmarshal(runPython(t, genPy, dir), &want); err != nil {
		t.Fatal(err)
	}
	archives := map[string]map[string]*Array{}
	for key, w := range want {
		var a *Array
		if zipName, arr, ok := cutArchive(key); ok {
			if archives[zipName] == nil {
				m, err := Load(filepath.Join(dir, zipName))
				if err != nil {
					t.Fatal(err)
				}
				archives[zipName] = m
			}
			a = archives[zipName][arr]
			if a == nil {
				t.Errorf("%s: missing", key)
				continue
			}
		} else {
			var err error
			if a, err = ReadNPY(filepath.Join(dir, key)); err != nil {
				t.Error(err)
				continue
			}
		}
		got := pyArray{Descr: a.DType.Descr(), Shape: append([]int{}, a.Shape...), Fortran: a.FortranOrder, SHA256: sha(a.Data)}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s: got %+v, numpy says %+v", key, got, w)
		}
	}
	t.Logf("read %d numpy-written arrays", len(want))
}

func cutArchive(key string) (string, string, bool) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return "", "", false
}
