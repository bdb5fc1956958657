package nn4n

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/sim/npz"
)

// Issue 10: torch.save keeps a tensor as a view (its whole storage, plus the
// view's offset and strides), so checkpoints arrive with transposed, sliced,
// broadcast and storage-sharing tensors — nn4n's MultiAreaEI masks among
// them, as int64 tensors with transposed strides.

// bigInt is an int beyond 64 bits (2⁶⁴), as pickle's LONG1 writes it.
type bigInt struct{}

// val writes an int (BININT, or LONG1 beyond int32), a bigInt or a string.
func (p *pk) val(v any) *pk {
	switch v := v.(type) {
	case int:
		if v == int(int32(v)) {
			return p.int(v)
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(int64(v)))
		return p.op(0x8a, 8).op(b[:]...)
	case bigInt:
		return p.op(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1)
	case string:
		return p.str(v)
	}
	panic(fmt.Sprintf("pk.val(%T)", v))
}

func (p *pk) tuple(vs ...any) *pk {
	p.op('(')
	for _, v := range vs {
		p.val(v)
	}
	return p.op('t')
}

// view writes _rebuild_tensor_v2 with any offset, size and stride values.
func (p *pk) view(typ, key string, numel int, off any, size, stride []any) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", typ).str(key).str("cpu").int(numel).op('t', 'Q')
	p.val(off).tuple(size...).tuple(stride...).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

func anys(vs ...int) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// viewsModel is a 2-input, 3-unit, 1-output model whose state dict is all
// views of storage "0" (20 float32 values 1, 2, …, 20): the input weight
// transposed, the hidden weight sliced with steps, the readout weight a row
// of it, the hidden bias broadcast (stride 0); kwargs' hidden E/I mask is a
// transposed int64 view sharing storage "1" with the readout's.
func viewsModel() (pkl []byte, files map[string][]byte) {
	pkl = checkpoint(func(p *pk) {
		p.str(KeyInputWeight).tensor("FloatStorage", "0", 20, 0, []int{3, 2}, []int{1, 3})   // W[i][j] = s[i + 3j]
		p.str(KeyHiddenWeight).tensor("FloatStorage", "0", 20, 2, []int{3, 3}, []int{6, 2})  // s[2 + 6i + 2j]
		p.str(KeyReadoutWeight).tensor("FloatStorage", "0", 20, 7, []int{1, 3}, []int{0, 4}) // s[7 + 4j]
		p.str(KeyHiddenBias).tensor("FloatStorage", "0", 20, 19, []int{3}, []int{0})         // s[19] thrice
		p.str(KeyAlpha).tensor("FloatStorage", "2", 1, 0, []int{3}, []int{0})                // one α for all
	}, func(p *pk) {
		p.str("ei_masks").op(']', '(', 'N')
		p.tensor("LongStorage", "1", 12, 0, []int{3, 3}, []int{1, 3}) // (pre, post) = Eᵀ
		p.tensor("LongStorage", "1", 12, 9, []int{3, 1}, []int{1, 3}) // the last column
		p.op('e')
	})
	ei := make([]byte, 8*12)
	for k := range 12 {
		v := int64(1) // E[post][pre] = s[3·post + pre]: pre unit 1 inhibitory
		if k%3 == 1 {
			v = -1
		}
		binary.LittleEndian.PutUint64(ei[8*k:], uint64(v))
	}
	return pkl, map[string][]byte{"data/0": f32bytes(seq(20, 1), false), "data/1": ei, "data/2": f32bytes([]float32{0.25}, false)}
}

