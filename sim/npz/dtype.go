package npz

import (
	"fmt"
	"strings"
)

// DType is an element type that this package can read and write. The set is
// deliberately limited to fixed-size numeric and boolean types: they are the
// only ones ratesim exchanges, and each maps onto a Go type without ambiguity.
type DType uint8

// Supported element types. The zero value is not a valid DType so that a
// forgotten field is caught instead of silently meaning "bool".
const (
	Bool DType = iota + 1
	Int8
	Int16
	Int32
	Int64
	Uint8
	Uint16
	Uint32
	Uint64
	Float32
	Float64
)

type dtypeInfo struct {
	name string // numpy's name, used in messages
	kind byte   // numpy's kind character in descr strings
	size int    // bytes per element
}

var dtypeInfos = [...]dtypeInfo{
	Bool:    {"bool", 'b', 1},
	Int8:    {"int8", 'i', 1},
	Int16:   {"int16", 'i', 2},
	Int32:   {"int32", 'i', 4},
	Int64:   {"int64", 'i', 8},
	Uint8:   {"uint8", 'u', 1},
	Uint16:  {"uint16", 'u', 2},
	Uint32:  {"uint32", 'u', 4},
	Uint64:  {"uint64", 'u', 8},
	Float32: {"float32", 'f', 4},
	Float64: {"float64", 'f', 8},
}

// Valid reports whether d is one of the supported element types.
func (d DType) Valid() bool { return d >= Bool && d <= Float64 }

// ItemSize is the number of bytes per element (0 for an invalid DType).
func (d DType) ItemSize() int {
	if !d.Valid() {
		return 0
	}
	return dtypeInfos[d].size
}

// String returns numpy's name for the type ("float32", "bool", ...).
func (d DType) String() string {
	if !d.Valid() {
		return fmt.Sprintf("DType(%d)", uint8(d))
	}
	return dtypeInfos[d].name
}

// Descr returns the little-endian descr string numpy writes for this type,
// e.g. "<f4"; single-byte types use "|" because byte order does not apply.
func (d DType) Descr() string {
	if !d.Valid() {
		return ""
	}
	in := dtypeInfos[d]
	order := byte('<')
	if in.size == 1 {
		order = '|'
	}
	return fmt.Sprintf("%c%c%d", order, in.kind, in.size)
}

func (d DType) isFloat() bool { return d == Float32 || d == Float64 }

// supportedList is quoted in "unsupported dtype" errors so users learn what to
// convert to without reading the source.
const supportedList = "bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64 (either byte order)"

// parseDescr maps a numpy descr string to a DType and whether the data is
// big-endian. The returned error is a bare reason; callers add the file name.
func parseDescr(s string) (DType, bool, error) {
	if len(s) >= 2 && len(s) <= 4 {
		order, rest := s[0], s[1:]
		for d := Bool; d <= Float64; d++ {
			in := dtypeInfos[d]
			if rest != fmt.Sprintf("%c%d", in.kind, in.size) {
				continue
			}
			switch {
			case order == '<':
				return d, false, nil
			case order == '>':
				return d, in.size > 1, nil
			case (order == '|' || order == '=') && in.size == 1:
				return d, false, nil
			}
			// '=' (native) and '|' on multi-byte types do not say which
			// machine's order is meant; numpy never writes them, so refuse
			// rather than guess.
			return 0, false, fmt.Errorf("%w: dtype %q has no definite byte order; supported: %s", ErrUnsupported, s, supportedList)
		}
	}
	what := "dtype"
	switch {
	case strings.Contains(s, "O"):
		// Object arrays are pickles; unpickling untrusted data executes code,
		// so they are refused outright.
		what = "object dtype (pickled Python objects are never unpickled)"
	case len(s) > 1 && strings.ContainsRune("cC", rune(s[1])):
		what = "complex dtype"
	case len(s) > 1 && strings.ContainsRune("USa", rune(s[1])):
		what = "string dtype"
	case len(s) > 1 && strings.ContainsRune("V", rune(s[1])):
		what = "void/structured dtype"
	case len(s) > 1 && strings.ContainsRune("mM", rune(s[1])):
		what = "datetime/timedelta dtype"
	case len(s) > 1 && s[1] == 'f':
		what = "float dtype of this size"
	}
	return 0, false, fmt.Errorf("%w: %s %q; supported: %s", ErrUnsupported, what, s, supportedList)
}
