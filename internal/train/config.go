package train

import (
	"fmt"

	"github.com/neuronlens/neuronlens/clip"
)

// Config is a training run. [DefaultConfig] gives the run that made the
// shipped model.
type Config struct {
	// Model is the architecture. Model.Text.VocabSize must equal the
	// tokenizer's vocabulary size.
	Model clip.Config
	// Seed seeds the initial weights, the shapes world and the text choice.
	Seed uint64
	// Steps is the number of optimizer steps, Batch the image–text pairs per
	// step, and Shards the fixed number of parts a batch is cut into (see
	// the package doc: the result depends on Shards, not on the CPUs).
	Steps, Batch, Shards int
	// LR is the peak learning rate, reached linearly after Warmup steps and
	// then decayed along a cosine to MinLR at the last step.
	LR, MinLR float64
	Warmup    int
	// WeightDecay is AdamW's decoupled decay, applied to matrices only (not
	// to biases, LayerNorm parameters, the class embedding or the
	// temperature). Beta1, Beta2 and Eps are Adam's.
	WeightDecay, Beta1, Beta2, Eps float64
	// ClipNorm rescales the whole gradient to this L2 norm when it is
	// larger; 0 turns clipping off.
	ClipNorm float64
	// PromptFrac is the fraction of pairs whose text is a zero-shot prompt
	// of the sample's class (shapes.Prompts) instead of its caption.
	PromptFrac float64
	// ClassWeight weighs a second loss added to the contrastive one: each
	// image's cross-entropy against one prompt per class (a template drawn
	// per step), the zero-shot classifier's own objective. 0 turns it off.
	ClassWeight float64
	// ProbeWeight weighs a third loss: ClassImages images per step, scenes
	// of the world whose background and colours are redrawn uniformly
	// ([Decorrelated]), classified against free class vectors (a linear
	// probe trained alongside and then dropped) at a fixed temperature of
	// 16. Only the shape tells these images' class, so the image tower
	// gets a shape signal from the start; with text prompts as the class
	// vectors that signal vanishes while the text tower still ignores the
	// shape words, which the captions let it do. 0 turns it off. (In 1,800
	// steps it did not speed up shape learning, so the shipped run has it
	// off.)
	ProbeWeight float64
	ClassImages int
	// EvalEvery is how often (in steps) Run measures held-out quality on
	// EvalImages images; 0 measures only at the end.
	EvalEvery, EvalImages int
}

// DefaultConfig returns the run of the shipped model for a tokenizer with
// vocab ids.
func DefaultConfig(vocab int) Config {
	return Config{
		Model: clip.Config{
			EmbedDim:   64,
			Activation: clip.QuickGELU,
			Vision:     &clip.VisionConfig{ImageSize: 64, PatchSize: 8, Width: 64, Layers: 4, Heads: 4, MLPWidth: 256},
			Text:       &clip.TextConfig{ContextLength: 32, VocabSize: vocab, Width: 64, Layers: 3, Heads: 4, MLPWidth: 256},
		},
		Seed:        1,
		Steps:       8000,
		Batch:       32,
		Shards:      2,
		LR:          1e-3,
		MinLR:       1e-5,
		Warmup:      100,
		WeightDecay: 0.05,
		Beta1:       0.9,
		Beta2:       0.98,
		Eps:         1e-6,
		ClipNorm:    1,
		PromptFrac:  0.2,
		ClassWeight: 2,
		ProbeWeight: 0,
		ClassImages: 16,
		EvalEvery:   200,
		EvalImages:  180,
	}
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if err := c.Model.Validate(); err != nil {
		return err
	}
	if c.Model.Vision == nil || c.Model.Text == nil {
		return fmt.Errorf("train: config: the model needs both towers")
	}
	switch {
	case c.Steps <= 0 || c.Batch < 2 || c.Shards <= 0 || c.Shards > c.Batch:
		return fmt.Errorf("train: config: steps %d, batch %d, shards %d: want steps > 0, batch ≥ 2, 1 ≤ shards ≤ batch", c.Steps, c.Batch, c.Shards)
	case c.LR <= 0 || c.MinLR < 0 || c.MinLR > c.LR || c.Warmup < 0:
		return fmt.Errorf("train: config: learning rate %g → %g, warmup %d", c.LR, c.MinLR, c.Warmup)
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || c.Eps <= 0 || c.WeightDecay < 0 || c.ClipNorm < 0:
		return fmt.Errorf("train: config: bad AdamW settings")
	case c.ProbeWeight < 0:
		return fmt.Errorf("train: config: probe weight %g is negative", c.ProbeWeight)
	case c.ProbeWeight > 0 && c.ClassImages < c.Shards:
		return fmt.Errorf("train: config: %d class images for %d shards", c.ClassImages, c.Shards)
	case c.ClassWeight < 0:
		return fmt.Errorf("train: config: class weight %g is negative", c.ClassWeight)
	case c.PromptFrac < 0 || c.PromptFrac > 1:
		return fmt.Errorf("train: config: prompt fraction %g is not in [0, 1]", c.PromptFrac)
	case c.EvalEvery < 0 || c.EvalImages < 0:
		return fmt.Errorf("train: config: negative evaluation settings")
	}
	return nil
}
