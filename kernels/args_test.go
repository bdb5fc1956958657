package kernels

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/kernels/internal/cusig"
)

// args.go is what gen.sh makes of the .cu sources now (gen.sh -check proves
// it too, but needs nvcc; this runs everywhere).
func TestArgsFresh(t *testing.T) {
	want, err := cusig.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("args.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("kernels/args.go is stale: run kernels/gen.sh (make kernels)")
	}
}

// Every kernel of the PTX has its parameter list, with as many parameters
// as its PTX entry, each 8 bytes (.u64): the parser read what nvcc compiled.
func TestArgsMatchPTX(t *testing.T) {
	entry := regexp.MustCompile(`(?s)\.visible \.entry ([A-Za-z_][A-Za-z0-9_]*)\((.*?)\)`)
	param := regexp.MustCompile(`\.param (\.[a-z0-9]+) `)
	n := 0
	for _, m := range Modules() {
		for _, e := range entry.FindAllStringSubmatch(PTX(m), -1) {
			n++
			ps, ok := Params(e[1])
			if !ok {
				t.Errorf("kernel %s of ptx/%s.ptx has no parameter list in args.go", e[1], m)
				continue
			}
			types := param.FindAllStringSubmatch(e[2], -1)
			if len(types) != len(ps) {
				t.Errorf("kernel %s: %d parameters in the PTX, %d in args.go", e[1], len(types), len(ps))
			}
			for i, ty := range types {
				if ty[1] != ".u64" {
					t.Errorf("kernel %s: PTX parameter %d is %s, not 8 bytes", e[1], i, ty[1])
				}
			}
		}
	}
	if n != len(kernelParams) {
		t.Errorf("%d kernels in the PTX, %d in args.go", n, len(kernelParams))
	}
}

// Each generated struct packs its fields in parameter order: a struct whose
// every field holds its parameter's index packs 0, 1, 2, …
func TestPack(t *testing.T) {
	for _, a := range []Args{
		StepArgs{}, ReadoutArgs{}, PersistentArgs{}, PlasticArgs{}, MathcheckArgs{}, RandcheckArgs{},
	} {
		v := numbered(t, a)
		words := v.Pack()
		names := v.ParamNames()
		if len(words) != len(names) {
			t.Fatalf("%T: %d words, %d names", a, len(words), len(names))
		}
		for i, w := range words {
			if w != uint64(i) {
				t.Errorf("%T: word %d (%s) is field %d", a, i, names[i], w)
			}
		}
		for _, k := range Kernels() {
			if m, _ := ModuleOf(k); m == a.Module() {
				if err := CheckArgs(k, a); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

// numbered returns a of the same type with the field of parameter i set
// to i, found by its name.
func numbered(t *testing.T, a Args) Args {
	v := reflect.New(reflect.TypeOf(a)).Elem()
	if v.NumField() != len(a.ParamNames()) {
		t.Fatalf("%T: %d fields, %d parameters", a, v.NumField(), len(a.ParamNames()))
	}
	for i, n := range a.ParamNames() {
		f := v.FieldByName(cusig.GoName(n))
		switch f.Kind() {
		case reflect.Int64:
			f.SetInt(int64(i))
		case reflect.Uint64, reflect.Uintptr:
			f.SetUint(uint64(i))
		default:
			t.Fatalf("%T: parameter %s has no field %s of an 8-byte type", a, n, cusig.GoName(n))
		}
	}
	return v.Interface().(Args)
}

func TestCheckArgs(t *testing.T) {
	if err := CheckArgs("step_f32_s", StepArgs{}); err != nil {
		t.Error(err)
	}
	for _, c := range []struct {
		kernel string
		a      Args
		want   string
	}{
		{"step_f32_s", ReadoutArgs{}, "takes kernels.StepArgs, got kernels.ReadoutArgs"},
		{"nonesuch", StepArgs{}, "no kernel nonesuch"},
		{"randcheck", short{RandcheckArgs{}}, "lacks n (parameter 6)"},
	} {
		if err := CheckArgs(c.kernel, c.a); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckArgs(%s, %T) = %v, want %q", c.kernel, c.a, err, c.want)
		}
	}
	if fmt.Sprintf("%v %v %v", Pointer, Int64, Uint64) != "pointer int64 uint64" {
		t.Error(Pointer, Int64, Uint64)
	}
}

// short drops the last parameter.
type short struct{ Args }

func (s short) ParamNames() []string { n := s.Args.ParamNames(); return n[:len(n)-1] }
func (s short) Pack() []uint64       { w := s.Args.Pack(); return w[:len(w)-1] }
