// Package kernels holds the float32 building blocks of the forward pass:
// matrix products, the fused row-wise operations around them (LayerNorm,
// softmax, activations) and the attention of one block.
//
// # Matrix products
//
// [Linear] and [Gemm] go through gonum's blas32, whose implementation this
// package installs once, in its init, from NEURONLENS_BLAS (see [Use]):
//
//   - "go" (the default): [Implementation], gonum's pure-Go BLAS with Sgemm
//     replaced by a packed, cache-blocked product. op(B) is packed kc×nc at a
//     time into nr-wide micro-panels and op(A) mc×kc into mr-high ones (alpha
//     folded in), and a register-blocked micro-kernel adds each mr×nr tile of
//     A·B into C. Large products are split by whole tiles of columns (or rows)
//     across GOMAXPROCS goroutines. On amd64 the micro-kernels are AVX-512
//     (6×64, 12×32) or AVX2+FMA (6×16) assembly chosen once from the CPU
//     flags, and packing transposes 8×8 blocks with AVX; elsewhere, and
//     under the noasm build tag, a 4×4 Go kernel runs.
//   - "openblas": the same, with Sgemm sent to OpenBLAS (or any CBLAS) loaded
//     at run time through purego, without cgo.
//   - "auto": OpenBLAS when a library loads, else "go".
//
// The backend and the micro-kernel chosen from the CPU are the package's
// only global state.
//
//	packed B (kc×nc)              packed A (mc×kc)
//	panel 0      panel 1          panel 0: p=0: a00 a10 … a(mr-1)0
//	p=0: b00…b0(nr-1) | …                  p=1: a01 a11 …
//	p=1: b10…         | …         panel 1: rows mr…2mr-1
//
// # Element-wise functions
//
// Exp, Erf and the activations work in float32 only, with polynomial
// approximations fitted for this package (exp within 1.5 ulp, erf 3, GELU
// 5); Softmax, QuickGELU and GELU run 8 lanes at a time with AVX2+FMA where the
// CPU has it. The attention of a block ([AttentionPattern],
// [AttentionApply]) reads Q, K and V through strides from the in-projection
// output and runs its heads in parallel. [PackedAttentionPattern] and
// [PackedAttentionApply] do the same for many sequences packed back to back
// in one [R, 3D] projection (a batched forward pass), each sequence
// attending only to itself, with (sequence, head) pairs spread over the
// cores. LayerNorm splits long inputs by rows across the cores.
//
// # Memory
//
// The packed panels of each Sgemm call come from a sync.Pool of buffers
// that only grow, so a steady stream of products allocates nothing but the
// goroutines of its parallel sections (a few small objects per call).
//
// # Layout and errors
//
// All slices are row-major. Exported functions check their arguments and
// panic on length mismatches, which are programmer errors: callers size
// buffers from a validated model configuration. Sgemm panics with gonum's
// messages. Every function is safe for concurrent use on distinct outputs,
// except [Use], which must not run concurrently with matrix products.
package kernels
