package nn4n

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// checkModel asserts what every successfully decoded model must satisfy.
func checkModel(t *testing.T, m *Model) {
	t.Helper()
	for _, l := range m.Layers {
		if len(l.Weight) != l.Out*l.In || (l.Bias != nil && len(l.Bias) != l.Out) {
			t.Fatalf("%s layer: %d weights for (%d, %d), %d biases", l.Name, len(l.Weight), l.Out, l.In, len(l.Bias))
		}
	}
	if m.Layers[1].Out != m.Hidden || m.Hidden < 1 {
		t.Fatalf("hidden size %d vs layer %d", m.Hidden, m.Layers[1].Out)
	}
}

func fixtureFiles(t testing.TB, name string) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*", name))
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		t.Fatalf("no fixture %s to seed the fuzzer", name)
	}
	return out
}

// FuzzCheckpoint feeds arbitrary bytes to the .pt decoder (zip, then pickle).
func FuzzCheckpoint(f *testing.F) {
	for _, b := range fixtureFiles(f, "model.pt") {
		f.Add(b)
	}
	pkl, files := smallModel(nil)
	f.Add(zipped(f, pkl, files))
	// Views (issue 10): the views fixture, strided state dicts and masks,
	// the torch 2.x layout in both byte orders, and malformed views.
	views, err := os.ReadFile("testdata/views/views.pt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(views)
	nn4n := fixtureFiles(f, "model.pt")[0]
	f.Add(torch2Layout(f, nn4n, false))
	f.Add(torch2Layout(f, nn4n, true))
	pkl, files = viewsModel()
	f.Add(zipped(f, pkl, files))
	for _, c := range malformedViews() {
		f.Add(zipped(f, c.pickle(false), malformedViewFiles))
		f.Add(zipped(f, c.pickle(true), malformedViewFiles))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadCheckpointFrom(bytes.NewReader(data), int64(len(data)), "fuzz.pt", Overrides{})
		if err == nil {
			checkModel(t, m)
		}
	})
}

// FuzzPickle runs the pickle machine on arbitrary data.pkl contents, with
// storages of whatever size the pickle asks for (up to 1 MiB).
func FuzzPickle(f *testing.F) {
	views, err := os.ReadFile("testdata/views/views.pt")
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range append(fixtureFiles(f, "model.pt"), views) {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range zr.File {
			if filepath.Base(e.Name) == "data.pkl" {
				rc, _ := e.Open()
				p, _ := io.ReadAll(rc)
				f.Add(p)
			}
		}
	}
	pkl, _ := smallModel(nil)
	f.Add(pkl)
	pkl, _ = viewsModel()
	f.Add(pkl)
	for _, c := range malformedViews() {
		f.Add(c.pickle(false))
		f.Add(c.pickle(true))
	}
	load := func(key string, need int64) ([]byte, error) {
		if need > 1<<20 {
			return nil, errors.New("too big for the fuzzer")
		}
		b := make([]byte, need)
		for i := range b {
			b[i] = byte(i*7 + len(key))
		}
		return b, nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := unpickle(data, load, len(data)%2 == 0)
		if err != nil {
			return
		}
		if m, err := fromPickle("fuzz.pt", "data.pkl", top, Overrides{}); err == nil {
			checkModel(t, m)
		}
	})
}

// FuzzNPZ feeds arbitrary bytes to the NPZ import.
func FuzzNPZ(f *testing.F) {
	for _, b := range fixtureFiles(f, "model.npz") {
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.npz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadNPZ(p, Overrides{})
		if err == nil {
			checkModel(t, m)
		}
	})
}
