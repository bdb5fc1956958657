package backend

import "math/bits"

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011; Random123). It maps a 128-bit counter and a 64-bit key to 128
// random bits with ten rounds, so a random number can be computed from its
// coordinates alone, in any order, on any device.
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9 // golden ratio
	philoxW1 = 0xBB67AE85 // sqrt(3) - 1
)

// Philox4x32 returns the ten-round Philox4x32 block for counter ctr and key.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c0, c1, c2, c3 := ctr[0], ctr[1], ctr[2], ctr[3]
	k0, k1 := key[0], key[1]
	for round := 0; round < 10; round++ {
		hi0, lo0 := bits.Mul32(philoxM0, c0)
		hi1, lo1 := bits.Mul32(philoxM1, c2)
		c0, c1, c2, c3 = hi1^c1^k0, lo1, hi0^c3^k1, lo0
		k0 += philoxW0
		k1 += philoxW1
	}
	return [4]uint32{c0, c1, c2, c3}
}

// Purpose separates independent random streams that share the other
// coordinates. Values are part of the contract: changing one changes results.
type Purpose uint32

const (
	PurposePreNoise  Purpose = 0 // pre-activation noise ξ in v += α·σ_pre·ξ
	PurposePostNoise Purpose = 1 // post-activation noise ξ in r += σ_post·ξ
	// PurposeGrowth draws synapse growth: unit word = Shape.GrowthIndex,
	// trial word = the global trial (per-trial weights) or 0 (shared).
	PurposeGrowth Purpose = 2
	PurposeInit   Purpose = 8 // host-side initialization (weights, masks, inputs)
	maxPurpose            = 15
)

// MaxInstances is the number of instances the counter layout can address.
const MaxInstances = 1 << 28

// Counter lays out the coordinates of one random draw: word 0 the unit, word 1
// the step, word 2 the trial, word 3 the instance (high 28 bits) and purpose
// (low 4 bits). The key is the 64-bit seed.
func Counter(instance, trial, step, unit int, p Purpose) [4]uint32 {
	return [4]uint32{uint32(unit), uint32(step), uint32(trial), uint32(instance)<<4 | uint32(p)&maxPurpose}
}

// SeedKey splits a 64-bit seed into Philox's key words.
func SeedKey(seed uint64) [2]uint32 { return [2]uint32{uint32(seed), uint32(seed >> 32)} }
