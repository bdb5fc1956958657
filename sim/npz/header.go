package npz

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The .npy layout: magic "\x93NUMPY", major and minor version bytes, a
// little-endian header length (uint16 in 1.0, uint32 in 2.0 and 3.0), then a
// Python dict literal padded with spaces and ended by '\n', then the raw data.
const (
	npyMagic = "\x93NUMPY"
	// headerAlign is numpy's ARRAY_ALIGN: the data starts at a multiple of 64
	// bytes so it can be memory-mapped with any element alignment.
	headerAlign = 64
	// maxHeaderLen bounds what we are willing to allocate for a header before
	// seeing it. numpy itself refuses headers over 10000 bytes by default; we
	// allow more but never the 4 GiB a version 2.0 length field could claim.
	maxHeaderLen = 1 << 20
	// maxDims is numpy's NPY_MAXDIMS (numpy 2.x); more dims cannot be real.
	maxDims = 64
	// maxLiteralDepth stops deeply nested junk from exhausting the stack.
	maxLiteralDepth = 32
)

// header is the decoded content of an .npy header.
type header struct {
	dtype     DType
	bigEndian bool
	fortran   bool
	shape     []int
}

// numElements returns the product of shape, rejecting negative dims and
// overflow. A zero dim makes the product zero, but as numpy does the other
// dims must still multiply to a size that fits (numpy: "array is too big"),
// so a shape such as (2**40, 2**40, 0) is refused as absurd.
func numElements(shape []int) (int, error) {
	if len(shape) > maxDims {
		return 0, fmt.Errorf("%d dimensions (at most %d allowed)", len(shape), maxDims)
	}
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %s", FormatShape(shape))
		}
	}
	n, zero := 1, false
	for _, d := range shape {
		if d == 0 {
			zero = true
			continue
		}
		if n > math.MaxInt/d {
			return 0, fmt.Errorf("shape %s has more elements than fit in an int", FormatShape(shape))
		}
		n *= d
	}
	if zero {
		return 0, nil
	}
	return n, nil
}

// dataBytes returns the byte size of an array, rejecting overflow (of the
// nonzero dims too, as numElements).
func dataBytes(dtype DType, shape []int) (int, error) {
	n, err := numElements(shape)
	if err != nil {
		return 0, err
	}
	nonzero := 1
	for _, d := range shape {
		if d > 0 {
			nonzero *= d // fits: checked by numElements
		}
	}
	if nonzero > math.MaxInt/dtype.ItemSize() {
		return 0, fmt.Errorf("shape %s of %s is larger than addressable memory", FormatShape(shape), dtype)
	}
	return n * dtype.ItemSize(), nil
}

// formatHeader renders the complete header (magic through '\n') exactly as
// numpy does, minus numpy's optional growth padding, choosing version 1.0
// unless the length does not fit in its uint16 field.
func formatHeader(dtype DType, shape []int) []byte {
	var dict strings.Builder
	dict.WriteString("{'descr': '")
	dict.WriteString(dtype.Descr())
	dict.WriteString("', 'fortran_order': False, 'shape': (")
	for i, d := range shape {
		if i > 0 {
			dict.WriteString(", ")
		}
		dict.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		dict.WriteString(",") // Python's repr of a 1-tuple
	}
	dict.WriteString("), }")

	for _, v := range []struct {
		major   byte
		lenSize int
	}{{1, 2}, {2, 4}} {
		pre := len(npyMagic) + 2 + v.lenSize
		total := pre + dict.Len() + 1 // +1 for the final '\n'
		pad := (headerAlign - total%headerAlign) % headerAlign
		hlen := dict.Len() + pad + 1
		if v.lenSize == 2 && hlen > math.MaxUint16 {
			continue
		}
		out := make([]byte, 0, pre+hlen)
		out = append(out, npyMagic...)
		out = append(out, v.major, 0)
		if v.lenSize == 2 {
			out = append(out, byte(hlen), byte(hlen>>8))
		} else {
			out = append(out, byte(hlen), byte(hlen>>8), byte(hlen>>16), byte(hlen>>24))
		}
		out = append(out, dict.String()...)
		out = append(out, bytes.Repeat([]byte{' '}, pad)...)
		return append(out, '\n')
	}
	panic("unreachable: header longer than 4 GiB") // shape is bounded by maxDims
}

