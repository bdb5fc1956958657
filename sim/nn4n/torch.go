package nn4n

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// elemType is the element type of a torch storage or a numpy array.
type elemType struct {
	name  string // torch's name: float32, float64, int64, …
	size  int
	float bool
}

var (
	tFloat32  = elemType{"float32", 4, true}
	tFloat64  = elemType{"float64", 8, true}
	tFloat16  = elemType{"float16", 2, true}
	tBFloat16 = elemType{"bfloat16", 2, true}
	tInt64    = elemType{"int64", 8, false}
	tInt32    = elemType{"int32", 4, false}
	tInt16    = elemType{"int16", 2, false}
	tInt8     = elemType{"int8", 1, false}
	tUint8    = elemType{"uint8", 1, false}
	tBool     = elemType{"bool", 1, false}
)

var storageTypes = map[string]elemType{
	"FloatStorage": tFloat32, "DoubleStorage": tFloat64, "HalfStorage": tFloat16,
	"BFloat16Storage": tBFloat16, "LongStorage": tInt64, "IntStorage": tInt32,
	"ShortStorage": tInt16, "CharStorage": tInt8, "ByteStorage": tUint8, "BoolStorage": tBool,
}

// maxStorageBytes bounds one storage (a 16k × 16k float64 matrix is 2 GiB).
const maxStorageBytes = 1 << 32

// storage is one torch storage: numel elements of typ, read lazily.
type storage struct {
	key   string
	typ   elemType
	numel int64
	load  storageLoader
	data  []byte // nil until first needed
	err   error
	big   bool // bytes are big-endian
}

func (s *storage) bytes() ([]byte, error) {
	if s.data == nil && s.err == nil {
		need := s.numel * int64(s.typ.size)
		s.data, s.err = s.load(s.key, need)
		if s.err == nil && int64(len(s.data)) < need {
			s.err = fmt.Errorf("storage data/%s holds %d bytes, but the pickle declares %d %s elements (%d bytes)", s.key, len(s.data), s.numel, s.typ.name, need)
		}
	}
	return s.data, s.err
}

// Tensor is a tensor decoded from a checkpoint (or a numpy array found in
// its kwargs): a view of a storage, materialized on demand.
type Tensor struct {
	Shape  []int
	DType  string
	st     *storage
	offset int64
	stride []int64
	// arr holds a numpy array's bytes (instead of st).
	arr    []byte
	arrBig bool
}

