package clip

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadHFConfig(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		want   source
		errHas string
	}{
		{"defaults to quick_gelu", `{"vision_config": {"num_attention_heads": 12}, "text_config": {}}`,
			source{activation: QuickGELU, visionHeads: 12}, ""},
		{"gelu", `{"vision_config": {"hidden_act": "gelu"}, "text_config": {"hidden_act": "gelu", "num_attention_heads": 8}}`,
			source{activation: GELU, textHeads: 8}, ""},
		{"vision only", `{"vision_config": {"hidden_act": "gelu"}}`, source{activation: GELU}, ""},
		{"towers differ", `{"vision_config": {"hidden_act": "gelu"}, "text_config": {}}`, source{}, "differ"},
		{"unknown activation", `{"vision_config": {"hidden_act": "relu"}, "text_config": {"hidden_act": "relu"}}`, source{}, "relu"},
		{"not clip", `{"hidden_size": 768}`, source{}, "vision_config"},
		{"not json", `{"vision_config": `, source{}, "config.json"},
		{"negative heads", `{"vision_config": {"num_attention_heads": -2}}`, source{}, "num_attention_heads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.json")
			require.NoError(t, os.WriteFile(p, []byte(tt.json), 0o644))
			var src source
			err := readHFConfig(p, &src)
			if tt.errHas != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrFormat)
				assert.Contains(t, err.Error(), p)
				assert.Contains(t, err.Error(), tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, src)
		})
	}
}

func TestReadOpenCLIPConfig(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		prior  Activation // what the weights file said already
		want   source
		errHas string
	}{
		{"hub form", `{"model_cfg": {"quick_gelu": true, "vision_cfg": {"width": 768, "head_width": 64}, "text_cfg": {"heads": 8}}}`,
			0, source{activation: QuickGELU, visionHeads: 12, textHeads: 8}, ""},
		{"bare model config", `{"embed_dim": 512, "vision_cfg": {"width": 1024, "heads": 16}, "text_cfg": {"width": 768, "heads": 12}}`,
			0, source{activation: GELU, visionHeads: 16, textHeads: 12}, ""},
		{"no heads given", `{"model_cfg": {"vision_cfg": {"width": 768}}}`, 0, source{activation: GELU}, ""},
		{"head_width does not divide", `{"model_cfg": {"vision_cfg": {"width": 100, "head_width": 64}}}`, 0, source{}, "head_width"},
		{"contradicts the weights", `{"model_cfg": {"quick_gelu": false}}`, QuickGELU, source{}, "activation"},
		{"not json", `[`, 0, source{}, "open_clip_config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), openCLIPConfigName)
			require.NoError(t, os.WriteFile(p, []byte(tt.json), 0o644))
			src := source{activation: tt.prior}
			err := readOpenCLIPConfig(p, &src)
			if tt.errHas != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrFormat)
				assert.Contains(t, err.Error(), p)
				assert.Contains(t, err.Error(), tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, src)
		})
	}
}