func TestCheckpointStridedViews(t *testing.T) {
	pkl, files := viewsModel()
	m, err := readBytes(t, zipped(t, pkl, files), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	s := func(k int) float64 { return float64(k + 1) } // storage element k
	want := [3][]float64{
		{s(0), s(3), s(1), s(4), s(2), s(5)},
		{s(2), s(4), s(6), s(8), s(10), s(12), s(14), s(16), s(18)},
		{s(7), s(11), s(15)},
	}
	for i, l := range m.Layers {
		if !equal(l.Weight, want[i]) {
			t.Errorf("%s weight %v, want %v", l.Name, l.Weight, want[i])
		}
	}
	if b := m.Layers[1].Bias; !equal(b, []float64{20, 20, 20}) {
		t.Errorf("broadcast hidden bias %v, want [20 20 20]", b)
	}
	if !equal(m.Alpha, []float64{0.25, 0.25, 0.25}) {
		t.Errorf("broadcast alpha %v, want 0.25 thrice", m.Alpha)
	}
	// (pre, post) E/I masks: row pre is that unit's sign.
	if e := m.Layers[1].EIMask; !equal(e, []float64{1, 1, 1, -1, -1, -1, 1, 1, 1}) {
		t.Errorf("transposed E/I mask %v, want rows [1 1 1] [-1 -1 -1] [1 1 1]", e)
	}
	if e := m.Layers[2].EIMask; !equal(e, []float64{1, -1, 1}) {
		t.Errorf("readout E/I mask (a column of the shared storage) %v, want [1 -1 1]", e)
	}

	// The same from a big-endian file: the views are unchanged, only each
	// element's bytes are swapped.
	files["data/0"] = f32bytes(seq(20, 1), true)
	files["data/2"] = f32bytes([]float32{0.25}, true)
	for k := 0; k < len(files["data/1"]); k += 8 {
		binary.BigEndian.PutUint64(files["data/1"][k:], binary.LittleEndian.Uint64(files["data/1"][k:]))
	}
	files["byteorder"] = []byte("big")
	mb, err := readBytes(t, zipped(t, pkl, files), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, mb) {
		t.Errorf("big-endian views decode differently:\n%+v\n%+v", m, mb)
	}
}

// malformedView is a hidden weight (or kwargs E/I mask) with a bad view of
// storage data/9, and what its error must say.
type malformedView struct {
	name         string
	off          any
	size, stride []any
	want         string
}

func malformedViews() []malformedView {
	dims := make([]any, 33)
	for i := range dims {
		dims[i] = 1
	}
	return []malformedView{
		{"negative offset", -1, anys(3, 3), anys(3, 1), "the storage offset is negative"},
		{"negative size", 0, anys(3, -3), anys(3, 1), "size 1 is negative"},
		{"negative stride", 2, anys(3, 3), anys(3, -1), "stride 1 is negative"},
		{"offset beyond", 9, anys(3, 3), anys(3, 1), "the offset lies beyond the storage's end"},
		{"last element beyond", 1, anys(3, 3), anys(3, 1), "its last element lies beyond the storage's end (at element 9)"},
		{"stride beyond", 0, anys(3, 3), anys(1<<61, 1), "beyond the storage's end (at element 4611686018427387906)"},
		{"reach overflows", 0, anys(3, 3), anys(1<<62, 1<<62), "beyond the storage's end (at element beyond 2⁶³)"},
		{"offset overflows", bigInt{}, anys(3, 3), anys(3, 1), "the storage offset overflows 64 bits"},
		{"size overflows", 0, []any{bigInt{}, 3}, anys(3, 1), "size 0 overflows 64 bits"},
		{"stride overflows", 0, anys(3, 3), []any{3, bigInt{}}, "stride 1 overflows 64 bits"},
		{"huge int64 values", 1 << 62, anys(1<<62, 1<<62), anys(1<<62, 1<<62), "more than 2³² elements"},
		{"element count overflows", 0, anys(1<<20, 1<<20, 1<<20), anys(0, 0, 0), "more than 2³² elements"},
		{"ranks differ", 0, anys(3, 3), anys(3), "size and stride differ in length"},
		{"too many dimensions", 0, dims, dims, "33 dimensions"},
		{"stride not an int", 0, anys(3, 3), []any{"3", 1}, "stride 0 is a str, not an int"},
		{"broadcast too large", 0, anys(4096, 4096), anys(0, 0), "a broadcast view of 16777216 elements over 9 stored ones"},
	}
}

// pickle is a checkpoint holding the bad view as the hidden weight, or as
// kwargs ei_masks[1].
func (c malformedView) pickle(inKwargs bool) []byte {
	bad := func(p *pk) { p.view("FloatStorage", "9", 9, c.off, c.size, c.stride) }
	return checkpoint(func(p *pk) {
		p.str(KeyInputWeight).tensor("FloatStorage", "0", 20, 0, []int{3, 2}, []int{2, 1})
		p.str(KeyReadoutWeight).tensor("FloatStorage", "0", 20, 0, []int{1, 3}, []int{3, 1})
		p.str(KeyHiddenWeight)
		if inKwargs {
			p.tensor("FloatStorage", "0", 20, 0, []int{3, 3}, []int{3, 1})
		} else {
			bad(p)
		}
	}, func(p *pk) {
		if inKwargs {
			p.str("ei_masks").op(']', '(', 'N')
			bad(p)
			p.op('N', 'e')
		}
	})
}

var malformedViewFiles = map[string][]byte{"data/0": f32bytes(seq(20, 1), false), "data/9": f32bytes(seq(9, 1), false)}

// Malformed offsets, sizes and strides are errors that name the tensor (its
// state-dict key or kwarg) and the storage, and say what is wrong.
func TestMalformedViews(t *testing.T) {
	for _, c := range malformedViews() {
		t.Run(c.name, func(t *testing.T) {
			for _, inKwargs := range []bool{false, true} {
				where := "model_state_dict key " + KeyHiddenWeight
				if inKwargs {
					where = "kwargs ei_masks[1]"
				}
				_, err := readBytes(t, zipped(t, c.pickle(inKwargs), malformedViewFiles), Overrides{})
				if err == nil {
					t.Fatalf("%s: no error", where)
				}
				for _, w := range []string{"test.pt: " + where + ": view (size ", "of storage data/9 (9 float32 elements)", c.want} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
		})
	}
}

// testdata/views (gen_fixtures.py) holds one of each kind of view torch.save
// and numpy write, and their logical values: each decodes to them exactly.
func TestViewsFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/views/views.pt")
	if err != nil {
		t.Fatal(err)
	}
	top, _, err := decodeArchive(bytes.NewReader(data), int64(len(data)), "views.pt")
	if err != nil {
		t.Fatal(err)
	}
	d, ok := top.(*pyDict)
	if !ok {
		t.Fatalf("views.pt holds a %s", describe(top))
	}
	want, err := npz.Load("testdata/views/views.npz")
	if err != nil {
		t.Fatal(err)
	}
	tensors := map[string]*Tensor{}
	for _, k := range d.stringKeys() {
		v, _ := d.get(k)
		tt, ok := asTensor(v)
		if !ok {
			t.Fatalf("%s is a %s", k, describe(v))
		}
		tensors[k] = tt
		w, ok := want[k]
		if !ok {
			t.Fatalf("views.npz has no %s", k)
		}
		got, err := tt.Float64s()
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		wv, _ := w.Float64s()
		if fmt.Sprint(tt.Shape) != fmt.Sprint(w.Shape) || !equal(got, wv) {
			t.Errorf("%s: shape %v %v, want %v %v", k, tt.Shape, got, w.Shape, wv)
		}
	}
	if len(tensors) != len(want) {
		t.Errorf("views.pt holds %d entries, views.npz %d", len(tensors), len(want))
	}
	// The fixture has what it is for.
	for _, c := range []struct {
		key, what string
		ok        func(t *Tensor) bool
	}{
		{"transposed", "non-contiguous", func(t *Tensor) bool { return !t.contiguous() }},
		{"sliced", "a storage offset and steps", func(t *Tensor) bool { return t.offset > 0 && t.stride[1] > 1 }},
		{"broadcast", "a stride 0", func(t *Tensor) bool { return t.stride[1] == 0 }},
		{"scalar_view", "0-d with an offset", func(t *Tensor) bool { return len(t.Shape) == 0 && t.offset == 7 }},
		{"np_fortran_f8", "Fortran order", func(t *Tensor) bool { return !t.contiguous() }},
		{"np_big_fortran_i8", "big-endian Fortran order", func(t *Tensor) bool { return t.st.big && !t.contiguous() }},
	} {
		if tt := tensors[c.key]; tt == nil || !c.ok(tt) {
			t.Errorf("views.pt %s is not %s", c.key, c.what)
		}
	}
	if a, b, cc := tensors["shared_a"], tensors["shared_b"], tensors["shared_c"]; a == nil || a.st != b.st || a.st != cc.st {
		t.Error("shared_a, shared_b and shared_c must view one storage")
	}
}

// nn4n's kwargs masks and the views fixture's state dict are the views
// issue 10 is about, and the masks decode to their logical (pre, post)
// values (masks.npz).
func TestFixturesViewsAndMasks(t *testing.T) {
	kinds := map[string]bool{}
	for _, c := range fixtureCases(t) {
		if c.Kind != "nn4n" && c.Kind != "views" {
			continue
		}
		kinds[c.Kind] = true
		t.Run(c.Name, func(t *testing.T) {
			data, err := os.ReadFile(fixture(c.Name, "model.pt"))
			if err != nil {
				t.Fatal(err)
			}
			top, _, err := decodeArchive(bytes.NewReader(data), int64(len(data)), c.Name)
			if err != nil {
				t.Fatal(err)
			}
			get := func(d any, keys ...any) *Tensor {
				for _, k := range keys {
					switch kk := k.(type) {
					case string:
						d, _ = d.(*pyDict).get(kk)
					case int:
						items, _ := sequence(d)
						d = items[kk]
					}
				}
				tt, ok := asTensor(d)
				if !ok {
					t.Fatalf("%v is a %s", keys, describe(d))
				}
				return tt
			}
			s0 := get(top, "kwargs", "sparsity_masks", 0)
			if c.Kind == "nn4n" {
				// As nn4n's CTRNN leaves get_masks()' m.T: int64, transposed.
				if s0.DType != "int64" || fmt.Sprint(s0.stride) != fmt.Sprintf("[1 %d]", s0.Shape[0]) {
					t.Errorf("kwargs sparsity_masks[0] is %s with strides %v; nn4n saves int64 with strides [1 %d]", s0.DType, s0.stride, s0.Shape[0])
				}
			} else {
				sd := func(k string) *Tensor { return get(top, "model_state_dict", k) }
				if sd(KeyHiddenWeight).contiguous() || sd(KeyInputWeight).offset == 0 || sd(KeyAlpha).stride[0] != 0 ||
					sd(KeyReadoutWeight).st != sd(KeyHiddenBias).st || sd(KeyReadoutBias).stride[0] != 3 {
					t.Error("the views fixture's state dict lost its views")
				}
				e1, e2 := get(top, "kwargs", "ei_masks", 1), get(top, "kwargs", "ei_masks", 2)
				if e1.st != e2.st || e2.offset == 0 || get(top, "kwargs", "sparsity_masks", 1).offset == 0 {
					t.Error("the views fixture's kwargs lost their views")
				}
			}
			m, err := ReadCheckpoint(fixture(c.Name, "model.pt"), Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := npz.Load(fixture(c.Name, "masks.npz"))
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatal("masks.npz is empty")
			}
			for key, a := range want {
				kind, idx, _ := strings.Cut(key, ".")
				i, _ := strconv.Atoi(idx)
				l := m.Layers[i]
				got := map[string][]float64{"sparsity_masks": l.SparsityMask, "ei_masks": l.EIMask}[kind]
				wv, _ := a.Float64s()
				if a.Shape[0] != l.In || a.Shape[1] != l.Out || !equal(got, wv) {
					t.Errorf("%s: the decoded mask differs from the view's logical values", key)
				}
			}
			if v := m.MaskViolations(); v != [3]int{} {
				t.Errorf("mask violations %v: a mask or a weight was read in the wrong orientation", v)
			}
		})
	}
	if !kinds["nn4n"] || !kinds["views"] {
		t.Errorf("fixtures of kind nn4n and views are both needed; have %v", kinds)
	}
}

// torch2Layout rewrites a checkpoint written by torch 1.13 (Debian's, which
// the fixtures come from) as torch 2.x lays it out, for the 2.x files this
// test cannot produce. What 2.x changes, none of it in data.pkl:
//   - the records' order, and three new ones: data.pkl, .format_version
//     ("1", recent 2.x), .storage_alignment ("64", recent 2.x), byteorder
//     ("little" or "big", 2.1 on), data/KEY in numeric key order (1.13:
//     lexicographic), version ("3\n", as in 1.x), .data/serialization_id
//     (2.1 on, 40 digits: a hash of the record names and the CRCs);
//   - the folder is "archive" here, as torch writes when torch.save gets a
//     file object (given a path, both versions use the file's base name,
//     which is what the 1.13 fixtures have: model/);
//   - big: a big-endian machine's file, byteorder "big" and every storage
//     element's bytes reversed (1.x wrote no byteorder, and torch.load
//     takes such files as native).
//
// data.pkl is copied as is: 2.x pickles storages as ('storage',
// torch.FloatStorage, KEY, 'cpu', numel) and tensors with
// _rebuild_tensor_v2, exactly as 1.13 does. Each record's data starts on a
// 64-byte boundary behind an "FB" extra field, as PyTorchStreamWriter pads
// it; the zip64 end records miniz writes in both versions are in the 1.13
// fixtures already.
func torch2Layout(t testing.TB, pt []byte, big bool) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pt), int64(len(pt)))
	if err != nil {
		t.Fatal(err)
	}
	records := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		_, name, _ := strings.Cut(f.Name, "/")
		records[name] = b
	}
	if _, ok := records["byteorder"]; ok {
		t.Fatal("the source already has a byteorder record: not a 1.x file")
	}
	var keys []string
	for name := range records {
		if k, ok := strings.CutPrefix(name, "data/"); ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(keys[i])
		b, _ := strconv.Atoi(keys[j])
		return a < b
	})
	if big {
		// Each storage's element size, from the pickle's persistent ids.
		u := &unpickler{data: records["data.pkl"], memo: map[uint64]any{}, storages: map[string]*storage{},
			load: func(string, int64) ([]byte, error) { return nil, fmt.Errorf("not loaded") }}
		if _, err := u.run(); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			s, ok := u.storages[k]
			if !ok {
				t.Fatalf("data/%s is not in the pickle", k)
			}
			b := append([]byte(nil), records["data/"+k]...)
			for e := 0; e+s.typ.size <= len(b); e += s.typ.size {
				for i, j := e, e+s.typ.size-1; i < j; i, j = i+1, j-1 {
					b[i], b[j] = b[j], b[i]
				}
			}
			records["data/"+k] = b
		}
	}
	order := "little"
	if big {
		order = "big"
	}
	names := []string{"data.pkl", ".format_version", ".storage_alignment", "byteorder"}
	for _, k := range keys {
		names = append(names, "data/"+k)
	}
	names = append(names, "version", ".data/serialization_id")
	records[".format_version"], records[".storage_alignment"], records["byteorder"] = []byte("1"), []byte("64"), []byte(order)
	var names32, crcs uint32
	for _, n := range names[:len(names)-1] {
		names32 = names32*31 + crc32.ChecksumIEEE([]byte(n))
		crcs ^= crc32.ChecksumIEEE(records[n])
	}
	records[".data/serialization_id"] = fmt.Appendf(nil, "%020d%020d", names32, crcs)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, n := range names {
		full := "archive/" + n
		if err := zw.Flush(); err != nil {
			t.Fatal(err)
		}
		// The previous record's 16-byte data descriptor (written when this
		// one is created, as torch too writes one behind each record), a
		// 30-byte local header, the name, then the extra field: the data
		// starts after all of that.
		at := buf.Len()
		if i > 0 {
			at += 16
		}
		pad := (64 - (at+30+len(full)+4)%64) % 64
		extra := append([]byte{'F', 'B', byte(pad), byte(pad >> 8)}, bytes.Repeat([]byte("Z"), pad)...)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: full, Method: zip.Store, Extra: extra})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(records[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	// Check the layout: the folder, the order, the alignment.
	zr, err = zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil || off%64 != 0 || f.Name != "archive/"+names[i] {
			t.Fatalf("rewritten record %d is %s at %d (%v), want archive/%s 64-byte aligned", i, f.Name, off, err, names[i])
		}
	}
	return out
}

