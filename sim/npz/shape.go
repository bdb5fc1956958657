package npz

import (
	"fmt"
	"strings"
)

// FormatShape writes a shape as NumPy prints it: (3, 4), (5,) or ().
func FormatShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Unravel turns the flat C-order index i of an array of the given shape
// into its index per dimension, as numpy.unravel_index does.
func Unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}
