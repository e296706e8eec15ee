package clip

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/nlpodyssey/spago/nn"
)

// Model is a CLIP model: an image tower, a text tower (either may be nil) and
// the learned temperature. A loaded Model is read-only and safe for concurrent
// use; hooks and scratch memory belong to each call.
type Model struct {
	nn.Module
	Config     Config
	Visual     *VisionTower // nil without an image tower
	Text       *TextTower   // nil without a text tower
	LogitScale *nn.Param    // scalar, "logit_scale": logits are exp(LogitScale)·cos

	tokenizer  *Tokenizer
	visionPool scratchPool
	textPool   scratchPool
	visionW    atomic.Pointer[weights]
	textW      atomic.Pointer[weights]
	derived    sync.Map // key → *derivedEntry, see Derived
}

// VisionTower is the ViT image encoder:
//
//	x = [class; patches·Conv1ᵀ] + PositionalEmbedding   [T, D]
//	x = Blocks(LNPre(x))
//	f = LNPost(x[0])·Proj                               [d]
type VisionTower struct {
	nn.Module
	Conv1               *nn.Param // "visual.conv1.weight" [D, 3·p·p], viewed as [D, 3, p, p] in the checkpoint
	ClassEmbedding      *nn.Param // "visual.class_embedding" [D]
	PositionalEmbedding *nn.Param // "visual.positional_embedding" [T, D]
	LNPre               *LayerNorm
	Blocks              []*Block
	LNPost              *LayerNorm
	Proj                *nn.Param // "visual.proj" [D, d]
}

// TextTower is the causal text encoder:
//
//	x = TokenEmbedding[ids] + PositionalEmbedding        [T, W]
//	x = Blocks(x) under a causal mask
//	g = LNFinal(x[eot])·TextProjection                   [d]
type TextTower struct {
	nn.Module
	TokenEmbedding      *nn.Param // "token_embedding.weight" [V, W]
	PositionalEmbedding *nn.Param // "positional_embedding" [C, W]
	Blocks              []*Block
	LNFinal             *LayerNorm
	TextProjection      *nn.Param // "text_projection" [W, d]
}

var (
	_ nn.Model = (*Model)(nil)
	_ nn.Model = (*VisionTower)(nil)
	_ nn.Model = (*TextTower)(nil)
)

// New returns a model of the given architecture with zero weights (LayerNorm
// scales one). Fill it with [Model.InitRandom] or by writing its parameters.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, LogitScale: newParam([]float32{float32(math.Log(1 / 0.07))}, 1)}
	if v := cfg.Vision; v != nil {
		D, T, p := v.Width, v.Tokens(), v.PatchSize
		vt := &VisionTower{
			Conv1:               newParam(make([]float32, D*3*p*p), D, 3*p*p),
			ClassEmbedding:      newParam(make([]float32, D), D),
			PositionalEmbedding: newParam(make([]float32, T*D), T, D),
			LNPre:               newLayerNorm(D),
			LNPost:              newLayerNorm(D),
			Proj:                newParam(make([]float32, D*cfg.EmbedDim), D, cfg.EmbedDim),
		}
		for range v.Layers {
			vt.Blocks = append(vt.Blocks, newBlock(D, v.Heads, v.MLPWidth))
		}
		m.Visual = vt
	}
	if t := cfg.Text; t != nil {
		W := t.Width
		tt := &TextTower{
			TokenEmbedding:      newParam(make([]float32, t.VocabSize*W), t.VocabSize, W),
			PositionalEmbedding: newParam(make([]float32, t.ContextLength*W), t.ContextLength, W),
			LNFinal:             newLayerNorm(W),
			TextProjection:      newParam(make([]float32, W*cfg.EmbedDim), W, cfg.EmbedDim),
		}
		for range t.Layers {
			tt.Blocks = append(tt.Blocks, newBlock(W, t.Heads, t.MLPWidth))
		}
		m.Text = tt
	}
	return m, nil
}

// SetTokenizer sets the tokenizer used by [Model.Tokenize] and [Model.EncodeText].
func (m *Model) SetTokenizer(t *Tokenizer) { m.tokenizer = t }

// Tokenizer returns the model's tokenizer, or nil when it has none.
func (m *Model) Tokenizer() *Tokenizer { return m.tokenizer }

// ErrNoTokenizer is returned by text calls on a model loaded without a vocabulary.
var ErrNoTokenizer = errors.New("clip: model has no tokenizer (use clip.WithVocab)")

// Tokenize returns the context-length token ids of text: SOT, the BPE ids,
// EOT, zeros. Text that is too long is cut so that EOT stays last.
func (m *Model) Tokenize(text string) ([]int, error) {
	if m.tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	if m.Text == nil {
		return nil, errors.New("clip: model has no text tower")
	}
	return m.tokenizer.Encode(text, m.Config.Text.ContextLength)
}

// FromStateDict builds a model from tensors in OpenAI/open_clip naming,
// inferring the architecture from their shapes the way open_clip builds a
// model from an OpenAI state dict. The tensors' data is used in place, not
// copied. Heads default to width/64 (at least 1) and the activation to
// QuickGELU unless options say otherwise.
func FromStateDict(sd StateDict, opts ...Option) (*Model, error) {
	return fromStateDict(sd, source{path: "state dict"}, newOptions(opts))
}

