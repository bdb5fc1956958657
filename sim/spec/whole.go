package spec

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Whole-number fields (steps, trials, dims, seed, record.every, …).
// yaml.v3 decodes a float into an integer field by truncating it, so
// `steps: 50.5` would run 50 steps. Before a document is decoded, every
// scalar bound for an integer field is checked against the YAML node tree:
// it must be a whole number (1e6 and 100.0 are) within the field's range.
// Types that decode themselves (UnmarshalYAML) check their own integers
// with decodeNode.

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// wholeChecker walks a node tree beside the Go type it decodes into. seen
// keeps each (node, type) pair to one visit, so aliases cost no more than
// the nodes they point at.
type wholeChecker struct {
	seen map[wholeVisit]bool
}

type wholeVisit struct {
	n *yaml.Node
	t reflect.Type
}

// wholeError is a value bound for an integer field that is not a whole
// number in range: the field (dotted, "" when unknown), its line and why.
type wholeError struct {
	field  string
	line   int
	reason string
}

func (e *wholeError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.reason) }

// spec is e as a spec *Error naming the field.
func (e *wholeError) spec() *Error {
	return &Error{Field: e.field, Reason: fmt.Sprintf("%s (line %d)", e.reason, e.line)}
}

// checkWhole returns the first scalar under n, to be decoded into a value of
// type t, that is bound for an integer field but is not a whole number in
// range (path is the field n sets, "" at the top).
func checkWhole(n *yaml.Node, t reflect.Type, path string) *wholeError {
	c := &wholeChecker{seen: map[wholeVisit]bool{}}
	if err := c.check(n, t, path, true); err != nil {
		return err.(*wholeError)
	}
	return nil
}

func (c *wholeChecker) check(n *yaml.Node, t reflect.Type, path string, root bool) error {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
		if n == nil {
			return nil
		}
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	v := wholeVisit{n, t}
	if c.seen[v] {
		return nil
	}
	c.seen[v] = true
	if !root && reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // it decodes itself, through decodeNode
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return wholeScalar(n, t, path)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, e := range n.Content {
			if err := c.check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), false); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := c.check(n.Content[i+1], t.Elem(), joinField(path, n.Content[i].Value), false); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		fields := YAMLFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ft, ok := fields[k]
			if !ok {
				continue // an unknown key: the decoder names it
			}
			if err := c.check(n.Content[i+1], ft, joinField(path, k), false); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// YAMLFields maps the YAML keys of struct type t (inline structs included)
// to their field types, as yaml.v3 names them: what a spec path may name
// (sim/sweep's axes walk the Spec with it).
func YAMLFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range YAMLFields(ft) {
					out[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// wholeScalar checks one scalar bound for an integer field of type t.
func wholeScalar(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.ScalarNode {
		return nil // not a scalar: the decoder says what it wanted
	}
	unsigned := t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64
	want := "a whole number"
	if unsigned {
		want = "a whole number ≥ 0"
	}
	bad := func(format string, args ...any) error {
		return &wholeError{field: path, line: n.Line, reason: fmt.Sprintf(format, args...)}
	}
	zero := reflect.New(t).Elem()
	var limit string
	if unsigned {
		limit = fmt.Sprint(uint64(math.MaxUint64) >> (64 - t.Bits()))
	} else {
		limit = fmt.Sprint(int64(math.MaxInt64) >> (64 - t.Bits()))
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!int":
		if unsigned {
			var u uint64
			if n.Decode(&u) != nil {
				if strings.HasPrefix(strings.TrimSpace(n.Value), "-") {
					return bad("must be %s, got %s", want, n.Value)
				}
				return bad("%s is too large (at most %s)", n.Value, limit)
			}
			if zero.OverflowUint(u) {
				return bad("%s is too large (at most %s)", n.Value, limit)
			}
			return nil
		}
		var i int64
		if n.Decode(&i) != nil || zero.OverflowInt(i) {
			return bad("%s is out of range (at most %s in size)", n.Value, limit)
		}
		return nil
	case "!!float":
		var f float64
		if n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
			return bad("must be %s, got %s", want, n.Value)
		}
		if unsigned && f < 0 {
			return bad("must be %s, got %s", want, n.Value)
		}
		// 2^(bits−1) (signed) or 2^bits (unsigned) is the first value out of range.
		bits := t.Bits()
		if !unsigned {
			bits--
		}
		if math.Abs(f) >= math.Ldexp(1, bits) {
			return bad("%s is too large (at most %s)", n.Value, limit)
		}
		return nil
	}
	return bad("must be %s, got %q", want, n.Value)
}

// decodeNode decodes n into out (a pointer) as n.Decode does, but first
// refuses a fractional or out-of-range value bound for an integer field.
// Types that decode themselves use it instead of n.Decode.
func decodeNode(n *yaml.Node, out any) error {
	if err := checkWhole(n, reflect.TypeOf(out), ""); err != nil {
		// The field is not known inside a type's decoder: "line N: …",
		// which Parse turns into the key on that line.
		return err
	}
	return n.Decode(out)
}
