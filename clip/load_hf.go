package clip

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// readDir reads a Hugging Face or open_clip checkpoint directory.
func readDir(dir string) (StateDict, source, error) {
	src := source{path: dir}
	exists := func(name string) bool {
		fi, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !fi.IsDir()
	}
	first := func(names ...string) string {
		for _, n := range names {
			if exists(n) {
				return filepath.Join(dir, n)
			}
		}
		return ""
	}
	if exists(openCLIPConfigName) {
		if w := first("open_clip_model.safetensors", "open_clip_pytorch_model.bin"); w != "" {
			sd, err := readWeights(w, &src)
			if err != nil {
				return nil, src, err
			}
			if err := readOpenCLIPConfig(filepath.Join(dir, openCLIPConfigName), &src); err != nil {
				return nil, src, err
			}
			return sd, src, nil
		}
	}
	if !exists("config.json") {
		return nil, src, formatErr(dir, "directory has neither config.json (Hugging Face) nor %s with weights", openCLIPConfigName)
	}
	w := first("model.safetensors", "pytorch_model.bin")
	index := first("model.safetensors.index.json", "pytorch_model.bin.index.json")
	if w == "" && index == "" {
		return nil, src, formatErr(dir, "directory has config.json but no model.safetensors, pytorch_model.bin or sharded index (model.safetensors.index.json, pytorch_model.bin.index.json)")
	}
	if err := readHFConfig(filepath.Join(dir, "config.json"), &src); err != nil {
		return nil, src, err
	}
	var sd StateDict
	var err error
	if w != "" {
		sd, err = readWeights(w, &src)
	} else {
		sd, err = readShards(index, &src)
	}
	if err != nil {
		return nil, src, err
	}
	if exists("vocab.json") && exists("merges.txt") {
		tok, err := LoadTokenizer(dir)
		if err != nil {
			return nil, src, wrapErr(filepath.Join(dir, "vocab.json"), err)
		}
		src.tokenizer = tok
	}
	return sd, src, nil
}

// readShards reads a sharded Hugging Face checkpoint: the index (JSON with
// a "weight_map" from tensor name to shard file in the same directory) and
// every shard it names. Each tensor must be in the shard the index names,
// in no other, and the index must name every tensor of every shard; names
// are converted once all shards are in, since a layer's q, k and v may sit
// in different shards. Errors name the index or the shard.
func readShards(index string, src *source) (StateDict, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, formatErr(index, "%v", err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, formatErr(index, "no weight_map")
	}
	shards := map[string][]string{} // file → the tensors the index puts there
	for name, file := range idx.WeightMap {
		if file == "" || !filepath.IsLocal(file) || filepath.Base(file) != file {
			return nil, formatErr(index, "tensor %q: shard %q is not a file of the checkpoint's directory", name, file)
		}
		shards[file] = append(shards[file], name)
	}
	dir := filepath.Dir(index)
	all := StateDict{}
	for _, file := range slices.Sorted(maps.Keys(shards)) {
		path := filepath.Join(dir, file)
		sd, err := readTensors(path, src)
		if err != nil {
			return nil, err
		}
		for _, name := range shards[file] {
			if _, ok := sd[name]; !ok {
				return nil, formatErr(path, "has no tensor %q, which %s puts there", name, filepath.Base(index))
			}
		}
		for name, t := range sd {
			if f, ok := idx.WeightMap[name]; !ok || f != file {
				if !ok {
					return nil, formatErr(path, "tensor %q is not in %s", name, filepath.Base(index))
				}
				return nil, formatErr(path, "tensor %q is in %s by %s", name, f, filepath.Base(index))
			}
			all[name] = t
		}
	}
	return finishNames(all, index)
}

// hfTower is the part of a Hugging Face CLIPVisionConfig or CLIPTextConfig
// that the loader reads; shapes come from the tensors.
type hfTower struct {
	NumAttentionHeads int     `json:"num_attention_heads"`
	HiddenAct         *string `json:"hidden_act"`
}

type hfConfig struct {
	VisionConfig *hfTower `json:"vision_config"`
	TextConfig   *hfTower `json:"text_config"`
}

