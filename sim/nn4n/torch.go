package nn4n

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
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

// maxBroadcastElems bounds a view with more elements than its storage holds
// (stride 0 in some dimension, as x.expand() saves): such a view is
// materialized only up to this many elements, so a small file cannot make
// the import allocate much more than the data it holds.
const maxBroadcastElems = 1 << 22

// maxDims bounds a view's rank (torch allows 64; nn4n's arrays have ≤ 2).
const maxDims = 32

// storage is one torch storage (data/KEY in the archive), or the bytes of a
// numpy array: numel elements of typ, read lazily and shared by every view
// of it.
type storage struct {
	key    string // data/KEY's KEY; "" for a numpy array's own bytes
	typ    elemType
	numel  int64
	load   storageLoader
	data   []byte // valid once loaded
	loaded bool
	err    error
	big    bool // bytes are big-endian
}

// name says which storage this is, for errors.
func (s *storage) name() string {
	if s.key == "" {
		return "the numpy array's data"
	}
	return "storage data/" + s.key
}

func (s *storage) bytes() ([]byte, error) {
	if !s.loaded && s.err == nil {
		need := s.numel * int64(s.typ.size)
		if s.load == nil {
			s.err = fmt.Errorf("%s has no data", s.name())
		} else {
			s.data, s.err = s.load(s.key, need)
		}
		if s.err == nil && int64(len(s.data)) < need {
			s.err = fmt.Errorf("%s holds %d bytes, but the pickle declares %d %s elements (%d bytes)", s.name(), len(s.data), s.numel, s.typ.name, need)
		}
		s.loaded = s.err == nil
	}
	return s.data, s.err
}

// Tensor is a tensor decoded from a checkpoint, or a numpy array found in
// its kwargs: a strided view of a storage, as torch.save keeps it (torch
// saves a view as its whole storage plus the view's offset and strides, so
// a transposed mask, a slice or several tensors sharing one storage arrive
// as such). Float64s materializes the view's logical values in C order.
type Tensor struct {
	Shape  []int // nil when err is set
	DType  string
	st     *storage
	offset int64   // in elements
	stride []int64 // in elements, one per dimension
	// err is a malformed view (negative, overflowing or out-of-storage
	// offsets and strides); it is reported when the tensor is read, by the
	// caller that knows the tensor's name.
	err error
}

