package clip

import (
	"context"
	"fmt"
	"runtime"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"

	"github.com/neuronlens/neuronlens/internal/parallel"
)

// This file builds the forward pass as a spago autograd graph, for training.
// Every step is one fused operator (autograd_ops.go) that runs the same
// float32 kernels as the fast path (forward.go), so the graph's values equal
// EncodePixels and EncodeTokens to float32 rounding, and whose Backward
// computes exact float32 gradients. A graph is built per image and per text;
// images and texts run on separate goroutines, and spago's ag.Backward runs
// the operators of independent graphs concurrently.

// SetRequiresGrad marks every parameter of m (both towers and LogitScale) as
// requiring gradients, or not. Parameters from [New] and the loaders start
// without, so call m.SetRequiresGrad(true) before training; gradients then
// accumulate in each parameter's Grad() across calls to ag.Backward until
// nn.ZeroGrad(m) (or an optimizer step) clears them.
func (m *Model) SetRequiresGrad(on bool) {
	nn.ForEachParam(m, func(p *nn.Param) { p.SetRequiresGrad(on) })
}

// ForwardImages returns the autograd nodes of the un-normalized image
// embeddings f(I) [d] (spago shape [d, 1]) of preprocessed pixels, one
// tensor per image holding 3·S·S values in the layout [Model.EncodePixels]
// takes: [3, S, S], channel-major, pixels[(c*S+y)*S+x]. The values equal
// EncodePixels to float32 rounding. A pixel tensor that requires gradients
// receives them. Images are spread over GOMAXPROCS goroutines.
//
// It panics if m has no image tower or a tensor has the wrong size: batches
// are built in memory, so a wrong size is a programmer error.
func (m *Model) ForwardImages(pixels []mat.Tensor) []mat.Tensor {
	if m.Visual == nil {
		panic(errNoVision)
	}
	c := m.Config.Vision
	for i, p := range pixels {
		if p.Size() != 3*c.ImageSize*c.ImageSize {
			panic(fmt.Sprintf("clip: ForwardImages: image %d has %d values, want 3×%d×%d", i, p.Size(), c.ImageSize, c.ImageSize))
		}
	}
	out := make([]mat.Tensor, len(pixels))
	_ = parallel.For(context.Background(), len(pixels), runtime.GOMAXPROCS(0), func(_, i int) error {
		out[i] = m.imageGraph(pixels[i])
		return nil
	})
	return out
}

// imageGraph is visionForward as operators:
//
//	x = LNPre([class; patches·Conv1ᵀ] + PositionalEmbedding)   [T, D]
//	x = Blocks(x)                                             [T, D]
//	f = LNPost(x[0])·Proj                                     [d]
func (m *Model) imageGraph(pixels mat.Tensor) mat.Tensor {
	c := m.Config.Vision
	v := m.Visual
	T, D := c.Tokens(), c.Width
	x := runOp(&patchEmbedOp{pixels: pixels, conv1: v.Conv1, class: v.ClassEmbedding, pos: v.PositionalEmbedding,
		size: c.ImageSize, patch: c.PatchSize, width: D}) // [T, D]
	x = runOp(&layerNormOp{x: x, w: v.LNPre.W, b: v.LNPre.B, rows: T, cols: D}) // [T, D]
	for _, b := range v.Blocks {
		x = m.blockGraph(b, x, T, false) // [T, D]
	}
	return runOp(&poolOp{x: x, w: v.LNPost.W, b: v.LNPost.B, proj: v.Proj, row: 0, width: D, out: m.Config.EmbedDim}) // [d]
}

