package cuda

import "github.com/neuronlens/neuronlens/clip"

// Architectures of the released CLIP image towers, for tests and
// benchmarks with random weights (no text tower).
var sizes = map[string]clip.Config{
	"B32": {EmbedDim: 512, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 224, PatchSize: 32, Width: 768, Layers: 12, Heads: 12, MLPWidth: 3072}},
	"B16": {EmbedDim: 512, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 224, PatchSize: 16, Width: 768, Layers: 12, Heads: 12, MLPWidth: 3072}},
	"L14": {EmbedDim: 768, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 224, PatchSize: 14, Width: 1024, Layers: 24, Heads: 16, MLPWidth: 4096}},
}