// parseHeaderDict interprets the dict literal of an .npy header the way
// numpy.lib.format does: exactly the keys descr, fortran_order and shape, a
// descr string, a bool and a tuple of non-negative ints.
func parseHeaderDict(text string) (header, error) {
	var h header
	p := &litParser{s: text}
	v, err := p.parseTop()
	if err != nil {
		return h, fmt.Errorf("%w: header is not a Python dict literal: %v", ErrMalformed, err)
	}
	dict, ok := v.(pyDict)
	if !ok {
		return h, fmt.Errorf("%w: header is a Python %s, not a dict", ErrMalformed, pyTypeName(v))
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if _, ok := dict[k]; !ok {
			return h, fmt.Errorf("%w: header lacks the key %q", ErrMalformed, k)
		}
	}
	if len(dict) != 3 {
		var extra []string
		for k := range dict {
			if k != "descr" && k != "fortran_order" && k != "shape" {
				extra = append(extra, strconv.Quote(k))
			}
		}
		return h, fmt.Errorf("%w: header has unexpected keys %s", ErrMalformed, strings.Join(extra, ", "))
	}

	switch d := dict["descr"].(type) {
	case string:
		h.dtype, h.bigEndian, err = parseDescr(d)
		if err != nil {
			return h, err
		}
	case pyList:
		return h, fmt.Errorf("%w: structured dtype (descr is a list of fields); supported: %s", ErrUnsupported, supportedList)
	default:
		return h, fmt.Errorf("%w: descr is a Python %s, not a string", ErrMalformed, pyTypeName(d))
	}

	fo, ok := dict["fortran_order"].(bool)
	if !ok {
		return h, fmt.Errorf("%w: fortran_order is a Python %s, not a bool", ErrMalformed, pyTypeName(dict["fortran_order"]))
	}
	h.fortran = fo

	tup, ok := dict["shape"].(pyTuple)
	if !ok {
		return h, fmt.Errorf("%w: shape is a Python %s, not a tuple", ErrMalformed, pyTypeName(dict["shape"]))
	}
	h.shape = make([]int, len(tup))
	for i, e := range tup {
		n, ok := e.(int64)
		if !ok {
			return h, fmt.Errorf("%w: shape element %d is a Python %s, not an int", ErrMalformed, i, pyTypeName(e))
		}
		if n < 0 || n > math.MaxInt {
			return h, fmt.Errorf("%w: shape element %d is %d", ErrMalformed, i, n)
		}
		h.shape[i] = int(n)
	}
	if _, err := dataBytes(h.dtype, h.shape); err != nil {
		return h, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return h, nil
}

// Python literal values as produced by litParser. Tuples and lists are kept
// apart because numpy requires shape to be a tuple and uses a list descr for
// structured dtypes.
type (
	pyTuple []any
	pyList  []any
	pyDict  map[string]any
)

func pyTypeName(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case int64:
		return "int"
	case bool:
		return "bool"
	case nil:
		return "None"
	case pyTuple:
		return "tuple"
	case pyList:
		return "list"
	case pyDict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// litParser is a small recursive-descent parser for the subset of Python
// literal syntax numpy headers use (what ast.literal_eval would accept there):
// str, int (with Python 2's L suffix, which old numpy wrote), True, False,
// None, tuples, lists and dicts with string keys. It never evaluates anything.
type litParser struct {
	s     string
	pos   int
	depth int
}

func (p *litParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *litParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

func (p *litParser) parseTop() (any, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q after the literal", p.s[p.pos])
	}
	return v, nil
}

func (p *litParser) value() (any, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, p.errorf("unexpected end of header")
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxLiteralDepth {
		return nil, p.errorf("nested deeper than %d", maxLiteralDepth)
	}
	c := p.s[p.pos]
	switch {
	case c == '{':
		return p.dict()
	case c == '(':
		return p.sequence('(', ')')
	case c == '[':
		return p.sequence('[', ']')
	case c == '\'' || c == '"':
		return p.str()
	case (c == 'u' || c == 'U' || c == 'b' || c == 'B') && p.pos+1 < len(p.s) && (p.s[p.pos+1] == '\'' || p.s[p.pos+1] == '"'):
		p.pos++ // u'' from Python 2 headers; b'' is accepted likewise
		return p.str()
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.integer()
	}
	for _, kw := range []struct {
		word string
		val  any
	}{{"True", true}, {"False", false}, {"None", nil}} {
		if strings.HasPrefix(p.s[p.pos:], kw.word) {
			end := p.pos + len(kw.word)
			if end < len(p.s) && isIdentByte(p.s[end]) {
				break
			}
			p.pos = end
			return kw.val, nil
		}
	}
	return nil, p.errorf("unexpected %q", c)
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *litParser) str() (any, error) {
	q := p.s[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), nil
		case c == '\n':
			return nil, p.errorf("newline inside a string")
		case c == '\\':
			// Escapes never matter in valid headers; taking the next byte
			// literally is enough to find the end of the string.
			if p.pos+1 >= len(p.s) {
				return nil, p.errorf("unterminated string")
			}
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return nil, p.errorf("unterminated string")
}

func (p *litParser) integer() (any, error) {
	start := p.pos
	if c := p.s[p.pos]; c == '-' || c == '+' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == digits {
		return nil, p.errorf("sign without digits")
	}
	text := p.s[start:p.pos]
	if p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++ // Python 2 long literal, e.g. (3L, 4L) from old numpy
	}
	if p.pos < len(p.s) && (isIdentByte(p.s[p.pos]) || p.s[p.pos] == '.') {
		return nil, p.errorf("not an integer literal")
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return nil, p.errorf("integer %s out of range", text)
		}
		return nil, p.errorf("bad integer %q", text)
	}
	return n, nil
}

