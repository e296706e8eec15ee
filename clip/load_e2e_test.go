package clip

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every checkpoint format of the tiny fixture model gives the reference's
// embeddings: loading, name conversion and the forward pass together.
func TestLoadEveryFormatMatchesReferenceEmbeddings(t *testing.T) {
	dir := "../testdata/clip/formats"
	pixels := golden(t, "../formats", "expected_pixels").Float32()
	tokens := golden(t, "../formats", "expected_tokens").Int()
	for _, f := range []string{
		"openai.safetensors", "openai_f16.safetensors", "openai_bf16.safetensors",
		"state_dict.pt", "state_dict_legacy.pt", "state_dict_f16.pt", "openclip_ckpt.pt",
		"torchscript.pt", "hf", "hf_bin", "openclip_dir",
	} {
		t.Run(f, func(t *testing.T) {
			suffix := map[string]string{"hf_bin": "_gelu", "openai_bf16.safetensors": "_bf16"}[f]
			wantImg := golden(t, "../formats", "expected_image_emb"+suffix).Float32()
			wantTxt := golden(t, "../formats", "expected_text_emb"+suffix).Float32()
			m, err := Load(filepath.Join(dir, f), WithHeads(4, 2))
			require.NoError(t, err)
			img, err := m.EncodePixels(pixels)
			require.NoError(t, err)
			closeToGolden(t, wantImg, img, "image")
			txt, err := m.EncodeTokens(tokens)
			require.NoError(t, err)
			closeToGolden(t, wantTxt, txt, "text")
		})
	}
}
