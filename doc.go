// Package neuronlens explains the neurons of CLIP with the second-order lens
// (Gandelsman, Efros and Steinhardt, "Interpreting the Second-Order Effects of
// Neurons in CLIP", 2024), in pure Go, on a laptop CPU.
//
// This root package holds no code; it is the map of the module. Import the
// package for the job at hand:
//
//   - [github.com/neuronlens/neuronlens/clip]: the CLIP ViT model. Load the
//     checkpoints people already have (OpenAI TorchScript archives, open_clip
//     and OpenAI state dicts, Hugging Face directories, safetensors), tokenize,
//     preprocess exactly as PIL does, embed images and texts, classify zero-shot,
//     and look inside the forward pass through named hook points.
//   - [github.com/neuronlens/neuronlens/lens]: the second-order effect of every
//     MLP neuron of a layer on the image embedding, with first-order and
//     indirect effects for comparison, and streaming statistics over image sets
//     (mean effects, top images, significance, the rank-1 direction r_n) that
//     merge across shards.
//   - [github.com/neuronlens/neuronlens/sparse]: Orthogonal Matching Pursuit,
//     matching scikit-learn's orthogonal_mp_gram, on plain matrices.
//   - [github.com/neuronlens/neuronlens/decompose]: each neuron's direction as a
//     sparse sum of text descriptions (text pools, cached embeddings, OMP,
//     the k-term accuracy curve, concept discovery); examples/describe runs it.
//   - github.com/neuronlens/neuronlens/segment: zero-shot segmentation from
//     neurons, with pixel accuracy, mIoU and mAP.
//   - github.com/neuronlens/neuronlens/adversarial: semantic adversarial
//     examples mined from polysemantic neurons.
//
// # How data flows
//
//	image.Image ─clip.Preprocess→ pixels [3,S,S] ─clip.Model (hooks)→ f(I) [d]
//	                                   trace: ln_1 σ [T], attention [H,T,T], MLP post [T,N]
//	lens.SecondOrder / lens.Analyze → effects [N,d] per image, statistics per layer
//	decompose (text pool → dictionary) ─sparse.OMP→ neuron descriptions
//	segment, adversarial ← neurons picked by <r_n, class direction>
//
// Arrows point one way: sparse knows nothing of CLIP, clip knows nothing of
// the lens. On the CPU every matrix product goes through gonum's blas32
// interface, served by the float32 kernels of internal/kernels (or OpenBLAS,
// NEURONLENS_BLAS=openblas). The one exception is the CUDA backend, which runs
// the whole image tower on the GPU with cuBLAS rather than swapping blas32,
// since a product-by-product swap would copy every activation across the bus.
// The science, with the reference implementation's quirks named, is specified
// in METHOD.md.
//
// # The embedded model
//
// Real CLIP weights cannot be downloaded where neuronlens is built and tested,
// so the module ships a small CLIP trained in Go on a procedural world of
// shapes with known ground truth (internal/shapes, internal/shapesmodel).
// go run ./examples/quickstart runs the whole method on it.
package neuronlens