// Size is the number of elements.
func (t *Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float64s returns the elements in C order as float64 (exact for every
// float32 and for integers up to 2⁵³).
func (t *Tensor) Float64s() ([]float64, error) {
	n := t.Size()
	typ, ok := typeByName(t.DType)
	if !ok {
		return nil, fmt.Errorf("element type %s is not numeric", t.DType)
	}
	var raw []byte
	big := false
	if t.st != nil {
		if !t.contiguous() {
			return nil, fmt.Errorf("tensor of shape %v has strides %v: not contiguous; ratesim reads contiguous tensors only (call .contiguous() before saving, or export an NPZ)", t.Shape, t.stride)
		}
		b, err := t.st.bytes()
		if err != nil {
			return nil, err
		}
		raw = b[t.offset*int64(typ.size) : (t.offset+int64(n))*int64(typ.size)]
		big = t.st.big
	} else {
		raw = t.arr
		big = t.arrBig
		if len(raw) < n*typ.size {
			return nil, fmt.Errorf("numpy array of shape %v holds %d bytes, want %d", t.Shape, len(raw), n*typ.size)
		}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = decodeElem(typ, raw[i*typ.size:(i+1)*typ.size], big)
	}
	return out, nil
}

func (t *Tensor) contiguous() bool {
	want := int64(1)
	for d := len(t.Shape) - 1; d >= 0; d-- {
		if t.Shape[d] != 1 && t.stride[d] != want {
			return t.Size() == 0
		}
		want *= int64(t.Shape[d])
	}
	return true
}

func typeByName(name string) (elemType, bool) {
	for _, t := range []elemType{tFloat32, tFloat64, tFloat16, tBFloat16, tInt64, tInt32, tInt16, tInt8, tUint8, tBool} {
		if t.name == name {
			return t, true
		}
	}
	return elemType{}, false
}

func decodeElem(t elemType, b []byte, big bool) float64 {
	var bo binary.ByteOrder = binary.LittleEndian
	if big {
		bo = binary.BigEndian
	}
	switch t {
	case tFloat32:
		return float64(math.Float32frombits(bo.Uint32(b)))
	case tFloat64:
		return math.Float64frombits(bo.Uint64(b))
	case tFloat16:
		return halfToFloat(bo.Uint16(b))
	case tBFloat16:
		return float64(math.Float32frombits(uint32(bo.Uint16(b)) << 16))
	case tInt64:
		return float64(int64(bo.Uint64(b)))
	case tInt32:
		return float64(int32(bo.Uint32(b)))
	case tInt16:
		return float64(int16(bo.Uint16(b)))
	case tInt8:
		return float64(int8(b[0]))
	case tUint8:
		return float64(b[0])
	case tBool:
		if b[0] != 0 {
			return 1
		}
		return 0
	}
	return math.NaN()
}

func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 31:
		if frac == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}

// persistentLoad resolves torch's persistent id
// ('storage', StorageType, key, location, numel).
func (u *unpickler) persistentLoad(pid any) (*storage, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 {
		return nil, fmt.Errorf("persistent id is a %s, want torch's ('storage', type, key, location, numel)", describe(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		return nil, fmt.Errorf("persistent id kind %s is not 'storage'", describe(t[0]))
	}
	g, ok := t[1].(*pyGlobal)
	if !ok || g.module != "torch" {
		return nil, fmt.Errorf("storage type is a %s, want a torch.*Storage", describe(t[1]))
	}
	typ, ok := storageTypes[g.name]
	if !ok {
		return nil, fmt.Errorf("storage type torch.%s is not supported", g.name)
	}
	key, ok := t[2].(string)
	if !ok || key == "" || strings.ContainsAny(key, "/\\") || strings.Contains(key, "..") {
		return nil, fmt.Errorf("storage key %s is not a plain name", describe(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 || numel > maxStorageBytes/int64(typ.size) {
		return nil, fmt.Errorf("storage %s: element count %v is negative or too large", key, t[4])
	}
	if s, ok := u.storages[key]; ok {
		if s.typ != typ || s.numel != numel {
			return nil, fmt.Errorf("storage %s is declared twice with different types or sizes", key)
		}
		return s, nil
	}
	if u.load == nil {
		return nil, fmt.Errorf("storage %s: no storage files (not a torch checkpoint)", key)
	}
	s := &storage{key: key, typ: typ, numel: numel, load: u.load, big: u.bigEndian}
	u.storages[key] = s
	return s, nil
}

// reduce interprets fn(*args) for the allowed callables only.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(*pyGlobal)
	if !ok {
		return nil, fmt.Errorf("calls a %s, which is not a known callable", describe(fn))
	}
	a, ok := args.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s.%s: arguments are a %s, not a tuple", g.module, g.name, describe(args))
	}
	name := g.module + "." + g.name
	switch {
	case name == "collections.OrderedDict":
		if len(a) != 0 {
			return nil, fmt.Errorf("OrderedDict with %d arguments (torch writes none)", len(a))
		}
		return newDict(), nil
	case name == "torch._utils._rebuild_tensor_v2":
		return rebuildTensor(a)
	case name == "torch._utils._rebuild_parameter":
		if len(a) < 1 {
			return nil, fmt.Errorf("_rebuild_parameter without data")
		}
		t, ok := a[0].(*Tensor)
		if !ok {
			return nil, fmt.Errorf("_rebuild_parameter of a %s", describe(a[0]))
		}
		return t, nil
	case name == "_codecs.encode":
		if len(a) != 2 {
			return nil, fmt.Errorf("_codecs.encode with %d arguments", len(a))
		}
		s, ok1 := a[0].(string)
		enc, ok2 := a[1].(string)
		if !ok1 || !ok2 || enc != "latin1" {
			return nil, fmt.Errorf("_codecs.encode is supported only for latin1 text")
		}
		b := make(pyBytes, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, fmt.Errorf("_codecs.encode: character U+%04X is not latin1", r)
			}
			b = append(b, byte(r))
		}
		return b, nil
	case strings.HasSuffix(name, "multiarray._reconstruct"):
		if len(a) != 3 {
			return nil, fmt.Errorf("numpy _reconstruct with %d arguments", len(a))
		}
		if cls, ok := a[0].(*pyGlobal); !ok || cls.name != "ndarray" {
			return nil, fmt.Errorf("numpy _reconstruct of a %s, want numpy.ndarray", describe(a[0]))
		}
		return &npArray{}, nil
	case strings.HasSuffix(name, "multiarray.scalar"):
		return npScalar(a)
	case name == "numpy.dtype":
		if len(a) < 1 {
			return nil, fmt.Errorf("numpy.dtype without arguments")
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("numpy.dtype of a %s", describe(a[0]))
		}
		return &npDType{code: s, order: '='}, nil
	}
	return nil, fmt.Errorf("%s cannot be called", name)
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// rebuildTensor interprets _rebuild_tensor_v2(storage, storage_offset, size,
// stride, requires_grad, backward_hooks[, metadata]).
func rebuildTensor(a pyTuple) (*Tensor, error) {
	if len(a) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments, want at least 4", len(a))
	}
	st, ok := a[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: first argument is a %s, not a storage", describe(a[0]))
	}
	off, ok := asInt(a[1])
	if !ok || off < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage offset %s is not an int ≥ 0", describe(a[1]))
	}
	size, ok1 := a[2].(pyTuple)
	stride, ok2 := a[3].(pyTuple)
	if !ok1 || !ok2 || len(size) != len(stride) || len(size) > 32 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size and stride must be tuples of one length")
	}
	t := &Tensor{DType: st.typ.name, st: st, offset: off, Shape: make([]int, len(size)), stride: make([]int64, len(size))}
	n := int64(1)
	for i := range size {
		d, ok := asInt(size[i])
		if !ok || d < 0 || d > maxStorageBytes {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %d is not an int in [0, 2³²]", i)
		}
		s, ok := asInt(stride[i])
		if !ok || s < 0 || s > maxStorageBytes {
			return nil, fmt.Errorf("_rebuild_tensor_v2: stride %d is not an int in [0, 2³²]", i)
		}
		t.Shape[i], t.stride[i] = int(d), s
		if n != 0 {
			if d != 0 && n > maxStorageBytes/d {
				return nil, fmt.Errorf("_rebuild_tensor_v2: shape %v is too large", size)
			}
		}
		n *= d
	}
	if n > 0 {
		// The furthest element must lie inside the storage (checked term by
		// term, so no product can overflow).
		outside := fmt.Errorf("tensor of shape %v at offset %d with strides %v reaches beyond storage %s, which holds %d elements", t.Shape, off, t.stride, st.key, st.numel)
		if off >= st.numel {
			return nil, outside
		}
		end := off
		for i := range t.Shape {
			if t.Shape[i] > 1 && t.stride[i] > 0 {
				if int64(t.Shape[i]-1) > (st.numel-1-end)/t.stride[i] {
					return nil, outside
				}
				end += int64(t.Shape[i]-1) * t.stride[i]
			}
		}
	}
	return t, nil
}

// npDType is numpy.dtype(code) with its byte order set by BUILD.
type npDType struct {
	code  string // 'f8', 'i4', 'b1', …
	order byte   // '<', '>', '|' or '='
}

func (d *npDType) elem() (elemType, bool) {
	switch d.code {
	case "f4":
		return tFloat32, true
	case "f8":
		return tFloat64, true
	case "f2":
		return tFloat16, true
	case "i8":
		return tInt64, true
	case "i4":
		return tInt32, true
	case "i2":
		return tInt16, true
	case "i1":
		return tInt8, true
	case "u1":
		return tUint8, true
	case "b1":
		return tBool, true
	}
	return elemType{}, false
}

// npArray is a numpy array between _reconstruct and BUILD.
type npArray struct {
	built bool
	t     *Tensor
}

func build(obj, state any) error {
	switch o := obj.(type) {
	case *pyDict:
		// OrderedDict's instance attributes (a state dict's _metadata): not needed.
		if _, ok := state.(*pyDict); !ok && state != nil {
			return fmt.Errorf("BUILD on a dict with a %s state", describe(state))
		}
		return nil
	case *npDType:
		t, ok := state.(pyTuple)
		if !ok || len(t) < 2 {
			return fmt.Errorf("numpy dtype state is a %s", describe(state))
		}
		s, ok := t[1].(string)
		if !ok || len(s) != 1 || !strings.Contains("<>|=", s) {
			return fmt.Errorf("numpy dtype byte order %s", describe(t[1]))
		}
		o.order = s[0]
		return nil
	case *npArray:
		if o.built {
			return fmt.Errorf("numpy array built twice")
		}
		t, ok := state.(pyTuple)
		if !ok || len(t) != 5 {
			return fmt.Errorf("numpy array state is a %s, want (version, shape, dtype, fortran, data)", describe(state))
		}
		shp, ok := t[1].(pyTuple)
		if !ok || len(shp) > 32 {
			return fmt.Errorf("numpy array shape is a %s", describe(t[1]))
		}
		dt, ok := t[2].(*npDType)
		if !ok {
			return fmt.Errorf("numpy array dtype is a %s", describe(t[2]))
		}
		typ, ok := dt.elem()
		if !ok {
			return fmt.Errorf("numpy dtype %q is not supported (want float, int or bool)", dt.code)
		}
		fortran, _ := t[3].(bool)
		data, ok := t[4].(pyBytes)
		if !ok {
			return fmt.Errorf("numpy array data is a %s, not bytes (object arrays are not supported)", describe(t[4]))
		}
		shape := make([]int, len(shp))
		n := int64(1)
		for i, v := range shp {
			d, ok := asInt(v)
			if !ok || d < 0 || d > int64(len(data)+1) {
				return fmt.Errorf("numpy array shape entry %d is not a plausible int", i)
			}
			shape[i] = int(d)
			n *= d
			if n > int64(len(data)) && d != 0 {
				return fmt.Errorf("numpy array of shape %v needs more than the %d bytes it holds", shp, len(data))
			}
		}
		if n*int64(typ.size) != int64(len(data)) {
			return fmt.Errorf("numpy array of shape %v and dtype %s holds %d bytes, want %d", shape, dt.code, len(data), n*int64(typ.size))
		}
		if fortran && len(shape) > 1 {
			return fmt.Errorf("numpy array in Fortran order is not supported (pass np.ascontiguousarray(a))")
		}
		o.built = true
		o.t = &Tensor{Shape: shape, DType: typ.name, arr: data, arrBig: dt.order == '>'}
		return nil
	}
	return fmt.Errorf("BUILD on a %s is not supported", describe(obj))
}

// npScalar interprets numpy.core.multiarray.scalar(dtype, bytes).
func npScalar(a pyTuple) (any, error) {
	if len(a) != 2 {
		return nil, fmt.Errorf("numpy scalar with %d arguments", len(a))
	}
	dt, ok := a[0].(*npDType)
	if !ok {
		return nil, fmt.Errorf("numpy scalar dtype is a %s", describe(a[0]))
	}
	typ, ok := dt.elem()
	if !ok {
		return nil, fmt.Errorf("numpy scalar dtype %q is not supported", dt.code)
	}
	b, ok := a[1].(pyBytes)
	if !ok || len(b) != typ.size {
		return nil, fmt.Errorf("numpy scalar of dtype %s needs %d bytes", dt.code, typ.size)
	}
	v := decodeElem(typ, b, dt.order == '>')
	switch {
	case typ == tBool:
		return v != 0, nil
	case typ.float:
		return v, nil
	}
	return int64(v), nil
}
