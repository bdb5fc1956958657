#include "textflag.h"

// The gathered product's inner loop for 8 or 16 trials of one row
// (sparse_amd64.go): for e = 0 … n−1 in order, acc += w[e]·buf[off[e] + lane]
// for every lane, with one rounded VMULPS and one rounded VADDPS per entry
// and lane (no FMA), the lanes' sums starting from +0 — the contract's sum
// over a row's entries, eight lanes at a time.

// func gatherRow8(n int, w *float32, off *int32, buf *float32, acc *float32)
TEXT ·gatherRow8(SB), NOSPLIT, $0-40
	MOVQ   n+0(FP), CX
	MOVQ   w+8(FP), SI
	MOVQ   off+16(FP), DI
	MOVQ   buf+24(FP), BX
	MOVQ   acc+32(FP), DX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JEQ    done8

loop8:
	VBROADCASTSS (SI), Y1
	MOVLQSX      (DI), AX
	VMULPS       (BX)(AX*4), Y1, Y2
	VADDPS       Y2, Y0, Y0
	ADDQ         $4, SI
	ADDQ         $4, DI
	DECQ         CX
	JNE          loop8

done8:
	VMOVUPS    Y0, (DX)
	VZEROUPPER
	RET

// func gatherRow16(n int, w *float32, off *int32, buf *float32, acc *float32)
TEXT ·gatherRow16(SB), NOSPLIT, $0-40
	MOVQ   n+0(FP), CX
	MOVQ   w+8(FP), SI
	MOVQ   off+16(FP), DI
	MOVQ   buf+24(FP), BX
	MOVQ   acc+32(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JEQ    done16

loop16:
	VBROADCASTSS (SI), Y1
	MOVLQSX      (DI), AX
	VMULPS       (BX)(AX*4), Y1, Y2
	VMULPS       32(BX)(AX*4), Y1, Y4
	VADDPS       Y2, Y0, Y0
	VADDPS       Y4, Y3, Y3
	ADDQ         $4, SI
	ADDQ         $4, DI
	DECQ         CX
	JNE          loop16

done16:
	VMOVUPS    Y0, (DX)
	VMOVUPS    Y3, 32(DX)
	VZEROUPPER
	RET
