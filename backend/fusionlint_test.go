package backend

import (
	"go/ast"
	"go/build"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestNoFusion is backend/dmath's TestNoFusionLint for the packages that run
// the contract's generic arithmetic — backend (the reference, UnitStep, the
// plastic update) and cpu — whose products are in a type parameter T: every
// non-constant floating-point product x*y is the direct operand of a
// conversion to a floating-point type or to a type parameter (T(x*y)), which
// by the Go spec forbids fusing it into an FMA with a neighbouring addition;
// *= on floats is banned for the same reason. A product by a constant power
// of two is exempt: it is exact (these never overflow or underflow), so
// fusing it changes nothing (random.go's uniform scaling and 2·u). dmath's
// lint looks at dmath's own files only; the GOAMD64=v3 test run catches what
// slips through both.
func TestNoFusion(t *testing.T) {
	for _, dir := range []struct {
		path, dir string
		min       int // products at least: the lint sees the files
	}{
		{"github.com/ratesim/ratesim/backend", ".", 20},
		{"github.com/ratesim/ratesim/cpu", "../cpu", 1}, // its arithmetic is backend's
	} {
		problems, products := fusionLint(t, dir.path, dir.dir)
		for _, p := range problems {
			t.Error(p)
		}
		if products < dir.min {
			t.Errorf("%s: only %d float products found: is the lint looking at the right files?", dir.dir, products)
		}
		t.Logf("%s: %d floating-point products checked", dir.dir, products)
	}
}

func fusionLint(t *testing.T, path, dir string) (problems []string, products int) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		// One file set for this platform: per-architecture twins
		// (_amd64.go beside _other.go) would declare their functions twice.
		if ok, err := build.Default.MatchFile(filepath.Dir(p), filepath.Base(p)); err != nil || !ok {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, p, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	if _, err := conf.Check(path, fset, files, info); err != nil {
		t.Fatalf("type-checking %s: %v", dir, err)
	}

	// isFloat: a float type, or a type parameter whose every type is one.
	isFloatType := func(typ types.Type) bool {
		if tp, ok := typ.(*types.TypeParam); ok {
			iface, _ := tp.Constraint().Underlying().(*types.Interface)
			if iface == nil || iface.NumEmbeddeds() == 0 {
				return false
			}
			all := true
			var walk func(types.Type)
			walk = func(e types.Type) {
				switch e := e.(type) {
				case *types.Union:
					for i := 0; i < e.Len(); i++ {
						walk(e.Term(i).Type())
					}
				case *types.Interface:
					for i := 0; i < e.NumEmbeddeds(); i++ {
						walk(e.EmbeddedType(i))
					}
				case *types.Named:
					walk(e.Underlying())
				default:
					b, ok := e.Underlying().(*types.Basic)
					all = all && ok && b.Info()&types.IsFloat != 0
				}
			}
			walk(iface)
			return all
		}
		b, ok := typ.Underlying().(*types.Basic)
		return ok && b.Info()&types.IsFloat != 0
	}
	isFloat := func(e ast.Expr) bool {
		tv, ok := info.Types[e]
		if !ok || tv.Value != nil {
			return false // constant expressions are folded exactly at compile time
		}
		return isFloatType(tv.Type)
	}
	isRounding := func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return false
		}
		tv, ok := info.Types[call.Fun]
		return ok && tv.IsType() && isFloatType(tv.Type)
	}
	powerOfTwo := func(e ast.Expr) bool {
		tv, ok := info.Types[e]
		if !ok || tv.Value == nil {
			return false
		}
		x, _ := constant.Float64Val(constant.ToFloat(tv.Value))
		m, _ := math.Frexp(math.Abs(x))
		return m == 0.5
	}
	report := func(pos token.Pos, msg string) {
		problems = append(problems, fset.Position(pos).String()+": "+msg)
	}
	for _, f := range files {
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if n.Op == token.MUL && isFloat(n) && !powerOfTwo(n.X) && !powerOfTwo(n.Y) {
					products++
					i := len(stack) - 1
					for i > 0 {
						if _, paren := stack[i].(*ast.ParenExpr); !paren {
							break
						}
						i--
					}
					if !isRounding(stack[i]) {
						report(n.Pos(), "floating-point product not wrapped in a conversion (T(x*y))")
					}
				}
			case *ast.AssignStmt:
				if n.Tok == token.MUL_ASSIGN && isFloat(n.Lhs[0]) {
					report(n.Pos(), "*= on a float (write x = T(x*y))")
				}
			}
			stack = append(stack, n)
			return true
		})
	}
	sort.Strings(problems)
	return problems, products
}