// readHFConfig reads the activation and head counts of a Hugging Face
// config.json. A tower without hidden_act uses Hugging Face's default,
// quick_gelu; both towers must agree.
func readHFConfig(path string, src *source) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	var cfg hfConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return formatErr(path, "%v", err)
	}
	if cfg.VisionConfig == nil && cfg.TextConfig == nil {
		return formatErr(path, "no vision_config or text_config: not a CLIP config")
	}
	acts := map[string]string{}
	for _, t := range []struct {
		name  string
		tower *hfTower
		heads *int
	}{{"vision", cfg.VisionConfig, &src.visionHeads}, {"text", cfg.TextConfig, &src.textHeads}} {
		if t.tower == nil {
			continue
		}
		act := "quick_gelu"
		if t.tower.HiddenAct != nil {
			act = *t.tower.HiddenAct
		}
		acts[t.name] = act
		if t.tower.NumAttentionHeads < 0 {
			return formatErr(path, "%s_config.num_attention_heads is %d", t.name, t.tower.NumAttentionHeads)
		}
		if err := setHeads(t.heads, t.tower.NumAttentionHeads, path, t.name); err != nil {
			return err
		}
	}
	if v, ok := acts["vision"]; ok {
		if t, ok := acts["text"]; ok && t != v {
			return formatErr(path, "vision_config.hidden_act %q and text_config.hidden_act %q differ", v, t)
		}
	}
	for tower, act := range acts {
		a, err := ParseActivation(act)
		if err != nil {
			return formatErr(path, "%s_config.hidden_act: %v", tower, err)
		}
		if err := setActivation(src, a, path, "config.json"); err != nil {
			return err
		}
	}
	return nil
}

// isHFNaming reports whether sd uses Hugging Face transformers' CLIP names.
func isHFNaming(sd StateDict) bool {
	for k := range sd {
		if strings.HasPrefix(k, "vision_model.") || strings.HasPrefix(k, "text_model.") {
			return true
		}
	}
	return false
}

// hfNames maps Hugging Face names outside the layers to OpenAI names.
var hfNames = map[string]string{
	"vision_model.embeddings.class_embedding":           "visual.class_embedding",
	"vision_model.embeddings.patch_embedding.weight":    "visual.conv1.weight",
	"vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
	"vision_model.pre_layrnorm.weight":                  "visual.ln_pre.weight",
	"vision_model.pre_layrnorm.bias":                    "visual.ln_pre.bias",
	"vision_model.post_layernorm.weight":                "visual.ln_post.weight",
	"vision_model.post_layernorm.bias":                  "visual.ln_post.bias",
	"visual_projection.weight":                          "visual.proj", // transposed
	"text_model.embeddings.token_embedding.weight":      "token_embedding.weight",
	"text_model.embeddings.position_embedding.weight":   "positional_embedding",
	"text_model.final_layer_norm.weight":                "ln_final.weight",
	"text_model.final_layer_norm.bias":                  "ln_final.bias",
	"text_projection.weight":                            "text_projection", // transposed
	"logit_scale":                                       "logit_scale",
}

// hfLayerNames maps the part of a layer key after "layers.N." to OpenAI names.
var hfLayerNames = map[string]string{
	"self_attn.out_proj.weight": "attn.out_proj.weight",
	"self_attn.out_proj.bias":   "attn.out_proj.bias",
	"layer_norm1.weight":        "ln_1.weight",
	"layer_norm1.bias":          "ln_1.bias",
	"layer_norm2.weight":        "ln_2.weight",
	"layer_norm2.bias":          "ln_2.bias",
	"mlp.fc1.weight":            "mlp.c_fc.weight",
	"mlp.fc1.bias":              "mlp.c_fc.bias",
	"mlp.fc2.weight":            "mlp.c_proj.weight",
	"mlp.fc2.bias":              "mlp.c_proj.bias",
}

var hfLayer = regexp.MustCompile(`^(vision|text)_model\.encoder\.layers\.([0-9]+)\.(.+)$`)