// Every checkpoint fixture decodes to the same model from the 2.x layout,
// little- and big-endian, as from the 1.13 file.
func TestTorch2Layout(t *testing.T) {
	n := 0
	for _, c := range fixtureCases(t) {
		if !c.Checkpoint {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			pt, err := os.ReadFile(fixture(c.Name, "model.pt"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadCheckpointFrom(bytes.NewReader(pt), int64(len(pt)), "model.pt", Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			for _, big := range []bool{false, true} {
				v2 := torch2Layout(t, pt, big)
				got, err := ReadCheckpointFrom(bytes.NewReader(v2), int64(len(v2)), "model.pt", Overrides{})
				if err != nil {
					t.Fatalf("2.x layout (big-endian %v): %v", big, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("2.x layout (big-endian %v) decodes to another model", big)
				}
			}
		})
	}
	if n < 4 {
		t.Fatalf("only %d checkpoint fixtures", n)
	}

	// The views fixture too, value by value.
	pt, err := os.ReadFile("testdata/views/views.pt")
	if err != nil {
		t.Fatal(err)
	}
	decode := func(b []byte) map[string][]float64 {
		top, _, err := decodeArchive(bytes.NewReader(b), int64(len(b)), "views.pt")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float64{}
		d := top.(*pyDict)
		for _, k := range d.stringKeys() {
			v, _ := d.get(k)
			tt, _ := asTensor(v)
			if out[k], err = tt.Float64s(); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
		}
		return out
	}
	want := decode(pt)
	for _, big := range []bool{false, true} {
		got := decode(torch2Layout(t, pt, big))
		for k, w := range want {
			if !equal(got[k], w) {
				t.Errorf("views.pt %s in the 2.x layout (big-endian %v): %v, want %v", k, big, got[k], w)
			}
		}
	}

	// A version record torch could not have written is an error; one it
	// has (3) or might (a later integer) is not.
	zipWith := func(version string) []byte {
		pkl, files := smallModel(nil)
		files["version"] = []byte(version)
		return zipped(t, pkl, files)
	}
	if _, err := readBytes(t, zipWith("3\n"), Overrides{}); err != nil {
		t.Errorf("version 3: %v", err)
	}
	if _, err := readBytes(t, zipWith("x"), Overrides{}); err == nil || !strings.Contains(err.Error(), "archive/version") {
		t.Errorf("version x: error %v, want one naming archive/version", err)
	}
}

// The archive folder is whatever torch.save named it.
func TestArchiveFolderName(t *testing.T) {
	pkl, files := smallModel(nil)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range map[string][]byte{"data.pkl": pkl, "data/0": files["data/0"], "data/1": files["data/1"], "version": []byte("3\n")} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: path.Join("my_model.v2", name), Method: zip.Store})
		w.Write(data)
	}
	zw.Close()
	if _, err := readBytes(t, buf.Bytes(), Overrides{}); err != nil {
		t.Fatal(err)
	}
}
