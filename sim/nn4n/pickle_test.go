package nn4n

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"strings"
	"testing"
)

// pk writes pickle opcodes the way torch.save lays them out, for tests that
// need checkpoints torch would never write (bad strides, forbidden globals,
// offsets, big-endian data).
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }
func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pk) int(v int) *pk {
	p.WriteByte('J')
	binary.Write(&p.Buffer, binary.LittleEndian, int32(v))
	return p
}
func (p *pk) float(v float64) *pk {
	p.WriteByte('G')
	binary.Write(&p.Buffer, binary.BigEndian, math.Float64bits(v))
	return p
}
func (p *pk) global(mod, name string) *pk {
	p.WriteString("c" + mod + "\n" + name + "\n")
	return p
}
func (p *pk) ints(vs ...int) *pk {
	p.op('(')
	for _, v := range vs {
		p.int(v)
	}
	return p.op('t')
}

// tensor writes _rebuild_tensor_v2(('storage', torch.<typ>, key, 'cpu', numel), off, size, stride, False, OrderedDict()).
func (p *pk) tensor(typ, key string, numel, off int, size, stride []int) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", typ).str(key).str("cpu").int(numel).op('t', 'Q')
	p.int(off).ints(size...).ints(stride...).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

// checkpoint is {"model_state_dict": OrderedDict(sd...), "kwargs": {kw...}};
// sd and kw write their items (key then value).
func checkpoint(sd, kw func(p *pk)) []byte {
	p := &pk{}
	p.op(0x80, 2, '}', '(')
	p.str("model_state_dict").global("collections", "OrderedDict").op(')', 'R', '(')
	sd(p)
	p.op('u')
	if kw != nil {
		p.str("kwargs").op('}', '(')
		kw(p)
		p.op('u')
	}
	p.op('u', '.')
	return p.Bytes()
}

