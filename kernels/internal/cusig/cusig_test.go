package cusig

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `// comment with extern "C" __global__ void fake(int x) in it
#include "model.cuh"
/* block
   comment */
#define PARAMS(T) const T *__restrict__ x, T *out, \
	rs::i64 n
#define ARGS x, out, n
#define KERNEL(name, T, B)                                     \
	extern "C" __global__ void __launch_bounds__(B * 2) name(PARAMS(T), rs::u64 seed) { \
		body<T>(ARGS);                                          \
	}
KERNEL(k_f32, float, 128)
KERNEL(k_f64, double, 64)
extern "C" __device__ int notAKernel(int x);
extern "C" __global__ void plain(const unsigned char *p, unsigned long long u, long long i) {}
`
	ks, err := ParseFile("m.cu", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range ks {
		var ps []string
		for _, p := range k.Params {
			ps = append(ps, p.CType+" "+p.Name+" "+string(p.Kind))
		}
		got = append(got, k.Module+"."+k.Name+"("+strings.Join(ps, ", ")+")")
	}
	want := []string{
		"m.k_f32(const float * x Pointer, float * out Pointer, rs::i64 n Int64, rs::u64 seed Uint64)",
		"m.k_f64(const double * x Pointer, double * out Pointer, rs::i64 n Int64, rs::u64 seed Uint64)",
		"m.plain(const unsigned char * p Pointer, unsigned long long u Uint64, long long i Int64)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ks[0].Pos != "m.cu:12" {
		t.Errorf("position %s, want m.cu:12 (the macro's invocation)", ks[0].Pos)
	}
}

// What cusig cannot read, or what breaks the 8-byte rule, is an error.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`extern "C" __global__ void k(int n) {}`, "type int: kernel parameters must be pointers or 64-bit integers"},
		{`extern "C" __global__ void k(float x) {}`, "type float"},
		{`extern "C" __global__ void k(double *x, rs::i64 x) {}`, "parameter x twice"},
		{`extern "C" __global__ void k(const float &x) {}`, `"&" is not supported`},
		{`extern "C" __global__ void k(float *) {}`, "has no name"},
		{"#ifdef X\n#endif\n", "#ifdef: cusig reads only"},
		{"#define CAT(a, b) a##b\n", "# and ## operators"},
		{"#define M(a, b) a b\nM(1)\n", "macro M takes 2 arguments, got 1"},
		{`extern "C" { __global__ void k(); }`, `extern "C" { … } blocks`},
	} {
		if _, err := ParseFile("x.cu", []byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error saying %q", c.src, err, c.want)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	parse := func(name, src string) []Kernel {
		ks, err := ParseFile(name, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	for _, c := range []struct {
		ks   []Kernel
		want string
	}{
		{parse("a.cu", `extern "C" __global__ void k(rs::i64 s, rs::i64 S) {}`), "parameter S would be field S of AArgs, as parameter s is"},
		{parse("a.cu", `extern "C" __global__ void k(rs::i64 pack) {}`), "parameter pack would be field Pack of AArgs, as method Pack is"},
		{parse("a.cu", `extern "C" __global__ void k(rs::i64 n) {} extern "C" __global__ void l(rs::i64 n, rs::i64 m) {}`), "the kernels of one .cu share one parameter list"},
		{parse("a.cu", `extern "C" __global__ void k(rs::i64 n) {} extern "C" __global__ void l(rs::u64 n) {}`), "parameter 1 is rs::u64 n, in kernel k of the same module rs::i64 n"},
		{append(parse("a.cu", `extern "C" __global__ void k(rs::i64 n) {}`), parse("b.cu", `extern "C" __global__ void k(rs::i64 n) {}`)...), "kernel k is defined twice"},
	} {
		if _, err := GenerateFrom(c.ks); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error saying %q", c.ks, err, c.want)
		}
	}
}
