package clip

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/safetensors"
)

// formats holds the checkpoints written by make_formats.py: one tiny random
// CLIP (vision width 32, 2 layers, patch 8, image 16; text width 32, 1 layer,
// context 8, vocabulary 50; embedding 16) in every format Load reads.
const formats = "../testdata/clip/formats"

// reference reads openai.safetensors with the safetensors package alone.
// Every value in it is k/256, exact in float16 and bfloat16, so every other
// file must load to exactly these numbers.
func reference(t testing.TB) StateDict {
	ts, _, err := safetensors.ReadFile(filepath.Join(formats, "openai.safetensors"))
	require.NoError(t, err)
	sd := make(StateDict, len(ts))
	for k, v := range ts {
		sd[k] = Tensor{Shape: v.Shape, Data: v.Data}
	}
	return sd
}

func TestReadStateDictFormats(t *testing.T) {
	ref := reference(t)
	// Shapes from the script's dimensions, independent of any reader.
	wantShapes := map[string][]int{
		"visual.conv1.weight":                                {32, 3, 8, 8},
		"visual.class_embedding":                             {32},
		"visual.positional_embedding":                        {5, 32},
		"visual.proj":                                        {32, 16},
		"visual.transformer.resblocks.1.attn.in_proj_weight": {96, 32},
		"visual.transformer.resblocks.1.attn.in_proj_bias":   {96},
		"visual.transformer.resblocks.0.mlp.c_fc.weight":     {128, 32},
		"transformer.resblocks.0.mlp.c_proj.weight":          {32, 128},
		"token_embedding.weight":                             {50, 32},
		"positional_embedding":                               {8, 32},
		"text_projection":                                    {32, 16},
		"logit_scale":                                        {},
	}
	// 3 blocks of 12 tensors, 8 other vision tensors, 6 other text ones.
	require.Equal(t, 3*12+8+6, len(ref))
	for k, s := range wantShapes {
		require.Contains(t, ref, k)
		require.Equal(t, s, ref[k].Shape, k)
	}
	tests := []struct {
		name        string
		path        string
		activation  Activation
		visionHeads int
		textHeads   int
	}{
		{"safetensors f32", "openai.safetensors", ActivationUnset, 0, 0},
		{"safetensors f16", "openai_f16.safetensors", ActivationUnset, 0, 0},
		{"safetensors bf16 with metadata", "openai_bf16.safetensors", GELU, 4, 2},
		{"torch zip", "state_dict.pt", ActivationUnset, 0, 0},
		{"torch legacy", "state_dict_legacy.pt", ActivationUnset, 0, 0},
		{"torch zip f16", "state_dict_f16.pt", ActivationUnset, 0, 0},
		{"open_clip training checkpoint", "openclip_ckpt.pt", ActivationUnset, 0, 0},
		{"TorchScript", "torchscript.pt", QuickGELU, 0, 0},
		{"Hugging Face directory", "hf", QuickGELU, 4, 2},
		{"Hugging Face directory with pytorch_model.bin", "hf_bin", GELU, 4, 2},
		{"Hugging Face safetensors alone", "hf/model.safetensors", ActivationUnset, 0, 0},
		{"open_clip directory", "openclip_dir", QuickGELU, 4, 2},
		{"open_clip file with its config beside", "openclip_dir/open_clip_model.safetensors", QuickGELU, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(formats, tt.path)
			sd, src, err := readStateDict(path)
			require.NoError(t, err)
			assert.Equal(t, path, src.path)
			assert.Equal(t, tt.activation, src.activation)
			assert.Equal(t, tt.visionHeads, src.visionHeads)
			assert.Equal(t, tt.textHeads, src.textHeads)
			assert.Nil(t, src.tokenizer)
			require.Equal(t, len(ref), len(sd))
			for k, want := range ref {
				got, ok := sd[k]
				require.True(t, ok, "missing %q", k)
				require.Equal(t, want.Shape, got.Shape, k)
				require.Equal(t, want.Data, got.Data, k)
			}
		})
	}
}

