// Package kernels holds the float32 building blocks of the forward pass:
// matrix products (through gonum's blas32, the one place where they happen)
// and the fused row-wise operations around them (LayerNorm, softmax,
// activations).
//
// All slices are row-major. Exported functions check their arguments and
// panic on length mismatches, which are programmer errors: callers size
// buffers from a validated model configuration.
package kernels
