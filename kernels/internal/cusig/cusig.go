// Package cusig reads the parameter lists of the kernels in kernels/*.cu
// (their `extern "C" __global__` functions) and generates kernels/args.go:
// one Go struct per module (.cu file) with a named, typed field per
// parameter, and a table of every kernel's parameters. kernels/gen.sh runs
// it through kernels/internal/genargs; package kernels' tests run it too,
// to prove args.go fresh without nvcc.
//
// It is not a C++ parser. It understands what the kernel sources use: a
// .cu file's own #define macros (object- and function-like, without # and
// ##), expanded in the kernel signatures, and parameters that are
// pointers or 64-bit integers (every argument is 8 bytes: ARCHITECTURE.md, "The CUDA backend's constraints").
// Macros of included headers are not expanded, and conditional directives
// in a .cu file are refused: what it cannot read it reports as an error
// rather than guess. Two checks keep it honest: package kernels' tests
// compare each kernel's parameter count with its PTX entry, and the host
// emulator (gpu/internal/emu) compares every parameter's kind with the
// signature the C++ compiler saw.
package cusig

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// Kind is how a parameter travels: as a device pointer or a 64-bit integer.
// Its value is the name of the matching kernels.Kind constant, which is how
// the generated tables spell it.
type Kind string

const (
	Pointer Kind = "Pointer"
	Int64   Kind = "Int64"
	Uint64  Kind = "Uint64"
)

// goType is the Go type of a field of this kind.
func (k Kind) goType() string {
	switch k {
	case Pointer:
		return "DevicePtr"
	case Int64:
		return "int64"
	}
	return "uint64"
}

// Param is one kernel parameter.
type Param struct {
	Name  string // as in the source
	CType string // the C type with macros expanded, e.g. "const float *", "rs::i64"
	Kind  Kind
}

// Kernel is one `extern "C" __global__` function.
type Kernel struct {
	Name   string
	Module string // the .cu file's name without .cu
	Pos    string // file:line of its definition (or macro invocation)
	Params []Param
}

// ParseDir reads every *.cu file of dir, in name order.
func ParseDir(dir string) ([]Kernel, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.cu"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var ks []Kernel
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		k, err := ParseFile(filepath.Base(f), src)
		if err != nil {
			return nil, err
		}
		ks = append(ks, k...)
	}
	return ks, nil
}

// ParseFile returns the kernels that the .cu source src (named name)
// defines, in source order.
func ParseFile(name string, src []byte) ([]Kernel, error) {
	toks, err := scan(name, src)
	if err != nil {
		return nil, err
	}
	p := &pp{file: name, macros: map[string]*macro{}}
	code, err := p.run(toks)
	if err != nil {
		return nil, err
	}
	module := strings.TrimSuffix(name, ".cu")
	var ks []Kernel
	for i := 0; i < len(code); i++ {
		if code[i].text != "extern" || i+1 >= len(code) || code[i+1].text != `"C"` {
			continue
		}
		k, next, err := parseKernel(name, code, i+2)
		if err != nil {
			return nil, err
		}
		if k == nil {
			continue
		}
		k.Module = module
		ks = append(ks, *k)
		i = next - 1
	}
	return ks, nil
}

// ---- tokens ------------------------------------------------------------------

type tokKind int

const (
	tIdent tokKind = iota
	tNumber
	tString
	tPunct
)

type token struct {
	text  string
	kind  tokKind
	line  int  // physical line, for messages
	lline int  // logical line (after backslash-newline splices)
	bol   bool // first token of its logical line
	space bool // whitespace before it
}

func (t token) is(s string) bool { return t.text == s && t.kind != tString }

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

