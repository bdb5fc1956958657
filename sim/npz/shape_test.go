package npz

import (
	"slices"
	"testing"
)

func TestFormatShape(t *testing.T) {
	for _, c := range []struct {
		shape []int
		want  string
	}{{nil, "()"}, {[]int{5}, "(5,)"}, {[]int{3, 4}, "(3, 4)"}, {[]int{2, 0, 7}, "(2, 0, 7)"}} {
		if got := FormatShape(c.shape); got != c.want {
			t.Errorf("FormatShape(%v) = %q, want %q", c.shape, got, c.want)
		}
	}
}

func TestUnravel(t *testing.T) {
	shape := []int{2, 3, 4}
	flat := 0
	for a := 0; a < 2; a++ {
		for b := 0; b < 3; b++ {
			for c := 0; c < 4; c++ {
				if got := Unravel(flat, shape); !slices.Equal(got, []int{a, b, c}) {
					t.Fatalf("Unravel(%d, %v) = %v, want [%d %d %d]", flat, shape, got, a, b, c)
				}
				flat++
			}
		}
	}
}
