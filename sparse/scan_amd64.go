//go:build !noasm

package sparse

// haveScan32 and haveScan64 report whether the AVX2 kernels can run: the
// CPU has AVX2 and the OS saves the YMM registers. Chosen once at init.
var (
	haveScan32 = hasAVX2()
	haveScan64 = haveScan32
)

func hasAVX2() bool {
	_, _, c1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if c1&osxsave == 0 || c1&avx == 0 {
		return false
	}
	if lo, _ := xgetbv(); lo&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}

// cpuid executes CPUID with EAX = op and ECX = sub.
//
//go:noescape
func cpuid(op, sub uint32) (a, b, c, d uint32)

// xgetbv executes XGETBV with ECX = 0.
//
//go:noescape
func xgetbv() (lo, hi uint32)

// scan4x2f32 computes, for q < 4 and i < 2·pairs,
//
//	dst[q*ldc+i] = Σ_{c<chunks} tree(lanes of round(e[i*lde+8c+l]·r[q*ldr+8c+l]))
//
// in the order of dotRef32 without its tail: 4 targets × 2 atoms per step,
// 8 float32 lanes, products and sums rounded separately (VMULPS, VADDPS).
//
//go:noescape
func scan4x2f32(dst *float32, ldc int, r *float32, ldr int, e *float32, lde int, pairs, chunks int)

// scan4x2f64 is scan4x2f32 for float64 with 4 lanes (VMULPD, VADDPD), in the
// order of dotRef64 without its tail.
//
//go:noescape
func scan4x2f64(dst *float64, ldc int, r *float64, ldr int, e *float64, lde int, pairs, chunks int)