// scan splits src into tokens, dropping comments.
func scan(name string, src []byte) ([]token, error) {
	var toks []token
	line, lline := 1, 1
	bol, space := true, false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i += 2
			line++
			space = true
			continue
		case c == '\\' && i+2 < len(src) && src[i+1] == '\r' && src[i+2] == '\n':
			i += 3
			line++
			space = true
			continue
		case c == '\n':
			i++
			line++
			lline++
			bol, space = true, true
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			space = true
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			space = true
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: unterminated comment", name, line)
			}
			body := src[i : i+2+end+2]
			line += bytes.Count(body, []byte("\n"))
			lline += bytes.Count(body, []byte("\n"))
			i += len(body)
			space = true
			continue
		}
		t := token{line: line, lline: lline, bol: bol, space: space}
		start := i
		switch {
		case isIdentStart(c):
			for i < len(src) && isIdentChar(src[i]) {
				i++
			}
			t.kind = tIdent
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			for i < len(src) && (isIdentChar(src[i]) || src[i] == '.' ||
				(src[i] == '+' || src[i] == '-') && (src[i-1] == 'e' || src[i-1] == 'E' || src[i-1] == 'p' || src[i-1] == 'P')) {
				i++
			}
			t.kind = tNumber
		case c == '"' || c == '\'':
			i++
			for i < len(src) && src[i] != c {
				if src[i] == '\\' {
					i++
				}
				if i < len(src) && src[i] == '\n' {
					return nil, fmt.Errorf("%s:%d: unterminated literal", name, line)
				}
				i++
			}
			if i >= len(src) {
				return nil, fmt.Errorf("%s:%d: unterminated literal", name, line)
			}
			i++
			t.kind = tString
		default:
			i++
			for _, op := range []string{"::", "##", "...", "->"} {
				if bytes.HasPrefix(src[start:], []byte(op)) {
					i = start + len(op)
					break
				}
			}
			t.kind = tPunct
		}
		t.text = string(src[start:i])
		toks = append(toks, t)
		bol, space = false, false
	}
	return toks, nil
}

// ---- preprocessor ------------------------------------------------------------

type macro struct {
	name   string
	fn     bool
	params []string
	body   []token
}

type pp struct {
	file   string
	macros map[string]*macro
}

// run handles the directives and returns the rest with macros expanded.
func (p *pp) run(toks []token) ([]token, error) {
	var out []token
	for i := 0; i < len(toks); {
		t := toks[i]
		if !(t.bol && t.is("#")) {
			// A run of code up to the next directive.
			j := i
			for j < len(toks) && !(toks[j].bol && toks[j].is("#")) {
				j++
			}
			x, err := p.expand(toks[i:j], nil, 0)
			if err != nil {
				return nil, err
			}
			out = append(out, x...)
			i = j
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].lline == t.lline {
			j++
		}
		if err := p.directive(t, toks[i+1:j]); err != nil {
			return nil, err
		}
		i = j
	}
	return out, nil
}

func (p *pp) errorf(t token, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, t.line, fmt.Sprintf(format, args...))
}

func (p *pp) directive(hash token, d []token) error {
	if len(d) == 0 {
		return nil
	}
	switch d[0].text {
	case "include", "pragma":
		// Headers' macros are not expanded in signatures (see the package doc).
		return nil
	case "undef":
		if len(d) > 1 {
			delete(p.macros, d[1].text)
		}
		return nil
	case "define":
	default:
		return p.errorf(hash, "#%s: cusig reads only #define, #undef, #include and #pragma in a .cu file (conditionals belong in a header)", d[0].text)
	}
	if len(d) < 2 || d[1].kind != tIdent {
		return p.errorf(hash, "#define without a macro name")
	}
	m := &macro{name: d[1].text}
	body := d[2:]
	if len(body) > 0 && body[0].is("(") && !body[0].space {
		m.fn = true
		k := 1
		for ; k < len(body) && !body[k].is(")"); k++ {
			switch {
			case body[k].is(","):
			case body[k].kind == tIdent:
				m.params = append(m.params, body[k].text)
			default:
				return p.errorf(hash, "#define %s: parameter %q not supported", m.name, body[k].text)
			}
		}
		if k == len(body) {
			return p.errorf(hash, "#define %s: unterminated parameter list", m.name)
		}
		body = body[k+1:]
	}
	for _, b := range body {
		if b.is("#") || b.is("##") {
			return p.errorf(b, "#define %s: the # and ## operators are not supported", m.name)
		}
	}
	m.body = body
	p.macros[m.name] = m
	return nil
}

// expand expands the macros in toks; hide holds the macros being expanded.
func (p *pp) expand(toks []token, hide []string, depth int) ([]token, error) {
	if depth > 64 {
		return nil, p.errorf(toks[0], "macro expansion nested too deeply")
	}
	var out []token
	for i := 0; i < len(toks); {
		t := toks[i]
		m := p.macros[t.text]
		if t.kind != tIdent || m == nil || contains(hide, t.text) {
			out = append(out, t)
			i++
			continue
		}
		if !m.fn {
			x, err := p.expand(relocate(m.body, t), append(hide[:len(hide):len(hide)], m.name), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, x...)
			i++
			continue
		}
		if i+1 >= len(toks) || !toks[i+1].is("(") {
			out = append(out, t)
			i++
			continue
		}
		args, end, err := p.collectArgs(toks, i+1, m)
		if err != nil {
			return nil, err
		}
		for a := range args {
			if args[a], err = p.expand(args[a], hide, depth+1); err != nil {
				return nil, err
			}
		}
		var sub []token
		for _, b := range relocate(m.body, t) {
			if b.kind == tIdent {
				if k := index(m.params, b.text); k >= 0 {
					sub = append(sub, relocate(args[k], t)...)
					continue
				}
			}
			sub = append(sub, b)
		}
		x, err := p.expand(sub, append(hide[:len(hide):len(hide)], m.name), depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, x...)
		i = end + 1
	}
	return out, nil
}

