package clip

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/safetensors"
)

// shardHF writes the Hugging Face fixture as a sharded checkpoint in a
// temporary directory: the tensors dealt round-robin over n shards (so a
// layer's q, k and v land in different ones), and the index. It returns the
// directory and the weight map.
func shardHF(t *testing.T, n int) (string, map[string]string) {
	t.Helper()
	src := "../testdata/clip/formats/hf"
	ts, _, err := safetensors.ReadFile(filepath.Join(src, "model.safetensors"))
	require.NoError(t, err)
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(src, "config.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644))
	parts := make([]map[string]safetensors.Tensor, n)
	for i := range parts {
		parts[i] = map[string]safetensors.Tensor{}
	}
	names := make([]string, 0, len(ts))
	for k := range ts {
		names = append(names, k)
	}
	slices.Sort(names)
	wm := map[string]string{}
	for i, k := range names {
		parts[i%n][k] = ts[k]
		wm[k] = fmt.Sprintf("model-%05d-of-%05d.safetensors", i%n+1, n)
	}
	for i, p := range parts {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, n)))
		require.NoError(t, err)
		require.NoError(t, safetensors.Write(f, p, nil))
		require.NoError(t, f.Close())
	}
	writeIndex(t, dir, "model.safetensors.index.json", wm)
	return dir, wm
}

func writeIndex(t *testing.T, dir, name string, wm map[string]string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 1}, "weight_map": wm})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
}

// A sharded Hugging Face checkpoint loads to the reference's embeddings,
// from safetensors shards or from a pytorch_model.bin index.
func TestLoadShardedHF(t *testing.T) {
	pixels := golden(t, "../formats", "expected_pixels").Float32()
	tokens := golden(t, "../formats", "expected_tokens").Int()
	check := func(t *testing.T, dir, suffix string) {
		m, err := Load(dir, WithHeads(4, 2))
		require.NoError(t, err)
		img, err := m.EncodePixels(pixels)
		require.NoError(t, err)
		closeToGolden(t, golden(t, "../formats", "expected_image_emb"+suffix).Float32(), img, "image")
		txt, err := m.EncodeTokens(tokens)
		require.NoError(t, err)
		closeToGolden(t, golden(t, "../formats", "expected_text_emb"+suffix).Float32(), txt, "text")
	}
	t.Run("safetensors shards", func(t *testing.T) {
		dir, _ := shardHF(t, 3)
		check(t, dir, "")
	})
	t.Run("pytorch_model.bin index", func(t *testing.T) {
		src := "../testdata/clip/formats/hf_bin"
		dir := t.TempDir()
		for _, f := range []string{"config.json", "pytorch_model.bin"} {
			b, err := os.ReadFile(filepath.Join(src, f))
			require.NoError(t, err)
			to := f
			if f == "pytorch_model.bin" {
				to = "pytorch_model-00001-of-00001.bin"
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, to), b, 0o644))
		}
		sd, err := readTensors(filepath.Join(dir, "pytorch_model-00001-of-00001.bin"), &source{})
		require.NoError(t, err)
		wm := map[string]string{}
		for k := range sd {
			wm[k] = "pytorch_model-00001-of-00001.bin"
		}
		writeIndex(t, dir, "pytorch_model.bin.index.json", wm)
		check(t, dir, "_gelu")
	})
}

func TestLoadShardedHFErrors(t *testing.T) {
	dir, wm := shardHF(t, 2)
	index := filepath.Join(dir, "model.safetensors.index.json")
	var some string
	for k := range wm {
		if strings.Contains(k, "q_proj.weight") {
			some = k
			break
		}
	}
	require.NotEmpty(t, some)
	edit := func(f func(map[string]string)) {
		m := map[string]string{}
		for k, v := range wm {
			m[k] = v
		}
		f(m)
		writeIndex(t, dir, "model.safetensors.index.json", m)
	}
	other := func(f string) string {
		if strings.HasPrefix(f, "model-00001") {
			return "model-00002-of-00002.safetensors"
		}
		return "model-00001-of-00002.safetensors"
	}
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		want string
	}{
		{"shard outside the directory", func(m map[string]string) { m[some] = "../model.safetensors" }, "not a file of the checkpoint's directory"},
		{"missing shard file", func(m map[string]string) { m[some] = "model-00009-of-00009.safetensors" }, "model-00009-of-00009.safetensors"},
		{"tensor in another shard", func(m map[string]string) { m[some] = other(m[some]) }, some},
		{"tensor not in the index", func(m map[string]string) { delete(m, some) }, "is not in model.safetensors.index.json"},
		{"empty weight map", func(m map[string]string) { clear(m) }, "no weight_map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edit(tc.edit)
			_, err := Load(dir)
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	require.NoError(t, os.WriteFile(index, []byte("{not json"), 0o644))
	_, err := Load(dir)
	assert.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, "model.safetensors.index.json")
}
