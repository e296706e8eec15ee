package train

import (
	"fmt"
	"io"
	"strconv"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/safetensors"
	"github.com/nlpodyssey/spago/nn"
)

// StateDict returns m's weights in OpenAI naming, the keys
// clip.FromStateDict reads, with conv1 shaped [D, 3, p, p] as in the
// checkpoints. The tensors share m's weights; they are not copies.
func StateDict(m *clip.Model) clip.StateDict {
	sd := clip.StateDict{}
	put := func(key string, p *nn.Param, shape ...int) {
		sd[key] = clip.Tensor{Shape: shape, Data: p.Data().F32()}
	}
	blocks := func(prefix string, bs []*clip.Block, D, N int) {
		for l, b := range bs {
			pre := fmt.Sprintf("%s%d.", prefix, l)
			put(pre+"ln_1.weight", b.LN1.W, D)
			put(pre+"ln_1.bias", b.LN1.B, D)
			put(pre+"attn.in_proj_weight", b.Attn.InProj.W, 3*D, D)
			put(pre+"attn.in_proj_bias", b.Attn.InProj.B, 3*D)
			put(pre+"attn.out_proj.weight", b.Attn.OutProj.W, D, D)
			put(pre+"attn.out_proj.bias", b.Attn.OutProj.B, D)
			put(pre+"ln_2.weight", b.LN2.W, D)
			put(pre+"ln_2.bias", b.LN2.B, D)
			put(pre+"mlp.c_fc.weight", b.MLP.CFC.W, N, D)
			put(pre+"mlp.c_fc.bias", b.MLP.CFC.B, N)
			put(pre+"mlp.c_proj.weight", b.MLP.CProj.W, D, N)
			put(pre+"mlp.c_proj.bias", b.MLP.CProj.B, D)
		}
	}
	cfg := m.Config
	if v := m.Visual; v != nil {
		c := cfg.Vision
		D, p := c.Width, c.PatchSize
		put("visual.conv1.weight", v.Conv1, D, 3, p, p)
		put("visual.class_embedding", v.ClassEmbedding, D)
		put("visual.positional_embedding", v.PositionalEmbedding, c.Tokens(), D)
		put("visual.ln_pre.weight", v.LNPre.W, D)
		put("visual.ln_pre.bias", v.LNPre.B, D)
		blocks("visual.transformer.resblocks.", v.Blocks, D, c.MLPWidth)
		put("visual.ln_post.weight", v.LNPost.W, D)
		put("visual.ln_post.bias", v.LNPost.B, D)
		put("visual.proj", v.Proj, D, cfg.EmbedDim)
	}
	if t := m.Text; t != nil {
		c := cfg.Text
		W := c.Width
		put("token_embedding.weight", t.TokenEmbedding, c.VocabSize, W)
		put("positional_embedding", t.PositionalEmbedding, c.ContextLength, W)
		blocks("transformer.resblocks.", t.Blocks, W, c.MLPWidth)
		put("ln_final.weight", t.LNFinal.W, W)
		put("ln_final.bias", t.LNFinal.B, W)
		put("text_projection", t.TextProjection, W, cfg.EmbedDim)
	}
	put("logit_scale", m.LogitScale)
	return sd
}

// Save writes m to w as a safetensors checkpoint in OpenAI naming, with the
// metadata keys clip.Load honours (activation and head counts), so that
// clip.Load reads it back as the same model. extra metadata is added as it
// is. It returns the error of w.
func Save(w io.Writer, m *clip.Model, extra map[string]string) error {
	sd := StateDict(m)
	ts := make(map[string]safetensors.Tensor, len(sd))
	for k, t := range sd {
		ts[k] = safetensors.Tensor{Shape: t.Shape, Data: t.Data}
	}
	md := map[string]string{clip.MetaActivation: m.Config.Activation.String()}
	if v := m.Config.Vision; v != nil {
		md[clip.MetaVisionHeads] = strconv.Itoa(v.Heads)
	}
	if t := m.Config.Text; t != nil {
		md[clip.MetaTextHeads] = strconv.Itoa(t.Heads)
	}
	for k, v := range extra {
		md[k] = v
	}
	return safetensors.Write(w, ts, md)
}