// TestHFConversion checks the renaming against the Hugging Face tensors
// themselves: in_proj is q, k, v stacked; the projections are transposed.
func TestHFConversion(t *testing.T) {
	hf, _, err := safetensors.ReadFile(filepath.Join(formats, "hf/model.safetensors"))
	require.NoError(t, err)
	sd, _, err := readStateDict(filepath.Join(formats, "hf"))
	require.NoError(t, err)
	const D = 32
	for _, tower := range []struct{ hf, oa string }{
		{"vision_model.encoder.layers.1.", "visual.transformer.resblocks.1."},
		{"text_model.encoder.layers.0.", "transformer.resblocks.0."},
	} {
		w := sd[tower.oa+"attn.in_proj_weight"].Data
		b := sd[tower.oa+"attn.in_proj_bias"].Data
		for i, p := range []string{"q", "k", "v"} {
			assert.Equal(t, hf[tower.hf+"self_attn."+p+"_proj.weight"].Data, w[i*D*D:(i+1)*D*D], p)
			assert.Equal(t, hf[tower.hf+"self_attn."+p+"_proj.bias"].Data, b[i*D:(i+1)*D], p)
		}
		assert.Equal(t, hf[tower.hf+"mlp.fc1.weight"].Data, sd[tower.oa+"mlp.c_fc.weight"].Data)
		assert.Equal(t, hf[tower.hf+"layer_norm2.bias"].Data, sd[tower.oa+"ln_2.bias"].Data)
	}
	for _, p := range []struct{ hf, oa string }{{"visual_projection.weight", "visual.proj"}, {"text_projection.weight", "text_projection"}} {
		src, dst := hf[p.hf], sd[p.oa]
		require.Equal(t, []int{16, 32}, src.Shape)
		require.Equal(t, []int{32, 16}, dst.Shape)
		for i := range 32 {
			for j := range 16 {
				require.Equal(t, src.Data[j*32+i], dst.Data[i*16+j], "%s (%d, %d)", p.oa, i, j)
			}
		}
	}
	assert.Equal(t, hf["vision_model.pre_layrnorm.weight"].Data, sd["visual.ln_pre.weight"].Data)
	assert.NotContains(t, sd, "vision_model.embeddings.position_ids")
}

func TestMetadataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tensors := map[string]safetensors.Tensor{"logit_scale": {Shape: []int{}, Data: []float32{4.5}}}
	write := func(name string, md map[string]string) string {
		var buf bytes.Buffer
		require.NoError(t, safetensors.Write(&buf, tensors, md))
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
		return p
	}
	p := write("ours.safetensors", map[string]string{MetaActivation: "quick_gelu", MetaVisionHeads: "12", MetaTextHeads: "8"})
	sd, src, err := readStateDict(p)
	require.NoError(t, err)
	assert.Equal(t, []float32{4.5}, sd["logit_scale"].Data)
	assert.Equal(t, source{path: p, activation: QuickGELU, visionHeads: 12, textHeads: 8}, src)

	for name, md := range map[string]map[string]string{
		"bad_act.safetensors":   {MetaActivation: "relu"},
		"bad_heads.safetensors": {MetaVisionHeads: "twelve"},
		"neg_heads.safetensors": {MetaTextHeads: "-1"},
	} {
		p := write(name, md)
		_, _, err := readStateDict(p)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, ErrFormat)
		assert.Contains(t, err.Error(), p)
	}
}

// copyDir copies a fixture directory to a temporary one, for editing.
func copyDir(t *testing.T, name string) string {
	dst := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.CopyFS(dst, os.DirFS(filepath.Join(formats, name))))
	return dst
}

func TestReadStateDictErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	header := func(h string, data int) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(b, h...), make([]byte, data)...)
	}
	zipOf := func(files map[string]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, body := range files {
			w, err := zw.Create(name)
			require.NoError(t, err)
			_, err = io.WriteString(w, body)
			require.NoError(t, err)
		}
		require.NoError(t, zw.Close())
		return buf.Bytes()
	}
	actMismatch := copyDir(t, "hf")
	cfg, err := os.ReadFile(filepath.Join(actMismatch, "config.json"))
	require.NoError(t, err)
	cfg = bytes.Replace(cfg, []byte(`"quick_gelu"`), []byte(`"gelu"`), 1)
	require.NoError(t, os.WriteFile(filepath.Join(actMismatch, "config.json"), cfg, 0o644))

	noWeights := copyDir(t, "hf")
	require.NoError(t, os.Remove(filepath.Join(noWeights, "model.safetensors")))

	missingK := copyDir(t, "hf")
	hf, md, err := safetensors.ReadFile(filepath.Join(missingK, "model.safetensors"))
	require.NoError(t, err)
	delete(hf, "text_model.encoder.layers.0.self_attn.k_proj.weight")
	var buf bytes.Buffer
	require.NoError(t, safetensors.Write(&buf, hf, md))
	require.NoError(t, os.WriteFile(filepath.Join(missingK, "model.safetensors"), buf.Bytes(), 0o644))

	tests := []struct {
		name    string
		path    string
		want    error
		mention string
	}{
		{"missing path", filepath.Join(dir, "nope.pt"), fs.ErrNotExist, "nope.pt"},
		{"empty file", write("empty.pt", nil), ErrFormat, "empty.pt"},
		{"unknown format", write("model.safetensors", []byte("GIF89a, not a model at all")), ErrFormat, "model.safetensors"},
		{"huge header length", write("huge.safetensors", append(binary.LittleEndian.AppendUint64(nil, 1<<40), "{}"...)), ErrFormat, "huge.safetensors"},
		{"offsets past the end", write("past.safetensors",
			header(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8)), ErrTruncated, `"w"`},
		{"wrong byte count", write("count.safetensors",
			header(`{"w":{"dtype":"F16","shape":[3,2],"data_offsets":[0,8]}}`, 8)), ErrFormat, "[3 2]"},
		{"header longer than the file", write("long.safetensors",
			append(binary.LittleEndian.AppendUint64(nil, 4096), "{}"...)), ErrTruncated, "long.safetensors"},
		{"zip without data.pkl", write("nodata.pt", zipOf(map[string]string{"archive/version": "3\n"})), ErrFormat, "data.pkl"},
		{"garbage pickle", write("garbage.pt", zipOf(map[string]string{"archive/data.pkl": "\x80\x02\xfe\xfe"})), ErrFormat, "garbage.pt"},
		{"not a state dict", write("list.pt", zipOf(map[string]string{"archive/data.pkl": "\x80\x02]."})), ErrFormat, "list.pt"},
		{"directory with nothing", t.TempDir(), ErrFormat, "config.json"},
		{"activations differ", actMismatch, ErrFormat, "hidden_act"},
		{"no weights", noWeights, ErrFormat, "model.safetensors"},
		{"missing k_proj", missingK, ErrFormat, "text_model.encoder.layers.0.self_attn."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readStateDict(tt.path)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.path)
			assert.Contains(t, err.Error(), tt.mention)
		})
	}
}

// TestTruncatedCopies cuts every fixture file at several offsets: each copy
// must give an error naming it, never a panic and never a state dict.
func TestTruncatedCopies(t *testing.T) {
	files := []string{
		"openai.safetensors", "openai_f16.safetensors", "openai_bf16.safetensors",
		"state_dict.pt", "state_dict_legacy.pt", "state_dict_f16.pt", "openclip_ckpt.pt",
		"torchscript.pt", "hf/model.safetensors", "hf_bin/pytorch_model.bin",
	}
	dir := t.TempDir()
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(formats, name))
		require.NoError(t, err)
		for _, cut := range []int{0, 1, 7, 8, 9, 16, 64, 200, 1000, len(b) / 4, len(b) / 2, len(b) - 100, len(b) - 1} {
			p := filepath.Join(dir, filepath.Base(name)+".cut")
			require.NoError(t, os.WriteFile(p, b[:cut], 0o644))
			sd, _, err := readStateDict(p)
			require.Error(t, err, "%s cut at %d", name, cut)
			assert.Nil(t, sd)
			assert.Contains(t, err.Error(), p, "%s cut at %d", name, cut)
			assert.True(t, errors.Is(err, ErrFormat) || errors.Is(err, ErrTruncated), "%s cut at %d: %v", name, cut, err)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		head string
		want format
	}{
		{"empty", "", formatUnknown},
		{"safetensors", "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\"", formatSafetensors},
		{"zip", "PK\x03\x04rest", formatTorch},
		{"legacy", "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", formatTorch},
		{"plain pickle", "\x80\x02}q\x00.", formatUnknown},
		{"text", "hello world, this is text", formatUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, sniff([]byte(tt.head)))
		})
	}
}