// sequence parses a tuple or list. As in Python, "(x)" without a comma is a
// parenthesised value, not a tuple, so "'shape': (3)" is rejected later just
// as numpy rejects it.
func (p *litParser) sequence(open, close byte) (any, error) {
	p.pos++ // open
	var items []any
	sawComma := false
	for {
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil, p.errorf("missing %q", close)
		}
		if p.s[p.pos] == close {
			p.pos++
			break
		}
		if len(items) > 0 && !sawComma {
			return nil, p.errorf("expected ',' or %q", close)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		sawComma = false
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			sawComma = true
		}
	}
	if open == '[' {
		return pyList(items), nil
	}
	if len(items) == 1 && !sawComma {
		return items[0], nil
	}
	if items == nil {
		items = pyTuple{}
	}
	return pyTuple(items), nil
}

func (p *litParser) dict() (any, error) {
	p.pos++ // '{'
	d := pyDict{}
	first := true
	for {
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil, p.errorf("missing '}'")
		}
		if p.s[p.pos] == '}' {
			p.pos++
			return d, nil
		}
		if !first {
			if p.s[p.pos] != ',' {
				return nil, p.errorf("expected ',' or '}'")
			}
			p.pos++
			p.skipSpace()
			if p.pos < len(p.s) && p.s[p.pos] == '}' {
				p.pos++
				return d, nil
			}
		}
		first = false
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			// numpy's keys are always strings; other hashable keys would be
			// legal Python but can never make a valid header.
			return nil, p.errorf("dict key is a %s, not a str", pyTypeName(k))
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return nil, p.errorf("expected ':' after key %q", key)
		}
		p.pos++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		d[key] = v // last wins, as in Python
	}
}