// Size is the number of elements.
func (t *Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// setView checks torch's (storage_offset, size, stride) against the storage
// and sets the view, or returns why it is malformed. Every product and sum
// is checked before it is formed, so no value can overflow.
func (t *Tensor) setView(off any, size, stride pyTuple) error {
	st := t.st
	desc := func() string {
		return fmt.Sprintf("view (size %s, stride %s, storage offset %s) of %s (%d %s elements)",
			pyInts(size), pyInts(stride), pyInt(off), st.name(), st.numel, st.typ.name)
	}
	if len(size) != len(stride) {
		return fmt.Errorf("%s: size and stride differ in length", desc())
	}
	if len(size) > maxDims {
		return fmt.Errorf("%s: %d dimensions, more than the %d ratesim reads", desc(), len(size), maxDims)
	}
	o, ok := off.(int64)
	switch {
	case !ok && isBigInt(off):
		return fmt.Errorf("%s: the storage offset overflows 64 bits", desc())
	case !ok:
		return fmt.Errorf("%s: the storage offset is a %s, not an int", desc(), describe(off))
	case o < 0:
		return fmt.Errorf("%s: the storage offset is negative", desc())
	}
	shape := make([]int, len(size))
	strides := make([]int64, len(size))
	n := int64(1)
	for i := range size {
		d, err := viewInt(size[i], "size", i, "")
		if err != nil {
			return fmt.Errorf("%s: %w", desc(), err)
		}
		s, err := viewInt(stride[i], "stride", i, " (torch never writes one)")
		if err != nil {
			return fmt.Errorf("%s: %w", desc(), err)
		}
		if d != 0 && n > maxStorageBytes/d {
			return fmt.Errorf("%s: more than 2³² elements", desc())
		}
		n *= d
		shape[i], strides[i] = int(d), s
	}
	if n > 0 {
		// The furthest element, off + Σ (size−1)·stride, must lie inside the
		// storage; summed term by term against what is left, so nothing
		// overflows.
		if o >= st.numel {
			return fmt.Errorf("%s: the offset lies beyond the storage's end", desc())
		}
		end := o
		for i := range shape {
			if shape[i] > 1 && strides[i] > 0 {
				if int64(shape[i]-1) > (st.numel-1-end)/strides[i] {
					return fmt.Errorf("%s: its last element lies beyond the storage's end (at element %s)", desc(), lastElement(o, shape, strides))
				}
				end += int64(shape[i]-1) * strides[i]
			}
		}
		if n > st.numel && n > maxBroadcastElems {
			return fmt.Errorf("%s: a broadcast view of %d elements over %d stored ones; ratesim expands at most %d", desc(), n, st.numel, maxBroadcastElems)
		}
	}
	t.Shape, t.offset, t.stride = shape, o, strides
	return nil
}

// lastElement is off + Σ (size−1)·stride, or a note that it overflows.
func lastElement(off int64, shape []int, strides []int64) string {
	end := uint64(off)
	for i := range shape {
		if shape[i] < 1 {
			continue
		}
		hi, lo := bits.Mul64(uint64(shape[i]-1), uint64(strides[i]))
		var carry uint64
		end, carry = bits.Add64(end, lo, 0)
		if hi != 0 || carry != 0 || end > math.MaxInt64 {
			return "beyond 2⁶³"
		}
	}
	return strconv.FormatUint(end, 10)
}

func isBigInt(v any) bool { _, ok := v.(pyBigInt); return ok }

// pyInt and pyInts format ints for errors as Python writes them.
func pyInt(v any) string {
	switch v := v.(type) {
	case int64:
		return fmt.Sprint(v)
	case pyBigInt:
		return "(an int beyond 64 bits)"
	}
	return describe(v)
}

func pyInts(t pyTuple) string {
	parts := make([]string, len(t))
	for i, v := range t {
		parts[i] = pyInt(v)
	}
	if len(t) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Float64s returns the view's elements in C (row-major) order as float64
// (exact for every float32 and for integers up to 2⁵³).
func (t *Tensor) Float64s() ([]float64, error) {
	if t.err != nil {
		return nil, t.err
	}
	n := t.Size()
	typ := t.st.typ
	raw, err := t.st.bytes()
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	if n == 0 {
		return out, nil
	}
	es := int64(typ.size)
	// setView bounded every element's index by numel, and bytes() holds
	// numel elements; this check only keeps a broken invariant from
	// becoming a panic.
	if (t.offset+1)*es > int64(len(raw)) {
		return nil, fmt.Errorf("%s: view offset %d outside the data", t.st.name(), t.offset)
	}
	if t.contiguous() {
		if int64(n)*es > int64(len(raw))-t.offset*es {
			return nil, fmt.Errorf("%s: view outside the data", t.st.name())
		}
		b := raw[t.offset*es:]
		for i := range out {
			out[i] = decodeElem(typ, b[int64(i)*es:int64(i+1)*es], t.st.big)
		}
		return out, nil
	}
	// An odometer over the index, in C order; pos is the storage element.
	idx := make([]int, len(t.Shape))
	pos := t.offset
	for i := range out {
		if pos < 0 || (pos+1)*es > int64(len(raw)) {
			return nil, fmt.Errorf("%s: view element %d outside the data", t.st.name(), i)
		}
		out[i] = decodeElem(typ, raw[pos*es:(pos+1)*es], t.st.big)
		for d := len(t.Shape) - 1; d >= 0; d-- {
			idx[d]++
			pos += t.stride[d]
			if idx[d] < t.Shape[d] {
				break
			}
			pos -= t.stride[d] * int64(t.Shape[d])
			idx[d] = 0
		}
	}
	return out, nil
}

// contiguous says the view is a run of its storage's elements, from its
// offset on, in C order.
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
		// Several tensors viewing one storage name it each time; torch
		// refuses to save views of one storage as different types.
		if s.typ != typ || s.numel != numel {
			return nil, fmt.Errorf("storage data/%s is declared as %d %s elements and again as %d %s elements (torch writes one type and size per storage)", key, s.numel, s.typ.name, numel, typ.name)
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
	case name == "torch._utils._rebuild_parameter", name == "torch._utils._rebuild_parameter_with_state":
		// (data, requires_grad, backward_hooks[, state]); torch ≥ 2.0 writes
		// the _with_state form for a Parameter carrying Python attributes.
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
// stride, requires_grad, backward_hooks[, metadata]) — the same call in the
// data.pkl of torch 1.x and 2.x. A malformed view does not stop the
// unpickling: it is kept in the tensor and reported, under the tensor's
// name, when the import reads it.
func rebuildTensor(a pyTuple) (*Tensor, error) {
	if len(a) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments, want at least 4", len(a))
	}
	st, ok := a[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: first argument is a %s, not a storage", describe(a[0]))
	}
	size, ok1 := a[2].(pyTuple)
	stride, ok2 := a[3].(pyTuple)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size and stride are a %s and a %s, want tuples", describe(a[2]), describe(a[3]))
	}
	t := &Tensor{DType: st.typ.name, st: st}
	t.err = t.setView(a[1], size, stride)
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
		// numpy pickles an array's bytes in Fortran order when the array is
		// Fortran-contiguous only (m.T of a C array, as nn4n's get_masks()
		// hands masks over), else in C order: either way a strided view of
		// the bytes.
		st := &storage{typ: typ, numel: n, data: data, loaded: true, big: dt.order == '>'}
		strides := make([]int64, len(shape))
		acc := int64(1)
		for k := range shape {
			d := k
			if !fortran {
				d = len(shape) - 1 - k
			}
			strides[d] = acc
			acc *= int64(shape[d])
		}
		o.built = true
		o.t = &Tensor{Shape: shape, DType: typ.name, st: st, stride: strides}
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

// viewInt is entry i of a view's sizes or strides (what): a non-negative
// 64-bit int, else an error saying why (negNote follows "is negative").
func viewInt(v any, what string, i int, negNote string) (int64, error) {
	x, ok := v.(int64)
	switch {
	case !ok && isBigInt(v):
		return 0, fmt.Errorf("%s %d overflows 64 bits", what, i)
	case !ok:
		return 0, fmt.Errorf("%s %d is a %s, not an int", what, i, describe(v))
	case x < 0:
		return 0, fmt.Errorf("%s %d is negative%s", what, i, negNote)
	}
	return x, nil
}
