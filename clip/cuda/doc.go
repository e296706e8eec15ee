// Package cuda runs the CLIP image tower and the second-order lens's
// per-image work on an NVIDIA GPU.
//
// The CPU path in package clip stays the default and stays pure Go. This
// package does its work only in binaries built with
//
//	CGO_ENABLED=1 go build -tags cuda
//
// Elsewhere every constructor returns [ErrNotBuilt]. Even with the tag,
// nothing from CUDA is needed to build: libcuda, libcublas and libnvrtc are
// opened at run time (see internal/cuda), and a machine without them, or
// without a GPU, gives an error wrapping [ErrUnavailable], never a crash.
//
// # Choosing the device
//
// [Select] reads a device name ("cpu" or "cuda"), or NEURONLENS_DEVICE when
// the name is empty, the way a program or the lens picks its backend:
//
//	dev, err := cuda.Select("")   // "" → $NEURONLENS_DEVICE → "cpu"
//	if dev == cuda.CUDA {
//		enc, err := cuda.NewImageEncoder(model)
//		...
//	}
//
// Asking for "cuda" where it cannot run is an error, not a silent fall-back.
//
// # The forward pass on the device
//
// [NewImageEncoder] uploads the image tower's weights once. Each batch is
// uploaded as pixels and stays on the device through the whole tower:
// matrix products go to cuBLAS (the attention products as batched GEMMs over
// images × heads), and LayerNorm, softmax, the activations, the patch
// gather, bias and residual additions are CUDA C kernels compiled at run time
// by NVRTC. Only the embeddings [B, d] come back. The result equals
// [clip.Model.EncodePixels] to float32 rounding (1e-4 relative is the tested
// bar).
//
// Precision is float32 throughout, cuBLAS in its default math mode, never
// TF32, unless [WithTF32] asks for it. TF32 rounds the inputs of every matrix
// product to a 10-bit mantissa (unit roundoff 2⁻¹¹ ≈ 4.9e-4), so embeddings
// then differ from the float32 ones by about 1e-3 relative: faster, but
// outside the 1e-4 parity bar.
//
// A call of more images than [WithMaxBatch] goes through the device in
// batches, and the pixels of each batch are copied and uploaded while the
// device computes the previous one, so that only the first upload is not
// hidden. Pixels in page-locked host memory from [Encoder.PageLocked] skip
// the copy into the encoder's own page-locked buffer and go up directly;
// ordinary Go memory works the same, one host copy slower.
//
// # The lens on the device
//
// [Encoder.SecondOrder] runs the forward pass for a batch and keeps on the
// device what the second-order lens of layer l reads (METHOD.md §1, the fast
// form): the MLP post-activations p [T, N] of layer l, and for every later
// block l' and head h the CLS row of the attention pattern and ln_1's μ and
// σ. From them it computes, still on the device,
//
//	α[b, n, k] = Σ_t A^{l',h}[0, t] · p[t, n] / σ1^{l'}[t]      k = (l'-l-1)·H + h
//
// with the image-independent sums the lens needs for its shared term C(I),
// and, when given u vectors, the products
//
//	φ[b, n, :] = 100 / (‖f(I)‖ σ_post) · Σ_k α[b, n, k] · u[n, k, :]
//
// Only these per-image results come back. A destination ([SecondOrder],
// recycled through [Encoder.SecondOrderProj]) whose Alpha and Proj lie in
// page-locked memory receives them straight from the device, without the
// copy out of the encoder's buffers.
//
// # Concurrency
//
// An [Encoder] serializes its calls with a mutex; use one per GPU.
package cuda
