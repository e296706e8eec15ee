package shapes

import "math/rand/v2"

// The generator draws only through these helpers, which use nothing of
// math/rand/v2 but the PCG-DXSM stream itself (whose algorithm is fixed), so
// that a seed gives the same samples whatever Go's bounded-integer methods do.

// mix is the SplitMix64 finaliser: a bijective scramble of 64 bits.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRand returns a PCG stream for one (seed, stream, index) triple.
func newRand(seed, stream, index uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed^mix(stream)), mix(index+mix(stream^seed))))
}

// intn returns a number in [0, n) from the top 32 bits of one draw (n ≤ 2^31).
func intn(r *rand.Rand, n int) int {
	return int(((r.Uint64() >> 32) * uint64(n)) >> 32)
}

// chance reports true with probability num/den.
func chance(r *rand.Rand, num, den int) bool { return intn(r, den) < num }

// pick returns an index drawn with the given integer weights.
func pick(r *rand.Rand, weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	v := intn(r, total)
	for i, w := range weights {
		if v < w {
			return i
		}
		v -= w
	}
	return len(weights) - 1
}

// hash2 is a deterministic 32-bit hash of a lattice point, for textures.
func hash2(seed uint64, x, y int) uint32 {
	return uint32(mix(seed^(uint64(uint32(x))<<32|uint64(uint32(y)))) >> 32)
}
