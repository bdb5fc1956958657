//go:build !amd64

package cpu

// Without amd64 the gathered product is plain Go (sparse.go).
var hasGatherAVX, hasGatherAVX2, hasGatherAVX512 = false, false, false

func gatherRow8(n int, w *float32, off *int32, buf *float32, acc *float32)  { panic("unreachable") }
func gatherRow16(n int, w *float32, off *int32, buf *float32, acc *float32) { panic("unreachable") }
func gatherPairsS(m int, w *[4]*float32, off *[4]*int32, buf *float32, acc *[8]float32) {
	panic("unreachable")
}
func gatherPairsD(m int, w *[4]*float64, off *[4]*int32, buf *float64, acc *[8]float64) {
	panic("unreachable")
}
func gatherQuadsS(m int, w *[4]*float32, off *[4]*int32, buf *float32, acc *[16]float32) {
	panic("unreachable")
}
func gatherQuadsD(m int, w *[4]*float64, off *[4]*int32, buf *float64, acc *[16]float64) {
	panic("unreachable")
}
func gatherQuadRowsS(groups int, rs *int32, off *int32, w *float32, buf *float32, x *float32, ldx int) {
	panic("unreachable")
}
func gatherQuadRowsD(groups int, rs *int32, off *int32, w *float64, buf *float64, x *float64, ldx int) {
	panic("unreachable")
}
func gatherQuadRowsInS(groups int, rs *int32, off *int32, w *float32, buf *float32, x *float32, ldx int, u *float32, ldu int) {
	panic("unreachable")
}
func gatherQuadRowsInD(groups int, rs *int32, off *int32, w *float64, buf *float64, x *float64, ldx int, u *float64, ldu int) {
	panic("unreachable")
}
func interleave4S(n int, z *float32, ldz int, dst *float32) { panic("unreachable") }
func interleave4D(n int, z *float64, ldz int, dst *float64) { panic("unreachable") }
func gatherQuadPackedS(groups int, meta *int32, rec *uint64, buf *float32, x *float32, ldx int) {
	panic("unreachable")
}
func gatherQuadPackedD(groups int, meta *int32, rec *uint64, buf *float64, x *float64, ldx int) {
	panic("unreachable")
}
func gatherQuadPackedInS(groups int, meta *int32, rec *uint64, buf *float32, x *float32, ldx int, u *float32, ldu int) {
	panic("unreachable")
}
func gatherQuadPackedInD(groups int, meta *int32, rec *uint64, buf *float64, x *float64, ldx int, u *float64, ldu int) {
	panic("unreachable")
}
