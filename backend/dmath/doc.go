// Package dmath is ratesim's deterministic transcendental math: exp, log,
// tanh, sigmoid, softplus, sin/cos and pow whose results are defined bit for
// bit by this source, so that the Go CPU backend and the CUDA backend agree
// exactly.
//
// # Why not package math
//
// Go's math package and CUDA's libm are each accurate to about one ulp, but
// they are different algorithms and differ in the last bit for a sizeable
// fraction of inputs. A simulator that must reproduce a GPU run bit for bit
// on the CPU (and vice versa) therefore cannot call either. Instead every
// function here is a fixed sequence of IEEE-754 basic operations (branching
// only on the argument's range), each correctly rounded in
// round-to-nearest-even:
//
//   - +, −, ×, ÷ and sqrt on float64,
//   - comparisons, exact bit manipulation (math.Float64bits/Float64frombits,
//     math.Abs, math.Copysign), math.Floor/math.Trunc, and integer arithmetic
//     (including 64×64→128-bit products from math/bits),
//   - fixed constants written as hexadecimal float literals (their derivation
//     is re-checked with math/big in consts_test.go).
//
// The same sequence transcribes one-to-one into CUDA C with __dadd_rn,
// __dsub_rn, __dmul_rn, __ddiv_rn, __dsqrt_rn, __umul64hi and integer ops,
// and then yields identical bits.
//
// # No fused multiply-add
//
// The Go specification allows the compiler to fuse x*y+z into one FMA (it
// does so on arm64, ppc64le, s390x, riscv64 and on amd64 with GOAMD64=v3),
// which rounds once instead of twice and changes the result. An explicit
// conversion forbids that fusion, so every floating-point product in this
// package is written float64(x*y), including every Horner step
// p = float64(p*x) + c. math.FMA is never used either. lint_test.go enforces
// the rule on the syntax tree, and golden_test.go pins a SHA-256 of the
// outputs over a fixed input set, which must not change with GOAMD64 or
// GOARCH. The CUDA port has the mirror-image problem: nvcc contracts a*b+c by
// default (-fmad=true), so it must use the _rn intrinsics, which are never
// contracted, or compile with -fmad=false.
//
// # Algorithms
//
// Double-double ("dd") arithmetic is used wherever one float64 is not
// enough: Knuth's TwoSum and Dekker's TwoProduct with Veltkamp splitting
// (FMA-free), in dd.go.
//
//   - Exp reduces x = k·ln2 + r with a Cody–Waite split of ln2 and evaluates
//     expm1(r) from its Taylor series, with the r²/2 term in dd; Expm1 folds
//     the −1 in before the single final rounding.
//   - Log writes x = 2^e·(1+F) with 1+F in [√2/2, √2] and sums the series
//     of 2·atanh(s), s = F/(2+F), with s and its leading term in dd. Log1p
//     forms 1+x exactly as a dd and feeds both parts to the same kernel.
//   - Pow is exp(y·log|x|) with a dd log good to ≈ 2^-70 and a dd product,
//     so the exponent is known to ≈ 2^-60 even when |y·log x| ≈ 745.
//   - Tanh is t/(t+2), t = expm1(2|x|) in dd; Sigmoid is 1/(1+E) or E/(1+E),
//     E = e^−|x| in dd; Softplus is [x +] log1p(E). Each ends in a corrected
//     dd division or sum, so the final rounding is the only sizeable error.
//   - Sin and Cos reduce by π/2 with a four-part Cody–Waite constant for
//     |x| < 2^19 and by an exact Payne–Hanek multiplication with 1216 bits of
//     2/π (integer arithmetic) beyond that, then evaluate Taylor kernels on
//     the dd remainder. SinPi and CosPi reduce exactly modulo 1/2 and reuse
//     those kernels.
//
// All polynomials are Taylor series (exact coefficients 1/n! or 2/k,
// correctly rounded) with enough terms that truncation is below 2^-60
// relative. ACCURACY.md lists the measured errors: all below one ulp.
//
// # float32
//
// The float32 functions (Exp32, Log32, …) convert the argument to float64,
// run the float64 algorithm and round once to float32. This keeps a single
// algorithm to transcribe, gives float32 results that are correctly rounded
// except in rare double-rounding cases (error at most 0.5 ulp plus about
// 2^-29 ulp), and handles float32 overflow, underflow to subnormals and zero,
// −0, NaN and ±Inf through the float64 path and the final conversion.
//
// # Special values
//
// Special cases follow C99 Annex F (as Go's math does): Exp(+Inf)=+Inf,
// Exp(−Inf)=0, Log(0)=−Inf, Log(x<0)=NaN, Tanh(±Inf)=±1, Sin(±Inf)=NaN,
// Sigmoid(±Inf)=1/0, the full C99 table for Pow, and the sign of zero is kept
// where C99 keeps it (Sin(−0)=−0, Tanh(−0)=−0, Expm1(−0)=−0, Log1p(−0)=−0).
// SinPi and CosPi follow IEEE 754-2019: SinPi(n)=+0 for positive integers n
// and −0 for negative ones, CosPi(n+½)=+0.
//
// The code uses no tables except the 2/π bits, no recursion, no goroutines
// and no allocation.
package dmath
