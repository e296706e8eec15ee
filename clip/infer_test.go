package clip

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shapesOnly builds the tensor shapes of an OpenAI CLIP state dict with no
// data: inferConfig reads only shapes, so released sizes cost nothing here.
func shapesOnly(image, patch, vWidth, vLayers, embed, ctx, vocab, tWidth, tLayers int) StateDict {
	sd := StateDict{}
	put := func(k string, shape ...int) { sd[k] = Tensor{Shape: shape} }
	grid := image / patch
	put("visual.conv1.weight", vWidth, 3, patch, patch)
	put("visual.class_embedding", vWidth)
	put("visual.positional_embedding", grid*grid+1, vWidth)
	put("visual.proj", vWidth, embed)
	for l := range vLayers {
		put(fmt.Sprintf("visual.transformer.resblocks.%d.attn.in_proj_weight", l), 3*vWidth, vWidth)
		put(fmt.Sprintf("visual.transformer.resblocks.%d.mlp.c_fc.weight", l), 4*vWidth, vWidth)
	}
	put("token_embedding.weight", vocab, tWidth)
	put("positional_embedding", ctx, tWidth)
	put("text_projection", tWidth, embed)
	for l := range tLayers {
		put(fmt.Sprintf("transformer.resblocks.%d.attn.in_proj_weight", l), 3*tWidth, tWidth)
		put(fmt.Sprintf("transformer.resblocks.%d.mlp.c_fc.weight", l), 4*tWidth, tWidth)
	}
	return sd
}

func TestInferConfigReleasedSizes(t *testing.T) {
	tests := []struct {
		name string
		sd   StateDict
		want Config
	}{
		{"ViT-B/32", shapesOnly(224, 32, 768, 12, 512, 77, 49408, 512, 12), ViTB32()},
		{"ViT-B/16", shapesOnly(224, 16, 768, 12, 512, 77, 49408, 512, 12), Config{EmbedDim: 512, Activation: QuickGELU,
			Vision: &VisionConfig{ImageSize: 224, PatchSize: 16, Width: 768, Layers: 12, Heads: 12, MLPWidth: 3072},
			Text:   &TextConfig{ContextLength: 77, VocabSize: 49408, Width: 512, Layers: 12, Heads: 8, MLPWidth: 2048}}},
		{"ViT-L/14", shapesOnly(224, 14, 1024, 24, 768, 77, 49408, 768, 12), Config{EmbedDim: 768, Activation: QuickGELU,
			Vision: &VisionConfig{ImageSize: 224, PatchSize: 14, Width: 1024, Layers: 24, Heads: 16, MLPWidth: 4096},
			Text:   &TextConfig{ContextLength: 77, VocabSize: 49408, Width: 768, Layers: 12, Heads: 12, MLPWidth: 3072}}},
		{"ViT-L/14@336", shapesOnly(336, 14, 1024, 24, 768, 77, 49408, 768, 12), Config{EmbedDim: 768, Activation: QuickGELU,
			Vision: &VisionConfig{ImageSize: 336, PatchSize: 14, Width: 1024, Layers: 24, Heads: 16, MLPWidth: 4096},
			Text:   &TextConfig{ContextLength: 77, VocabSize: 49408, Width: 768, Layers: 12, Heads: 12, MLPWidth: 3072}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inferConfig(tt.sd, source{path: tt.name}, newOptions(nil))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestInferConfigHeadsAndActivationSources(t *testing.T) {
	sd := shapesOnly(32, 8, 128, 2, 64, 16, 100, 128, 1)
	got, err := inferConfig(sd, source{path: "x"}, newOptions([]Option{WithHeads(4, 8), WithActivation(GELU)}))
	require.NoError(t, err)
	assert.Equal(t, 4, got.Vision.Heads)
	assert.Equal(t, 8, got.Text.Heads)
	assert.Equal(t, GELU, got.Activation)

	_, err = inferConfig(sd, source{path: "x", visionHeads: 2}, newOptions([]Option{WithHeads(4, 0)}))
	assert.ErrorContains(t, err, "vision heads")
	_, err = inferConfig(sd, source{path: "x", activation: QuickGELU}, newOptions([]Option{WithActivation(GELU)}))
	assert.ErrorContains(t, err, "gelu")
	_, err = inferConfig(sd, source{path: "x"}, newOptions([]Option{WithHeads(5, 0)}))
	assert.ErrorContains(t, err, "multiple of 5 heads")

	bad := shapesOnly(32, 8, 128, 2, 64, 16, 100, 128, 1)
	bad["visual.positional_embedding"] = Tensor{Shape: []int{18, 128}}
	_, err = inferConfig(bad, source{path: "ckpt.pt"}, newOptions(nil))
	assert.ErrorContains(t, err, `ckpt.pt: tensor "visual.positional_embedding" is [18 128]`)

	mismatch := shapesOnly(32, 8, 128, 2, 64, 16, 100, 128, 1)
	mismatch["text_projection"] = Tensor{Shape: []int{128, 32}}
	_, err = inferConfig(mismatch, source{path: "ckpt.pt"}, newOptions(nil))
	assert.ErrorContains(t, err, "text_projection")

	_, err = inferConfig(StateDict{"foo": {Shape: []int{1}}}, source{path: "ckpt.pt"}, newOptions(nil))
	assert.ErrorIs(t, err, ErrFormat)
}

func TestFromStateDictNamesBadTensors(t *testing.T) {
	const path = "../testdata/clip/formats/openai.safetensors"
	read := func() StateDict {
		sd, _, err := readStateDict(path)
		require.NoError(t, err)
		return sd
	}
	_, err := FromStateDict(read())
	require.NoError(t, err)

	sd := read()
	delete(sd, "visual.transformer.resblocks.1.mlp.c_proj.bias")
	_, err = FromStateDict(sd)
	assert.ErrorContains(t, err, `missing tensor "visual.transformer.resblocks.1.mlp.c_proj.bias"`)

	sd = read()
	sd["visual.extra.weight"] = Tensor{Shape: []int{2}, Data: make([]float32, 2)}
	_, err = FromStateDict(sd)
	assert.ErrorContains(t, err, `unexpected tensor "visual.extra.weight"`)

	sd = read()
	ln := sd["ln_final.weight"]
	sd["ln_final.weight"] = Tensor{Shape: []int{ln.Shape[0] - 1}, Data: ln.Data[1:]}
	_, err = FromStateDict(sd)
	assert.ErrorContains(t, err, `tensor "ln_final.weight" is [31], want [32]`)

	sd = read()
	sd["attn_mask"] = Tensor{Shape: []int{8, 8}, Data: make([]float32, 64)}
	sd["text_model.embeddings.position_ids"] = Tensor{Shape: []int{1, 8}, Data: make([]float32, 8)}
	_, err = FromStateDict(sd)
	assert.NoError(t, err, "buffers that carry no weights are ignored")
}
