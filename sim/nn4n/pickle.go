package nn4n

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// The pickle machine below interprets the subset of Python's pickle format
// that torch.save writes (protocols 2–5). It never runs code: a GLOBAL names
// a callable, and only the handful of callables listed in allowedGlobals are
// understood — each one is interpreted by Go code that builds plain values
// (dicts, lists, tensors, numbers). Anything else is an error.
//
// Why not github.com/nlpodyssey/gopickle (v0.2.0, February 2023, the only
// release on the Go module proxy, which also reads PyTorch files without
// running code)? Checked against what this package promises (issue 10):
//   - It panics or exhausts memory on small malformed input: its reader
//     allocates every length a file declares before reading (BINBYTES8 or
//     FRAME with a length of 2⁶⁰ — 12 bytes — panics with "makeslice: len
//     out of range"), and its pytorch package allocates each storage at the
//     element count the pickle claims; it panics outright on legacy tar
//     files and view metadata. FuzzCheckpoint and FuzzPickle require neither.
//   - An unknown global becomes a generic object instead of an error, so
//     os.system and the like would need a wrapper to be refused by name.
//   - Its pytorch.Load takes a file name only, finds storages by base name
//     (dropping the archive's folders), ignores the byteorder record of
//     torch ≥ 2.0, accepts _rebuild_tensor_v2 with exactly 6 arguments (not
//     the 7 torch writes for tensors with metadata), and knows neither
//     _rebuild_parameter nor numpy arrays (nn4n's masks). It returns a
//     tensor's storage, offset, size and stride without checking or
//     applying them — the view decoding this package needs anyway.
// So the machine stays: about 500 lines, fuzzed, with errors that name the
// byte offset, and the view logic in torch.go.

// Python values as the machine represents them:
//
//	None → nil, bool, int64, float64, string, pyBytes, pyTuple, *pyList,
//	*pyDict, *pyGlobal (a callable named by GLOBAL), *Tensor, *storage,
//	*npDType and *npArray (numpy values), pyBigInt (an int beyond int64).
type (
	pyBytes  []byte
	pyTuple  []any
	pyBigInt struct{ nbytes int }
	pyList   struct{ items []any }
	pyGlobal struct{ module, name string }
)

// pyDict is an insertion-ordered dict. Only str, int and bool keys can be
// looked up; other hashable keys are kept in order but never found.
type pyDict struct {
	keys, vals []any
	index      map[dictKeyT]int
}

// dictKeyT is a lookup key; it shares the string's memory (no copy).
type dictKeyT struct {
	str   bool
	s     string
	i     int64
	isInt bool
}

func newDict() *pyDict { return &pyDict{index: map[dictKeyT]int{}} }

func dictKey(k any) (dictKeyT, bool) {
	switch k := k.(type) {
	case string:
		return dictKeyT{str: true, s: k}, true
	case int64:
		return dictKeyT{isInt: true, i: k}, true
	case bool: // Python: True == 1
		if k {
			return dictKeyT{isInt: true, i: 1}, true
		}
		return dictKeyT{isInt: true}, true
	}
	return dictKeyT{}, false
}

