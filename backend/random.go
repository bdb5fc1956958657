package backend

import (
	"math"

	"github.com/ratesim/ratesim/backend/dmath"
)

// Uniform32 maps the top 23 bits of w to (k + ½)·2⁻²³, a float32 in (0, 1)
// computed exactly (never 0, never 1, so log(u) is always finite).
func Uniform32(w uint32) float32 { return (float32(w>>9) + 0.5) * 0x1p-23 }

// Uniform64 maps 52 bits of (w0, w1) to (k + ½)·2⁻⁵², a float64 in (0, 1)
// computed exactly.
func Uniform64(w0, w1 uint32) float64 {
	k := uint64(w0)<<20 | uint64(w1>>12)
	return (float64(k) + 0.5) * 0x1p-52
}

// Normal32 is one of the pair of standard normal numbers Box–Muller makes
// from one Philox block: sqrt(−2·log u₁)·cos(2π u₂), or with sine set
// sqrt(−2·log u₁)·sin(2π u₂), with u₁, u₂ from words 0 and 1, every
// operation rounded to float32 and the transcendentals from dmath. The sine
// is the cosine a quarter turn back, taken exactly on u₂'s grid: 2u₂ is
// j·2⁻²³ for odd j < 2²⁴, and sin(π j 2⁻²³) = cos(π j′ 2⁻²³) with
// j′ = (j + 3·2²²) mod 2²⁴, so both halves are CosPi32 of an exact argument.
func Normal32(w [4]uint32, sine bool) float32 {
	u1 := Uniform32(w[0])
	l := dmath.Log32(u1) * -2 // exact scaling by −2
	s := float32(math.Sqrt(float64(l)))
	// The square root of a float32 computed in float64 and rounded once is
	// correctly rounded (53 ≥ 2·24+2), as CUDA's __fsqrt_rn is.
	return float32(s * dmath.CosPi32(CosArg32(w[1], sine)))
}

// CosArg32 is 2u₂ for u₂ = Uniform32(w) (sine false), or the argument of the
// cosine that is sin(2π u₂) (sine true; see Normal32): (2k+1)·2⁻²³, exact,
// for k = CosIndex32(w, sine).
func CosArg32(w uint32, sine bool) float32 { return float32(2*CosIndex32(w, sine)+1) * 0x1p-23 }

// CosIndex32 is w>>9, or for the sine (w>>9 + 3·2²¹) mod 2²³: a quarter turn
// on u₂'s grid of 2²³ points.
func CosIndex32(w uint32, sine bool) uint32 {
	k := w >> 9
	if sine {
		k = (k + 3<<21) & (1<<23 - 1)
	}
	return k
}

// NormalPair32 maps a unit to its Philox block and its half of the block's
// Box–Muller pair for float32 noise: units u and u+8 of each aligned group
// of 16 share block 8·(u/16) + u mod 8, u the cosine and u+8 the sine. (Half
// the blocks, logarithms and square roots of one normal per block; the
// pairing 8 apart lets a vector of 8 or 4 blocks fill whole vectors of
// units without shuffles.)
func NormalPair32(unit int) (block int, sine bool) {
	return unit>>4<<3 | unit&7, unit&8 != 0
}

// Normal64 is Normal32's cosine in float64, with u₁ from words 0–1 and u₂
// from 2–3.
func Normal64(w [4]uint32) float64 {
	u1, u2 := Uniform64(w[0], w[1]), Uniform64(w[2], w[3])
	l := dmath.Log(u1) * -2
	return float64(math.Sqrt(l) * dmath.CosPi(2*u2))
}

// Normal returns the standard normal number at the given coordinates in T.
//
// float32 draws one block per two units (NormalPair32), float64 one per unit
// (its uniforms take all four words).
func Normal[T Float](key [2]uint32, instance, trial, step, unit int, p Purpose) T {
	var z T
	if _, ok := any(z).(float32); ok {
		block, sine := NormalPair32(unit)
		return T(Normal32(Philox4x32(Counter(instance, trial, step, block, p), key), sine))
	}
	return T(Normal64(Philox4x32(Counter(instance, trial, step, unit, p), key)))
}

// HostUniform and HostNormal draw initialization numbers on the host (weights,
// masks, stimuli) from stream (a caller-chosen id per array) and index; they
// are float64 so every precision builds the same network before rounding.
func HostUniform(seed uint64, stream, index int) float64 {
	w := Philox4x32(hostCounter(stream, index), SeedKey(seed))
	return Uniform64(w[0], w[1])
}

// HostNormal is the standard normal counterpart of HostUniform.
func HostNormal(seed uint64, stream, index int) float64 {
	return Normal64(Philox4x32(hostCounter(stream, index), SeedKey(seed)))
}

func hostCounter(stream, index int) [4]uint32 {
	return [4]uint32{uint32(index), uint32(uint64(index) >> 32), uint32(stream), uint32(PurposeInit)}
}
