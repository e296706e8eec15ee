// Package torchexport writes a CLIP image tower as one .npy file per
// open_clip checkpoint key (visual.conv1.weight, visual.transformer.
// resblocks.0.attn.in_proj_weight, ...), in the shapes PyTorch gives them,
// for the PyTorch scripts under testdata/bench that rebuild the tower to
// check and time it against ours.
package torchexport

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/npy"
)

// Vision writes m's image tower into dir (created if needed). Errors name
// the file.
func Vision(dir string, m *clip.Model) error {
	if m == nil || m.Visual == nil || m.Config.Vision == nil {
		return fmt.Errorf("torchexport: the model has no image tower")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("torchexport: %w", err)
	}
	v, c := m.Visual, m.Config.Vision
	D, p := c.Width, c.PatchSize
	var err error
	put := func(key string, x []float32, shape ...int) {
		if err == nil {
			err = npy.WriteFile(filepath.Join(dir, key+".npy"), shape, x)
		}
	}
	put("visual.conv1.weight", v.Conv1.Data().F32(), D, 3, p, p)
	put("visual.class_embedding", v.ClassEmbedding.Data().F32(), D)
	put("visual.positional_embedding", v.PositionalEmbedding.Data().F32(), c.Tokens(), D)
	put("visual.ln_pre.weight", v.LNPre.W.Data().F32(), D)
	put("visual.ln_pre.bias", v.LNPre.B.Data().F32(), D)
	put("visual.ln_post.weight", v.LNPost.W.Data().F32(), D)
	put("visual.ln_post.bias", v.LNPost.B.Data().F32(), D)
	put("visual.proj", v.Proj.Data().F32(), D, m.Config.EmbedDim)
	for l, b := range v.Blocks {
		pre := fmt.Sprintf("visual.transformer.resblocks.%d.", l)
		for _, lin := range []struct {
			key string
			*clip.Linear
		}{{"attn.in_proj_", b.Attn.InProj}, {"attn.out_proj.", b.Attn.OutProj}, {"mlp.c_fc.", b.MLP.CFC}, {"mlp.c_proj.", b.MLP.CProj}} {
			w, bias := lin.W.Data().F32(), lin.B.Data().F32()
			put(pre+lin.key+"weight", w, len(bias), len(w)/len(bias))
			put(pre+lin.key+"bias", bias, len(bias))
		}
		for _, ln := range []struct {
			key string
			*clip.LayerNorm
		}{{"ln_1.", b.LN1}, {"ln_2.", b.LN2}} {
			put(pre+ln.key+"weight", ln.W.Data().F32(), D)
			put(pre+ln.key+"bias", ln.B.Data().F32(), D)
		}
	}
	if err != nil {
		return fmt.Errorf("torchexport: %w", err)
	}
	return nil
}