func (d *pyDict) set(k, v any) {
	if s, ok := dictKey(k); ok {
		if i, dup := d.index[s]; dup {
			d.vals[i] = v
			return
		}
		d.index[s] = len(d.keys)
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.index[dictKeyT{str: true, s: k}]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// stringKeys lists the dict's str keys in order.
func (d *pyDict) stringKeys() []string {
	var ks []string
	for _, k := range d.keys {
		if s, ok := k.(string); ok {
			ks = append(ks, s)
		}
	}
	return ks
}

// pickleError is a problem at a byte offset of data.pkl.
type pickleError struct {
	pos int
	op  byte
	err error
}

func (e *pickleError) Error() string {
	if e.op == 0 {
		return fmt.Sprintf("byte %d: %v", e.pos, e.err)
	}
	return fmt.Sprintf("byte %d, opcode %s: %v", e.pos, opName(e.op), e.err)
}

func (e *pickleError) Unwrap() error { return e.err }

// errForbiddenGlobal marks a GLOBAL outside the allowed set.
var errForbiddenGlobal = errors.New("forbidden global")

type forbiddenGlobalError struct{ module, name string }

func (e *forbiddenGlobalError) Error() string {
	return fmt.Sprintf("the pickle refers to the Python object %s.%s, which ratesim does not decode (it never runs pickled code; it understands tensors, numpy arrays, numbers, strings, lists and dicts)", e.module, e.name)
}

func (e *forbiddenGlobalError) Unwrap() error { return errForbiddenGlobal }

// allowedGlobals are the only callables the machine knows. Each is
// interpreted in Go by reduce; none is ever looked up or called in Python.
var allowedGlobals = map[string]bool{
	"collections.OrderedDict":                    true,
	"torch._utils._rebuild_tensor_v2":            true,
	"torch._utils._rebuild_parameter":            true,
	"torch._utils._rebuild_parameter_with_state": true,
	"torch.FloatStorage":                         true,
	"torch.DoubleStorage":                        true,
	"torch.HalfStorage":                          true,
	"torch.BFloat16Storage":                      true,
	"torch.LongStorage":                          true,
	"torch.IntStorage":                           true,
	"torch.ShortStorage":                         true,
	"torch.CharStorage":                          true,
	"torch.ByteStorage":                          true,
	"torch.BoolStorage":                          true,
	"numpy.core.multiarray._reconstruct":         true,
	"numpy._core.multiarray._reconstruct":        true,
	"numpy.core.multiarray.scalar":               true,
	"numpy._core.multiarray.scalar":              true,
	"numpy.ndarray":                              true,
	"numpy.dtype":                                true,
	"_codecs.encode":                             true,
}

// storageLoader returns the bytes of storage key, holding at least need
// bytes (the storage's declared element count times its item size).
type storageLoader func(key string, need int64) ([]byte, error)

type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint64]any
	load  storageLoader
	// storages already loaded, by key, so tensors sharing one share it.
	storages map[string]*storage
	// bigEndian says the storages hold big-endian data (torch's byteorder file).
	bigEndian bool
}

// unpickle runs the machine over data; load fetches storage files (nil when
// there are none). The memo and stack grow at most one entry per input byte.
func unpickle(data []byte, load storageLoader, bigEndian bool) (any, error) {
	u := &unpickler{data: data, memo: map[uint64]any{}, load: load, storages: map[string]*storage{}, bigEndian: bigEndian}
	return u.run()
}

func (u *unpickler) fail(op byte, start int, format string, args ...any) error {
	return &pickleError{pos: start, op: op, err: fmt.Errorf(format, args...)}
}

func (u *unpickler) take(n int) ([]byte, bool) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, false
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, true
}

