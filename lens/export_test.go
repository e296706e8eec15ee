package lens

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/npy"
	"github.com/neuronlens/neuronlens/internal/torchexport"
)

// TestExportSecondOrderForTorch writes, when NEURONLENS_EXPORT names a
// directory, into its subdirectory secondorder: a random ViT-B/32 image
// tower (internal/torchexport), two images' pixels, their embeddings and
// their layer-9 second-order effects from SecondOrderPixels (paper scale,
// shared term included), for testdata/bench/torch_secondorder.py to check
// its literal PyTorch version of the reference's computation against.
func TestExportSecondOrderForTorch(t *testing.T) {
	root := os.Getenv("NEURONLENS_EXPORT")
	if root == "" {
		t.Skip("NEURONLENS_EXPORT not set")
	}
	dir := filepath.Join(root, "secondorder")
	m := randomModel(t, clip.ViTB32(), 3)
	require.NoError(t, torchexport.Vision(dir, m))
	const layer, images = 9, 2
	v := m.Config.Vision
	var pix, emb, eff []float32
	for i := range images {
		px := randomPixels(m, uint64(50+i))
		f, err := m.EncodePixels(px)
		require.NoError(t, err)
		phi, err := SecondOrderPixels(m, px, layer)
		require.NoError(t, err)
		pix, emb = append(pix, px...), append(emb, f...)
		for _, x := range phi.RawMatrix().Data {
			eff = append(eff, float32(x))
		}
	}
	put := func(key string, x any, shape ...int) {
		require.NoError(t, npy.WriteFile(filepath.Join(dir, key+".npy"), shape, x))
	}
	put("pixels", pix, images, 3, v.ImageSize, v.ImageSize)
	put("emb", emb, images, m.Config.EmbedDim)
	put("effects", eff, images, v.MLPWidth, m.Config.EmbedDim)
	put("layer", []int64{layer}, 1)
}
