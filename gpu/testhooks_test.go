//go:build cuda

package gpu

// forceTile makes b's step kernel use tile tl whatever the shape.
func forceTile(b *Backend, tl tile) { b.tile = tl.suffix }

// forcePersistent makes b's persistent kernel run tb trials per block (0:
// the plan's) with Drive in global memory when wGlobal.
func forcePersistent(b *Backend, tb int, wGlobal bool) *Backend {
	b.persistentTB, b.persistentWGlobal = tb, wGlobal
	return b
}
