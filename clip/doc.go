// Package clip is the CLIP ViT model: image and text towers written as spago
// modules, loaders for the checkpoints people already have, CLIP's tokenizer
// and preprocessing, a zero-shot classifier, and the one mechanism for
// looking inside the model and changing what flows through it.
//
// # Loading
//
// [Load] reads, by sniffing the bytes rather than trusting file names:
//   - a Hugging Face directory (config.json with model.safetensors or
//     pytorch_model.bin, or their shards with model.safetensors.index.json
//     or pytorch_model.bin.index.json, and vocab.json + merges.txt when
//     present);
//   - an open_clip directory (open_clip_config.json with its weights);
//   - a state-dict file in OpenAI/open_clip naming (.pt, .bin, .pth: the torch
//     zip format or the legacy pickle format);
//   - a .safetensors file in either naming;
//   - an OpenAI TorchScript archive as distributed (ViT-B-32.pt and friends).
//
// Tensors may be float32, float16 or bfloat16; they become float32. The
// architecture is inferred from tensor shapes as open_clip does for OpenAI
// state dicts: nothing is keyed on a model name, so ViT-B/32, B/16, L/14 and
// L/14@336 all load, as do small models of the same layout. The activation
// comes from the checkpoint where it says (Hugging Face hidden_act, open_clip
// quick_gelu, a TorchScript archive is OpenAI's QuickGELU), else from
// [WithActivation], else QuickGELU. Every mismatch is an error that names the
// file and the tensor key; errors wrap [ErrFormat] or [ErrTruncated] where
// that applies. No input panics.
//
// # Data layout
//
// Everything in the forward pass is float32 and row-major. Preprocessed
// pixels are [3, S, S]: channel c, row y, column x at (c*S+y)*S+x. A tower's
// residual stream is [T, D] with token t at row t; in the image tower token
// 0 is the class token and tokens 1… are the patch grid row by row.
// Embeddings returned by EncodeImage and EncodeText are un-normalized [d].
// Parameters are *nn.Param holding mat.Dense[float32]; their shapes are the
// checkpoint's, except conv1, kept as [D, 3·p·p].
//
// # Looking inside: hooks and traces
//
// A [Point] names a [Site] in a block ("blocks.9.mlp.hook_post") or after the
// last one ("ln_post.hook_scale"). [Hooks] attach functions to points for one
// call of [Model.RunPixels], [Model.RunImage] or [Model.RunTokens]; a hook
// sees the whole activation of a site and may edit it in place, which is how
// mean-ablation and patching are done. A [Trace] is nothing but hooks that
// copy. There is no other way in: the lens, segmentation and ablations all
// read the model through these points.
//
// # Two forward passes
//
// Without gradients, the forward pass runs on the parameters' float32
// backing slices through internal/kernels, where every matrix product goes
// through gonum's blas32 interface, with scratch memory reused across calls.
// On an NVIDIA GPU, package clip/cuda runs the same image tower (binaries
// built with -tags cuda); this package stays pure Go.
// The text tower runs only up to the EOT token: under the causal mask this
// gives the same embedding as a full-context pass at a fraction of the cost.
//
// # Batches
//
// Every forward pass is batched: B sequences are packed back to back into
// one residual stream [R, D] (R = Σ T_b; image b at rows b·T…, a text cut
// at its EOT, so no padding is computed). LayerNorms, Linears and the
// activation run once over all R rows, so each Linear is one large matrix
// product; attention, and the text tower's causal mask, stay per sequence.
// [Model.EncodePixelsBatch], [Model.EncodeImages], [Model.EncodeTokensBatch]
// and [Model.EncodeText] take about 1,024 tokens per pass (20 ViT-B/32
// images, or some 100 short prompts); the one-input calls are the same pass
// with B = 1. Results equal the one-input calls to float32 rounding.
//
// Hooks are the one way in for every pass: a hook fires once per sequence,
// in order, on a view of that sequence's rows, so it sees exactly the
// shapes of a one-input pass ([T, D], [H·T, T], …). The public calls that
// take hooks are the one-input ones.
//
// # Concurrency
//
// A loaded *Model is read-only and safe for concurrent use. Hooks and
// Traces belong to one call. A batched pass spreads each matrix product,
// attention's (sequence, head) pairs and the row-wise steps over
// runtime.GOMAXPROCS(0) cores; EncodeImages and EncodeText preprocess and
// tokenize on all of them. Scratch memory (about 30 KiB per token for
// ViT-B) is kept per model and reused, so a steady stream of calls
// allocates only the returned embeddings and a few hundred small objects
// per call, nothing per token.
package clip