func (u *unpickler) line() (string, bool) {
	i := strings.IndexByte(string(u.data[u.pos:min(len(u.data), u.pos+512)]), '\n')
	if i < 0 {
		return "", false
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, true
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, bool) {
	floor := 0
	if len(u.marks) > 0 {
		floor = u.marks[len(u.marks)-1]
	}
	if len(u.stack) <= floor {
		return nil, false
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, true
}

func (u *unpickler) top() (any, bool) {
	floor := 0
	if len(u.marks) > 0 {
		floor = u.marks[len(u.marks)-1]
	}
	if len(u.stack) <= floor {
		return nil, false
	}
	return u.stack[len(u.stack)-1], true
}

// popMark pops everything above the last MARK, and the mark.
func (u *unpickler) popMark() ([]any, bool) {
	if len(u.marks) == 0 {
		return nil, false
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, true
}

func (u *unpickler) run() (any, error) {
	for {
		start := u.pos
		if u.pos >= len(u.data) {
			return nil, &pickleError{pos: start, err: errors.New("data ends without a STOP opcode (truncated file?)")}
		}
		op := u.data[u.pos]
		u.pos++
		fail := func(format string, args ...any) error { return u.fail(op, start, format, args...) }
		short := func() error { return fail("its argument is cut off by the end of the data (truncated file?)") }
		underflow := func() error { return fail("stack underflow (malformed pickle)") }
		switch op {
		case '.': // STOP
			v, ok := u.pop()
			if !ok {
				return nil, underflow()
			}
			return v, nil
		case 0x80: // PROTO
			b, ok := u.take(1)
			if !ok {
				return nil, short()
			}
			if b[0] > 5 {
				return nil, fail("pickle protocol %d is newer than 5", b[0])
			}
		case 0x95: // FRAME: a length hint only
			if _, ok := u.take(8); !ok {
				return nil, short()
			}
		case '(': // MARK
			u.marks = append(u.marks, len(u.stack))
		case '0': // POP
			if _, ok := u.pop(); !ok {
				if _, ok := u.popMark(); !ok {
					return nil, underflow()
				}
			}
		case '1': // POP_MARK
			if _, ok := u.popMark(); !ok {
				return nil, fail("no MARK to pop to (malformed pickle)")
			}
		case '2': // DUP
			v, ok := u.top()
			if !ok {
				return nil, underflow()
			}
			u.push(v)
		case 'N':
			u.push(nil)
		case 0x88:
			u.push(true)
		case 0x89:
			u.push(false)
		case 'J': // BININT
			b, ok := u.take(4)
			if !ok {
				return nil, short()
			}
			u.push(int64(int32(binary.LittleEndian.Uint32(b))))
		case 'K': // BININT1
			b, ok := u.take(1)
			if !ok {
				return nil, short()
			}
			u.push(int64(b[0]))
		case 'M': // BININT2
			b, ok := u.take(2)
			if !ok {
				return nil, short()
			}
			u.push(int64(binary.LittleEndian.Uint16(b)))
		case 0x8a, 0x8b: // LONG1, LONG4
			var n int
			if op == 0x8a {
				b, ok := u.take(1)
				if !ok {
					return nil, short()
				}
				n = int(b[0])
			} else {
				b, ok := u.take(4)
				if !ok {
					return nil, short()
				}
				n = int(int32(binary.LittleEndian.Uint32(b)))
				if n < 0 {
					return nil, fail("negative length %d", n)
				}
			}
			b, ok := u.take(n)
			if !ok {
				return nil, short()
			}
			u.push(decodeLong(b))
		case 'G': // BINFLOAT, big-endian
			b, ok := u.take(8)
			if !ok {
				return nil, short()
			}
			u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e: // strings and bytes
			var lenBytes int
			switch op {
			case 'X', 'T', 'B':
				lenBytes = 4
			case 0x8c, 'U', 'C':
				lenBytes = 1
			default:
				lenBytes = 8
			}
			lb, ok := u.take(lenBytes)
			if !ok {
				return nil, short()
			}
			var n uint64
			switch lenBytes {
			case 1:
				n = uint64(lb[0])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(lb))
				if op == 'T' && int32(n) < 0 {
					return nil, fail("negative length")
				}
			default:
				n = binary.LittleEndian.Uint64(lb)
			}
			if n > uint64(len(u.data)-u.pos) {
				return nil, short()
			}
			b, _ := u.take(int(n))
			switch op {
			case 'B', 'C', 0x8e:
				u.push(pyBytes(append([]byte(nil), b...)))
			case 'T', 'U': // Python 2 str, read as text (torch loads with latin1/ASCII)
				u.push(latin1(b))
			default:
				if !utf8.Valid(b) {
					return nil, fail("string is not valid UTF-8")
				}
				u.push(string(b))
			}
		case ')':
			u.push(pyTuple{})
		case 't': // TUPLE
			items, ok := u.popMark()
			if !ok {
				return nil, fail("no MARK (malformed pickle)")
			}
			u.push(pyTuple(items))
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			t := make(pyTuple, n)
			for i := n - 1; i >= 0; i-- {
				v, ok := u.pop()
				if !ok {
					return nil, underflow()
				}
				t[i] = v
			}
			u.push(t)
		case ']':
			u.push(&pyList{})
		case 'l': // LIST
			items, ok := u.popMark()
			if !ok {
				return nil, fail("no MARK (malformed pickle)")
			}
			u.push(&pyList{items: items})
		case 'a', 'e': // APPEND, APPENDS
			var items []any
			if op == 'a' {
				v, ok := u.pop()
				if !ok {
					return nil, underflow()
				}
				items = []any{v}
			} else {
				var ok bool
				if items, ok = u.popMark(); !ok {
					return nil, fail("no MARK (malformed pickle)")
				}
			}
			t, ok := u.top()
			if !ok {
				return nil, underflow()
			}
			l, ok := t.(*pyList)
			if !ok {
				return nil, fail("appends to a %s, not a list", describe(t))
			}
			l.items = append(l.items, items...)
		case '}':
			u.push(newDict())
		case 'd': // DICT
			items, ok := u.popMark()
			if !ok {
				return nil, fail("no MARK (malformed pickle)")
			}
			if len(items)%2 != 0 {
				return nil, fail("odd number of items for a dict")
			}
			d := newDict()
			for i := 0; i < len(items); i += 2 {
				if err := checkHashable(items[i]); err != nil {
					return nil, fail("%v", err)
				}
				d.set(items[i], items[i+1])
			}
			u.push(d)
		case 's', 'u': // SETITEM, SETITEMS
			var items []any
			if op == 's' {
				v, ok1 := u.pop()
				k, ok2 := u.pop()
				if !ok1 || !ok2 {
					return nil, underflow()
				}
				items = []any{k, v}
			} else {
				var ok bool
				if items, ok = u.popMark(); !ok {
					return nil, fail("no MARK (malformed pickle)")
				}
				if len(items)%2 != 0 {
					return nil, fail("odd number of items for a dict")
				}
			}
			t, ok := u.top()
			if !ok {
				return nil, underflow()
			}
			d, ok := t.(*pyDict)
			if !ok {
				return nil, fail("sets items on a %s, not a dict", describe(t))
			}
			for i := 0; i < len(items); i += 2 {
				if err := checkHashable(items[i]); err != nil {
					return nil, fail("%v", err)
				}
				d.set(items[i], items[i+1])
			}
		case 'h', 'j': // BINGET, LONG_BINGET
			n := 1
			if op == 'j' {
				n = 4
			}
			b, ok := u.take(n)
			if !ok {
				return nil, short()
			}
			idx := uint64(b[0])
			if n == 4 {
				idx = uint64(binary.LittleEndian.Uint32(b))
			}
			v, ok := u.memo[idx]
			if !ok {
				return nil, fail("memo entry %d was never stored (malformed pickle)", idx)
			}
			u.push(v)
		case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
			var idx uint64
			switch op {
			case 'q':
				b, ok := u.take(1)
				if !ok {
					return nil, short()
				}
				idx = uint64(b[0])
			case 'r':
				b, ok := u.take(4)
				if !ok {
					return nil, short()
				}
				idx = uint64(binary.LittleEndian.Uint32(b))
			default:
				idx = uint64(len(u.memo))
			}
			v, ok := u.top()
			if !ok {
				return nil, underflow()
			}
			u.memo[idx] = v
		case 'c': // GLOBAL module\nname\n
			mod, ok1 := u.line()
			name, ok2 := u.line()
			if !ok1 || !ok2 {
				return nil, short()
			}
			g, err := global(mod, name)
			if err != nil {
				return nil, fail("%w", err)
			}
			u.push(g)
		case 0x93: // STACK_GLOBAL
			nv, ok1 := u.pop()
			mv, ok2 := u.pop()
			if !ok1 || !ok2 {
				return nil, underflow()
			}
			mod, ok1 := mv.(string)
			name, ok2 := nv.(string)
			if !ok1 || !ok2 {
				return nil, fail("module and name must be strings")
			}
			g, err := global(mod, name)
			if err != nil {
				return nil, fail("%w", err)
			}
			u.push(g)
		case 'Q': // BINPERSID
			pid, ok := u.pop()
			if !ok {
				return nil, underflow()
			}
			s, err := u.persistentLoad(pid)
			if err != nil {
				return nil, fail("%v", err)
			}
			u.push(s)
		case 'R': // REDUCE
			args, ok1 := u.pop()
			fn, ok2 := u.pop()
			if !ok1 || !ok2 {
				return nil, underflow()
			}
			v, err := reduce(fn, args)
			if err != nil {
				return nil, fail("%w", err)
			}
			u.push(v)
		case 'b': // BUILD
			state, ok1 := u.pop()
			obj, ok2 := u.top()
			if !ok1 || !ok2 {
				return nil, underflow()
			}
			if err := build(obj, state); err != nil {
				return nil, fail("%v", err)
			}
		default:
			return nil, fail("not used by torch.save, so not decoded (ratesim reads torch's own pickles only)")
		}
	}
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) > 8 {
		// Beyond int64 unless it is a sign extension of a smaller value.
		ext := byte(0)
		if b[len(b)-1]&0x80 != 0 {
			ext = 0xff
		}
		for _, c := range b[8:] {
			if c != ext {
				return pyBigInt{len(b)}
			}
		}
		if (b[7]&0x80 != 0) != (ext == 0xff) {
			return pyBigInt{len(b)}
		}
		b = b[:8]
	}
	var x uint64
	for i := len(b) - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	if shift := 64 - 8*len(b); shift > 0 {
		return int64(x<<shift) >> shift
	}
	return int64(x)
}

func checkHashable(k any) error {
	switch k.(type) {
	case nil, bool, int64, float64, string, pyBytes, pyTuple, pyBigInt:
		return nil
	}
	return fmt.Errorf("a %s cannot be a dict key (malformed pickle)", describe(k))
}

func global(mod, name string) (*pyGlobal, error) {
	if !allowedGlobals[mod+"."+name] {
		return nil, &forbiddenGlobalError{module: mod, name: name}
	}
	return &pyGlobal{module: mod, name: name}, nil
}

// describe names a value's type for error messages (never recursing).
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, pyBigInt:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pyBytes:
		return "bytes"
	case pyTuple:
		return fmt.Sprintf("tuple of %d", len(v))
	case *pyList:
		return fmt.Sprintf("list of %d", len(v.items))
	case *pyDict:
		return "dict"
	case *pyGlobal:
		return v.module + "." + v.name
	case *Tensor:
		return "tensor"
	case *storage:
		return "storage"
	case *npDType:
		return "numpy dtype"
	case *npArray:
		return "numpy array"
	}
	return fmt.Sprintf("%T", v)
}