// ignoredKeys are checkpoint entries that carry no weights the model needs.
func ignoredKey(k string) bool {
	switch k {
	case "input_resolution", "context_length", "vocab_size":
		return true
	}
	return hasSuffix(k, "attn_mask") || hasSuffix(k, "position_ids")
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// fromStateDict infers the configuration from tensor shapes, checks every
// tensor and builds the model. src says what the file told about itself.
func fromStateDict(sd StateDict, src source, o *options) (*Model, error) {
	cfg, err := inferConfig(sd, src, o)
	if err != nil {
		return nil, err
	}
	m, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("clip: %s: %w", src.path, err)
	}
	used := make(map[string]bool, len(sd))
	take := func(key string, p *nn.Param, shape ...int) error {
		t, ok := sd[key]
		if !ok {
			return fmt.Errorf("clip: %s: missing tensor %q", src.path, key)
		}
		want := 1
		for _, s := range shape {
			want *= s
		}
		if t.Len() != want || len(t.Data) != want {
			return fmt.Errorf("clip: %s: tensor %q is %v, want %v", src.path, key, t.Shape, shape)
		}
		if !sameShape(t.Shape, shape) {
			return fmt.Errorf("clip: %s: tensor %q is %v, want %v", src.path, key, t.Shape, shape)
		}
		p.ReplaceValue(newParam(t.Data, p.Shape()...).Matrix)
		used[key] = true
		return nil
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	blocks := func(prefix string, bs []*Block, D, N int) {
		for l, b := range bs {
			pre := fmt.Sprintf("%s%d.", prefix, l)
			add(take(pre+"ln_1.weight", b.LN1.W, D))
			add(take(pre+"ln_1.bias", b.LN1.B, D))
			add(take(pre+"attn.in_proj_weight", b.Attn.InProj.W, 3*D, D))
			add(take(pre+"attn.in_proj_bias", b.Attn.InProj.B, 3*D))
			add(take(pre+"attn.out_proj.weight", b.Attn.OutProj.W, D, D))
			add(take(pre+"attn.out_proj.bias", b.Attn.OutProj.B, D))
			add(take(pre+"ln_2.weight", b.LN2.W, D))
			add(take(pre+"ln_2.bias", b.LN2.B, D))
			add(take(pre+"mlp.c_fc.weight", b.MLP.CFC.W, N, D))
			add(take(pre+"mlp.c_fc.bias", b.MLP.CFC.B, N))
			add(take(pre+"mlp.c_proj.weight", b.MLP.CProj.W, D, N))
			add(take(pre+"mlp.c_proj.bias", b.MLP.CProj.B, D))
		}
	}
	if v := m.Visual; v != nil {
		c := cfg.Vision
		D, p := c.Width, c.PatchSize
		add(take("visual.conv1.weight", v.Conv1, D, 3, p, p))
		add(take("visual.class_embedding", v.ClassEmbedding, D))
		add(take("visual.positional_embedding", v.PositionalEmbedding, c.Tokens(), D))
		add(take("visual.ln_pre.weight", v.LNPre.W, D))
		add(take("visual.ln_pre.bias", v.LNPre.B, D))
		blocks("visual.transformer.resblocks.", v.Blocks, D, c.MLPWidth)
		add(take("visual.ln_post.weight", v.LNPost.W, D))
		add(take("visual.ln_post.bias", v.LNPost.B, D))
		add(take("visual.proj", v.Proj, D, cfg.EmbedDim))
	}
	if t := m.Text; t != nil {
		c := cfg.Text
		W := c.Width
		add(take("token_embedding.weight", t.TokenEmbedding, c.VocabSize, W))
		add(take("positional_embedding", t.PositionalEmbedding, c.ContextLength, W))
		blocks("transformer.resblocks.", t.Blocks, W, c.MLPWidth)
		add(take("ln_final.weight", t.LNFinal.W, W))
		add(take("ln_final.bias", t.LNFinal.B, W))
		add(take("text_projection", t.TextProjection, W, cfg.EmbedDim))
	}
	if _, ok := sd["logit_scale"]; ok {
		add(take("logit_scale", m.LogitScale))
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	for _, k := range sortedKeys(sd) {
		if !used[k] && !ignoredKey(k) {
			return nil, fmt.Errorf("clip: %s: unexpected tensor %q %v", src.path, k, sd[k].Shape)
		}
	}
	m.tokenizer = src.tokenizer
	if o.vocabPath != "" {
		tok, err := LoadTokenizer(o.vocabPath)
		if err != nil {
			return nil, err
		}
		m.tokenizer = tok
	}
	if m.tokenizer != nil && m.Text != nil && m.tokenizer.VocabSize() != m.Config.Text.VocabSize {
		from := src.path
		if o.vocabPath != "" {
			from = o.vocabPath + " for " + src.path
		}
		return nil, fmt.Errorf("clip: %s: the vocabulary has %d tokens, the model's token embedding %d", from, m.tokenizer.VocabSize(), m.Config.Text.VocabSize)
	}
	return m, nil
}

func sameShape(got, want []int) bool {
	// A scalar may be stored as [] or [1].
	if len(want) == 0 {
		return len(got) == 0 || (len(got) == 1 && got[0] == 1)
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
