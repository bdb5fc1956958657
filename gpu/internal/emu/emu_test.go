//go:build cudaemu

package emu

import (
	"math"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/ratesim/ratesim/kernels"
)

func TestSourcesCurrent(t *testing.T) {
	if err := CheckSources("../../../kernels"); err != nil {
		t.Fatal(err)
	}
}

// The emulator holds every kernel of package kernels, and the C++ compiler
// sees each one's parameters as kernels/args.go declares them: the same
// number, each a pointer, int64 or uint64 alike.
func TestSignatures(t *testing.T) {
	if got, want := Kernels(), kernels.Kernels(); !slices.Equal(got, want) {
		t.Fatalf("emulator kernels %v, package kernels %v: update the entries of emu.cc", got, want)
	}
	for _, k := range kernels.Kernels() {
		if err := checkSignature(k); err != nil {
			t.Error(err)
		}
	}
	// A table that disagrees with the compiler is caught.
	sig, _ := Signature("randcheck")
	ps, _ := kernels.Params("randcheck")
	bad := slices.Clone(ps)
	bad[1].Kind = kernels.Int64 // seed is a u64
	if err := compareSignature("randcheck", sig, bad); err == nil || !strings.Contains(err.Error(), "parameter 2 (rs::u64 seed) is a uint64 to the compiler, a int64") {
		t.Errorf("seed as an int64: %v", err)
	}
	if err := compareSignature("randcheck", sig, ps[:5]); err == nil || !strings.Contains(err.Error(), "the compiler sees 6 parameters, kernels/args.go 5") {
		t.Errorf("one parameter short: %v", err)
	}
}

// The emulator catches a write past the end of an allocation.
func TestGuards(t *testing.T) {
	p, err := Alloc(24)
	if err != nil {
		t.Fatal(err)
	}
	if p%256 != 0 {
		t.Errorf("allocation %#x not 256-byte aligned", p)
	}
	x := make([]float64, 3)
	DtoH(unsafe.Pointer(&x[0]), p, 24)
	for _, v := range x {
		if !math.IsNaN(v) {
			t.Fatalf("fresh memory reads %v, want NaN", v)
		}
	}
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	y := make([]float64, 4)
	HtoD(p, unsafe.Pointer(&y[0]), 32)
	if err := Free(p); err != ErrGuard {
		t.Fatalf("Free after an overrun = %v, want ErrGuard", err)
	}
}

// staleArgs is a kernel's argument struct as a stale kernels/args.go could
// have it: one parameter dropped (drop ≥ 0), or two swapped (drop < 0).
type staleArgs struct {
	kernels.Args
	drop int
}

func (s staleArgs) ParamNames() []string {
	n := slices.Clone(s.Args.ParamNames())
	if s.drop < 0 {
		n[0], n[1] = n[1], n[0]
		return n
	}
	return slices.Delete(n, s.drop, s.drop+1)
}

func (s staleArgs) Pack() []uint64 {
	w := s.Args.Pack()
	if s.drop < 0 {
		return w
	}
	return slices.Delete(w, s.drop, s.drop+1)
}

// Launch refuses, before running anything, arguments that are not the
// kernel's parameter list, and says which parameter is wrong.
func TestLaunchErrors(t *testing.T) {
	one := [3]uint32{1, 1, 1}
	math := kernels.MathcheckArgs{N: 0}
	for _, c := range []struct {
		name   string
		kernel string
		args   kernels.Args
		want   []string // in the error
	}{
		{"unknown kernel", "nonesuch", math, []string{"no kernel nonesuch"}},
		{"no arguments", "mathcheck_f64", nil, []string{"no arguments"}},
		{"another module's struct", "mathcheck_f64", kernels.RandcheckArgs{}, []string{"mathcheck_f64 of mathcheck.cu takes kernels.MathcheckArgs, got kernels.RandcheckArgs"}},
		{"last field missing", "mathcheck_f64", staleArgs{math, 4}, []string{"takes 5 parameters (fn, x, y, out, n)", "lacks n (parameter 5)"}},
		{"middle field missing", "step_f32_s", staleArgs{kernels.StepArgs{}, 6}, []string{"parameter 7 is rprev", "gives rnext"}},
		{"fields swapped", "readout_f64", staleArgs{kernels.ReadoutArgs{}, -1}, []string{"parameter 1 is rates", "gives readout"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Launch(c.kernel, one, one, 0, c.args)
			if err == nil {
				t.Fatal("launch succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			t.Log(err)
		})
	}
	// Below the checks, the emulator still counts the words it is given.
	if err := launchWords("mathcheck_f64", one, one, 0, []uint64{1}); err == nil || !strings.Contains(err.Error(), "takes 5 arguments, got 1") {
		t.Errorf("launching with too few words: %v", err)
	}
	// And a right argument list runs (n = 0: nothing to compute).
	if err := Launch("mathcheck_f64", one, one, 0, math); err != nil {
		t.Error(err)
	}
}

// The host compiler must not have fused a multiply and an add: with
// a = 1+2⁻³⁰, b = 1−2⁻³⁰, a·b = 1−2⁻⁶⁰ rounds to 1, so a·b − 1 is 0
// with two roundings and −2⁻⁶⁰ with an FMA.
func TestNoContraction(t *testing.T) {
	if got := ContractProbe(1+0x1p-30, 1-0x1p-30, -1); got != 0 {
		t.Fatalf("a·b+c = %g: the emulator was compiled with FMA contraction", got)
	}
	if got := ContractProbe32(1+0x1p-13, 1-0x1p-13, -1); got != 0 {
		t.Fatalf("float32 a·b+c = %g: the emulator was compiled with FMA contraction", got)
	}
}
