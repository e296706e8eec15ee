// Package lens explains the neurons of CLIP's image tower with the
// second-order lens (Gandelsman, Efros, Steinhardt, arXiv 2406.04341; the
// method and the reference's conventions are in docs/METHOD.md).
//
// # Per image
//
// [SecondOrder] returns the N×d matrix of second-order effects of the N
// neurons of one MLP block: what each neuron writes into the residual
// stream, carried by the attention heads of every later block to the CLS
// token, then through ln_post and proj, with attention patterns and LayerNorm
// statistics frozen. [FirstOrder] (direct effects through ln_post) and
// [Indirect] (mean-ablation, one forward pass per neuron) give the other two
// effects of the paper in the same units. Batched forms spread images over
// the cores. Effects are in paper scale (×100/‖f(I)‖, f(I) the un-normalized
// embedding) and include the shared term C(I) of the reference; [RawScale]
// and [WithoutSharedTerm] change that.
//
// The second-order effects are computed in factorized form, exactly equal to
// the reference's literal computation:
//
//	φ_n(I) = s(I) Σ_k α_n^k(I) u_n^k + C(I),   s(I) = 100/(‖f(I)‖ σ_post)
//	α_n^k(I) = Σ_t A^k[0,t] p[t,n] / σ_1^{l'}[t]          (k = a later block l' and head h)
//	u_n^k    = projᵀ[γ_post ⊙ W_O^h W_V^h (γ_1^{l'} ⊙ w_n)] (image-independent)
//
// The u vectors, [N, K, d] float32 per layer, are built once per model and
// layer and cached on the model with [clip.Model.Derived].
//
// # Over a dataset
//
// [Analyze] streams a [Source] of images and returns per-layer [Stats]: mean
// effects, the top-k images by centred norm, thresholds, significance
// fractions, first principal directions r_n and the variance they explain.
// Per-image state stays in alpha-space (a [N, K] block, C(I) and f(I)), kept
// in an on-disk cache of atomic .npy files, so memory does not grow with the
// number of images and an interrupted run resumes. The accumulators [Sums]
// and [Tops] merge across shards. [Ablate] measures zero-shot accuracy under
// the ablations of METHOD.md §2. [Results] save as .npy files plus a JSON
// index.
//
// # On the GPU
//
// [WithDevice]("cuda"), or NEURONLENS_DEVICE=cuda, runs [Analyze],
// [SecondOrderBatch] and [SecondOrderPixelsBatch] on an NVIDIA GPU through
// package clip/cuda (binaries built with CGO_ENABLED=1 go build -tags cuda).
// Images go through the device in batches; the traces the lens reads stay
// there, the alphas and their image-independent sums (and, for the batch
// forms of SecondOrder, their products with the u vectors) are computed
// there, and only the per-image results come back. Analyze turns them into
// its usual alpha-space records, W = U_n C(I) through a small cached basis
// instead of the u vectors themselves, and overlaps reading the next batch,
// the device's work and the host's records. [WithEncoder] reuses a caller's
// encoder. The default is the CPU; asking for cuda where it cannot run is
// an error wrapping clip/cuda's ErrNotBuilt or ErrUnavailable.
//
// # Errors, panics, concurrency
//
// Bad inputs (nil model, no image tower, layer out of range, wrong pixel
// counts, unreadable images) are returned as errors. A *clip.Model is read
// only and may be shared by concurrent calls; the derived data the lens
// caches on it is built once. Options are applied per call.
package lens
