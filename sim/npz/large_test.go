package npz

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestLargeZip64 writes an entry over 4 GiB followed by a small one, so that
// both the entry size and the later entry's offset need zip64 records, and
// reads them back with this package and (if present) numpy. It needs ~4.3 GB
// of disk and ~9 GB of memory, so it runs only when NPZ_LARGE_TEST is set:
//
//	NPZ_LARGE_TEST=1 go test -run TestLargeZip64 -timeout 20m ./sim/npz/
func TestLargeZip64(t *testing.T) {
	if os.Getenv("NPZ_LARGE_TEST") == "" {
		t.Skip("set NPZ_LARGE_TEST=1 to write and read a >4 GiB archive")
	}
	const n = 1<<32 + 4099 // bytes; an odd count so chunks straddle the 4 GiB mark
	dir := t.TempDir()
	path := filepath.Join(dir, "large.npz")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	aw, err := w.Array("big", Uint8, []int{n})
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20+3)
	for done := 0; done < n; {
		m := min(len(chunk), n-done)
		for i := range chunk[:m] {
			chunk[i] = byte((done + i) % 251)
		}
		if _, err := aw.Write(chunk[:m]); err != nil {
			t.Fatal(err)
		}
		done += m
	}
	if err := w.Float64("after", []int{3}, []float64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	ar, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	after, err := ar.Array("after")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := after.Float64s(); !reflect.DeepEqual(v, []float64{1, 2, 3}) {
		t.Fatalf("after = %v", v)
	}
	big, err := ar.Array("big")
	if err != nil {
		t.Fatal(err)
	}
	if len(big.Data) != n {
		t.Fatalf("big has %d bytes", len(big.Data))
	}
	for _, i := range []int{0, 1, 1<<32 - 1, 1 << 32, n - 1} {
		if big.Data[i] != byte(i%251) {
			t.Fatalf("big[%d] = %d", i, big.Data[i])
		}
	}
	big = nil

	if _, err := os.Stat(systemPython); err != nil {
		return
	}
	requireNumpy(t)
	out := runPython(t, `
import sys, json
import numpy as np
with np.load(sys.argv[1]) as z:
    b = z['big']
    idx = [0, 1, 2**32 - 1, 2**32, b.size - 1]
    print(json.dumps({"after": z['after'].tolist(), "size": int(b.size), "dtype": b.dtype.str,
                      "ok": bool(all(int(b[i]) == i % 251 for i in idx))}))
`, path)
	var got struct {
		After []float64
		Size  int
		DType string
		OK    bool
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.After, []float64{1, 2, 3}) || got.Size != n || got.DType != "|u1" || !got.OK {
		t.Fatalf("numpy saw %+v", got)
	}
}