// collectArgs reads the arguments of a call of m whose "(" is toks[open];
// it returns them and the index of the closing ")".
func (p *pp) collectArgs(toks []token, open int, m *macro) ([][]token, int, error) {
	var args [][]token
	var cur []token
	depth := 0
	for j := open + 1; j < len(toks); j++ {
		t := toks[j]
		switch {
		case t.is("(") || t.is("[") || t.is("{"):
			depth++
		case (t.is(")") || t.is("]") || t.is("}")) && depth > 0:
			depth--
		case t.is(")"):
			args = append(args, cur)
			if len(m.params) == 0 && len(args) == 1 && len(args[0]) == 0 {
				args = nil
			}
			if len(args) != len(m.params) {
				return nil, 0, p.errorf(toks[open], "macro %s takes %d arguments, got %d", m.name, len(m.params), len(args))
			}
			return args, j, nil
		case t.is(",") && depth == 0:
			args = append(args, cur)
			cur = nil
			continue
		}
		cur = append(cur, t)
	}
	return nil, 0, p.errorf(toks[open], "unterminated call of macro %s", m.name)
}

// relocate gives an expansion the position of its invocation.
func relocate(body []token, at token) []token {
	out := make([]token, len(body))
	for i, b := range body {
		b.line, b.lline, b.bol = at.line, at.lline, false
		out[i] = b
	}
	return out
}

func contains(s []string, x string) bool { return index(s, x) >= 0 }

func index(s []string, x string) int {
	for i, y := range s {
		if y == x {
			return i
		}
	}
	return -1
}

// ---- signatures ----------------------------------------------------------------

// parseKernel reads the declaration after `extern "C"` at code[i]. It
// returns nil when that is not a __global__ function, and the index after
// the parameter list.
func parseKernel(file string, code []token, i int) (*Kernel, int, error) {
	if i >= len(code) {
		return nil, i, nil
	}
	if code[i].is("{") {
		return nil, 0, fmt.Errorf("%s:%d: extern \"C\" { … } blocks are not supported: declare each kernel extern \"C\" __global__", file, code[i].line)
	}
	global := false
	for ; i < len(code); i++ {
		t := code[i]
		switch {
		case t.is("__global__"):
			global = true
		case t.is("__launch_bounds__"):
			if i+1 >= len(code) || !code[i+1].is("(") {
				return nil, 0, fmt.Errorf("%s:%d: __launch_bounds__ without its arguments", file, t.line)
			}
			end := matching(code, i+1)
			if end < 0 {
				return nil, 0, fmt.Errorf("%s:%d: unbalanced __launch_bounds__", file, t.line)
			}
			i = end
		case t.kind == tIdent && i+1 < len(code) && code[i+1].is("("):
			if !global {
				return nil, i, nil
			}
			end := matching(code, i+1)
			if end < 0 {
				return nil, 0, fmt.Errorf("%s:%d: kernel %s: unbalanced parameter list", file, t.line, t.text)
			}
			k := &Kernel{Name: t.text, Pos: fmt.Sprintf("%s:%d", file, t.line)}
			params, err := parseParams(code[i+2 : end])
			if err != nil {
				return nil, 0, fmt.Errorf("%s: kernel %s: %w", k.Pos, k.Name, err)
			}
			k.Params = params
			return k, end + 1, nil
		case t.kind == tIdent:
			// void, other attributes
		default:
			return nil, i, nil
		}
	}
	return nil, i, nil
}

