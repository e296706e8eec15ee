package clip

import (
	"fmt"
	"math"
	"sort"
)

// inferConfig reads the architecture from tensor shapes, as open_clip does for
// OpenAI state dicts: widths from the LayerNorm and embedding shapes, depth by
// counting blocks, patch and grid from conv1 and the positional embedding.
func inferConfig(sd StateDict, src source, o *options) (Config, error) {
	var cfg Config
	shape := func(key string, dims int) ([]int, error) {
		t, ok := sd[key]
		if !ok {
			return nil, fmt.Errorf("clip: %s: missing tensor %q", src.path, key)
		}
		if len(t.Shape) != dims {
			return nil, fmt.Errorf("clip: %s: tensor %q is %v, want %d dimensions", src.path, key, t.Shape, dims)
		}
		for _, s := range t.Shape {
			if s <= 0 {
				return nil, fmt.Errorf("clip: %s: tensor %q has shape %v", src.path, key, t.Shape)
			}
		}
		return t.Shape, nil
	}
	countBlocks := func(prefix string) int {
		n := 0
		for {
			if _, ok := sd[fmt.Sprintf("%s%d.attn.in_proj_weight", prefix, n)]; !ok {
				return n
			}
			n++
		}
	}
	mlpWidth := func(prefix string, layers, width int) (int, error) {
		if layers == 0 {
			return 4 * width, nil
		}
		s, err := shape(prefix+"0.mlp.c_fc.weight", 2)
		if err != nil {
			return 0, err
		}
		return s[0], nil
	}
	heads := func(fromSource, fromOption, width int, tower string) (int, error) {
		if fromSource > 0 && fromOption > 0 && fromSource != fromOption {
			return 0, fmt.Errorf("clip: %s: checkpoint says %d %s heads, option says %d", src.path, fromSource, tower, fromOption)
		}
		switch {
		case fromSource > 0:
			return fromSource, nil
		case fromOption > 0:
			return fromOption, nil
		}
		return max(1, width/64), nil
	}

	if _, ok := sd["visual.conv1.weight"]; ok {
		conv, err := shape("visual.conv1.weight", 4)
		if err != nil {
			return cfg, err
		}
		if conv[1] != 3 || conv[2] != conv[3] {
			return cfg, fmt.Errorf("clip: %s: tensor %q is %v, want [D 3 p p]", src.path, "visual.conv1.weight", conv)
		}
		pos, err := shape("visual.positional_embedding", 2)
		if err != nil {
			return cfg, err
		}
		grid := int(math.Round(math.Sqrt(float64(pos[0] - 1))))
		if grid < 1 || grid*grid+1 != pos[0] {
			return cfg, fmt.Errorf("clip: %s: tensor %q is %v: %d tokens is not 1 + a square grid", src.path, "visual.positional_embedding", pos, pos[0])
		}
		proj, err := shape("visual.proj", 2)
		if err != nil {
			return cfg, err
		}
		v := &VisionConfig{PatchSize: conv[2], Width: conv[0], ImageSize: grid * conv[2]}
		v.Layers = countBlocks("visual.transformer.resblocks.")
		if v.MLPWidth, err = mlpWidth("visual.transformer.resblocks.", v.Layers, v.Width); err != nil {
			return cfg, err
		}
		if v.Heads, err = heads(src.visionHeads, o.visionHeads, v.Width, "vision"); err != nil {
			return cfg, err
		}
		cfg.Vision = v
		cfg.EmbedDim = proj[1]
	}
	if _, ok := sd["token_embedding.weight"]; ok {
		tok, err := shape("token_embedding.weight", 2)
		if err != nil {
			return cfg, err
		}
		pos, err := shape("positional_embedding", 2)
		if err != nil {
			return cfg, err
		}
		proj, err := shape("text_projection", 2)
		if err != nil {
			return cfg, err
		}
		t := &TextConfig{VocabSize: tok[0], Width: tok[1], ContextLength: pos[0]}
		t.Layers = countBlocks("transformer.resblocks.")
		if t.MLPWidth, err = mlpWidth("transformer.resblocks.", t.Layers, t.Width); err != nil {
			return cfg, err
		}
		if t.Heads, err = heads(src.textHeads, o.textHeads, t.Width, "text"); err != nil {
			return cfg, err
		}
		if cfg.Vision != nil && proj[1] != cfg.EmbedDim {
			return cfg, fmt.Errorf("clip: %s: tensor %q is %v but visual.proj gives embedding dimension %d", src.path, "text_projection", proj, cfg.EmbedDim)
		}
		cfg.Text = t
		cfg.EmbedDim = proj[1]
	}
	if cfg.Vision == nil && cfg.Text == nil {
		return cfg, fmt.Errorf("clip: %s: %w: no tensor %q or %q", src.path, ErrFormat, "visual.conv1.weight", "token_embedding.weight")
	}
	switch {
	case src.activation != ActivationUnset && o.activation != ActivationUnset && src.activation != o.activation:
		return cfg, fmt.Errorf("clip: %s: checkpoint uses %v, option asks for %v", src.path, src.activation, o.activation)
	case src.activation != ActivationUnset:
		cfg.Activation = src.activation
	case o.activation != ActivationUnset:
		cfg.Activation = o.activation
	default:
		cfg.Activation = QuickGELU
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("clip: %s: %w", src.path, err)
	}
	return cfg, nil
}

func sortedKeys(sd StateDict) []string {
	keys := make([]string, 0, len(sd))
	for k := range sd {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
