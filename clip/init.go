package clip

import (
	"math"
	"math/rand/v2"
)

// InitRandom fills every weight from a seeded normal distribution with the
// scales CLIP initializes with (σ = width^-0.5 for projections and
// embeddings, LayerNorm scales one and shifts zero, zero biases), so that
// random models are deterministic and numerically tame. It is meant for
// tests, benchmarks and the start of training.
func (m *Model) InitRandom(seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	fill := func(x []float32, std float64) {
		for i := range x {
			x[i] = float32(r.NormFloat64() * std)
		}
	}
	blocks := func(bs []*Block, width int) {
		attnStd := math.Pow(float64(width), -0.5)
		projStd := attnStd * math.Pow(float64(2*max(1, len(bs))), -0.5)
		for _, b := range bs {
			fill(values(b.Attn.InProj.W), attnStd)
			fill(values(b.Attn.OutProj.W), projStd)
			fill(values(b.MLP.CFC.W), math.Pow(float64(2*width), -0.5))
			fill(values(b.MLP.CProj.W), projStd)
		}
	}
	if v := m.Visual; v != nil {
		D := m.Config.Vision.Width
		s := math.Pow(float64(D), -0.5)
		fill(values(v.Conv1), math.Pow(float64(len(values(v.Conv1))/D), -0.5))
		fill(values(v.ClassEmbedding), s)
		fill(values(v.PositionalEmbedding), s)
		blocks(v.Blocks, D)
		fill(values(v.Proj), s)
	}
	if t := m.Text; t != nil {
		W := m.Config.Text.Width
		fill(values(t.TokenEmbedding), 0.02)
		fill(values(t.PositionalEmbedding), 0.01)
		blocks(t.Blocks, W)
		fill(values(t.TextProjection), math.Pow(float64(W), -0.5))
	}
	values(m.LogitScale)[0] = float32(math.Log(1 / 0.07))
}

// ViTB32 is the architecture of OpenAI's ViT-B/32 CLIP, for tests and
// benchmarks with random weights.
func ViTB32() Config {
	return Config{
		EmbedDim:   512,
		Activation: QuickGELU,
		Vision:     &VisionConfig{ImageSize: 224, PatchSize: 32, Width: 768, Layers: 12, Heads: 12, MLPWidth: 3072},
		Text:       &TextConfig{ContextLength: 77, VocabSize: 49408, Width: 512, Layers: 12, Heads: 8, MLPWidth: 2048},
	}
}
