// Command asmgen generates the CPU backend's assembly with avo, one set of
// kernels per run: -set gemm (the default) writes cpu/gemm_amd64.s and its
// Go declarations cpu/gemm_amd64.go, the register-blocked micro-kernels of
// the exact drive product (below); -set normal writes cpu/normal_amd64.s
// and cpu/normal_amd64.go, the unit step's float32 noise (normal.go says
// how); -set gather writes cpu/sparse_amd64.s and cpu/sparse_amd64.go, the
// gathered (CSR) product's kernels — rows of 8 and 16 trials, four rows
// side by side for two or four trials, the whole product of four trials
// (gatherQuadRows, and gatherQuadRowsIn for rows ending in their own
// input; gatherQuadPacked{,In} the same on AVX-512 from packed rows), and
// the history's layout of four trials (interleave4)
// (gather.go); -set plastic writes cpu/plastic_amd64.s and
// cpu/plastic_amd64.go, the per-synapse pass of a plastic update and Oja's
// summed term (plastic.go); -set unit writes cpu/unitstep_amd64.s and
// cpu/unitstep_amd64.go, the float32 relu unit step on drawn normals and
// the rate form's Euler step on supralinear units (unitstep.go); -set l5
// writes cpu/l5_amd64.s and cpu/l5_amd64.go, the layer-5 rules' loops
// (l5.go). Run it through `go generate ./cpu` (or `make generate`); `make
// generate-check` proves the committed files fresh.
//
// Why a module of its own (this directory's go.mod): the generator imports
// avo, which the ratesim module itself never needs — the generated files import
// nothing. Inside the main module, `go mod tidy` would have to keep avo (and
// its golang.org/x/tools, x/mod) in ratesim's go.mod for every user, or a
// build tag would hide the import from the build but not from tidy. As a
// nested module the main module's go.mod and `go mod tidy -diff` are
// untouched, `go build ./...` and `go test ./...` of ratesim skip this
// directory, and the avo version is pinned here, in go.mod and go.sum, so
// the output is reproducible; `make generate-check` vets this module and
// checks that it is tidy too.
//
// Every gemm kernel computes one tile of c = a·b over the k columns of a
// (rows of b) that a list names, r[0] < r[1] < … < r[k−1] (the Go driver
// lists the l where some row of a's block has a[i][l] ≠ 0):
//
//	c[i][j] = (…((+0 + a[i][r[0]]·b[r[0]][j]) + a[i][r[1]]·b[r[1]][j]) + …) + a[i][r[k−1]]·b[r[k−1]][j]
//
// for i < mr rows and j < nr columns, where a, b and c are row-major with
// strides lda, ldb, ldc (in elements; a is read in place, four rows from
// each base register); it reports whether any c[i][j] of the tile is NaN. The
// sum runs in list order from +0 in registers, each product rounded by VMULP
// and added by a separate VADDP (never a fused multiply-add), so every
// element is the contract's ascending sum. A row of a block whose own factor
// is ±0 at a listed row is not skipped here; the Go driver (cpu/gemm.go)
// proves that this changes nothing unless the tile is NaN, and recomputes
// such a tile with gonum.
//
// Every kernel uses VEX/EVEX instructions only on vector registers, float
// parameters included (broadcastParam, not avo's Load, which reads them
// with a legacy-SSE MOVSS/MOVSD): on an Intel Xeon one such load at a
// kernel's entry cost ~0.8 µs a call. cpu's TestKernelsHaveNoLegacySSE
// checks the generated files.
package main
