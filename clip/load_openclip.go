package clip

import (
	"encoding/json"
	"fmt"
	"os"
)

// openCLIPConfigName is the config file of open_clip's Hugging Face hub layout.
const openCLIPConfigName = "open_clip_config.json"

// openCLIPTower is the part of open_clip's vision_cfg or text_cfg that the
// loader reads. open_clip gives the vision tower's heads as width/head_width
// and the text tower's as heads.
type openCLIPTower struct {
	Width     int `json:"width"`
	Heads     int `json:"heads"`
	HeadWidth int `json:"head_width"`
}

type openCLIPModel struct {
	QuickGELU bool           `json:"quick_gelu"`
	VisionCfg *openCLIPTower `json:"vision_cfg"`
	TextCfg   *openCLIPTower `json:"text_cfg"`
}

// readOpenCLIPConfig reads an open_clip config: either the hub form
// {"model_cfg": {...}, "preprocess_cfg": {...}} or a bare model config as in
// open_clip's model_configs/. quick_gelu true means QuickGELU, and false or
// absent means GELU, as in open_clip.
func readOpenCLIPConfig(path string, src *source) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	var hub struct {
		ModelCfg *openCLIPModel `json:"model_cfg"`
	}
	if err := json.Unmarshal(b, &hub); err != nil {
		return formatErr(path, "%v", err)
	}
	cfg := hub.ModelCfg
	if cfg == nil {
		cfg = &openCLIPModel{}
		if err := json.Unmarshal(b, cfg); err != nil {
			return formatErr(path, "%v", err)
		}
	}
	act := GELU
	if cfg.QuickGELU {
		act = QuickGELU
	}
	if err := setActivation(src, act, path, "quick_gelu"); err != nil {
		return err
	}
	for _, t := range []struct {
		name  string
		tower *openCLIPTower
		dst   *int
	}{{"vision", cfg.VisionCfg, &src.visionHeads}, {"text", cfg.TextCfg, &src.textHeads}} {
		if t.tower == nil {
			continue
		}
		heads := t.tower.Heads
		if heads == 0 && t.tower.HeadWidth > 0 && t.tower.Width > 0 {
			if t.tower.Width%t.tower.HeadWidth != 0 {
				return formatErr(path, "%s_cfg width %d is not a multiple of head_width %d", t.name, t.tower.Width, t.tower.HeadWidth)
			}
			heads = t.tower.Width / t.tower.HeadWidth
		}
		if heads < 0 {
			return formatErr(path, "%s_cfg heads is %d", t.name, heads)
		}
		if err := setHeads(t.dst, heads, path, t.name); err != nil {
			return err
		}
	}
	return nil
}
