package dmath

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestNoFusionLint enforces the package rules on the implementation's syntax
// tree (test files excluded):
//
//   - every non-constant floating-point product x*y is the direct operand of
//     a float64(...) or float32(...) conversion, which by the Go spec forbids
//     fusing it into an FMA with a neighbouring addition; *= on floats is
//     banned for the same reason;
//   - only exact functions of package math are used (no math.Exp, math.Log,
//     math.FMA, …), and no packages besides math and math/bits;
//   - no function calls itself and no goroutines are started.
func TestNoFusionLint(t *testing.T) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
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
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	if _, err := conf.Check("github.com/ratesim/ratesim/backend/dmath", fset, files, info); err != nil {
		t.Fatalf("type-checking: %v", err)
	}

	allowedMath := map[string]bool{
		"Abs": true, "Copysign": true, "Float64bits": true, "Float64frombits": true, "Float32bits": true,
		"Float32frombits": true, "Floor": true, "Trunc": true, "Inf": true, "NaN": true, "IsNaN": true,
		"IsInf": true, "Sqrt": true, "Signbit": true, "MaxFloat64": true, "MaxFloat32": true,
	}
	allowedImports := map[string]bool{`"math"`: true, `"math/bits"`: true}

	isFloat := func(e ast.Expr) bool {
		tv, ok := info.Types[e]
		if !ok || tv.Value != nil {
			return false // constant expressions are folded exactly at compile time
		}
		b, ok := tv.Type.Underlying().(*types.Basic)
		return ok && b.Info()&types.IsFloat != 0
	}
	isRounding := func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return false
		}
		id, ok := call.Fun.(*ast.Ident)
		return ok && (id.Name == "float64" || id.Name == "float32")
	}

	var problems []string
	report := func(pos token.Pos, msg string) {
		problems = append(problems, fset.Position(pos).String()+": "+msg)
	}
	products := 0
	for _, f := range files {
		for _, imp := range f.Imports {
			if !allowedImports[imp.Path.Value] {
				report(imp.Pos(), "import "+imp.Path.Value+" is not allowed")
			}
		}
		for _, decl := range f.Decls {
			fd, _ := decl.(*ast.FuncDecl)
			var stack []ast.Node
			ast.Inspect(decl, func(n ast.Node) bool {
				if n == nil {
					stack = stack[:len(stack)-1]
					return true
				}
				switch n := n.(type) {
				case *ast.BinaryExpr:
					if n.Op == token.MUL && isFloat(n) {
						products++
						i := len(stack) - 1
						for i > 0 {
							if _, paren := stack[i].(*ast.ParenExpr); !paren {
								break
							}
							i--
						}
						if !isRounding(stack[i]) {
							report(n.Pos(), "floating-point product not wrapped in float64(...)")
						}
					}
				case *ast.AssignStmt:
					if n.Tok == token.MUL_ASSIGN && isFloat(n.Lhs[0]) {
						report(n.Pos(), "*= on a float (write x = float64(x*y))")
					}
				case *ast.SelectorExpr:
					if id, ok := n.X.(*ast.Ident); ok && id.Name == "math" && !allowedMath[n.Sel.Name] {
						report(n.Pos(), "math."+n.Sel.Name+" is not an exact operation")
					}
				case *ast.GoStmt:
					report(n.Pos(), "goroutine")
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && fd != nil && id.Name == fd.Name.Name && fd.Recv == nil {
						report(n.Pos(), "recursive call")
					}
				}
				stack = append(stack, n)
				return true
			})
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
	if products < 100 {
		t.Errorf("only %d float products found: is the lint looking at the right files?", products)
	}
	t.Logf("%d floating-point products checked", products)
}
