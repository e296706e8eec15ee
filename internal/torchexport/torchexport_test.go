package torchexport

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/npy"
)

func TestVision(t *testing.T) {
	cfg := clip.Config{EmbedDim: 8, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 16, PatchSize: 8, Width: 12, Layers: 2, Heads: 3, MLPWidth: 48}}
	m, err := clip.New(cfg)
	require.NoError(t, err)
	m.InitRandom(1)
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, Vision(dir, m))

	files, err := filepath.Glob(filepath.Join(dir, "*.npy"))
	require.NoError(t, err)
	assert.Len(t, files, 8+2*12) // 8 tower tensors, 12 per block
	for key, want := range map[string][]int{
		"visual.conv1.weight":         {12, 3, 8, 8},
		"visual.positional_embedding": {5, 12},
		"visual.proj":                 {12, 8},
		"visual.transformer.resblocks.1.attn.in_proj_weight": {36, 12},
		"visual.transformer.resblocks.1.mlp.c_fc.weight":     {48, 12},
		"visual.transformer.resblocks.1.mlp.c_proj.weight":   {12, 48},
		"visual.transformer.resblocks.0.ln_2.bias":           {12},
	} {
		a, err := npy.ReadFile(filepath.Join(dir, key+".npy"))
		require.NoError(t, err, key)
		assert.Equal(t, want, a.Shape, key)
	}
	a, err := npy.ReadFile(filepath.Join(dir, "visual.transformer.resblocks.1.mlp.c_fc.weight.npy"))
	require.NoError(t, err)
	assert.Equal(t, m.Visual.Blocks[1].MLP.CFC.W.Data().F32(), a.Float32())

	assert.ErrorContains(t, Vision(dir, &clip.Model{}), "no image tower")
	blocked := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocked, nil, 0o644))
	assert.Error(t, Vision(filepath.Join(blocked, "sub"), m))
}