func zipped(t testing.TB, pkl []byte, files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	add("archive/data.pkl", pkl)
	for name, data := range files {
		add("archive/"+name, data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32bytes(vs []float32, big bool) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	if big {
		bo = binary.BigEndian
	}
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		bo.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func seq(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32(i+1)
	}
	return v
}

// smallModel is a 2-input, 3-unit, 1-output model whose weights all live in
// one float32 storage "0" at different offsets, biases in a float64 storage.
func smallModel(extraKw func(p *pk)) (pkl []byte, files map[string][]byte) {
	const nIn, nHid, nOut = 3 * 2, 3 * 3, 1 * 3
	all := seq(nIn+nHid+nOut+5, 0.25)
	bias := make([]byte, 8*3)
	for i := range 3 {
		binary.LittleEndian.PutUint64(bias[8*i:], math.Float64bits(-0.5*float64(i+1)))
	}
	pkl = checkpoint(func(p *pk) {
		p.str(KeyInputWeight).tensor("FloatStorage", "0", len(all), 5, []int{3, 2}, []int{2, 1})
		p.str(KeyHiddenWeight).tensor("FloatStorage", "0", len(all), 5+nIn, []int{3, 3}, []int{3, 1})
		p.str(KeyReadoutWeight).tensor("FloatStorage", "0", len(all), 5+nIn+nHid, []int{1, 3}, []int{3, 1})
		p.str(KeyHiddenBias).tensor("DoubleStorage", "1", 3, 0, []int{3}, []int{1})
	}, func(p *pk) {
		p.str("dims").op(']', '(').int(2).int(3).int(1).op('e')
		p.str("activation").str("tanh")
		p.str("dt").int(5)
		p.str("tau").float(25)
		if extraKw != nil {
			extraKw(p)
		}
	})
	return pkl, map[string][]byte{"data/0": f32bytes(all, false), "data/1": bias}
}

func readBytes(t testing.TB, data []byte, ov Overrides) (*Model, error) {
	t.Helper()
	return ReadCheckpointFrom(bytes.NewReader(data), int64(len(data)), "test.pt", ov)
}

func TestCheckpointOffsetsAndDtypes(t *testing.T) {
	pkl, files := smallModel(nil)
	m, err := readBytes(t, zipped(t, pkl, files), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Inputs != 2 || m.Hidden != 3 || m.Outputs != 1 {
		t.Fatalf("dims %d %d %d, want 2 3 1", m.Inputs, m.Hidden, m.Outputs)
	}
	if m.Activation != "tanh" || m.Dt != 5 || m.Tau != 25 || m.Origin["dt"] != "kwargs" {
		t.Errorf("settings %s %v %v %v, want tanh 5 25 from kwargs", m.Activation, m.Dt, m.Tau, m.Origin)
	}
	// Element k of storage 0 is 0.25·(k+1); each weight starts at its offset.
	for li, off := range []int{5, 11, 20} {
		l := m.Layers[li]
		for i, w := range l.Weight {
			if want := 0.25 * float64(off+i+1); w != want {
				t.Fatalf("%s weight %d = %v, want %v (storage offset %d)", l.Name, i, w, want, off)
			}
		}
	}
	if b := m.Layers[1].Bias; len(b) != 3 || b[2] != -1.5 {
		t.Errorf("hidden bias %v, want float64 [-0.5 -1 -1.5]", b)
	}
	if m.Layers[0].Bias != nil || m.Layers[2].Bias != nil {
		t.Errorf("biases absent from the state dict must stay nil")
	}
}

func TestCheckpointBigEndian(t *testing.T) {
	pkl, files := smallModel(nil)
	all := seq(3*2+3*3+3+5, 0.25)
	files["data/0"] = f32bytes(all, true)
	bias := files["data/1"]
	for i := 0; i < len(bias); i += 8 {
		binary.BigEndian.PutUint64(bias[i:], binary.LittleEndian.Uint64(bias[i:]))
	}
	files["byteorder"] = []byte("big")
	m, err := readBytes(t, zipped(t, pkl, files), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if w := m.Layers[1].Weight[0]; w != 0.25*12 {
		t.Errorf("big-endian hidden weight 0 = %v, want 3", w)
	}
	if b := m.Layers[1].Bias[1]; b != -1 {
		t.Errorf("big-endian bias = %v, want -1", b)
	}
}

func TestCheckpointKwargsMasksAndTau(t *testing.T) {
	pkl, files := smallModel(func(p *pk) {
		// ei_masks: [None, int64 tensor (3, 3), None]; tau per unit; noise.
		p.str("ei_masks").op(']', '(', 'N').tensor("LongStorage", "2", 9, 0, []int{3, 3}, []int{3, 1}).op('N', 'e')
		p.str("preact_noise").float(0.05)
		p.str("init_state").str("zero")
		p.str("something_else").op(0x88)
	})
	ei := make([]byte, 8*9)
	for i := range 9 {
		v := int64(1)
		if i >= 6 { // presynaptic unit 2 inhibitory (rows are pre)
			v = -1
		}
		binary.LittleEndian.PutUint64(ei[8*i:], uint64(v))
	}
	files["data/2"] = ei
	m, err := readBytes(t, zipped(t, pkl, files), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Layers[1].EIMask; len(got) != 9 || got[0] != 1 || got[8] != -1 {
		t.Fatalf("hidden E/I mask %v, want (pre, post) rows [1 1 1] [1 1 1] [-1 -1 -1]", got)
	}
	if m.PreactNoise != 0.05 {
		t.Errorf("preact noise %v, want 0.05", m.PreactNoise)
	}
	// All weights are positive, so the inhibitory row (pre unit 2 → column 2
	// of W in (out, in)) breaks the mask three times.
	if v := m.MaskViolations(); v != [3]int{0, 3, 0} {
		t.Errorf("mask violations %v, want [0 3 0]", v)
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), "something_else") {
		t.Errorf("notes %q should name the unused kwarg", m.Notes)
	}
	// Flags win over kwargs.
	dt, tau := 1.0, 4.0
	m, err = readBytes(t, zipped(t, pkl, files), Overrides{Activation: "relu", Dt: &dt, Tau: &tau})
	if err != nil {
		t.Fatal(err)
	}
	if m.Activation != "relu" || m.Dt != 1 || m.Tau != 4 || m.Origin["tau"] != "flag" {
		t.Errorf("with flags: %s %v %v %v, want relu 1 4 from flags", m.Activation, m.Dt, m.Tau, m.Origin)
	}
}

func TestCheckpointErrors(t *testing.T) {
	good, goodFiles := smallModel(nil)
	cases := []struct {
		name   string
		data   func() []byte
		expect []string
	}{
		{"forbidden global", func() []byte {
			p := &pk{}
			p.op(0x80, 2).global("os", "system").str("echo hi").op(0x85, 'R', '.')
			return zipped(t, p.Bytes(), nil)
		}, []string{"os.system", "np.savez", "never runs pickled code"}},
		{"legacy format", func() []byte {
			return []byte{0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'}
		}, []string{"legacy", "np.savez"}},
		{"not a checkpoint", func() []byte { return []byte("hello") }, []string{"not a torch checkpoint", "np.savez"}},
		{"truncated pickle", func() []byte {
			return zipped(t, good[:len(good)/2], goodFiles)
		}, []string{"data.pkl", "byte "}},
		{"missing storage", func() []byte {
			return zipped(t, good, map[string][]byte{"data/0": goodFiles["data/0"]})
		}, []string{"data/1", "missing"}},
		{"short storage", func() []byte {
			return zipped(t, good, map[string][]byte{"data/0": goodFiles["data/0"][:20], "data/1": goodFiles["data/1"]})
		}, []string{"storage file archive/data/0", "bytes"}},
		{"tensor beyond storage", func() []byte {
			pkl := checkpoint(func(p *pk) {
				p.str(KeyInputWeight).tensor("FloatStorage", "0", 4, 0, []int{3, 2}, []int{2, 1})
			}, nil)
			return zipped(t, pkl, map[string][]byte{"data/0": f32bytes(seq(4, 1), false)})
		}, []string{KeyInputWeight, "storage data/0 (4 float32 elements)", "beyond the storage's end"}},
		{"dims disagree", func() []byte {
			pkl, files := smallModel(func(p *pk) { p.str("dims").op(']', '(').int(2).int(4).int(1).op('e') })
			return zipped(t, pkl, files)
		}, []string{"kwargs dims", "[2, 3, 1]"}},
		{"unknown activation", func() []byte {
			pkl, files := smallModel(func(p *pk) { p.str("activation").str("gelu") })
			return zipped(t, pkl, files)
		}, []string{"activation", "gelu"}},
		{"nan weight", func() []byte {
			pkl, files := smallModel(nil)
			w := append([]byte(nil), files["data/0"]...)
			binary.LittleEndian.PutUint32(w[4*(5+6+4):], math.Float32bits(float32(math.NaN())))
			files["data/0"] = w
			return zipped(t, pkl, files)
		}, []string{KeyHiddenWeight, "(1, 1)", "NaN"}},
		{"dt above tau", func() []byte {
			pkl, files := smallModel(func(p *pk) { p.str("dt").int(30) })
			return zipped(t, pkl, files)
		}, []string{"dt = 30 exceeds tau = 25"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readBytes(t, c.data(), Overrides{})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "test.pt") {
				t.Errorf("error %q does not start with the file name", err)
			}
			for _, e := range c.expect {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not mention %q", err, e)
				}
			}
		})
	}
}

func TestDecodeLong(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want any
	}{
		{nil, int64(0)},
		{[]byte{0xff}, int64(-1)},
		{[]byte{0x00, 0x01}, int64(256)},
		{[]byte{0x00, 0x00, 0x00, 0x00, 0x00, 0x01}, int64(1) << 40},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, int64(-1)},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0}, pyBigInt{9}}, // 2⁶³
	} {
		if got := decodeLong(c.in); got != c.want {
			t.Errorf("decodeLong(% x) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestHalfToFloat(t *testing.T) {
	for h, want := range map[uint16]float64{0x3c00: 1, 0xc000: -2, 0x0001: math.Ldexp(1, -24), 0x7bff: 65504, 0x3555: 0.333251953125} {
		if got := halfToFloat(h); got != want {
			t.Errorf("halfToFloat(%#04x) = %v, want %v", h, got, want)
		}
	}
}

// numpy scalars (np.float64(5.0) as dt) and a per-unit tau list, as users
// pass them; a mask the weights break stays out of the written spec.
func TestCheckpointNumpyScalarTauListAndBrokenMask(t *testing.T) {
	npDouble := func(p *pk, v float64) {
		p.global("numpy.core.multiarray", "scalar")
		p.global("numpy", "dtype").str("f8").op(0x89, 0x88, 0x87, 'R')
		p.op('(').int(3).str("<").op('N', 'N', 'N').int(-1).int(-1).int(0).op('t', 'b')
		p.global("_codecs", "encode")
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		p.str(latin1(b[:])).str("latin1").op(0x86, 'R')
		p.op(0x86, 'R')
	}
	pkl, files := smallModel(func(p *pk) {
		p.str("dt")
		npDouble(p, 2)
		p.str("tau").op(']', '(').float(4).float(8).int(16).op('e')
		// E/I mask: every presynaptic unit inhibitory, but the weights are positive.
		p.str("ei_masks").op(']', '(', 'N').tensor("FloatStorage", "0", 23, 0, []int{3, 3}, []int{3, 1}).op('N', 'e')
	})
	m, err := readBytes(t, zipped(t, pkl, files), Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Dt != 2 {
		t.Errorf("numpy scalar dt decoded as %v, want 2", m.Dt)
	}
	if want := []float64{0.5, 0.25, 0.125}; !equal(m.Alpha, want) {
		t.Errorf("alpha from tau list %v, want dt/τ = %v", m.Alpha, want)
	}
	// The mask entries are 0.25·(k+1) > 0: all excitatory, so no violations…
	if v := m.MaskViolations(); v != [3]int{} {
		t.Fatalf("violations %v with an all-excitatory mask", v)
	}
	// …and with the signs flipped every hidden weight breaks it.
	for i := range m.Layers[1].EIMask {
		m.Layers[1].EIMask[i] = -1
	}
	if v := m.MaskViolations(); v != [3]int{0, 9, 0} {
		t.Fatalf("violations %v, want [0 9 0]", v)
	}
	spec := t.TempDir() + "/m.yaml"
	if _, err := WriteSpec(m, spec); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(spec)
	if strings.Contains(string(data), "\nei_masks:") || !strings.Contains(string(data), "ei_masks for hidden (9 weights break") {
		t.Errorf("a broken mask must be left out of the spec with a comment:\n%s", data)
	}
	if !strings.Contains(string(data), "alpha: {file: m.weights.npz, key: alpha}") {
		t.Errorf("per-unit α must be written as an array:\n%s", data)
	}
}