var qkvIndex = map[string]int{"q": 0, "k": 1, "v": 2}

// fromHFNames converts a state dict in Hugging Face naming to OpenAI naming:
// q, k and v projections are concatenated into in_proj_weight [3D, D] and
// in_proj_bias [3D], and the two projections are transposed to [D, d] and
// [W, d]. position_ids buffers are dropped; any other unknown key is an error.
func fromHFNames(sd StateDict, path string) (StateDict, error) {
	out := make(StateDict, len(sd))
	type qkv struct{ parts [3]string } // HF keys of q, k, v
	pending := map[string]*qkv{}       // by OpenAI key of the concatenation
	for k, t := range sd {
		if strings.HasSuffix(k, "position_ids") {
			continue
		}
		if name, ok := hfNames[k]; ok {
			if name == "visual.proj" || name == "text_projection" {
				tt, err := transpose(t, k, path)
				if err != nil {
					return nil, err
				}
				t = tt
			}
			out[name] = t
			continue
		}
		m := hfLayer.FindStringSubmatch(k)
		if m == nil {
			return nil, formatErr(path, "tensor %q: unknown Hugging Face CLIP key", k)
		}
		prefix := "transformer.resblocks." + m[2] + "."
		if m[1] == "vision" {
			prefix = "visual." + prefix
		}
		rest := m[3]
		if name, ok := hfLayerNames[rest]; ok {
			out[prefix+name] = t
			continue
		}
		proj, param, ok := strings.Cut(strings.TrimPrefix(rest, "self_attn."), "_proj.")
		i, isQKV := qkvIndex[proj]
		if !ok || !isQKV || !strings.HasPrefix(rest, "self_attn.") || (param != "weight" && param != "bias") {
			return nil, formatErr(path, "tensor %q: unknown Hugging Face CLIP key", k)
		}
		dst := prefix + "attn.in_proj_" + param
		if pending[dst] == nil {
			pending[dst] = &qkv{}
		}
		pending[dst].parts[i] = k
	}
	for dst, p := range pending {
		t, err := concatQKV(sd, p.parts, dst, path)
		if err != nil {
			return nil, err
		}
		out[dst] = t
	}
	return out, nil
}

// concatQKV stacks the q, k and v tensors (each [D, D], or [D] for biases)
// along the first axis.
func concatQKV(sd StateDict, keys [3]string, dst, path string) (Tensor, error) {
	var have string
	for _, k := range keys {
		if k != "" {
			have = k
		}
	}
	var shape []int
	for i, k := range keys {
		if k == "" {
			return Tensor{}, formatErr(path, "tensor %q has no %s_proj partner for %q", have, "qkv"[i:i+1], dst)
		}
		t := sd[k]
		if len(t.Shape) == 0 || len(t.Shape) > 2 || (len(t.Shape) == 2 && t.Shape[0] != t.Shape[1]) {
			return Tensor{}, formatErr(path, "tensor %q is %v, want [D D] or [D]", k, t.Shape)
		}
		if shape == nil {
			shape = t.Shape
		} else if !equalShape(shape, t.Shape) {
			return Tensor{}, formatErr(path, "tensor %q is %v, but %q is %v", k, t.Shape, keys[0], shape)
		}
	}
	out := Tensor{Shape: append([]int{3 * shape[0]}, shape[1:]...)}
	out.Data = make([]float32, 0, 3*len(sd[keys[0]].Data))
	for _, k := range keys {
		out.Data = append(out.Data, sd[k].Data...)
	}
	return out, nil
}

// transpose returns the transpose of the matrix t.
func transpose(t Tensor, key, path string) (Tensor, error) {
	if len(t.Shape) != 2 {
		return Tensor{}, formatErr(path, "tensor %q is %v, want 2 dimensions", key, t.Shape)
	}
	r, c := t.Shape[0], t.Shape[1]
	out := Tensor{Shape: []int{c, r}, Data: make([]float32, len(t.Data))}
	for i := range r {
		for j := range c {
			out.Data[j*r+i] = t.Data[i*c+j]
		}
	}
	return out, nil
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
