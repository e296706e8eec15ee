package clip

import (
	"os"
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

func TestReadSafetensorsFromMemoryMatchesLoad(t *testing.T) {
	const path = "../testdata/clip/model/gelu/model.safetensors"
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	mem, err := ReadSafetensors("embedded", b)
	require.NoError(t, err)
	file, err := Load(path)
	require.NoError(t, err)
	require.Equal(t, file.Config, mem.Config)
	pixels := golden(t, "gelu", "pixels").Float32()
	per := len(pixels) / 2
	a, err := mem.EncodePixels(pixels[:per])
	require.NoError(t, err)
	want, err := file.EncodePixels(pixels[:per])
	require.NoError(t, err)
	require.Equal(t, want, a)

	_, err = ReadSafetensors("embedded", b[:len(b)/2])
	require.ErrorContains(t, err, "embedded")
}
