package clip

import "fmt"

// Activation is the nonlinearity between the two layers of every MLP.
type Activation uint8

const (
	// ActivationUnset means the checkpoint did not say; see [WithActivation].
	ActivationUnset Activation = iota
	// QuickGELU is x·σ(1.702x), used by OpenAI's CLIP weights.
	QuickGELU
	// GELU is the exact x·Φ(x) = x·(1+erf(x/√2))/2, used by most open_clip LAION weights.
	GELU
)

// String returns "quick_gelu", "gelu" or "unset", the names Hugging Face uses.
func (a Activation) String() string {
	switch a {
	case QuickGELU:
		return "quick_gelu"
	case GELU:
		return "gelu"
	case ActivationUnset:
		return "unset"
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// ParseActivation reads the names used by Hugging Face's hidden_act:
// "quick_gelu" and "gelu". Other names are an error.
func ParseActivation(s string) (Activation, error) {
	switch s {
	case "quick_gelu":
		return QuickGELU, nil
	case "gelu":
		return GELU, nil
	}
	return ActivationUnset, fmt.Errorf("clip: unknown activation %q (want quick_gelu or gelu)", s)
}

// VisionConfig is the shape of the image tower.
type VisionConfig struct {
	ImageSize int // input side S in pixels; the patch grid is S/PatchSize per side
	PatchSize int // side of a square patch in pixels
	Width     int // residual width D
	Layers    int // number of residual blocks L
	Heads     int // attention heads H; D must be a multiple of H
	MLPWidth  int // MLP hidden width N (4D in every released CLIP)
}

// Tokens returns T, the sequence length: one class token plus the patch grid.
func (c VisionConfig) Tokens() int {
	g := c.ImageSize / c.PatchSize
	return 1 + g*g
}

// TextConfig is the shape of the text tower.
type TextConfig struct {
	ContextLength int // maximum tokens, SOT and EOT included (77 for CLIP)
	VocabSize     int // rows of the token embedding (49408 for CLIP)
	Width         int
	Layers        int
	Heads         int
	MLPWidth      int
}

// Config is the architecture of a CLIP model. A nil Vision or Text means the
// model has no such tower.
type Config struct {
	EmbedDim   int // joint embedding dimension d
	Vision     *VisionConfig
	Text       *TextConfig
	Activation Activation // the same activation in both towers
}

// Validate reports the first inconsistency in c.
func (c Config) Validate() error {
	if c.EmbedDim <= 0 {
		return fmt.Errorf("clip: config: EmbedDim %d must be positive", c.EmbedDim)
	}
	if c.Activation != QuickGELU && c.Activation != GELU {
		return fmt.Errorf("clip: config: activation %v is not set", c.Activation)
	}
	if c.Vision == nil && c.Text == nil {
		return fmt.Errorf("clip: config: neither an image nor a text tower")
	}
	if v := c.Vision; v != nil {
		if v.ImageSize <= 0 || v.PatchSize <= 0 || v.ImageSize%v.PatchSize != 0 {
			return fmt.Errorf("clip: config: image size %d is not a positive multiple of patch size %d", v.ImageSize, v.PatchSize)
		}
		if err := checkTower("vision", v.Width, v.Layers, v.Heads, v.MLPWidth); err != nil {
			return err
		}
	}
	if t := c.Text; t != nil {
		if t.ContextLength < 2 || t.VocabSize <= 0 {
			return fmt.Errorf("clip: config: text context %d or vocabulary %d too small", t.ContextLength, t.VocabSize)
		}
		if err := checkTower("text", t.Width, t.Layers, t.Heads, t.MLPWidth); err != nil {
			return err
		}
	}
	return nil
}

func checkTower(name string, width, layers, heads, mlp int) error {
	if width <= 0 || layers < 0 || heads <= 0 || mlp <= 0 {
		return fmt.Errorf("clip: config: %s tower width %d, layers %d, heads %d, mlp %d must be positive", name, width, layers, heads, mlp)
	}
	if width%heads != 0 {
		return fmt.Errorf("clip: config: %s width %d is not a multiple of %d heads", name, width, heads)
	}
	return nil
}