// matching returns the index of the bracket closing the one at code[open].
func matching(code []token, open int) int {
	depth := 0
	for j := open; j < len(code); j++ {
		switch {
		case code[j].is("(") || code[j].is("["):
			depth++
		case code[j].is(")") || code[j].is("]"):
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return -1
}

var (
	int64Types  = []string{"rs::i64", "i64", "long long", "long long int", "signed long long", "signed long long int", "int64_t", "std::int64_t"}
	uint64Types = []string{"rs::u64", "u64", "unsigned long long", "unsigned long long int", "uint64_t", "std::uint64_t"}
)

func parseParams(toks []token) ([]Param, error) {
	if len(toks) == 0 || len(toks) == 1 && toks[0].is("void") {
		return nil, nil
	}
	var ps []Param
	seen := map[string]bool{}
	start := 0
	for j := 0; j <= len(toks); j++ {
		if j < len(toks) && !toks[j].is(",") {
			if toks[j].is("(") || toks[j].is("[") || toks[j].is("&") || toks[j].is("=") || toks[j].is("<") || toks[j].is("...") {
				return nil, fmt.Errorf("parameter %d: %q is not supported (parameters are pointers or 64-bit integers)", len(ps)+1, toks[j].text)
			}
			continue
		}
		pt := toks[start:j]
		start = j + 1
		if len(pt) < 2 || pt[len(pt)-1].kind != tIdent {
			return nil, fmt.Errorf("parameter %d has no name", len(ps)+1)
		}
		p := Param{Name: pt[len(pt)-1].text}
		if seen[p.Name] {
			return nil, fmt.Errorf("parameter %s twice", p.Name)
		}
		seen[p.Name] = true
		var ty []string
		for _, t := range pt[:len(pt)-1] {
			switch t.text {
			case "__restrict__", "__restrict", "restrict":
				continue
			}
			ty = append(ty, t.text)
		}
		p.CType = joinType(ty)
		if strings.Contains(p.CType, "*") {
			p.Kind = Pointer
		} else {
			base := strings.TrimSpace(strings.NewReplacer("const ", "", "volatile ", "").Replace(p.CType + " "))
			switch {
			case contains(int64Types, base):
				p.Kind = Int64
			case contains(uint64Types, base):
				p.Kind = Uint64
			default:
				return nil, fmt.Errorf("parameter %s: type %s: kernel parameters must be pointers or 64-bit integers (gorgonia.org/cu copies 8 bytes per argument: ARCHITECTURE.md)", p.Name, p.CType)
			}
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// joinType writes type tokens as C: "const float *", "rs::i64".
func joinType(ts []string) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 && t != "::" && ts[i-1] != "::" {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	return b.String()
}

// ---- generation ----------------------------------------------------------------

// module is the kernels of one .cu file, which share one parameter list.
type module struct {
	name    string
	kernels []Kernel
	params  []Param // the first kernel's
	ctypes  [][]string
}

// methods are the generated structs' methods; no field may have their names.
var methods = []string{"Module", "ParamNames", "Pack"}

// GoName is the field name of a parameter: its name with the first letter
// upper-cased.
func GoName(param string) string {
	r := []rune(param)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// StructName is the args struct of a module: "step" → "StepArgs".
func StructName(module string) string { return GoName(module) + "Args" }

// paramsVar names the generated parameter table first used by kernel:
// step_f32_l → stepF32LParams.
func paramsVar(kernel string) string {
	parts := strings.Split(kernel, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "") + "Params"
}

func modules(ks []Kernel) ([]*module, error) {
	byName := map[string]*module{}
	var ms []*module
	seen := map[string]string{}
	for _, k := range ks {
		if prev, ok := seen[k.Name]; ok {
			return nil, fmt.Errorf("%s: kernel %s is defined twice (also at %s)", k.Pos, k.Name, prev)
		}
		seen[k.Name] = k.Pos
		m := byName[k.Module]
		if m == nil {
			for _, c := range k.Module {
				if !(c < 128 && isIdentChar(byte(c))) {
					return nil, fmt.Errorf("%s: module name %q is not a Go identifier", k.Pos, k.Module)
				}
			}
			m = &module{name: k.Module, params: k.Params, ctypes: make([][]string, len(k.Params))}
			byName[k.Module] = m
			ms = append(ms, m)
			fields := map[string]string{}
			for _, meth := range methods {
				fields[meth] = "method " + meth
			}
			for _, p := range k.Params {
				g := GoName(p.Name)
				if other, ok := fields[g]; ok {
					return nil, fmt.Errorf("%s: kernel %s: parameter %s would be field %s of %s, as %s is: rename one in the .cu", k.Pos, k.Name, p.Name, g, StructName(m.name), other)
				}
				fields[g] = "parameter " + p.Name
			}
		} else {
			first := m.kernels[0]
			if len(k.Params) != len(m.params) {
				return nil, fmt.Errorf("%s: kernel %s has %d parameters, kernel %s of the same module %d: the kernels of one .cu share one parameter list", k.Pos, k.Name, len(k.Params), first.Name, len(m.params))
			}
			for i, p := range k.Params {
				if q := m.params[i]; p.Name != q.Name || p.Kind != q.Kind {
					return nil, fmt.Errorf("%s: kernel %s: parameter %d is %s %s, in kernel %s of the same module %s %s: the kernels of one .cu share one parameter list", k.Pos, k.Name, i+1, p.CType, p.Name, first.Name, q.CType, q.Name)
				}
			}
		}
		for i, p := range k.Params {
			if !contains(m.ctypes[i], p.CType) {
				m.ctypes[i] = append(m.ctypes[i], p.CType)
			}
		}
		m.kernels = append(m.kernels, k)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	return ms, nil
}

// comment wraps text as a // comment of lines up to 76 characters.
func comment(text string) string {
	var b strings.Builder
	line := "//"
	for _, word := range strings.Fields(text) {
		if line != "//" && len(line)+1+len(word) > 76 {
			b.WriteString(line + "\n")
			line = "//"
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
	return b.String()
}

// Generate returns the text of kernels/args.go for the kernels in dir.
func Generate(dir string) ([]byte, error) {
	ks, err := ParseDir(dir)
	if err != nil {
		return nil, err
	}
	return GenerateFrom(ks)
}

// GenerateFrom returns the text of kernels/args.go for ks.
func GenerateFrom(ks []Kernel) ([]byte, error) {
	ms, err := modules(ks)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("// Code generated by kernels/gen.sh; DO NOT EDIT.\n")
	w("// From the kernels' parameter lists in kernels/*.cu (kernels/internal/cusig).\n\n")
	w("package kernels\n")
	for _, m := range ms {
		sn := StructName(m.name)
		var names []string
		for _, k := range m.kernels {
			names = append(names, k.Name)
		}
		w("\n%s", comment(fmt.Sprintf("%s are the arguments of the kernels of %s.cu (%s): one field per parameter, in the order of their parameter list, each commented with the parameter's name and C type.", sn, m.name, strings.Join(names, ", "))))
		w("type %s struct {\n", sn)
		for i, p := range m.params {
			w("\t%s %s // %s: %s\n", GoName(p.Name), p.Kind.goType(), p.Name, strings.Join(m.ctypes[i], " | "))
		}
		w("}\n\n")
		w("%s", comment(fmt.Sprintf("Module returns %q, the module of the kernels these arguments are for.", m.name)))
		w("func (%s) Module() string { return %q }\n\n", sn, m.name)
		w("// ParamNames returns the parameters' names in the .cu source, in order\n")
		w("// (the slice is shared: do not modify it).\n")
		w("func (%s) ParamNames() []string { return %sParamNames }\n\n", sn, m.name)
		w("// Pack returns the arguments as the kernel takes them: one 8-byte word per\n")
		w("// parameter, in order.\n")
		w("func (a %s) Pack() []uint64 {\n\treturn []uint64{\n", sn)
		for _, p := range m.params {
			if p.Kind == Uint64 {
				w("\t\ta.%s,\n", GoName(p.Name))
			} else {
				w("\t\tuint64(a.%s),\n", GoName(p.Name))
			}
		}
		w("\t}\n}\n\n")
		w("var %sParamNames = []string{", m.name)
		for i, p := range m.params {
			if i > 0 {
				w(", ")
			}
			w("%q", p.Name)
		}
		w("}\n")
	}
	w("\n// kernelParams holds every kernel's parameters as its .cu file declares them.\n")
	w("var kernelParams = map[string][]Param{\n")
	var all []Kernel
	for _, m := range ms {
		all = append(all, m.kernels...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	// A module's kernels share its parameter names and kinds; kernels that
	// also declare the same C types (a module's tile variants) share one
	// table, named after the first of them.
	var lists []string
	listVar := map[string]string{}
	listOf := make([]string, len(all))
	for i, k := range all {
		ctypes := make([]string, len(k.Params))
		for j, p := range k.Params {
			ctypes[j] = fmt.Sprintf("%q", p.CType)
		}
		listOf[i] = fmt.Sprintf("params(%sParamNames, %sParamKinds, %s)", k.Module, k.Module, strings.Join(ctypes, ", "))
		if _, ok := listVar[listOf[i]]; !ok {
			listVar[listOf[i]] = paramsVar(k.Name)
			lists = append(lists, listOf[i])
		}
	}
	for i, k := range all {
		w("\t%q: %s,\n", k.Name, listVar[listOf[i]])
	}
	w("}\n\n")
	for _, l := range lists {
		w("var %s = %s\n", listVar[l], l)
	}
	for _, m := range ms {
		kinds := make([]string, len(m.params))
		for i, p := range m.params {
			kinds[i] = string(p.Kind)
		}
		w("\nvar %sParamKinds = []Kind{%s}\n", m.name, strings.Join(kinds, ", "))
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("cusig: generated code does not parse: %v\n%s", err, b.Bytes())
	}
	return src, nil
}