// ForwardTokens returns the autograd nodes of the text embeddings g [d]
// (spago shape [d, 1]) of token sequences: SOT … EOT, optionally zero
// padded, at most the context length, as [Model.EncodeTokens] takes them.
// Each sequence runs only up to its EOT, found as the largest id, as the
// fast path does; the values equal EncodeTokens to float32 rounding. The
// token embedding is looked up for the whole batch at once, so its gradient
// (a dense [V, W] matrix) is built once per call. Sequences are spread over
// GOMAXPROCS goroutines.
//
// It panics if m has no text tower, a sequence is empty or longer than the
// context, or an id is outside the vocabulary.
func (m *Model) ForwardTokens(ids [][]int) []mat.Tensor {
	if m.Text == nil {
		panic(errNoText)
	}
	c := m.Config.Text
	lens := make([]int, len(ids)) // T = eot+1 per sequence
	for i, seq := range ids {
		if len(seq) == 0 || len(seq) > c.ContextLength {
			panic(fmt.Sprintf("clip: ForwardTokens: sequence %d has %d ids, want 1 to %d", i, len(seq), c.ContextLength))
		}
		eot := 0
		for j, id := range seq {
			if id < 0 || id >= c.VocabSize {
				panic(fmt.Sprintf("clip: ForwardTokens: sequence %d: id %d at position %d is outside the vocabulary of %d", i, id, j, c.VocabSize))
			}
			if id > seq[eot] {
				eot = j
			}
		}
		lens[i] = eot + 1
	}
	if len(ids) == 0 {
		return nil
	}
	t := m.Text
	W := c.Width
	emb := runOp(&tokenEmbedOp{tok: t.TokenEmbedding, pos: t.PositionalEmbedding, ids: ids, lens: lens, width: W}) // [ΣT, W]
	offsets := make([]int, len(ids))
	for i := 1; i < len(ids); i++ {
		offsets[i] = offsets[i-1] + lens[i-1]
	}
	out := make([]mat.Tensor, len(ids))
	_ = parallel.For(context.Background(), len(ids), runtime.GOMAXPROCS(0), func(_, i int) error {
		T := lens[i]
		x := runOp(&rowsOp{x: emb, from: offsets[i], rows: T, cols: W}) // [T, W]
		for _, b := range t.Blocks {
			x = m.blockGraph(b, x, T, true) // [T, W]
		}
		out[i] = runOp(&poolOp{x: x, w: t.LNFinal.W, b: t.LNFinal.B, proj: t.TextProjection, row: T - 1, width: W, out: m.Config.EmbedDim}) // [d]
		return nil
	})
	return out
}

// blockGraph is blockForward as operators, on x [T, D]:
//
//	x = x + OutProj(attention(InProj(LN1(x))))
//	x = x + CProj(act(CFC(LN2(x))))
func (m *Model) blockGraph(b *Block, x mat.Tensor, T int, causal bool) mat.Tensor {
	D := b.LN1.W.Size()
	N := b.MLP.CFC.B.Size()
	h := runOp(&layerNormOp{x: x, w: b.LN1.W, b: b.LN1.B, rows: T, cols: D})                             // [T, D]
	qkv := runOp(&linearOp{x: h, w: b.Attn.InProj.W, b: b.Attn.InProj.B, rows: T, in: D, out: 3 * D})    // [T, 3D]
	z := runOp(&attentionOp{qkv: qkv, rows: T, width: D, heads: b.Attn.Heads, causal: causal})           // [T, D]
	x = runOp(&linearOp{x: z, w: b.Attn.OutProj.W, b: b.Attn.OutProj.B, res: x, rows: T, in: D, out: D}) // [T, D]
	h = runOp(&layerNormOp{x: x, w: b.LN2.W, b: b.LN2.B, rows: T, cols: D})                              // [T, D]
	u := runOp(&linearOp{x: h, w: b.MLP.CFC.W, b: b.MLP.CFC.B, rows: T, in: D, out: N})                  // [T, N]
	u = runOp(&activationOp{x: u, act: m.Config.Activation})                                             // [T, N]
	return runOp(&linearOp{x: u, w: b.MLP.CProj.W, b: b.MLP.CProj.B, res: x, rows: T, in: N, out: D})    // [T, D]
}

// runOp wraps f as a spago operator and computes its value now.
func runOp(f ag.AutoGradFunction) mat.Tensor { return ag.NewOperator(f).Run() }
