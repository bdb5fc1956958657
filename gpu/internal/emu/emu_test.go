//go:build cudaemu

package emu

import (
	"math"
	"testing"
	"unsafe"
)

func TestSourcesCurrent(t *testing.T) {
	if err := CheckSources("../../../kernels"); err != nil {
		t.Fatal(err)
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

func TestLaunchErrors(t *testing.T) {
	if err := Launch("nonesuch", [3]uint32{1, 1, 1}, [3]uint32{1, 1, 1}, 0, nil); err == nil {
		t.Error("launching an unknown kernel succeeded")
	}
	if err := Launch("mathcheck_f64", [3]uint32{1, 1, 1}, [3]uint32{1, 1, 1}, 0, []uint64{1}); err == nil {
		t.Error("launching with too few arguments succeeded")
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