var opNames = map[byte]string{
	'.': "STOP", 0x80: "PROTO", 0x95: "FRAME", '(': "MARK", '0': "POP", '1': "POP_MARK",
	'2': "DUP", 'N': "NONE", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 'J': "BININT",
	'K': "BININT1", 'M': "BININT2", 0x8a: "LONG1", 0x8b: "LONG4", 'G': "BINFLOAT",
	'X': "BINUNICODE", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 'T': "BINSTRING",
	'U': "SHORT_BINSTRING", 'B': "BINBYTES", 'C': "SHORT_BINBYTES", 0x8e: "BINBYTES8",
	')': "EMPTY_TUPLE", 't': "TUPLE", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
	']': "EMPTY_LIST", 'l': "LIST", 'a': "APPEND", 'e': "APPENDS", '}': "EMPTY_DICT",
	'd': "DICT", 's': "SETITEM", 'u': "SETITEMS", 'h': "BINGET", 'j': "LONG_BINGET",
	'q': "BINPUT", 'r': "LONG_BINPUT", 0x94: "MEMOIZE", 'c': "GLOBAL", 0x93: "STACK_GLOBAL",
	'Q': "BINPERSID", 'R': "REDUCE", 'b': "BUILD", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX",
	'i': "INST", 'o': "OBJ", 'P': "PERSID", 'I': "INT", 'L': "LONG", 'F': "FLOAT",
	'S': "STRING", 'V': "UNICODE", 'p': "PUT", 'g': "GET", 0x8f: "EMPTY_SET",
	0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
	0x98: "READONLY_BUFFER", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
}

func opName(op byte) string {
	if n, ok := opNames[op]; ok {
		return n
	}
	return fmt.Sprintf("0x%02x", op)
}
