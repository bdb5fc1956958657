package backendtest

import (
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ratesim/ratesim/backend"
)

// EntryPoint is one feature's conformance test. Each runs on every backend:
// an optional feature's entry point tests a backend that supports it
// (backend.Supports) in full and checks that one that does not refuses the
// feature's programs at Start.
type EntryPoint struct {
	Name string
	Test func(t *testing.T, b backend.Backend)
}

// EntryPoints lists the suite's entry points in the order Test runs them.
// A new feature adds its entry point here, and every backend's test file
// one line that calls it.
func EntryPoints() []EntryPoint {
	return []EntryPoint{
		{"Dynamics", Dynamics},
		{"NonFinite", NonFinite},
		{"Partition", Partition},
		{"Plasticity", Plasticity},
		{"Misuse", Misuse},
		{"Delays", Delays},
		{"Sparse", Sparse},
		{"RateForm", RateForm},
	}
}

// Test runs every entry point on b, each as a subtest named after it.
func Test(t *testing.T, b backend.Backend) {
	t.Helper()
	for _, e := range EntryPoints() {
		t.Run(e.Name, func(t *testing.T) { e.Test(t, b) })
	}
}

// Covers fails t unless tests, a backend's test functions, hold one per
// entry point, named after it (TestDynamics, TestReferenceDynamics, …): a
// backend that calls the entry points one by one instead of through Test
// learns here that the suite has grown.
func Covers(t *testing.T, tests ...func(*testing.T)) {
	t.Helper()
	var names []string
	for _, f := range tests {
		n := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
		names = append(names, n[strings.LastIndex(n, ".")+1:])
	}
	for _, e := range EntryPoints() {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "Test") && strings.HasSuffix(n, e.Name) }) {
			t.Errorf("no test of the entry point %s among %v: add func Test%s(t *testing.T) { backendtest.%s(t, b) }", e.Name, names, e.Name, e.Name)
		}
	}
}

// Expect runs p on b and on the reference and fails t at the first
// bitwise difference.
func Expect[T backend.Float](t *testing.T, b backend.Backend, p *backend.Program[T], input []T, steps int, sizes []int) *Result[T] {
	t.Helper()
	want, err := RunChunked(backend.Reference, p, input, steps, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RunChunked(b, p, input, steps, sizes)
	if err != nil {
		t.Fatal(err)
	}
	if d := Compare(got, want, p.Record.Every()); d != nil {
		t.Fatalf("%s vs reference (chunks %v): %s", b.Name(), sizes, d)
	}
	return want
}

// bothPrecisions runs f as the subtests f32 and f64.
func bothPrecisions(t *testing.T, f32, f64 func(t *testing.T)) {
	t.Run("f32", f32)
	t.Run("f64", f64)
}
