//go:build !amd64

package cpu

// Without amd64 the gathered product is plain Go (sparse.go).
var hasGatherAVX = false

func gatherRow8(n int, w *float32, off *int32, buf *float32, acc *float32)  { panic("unreachable") }
func gatherRow16(n int, w *float32, off *int32, buf *float32, acc *float32) { panic("unreachable") }
