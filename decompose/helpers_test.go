package decompose

import (
	"encoding/json"
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/clip"
)

// byteTokenizer is a CLIP-style tokenizer with no merges: the 512 byte
// symbols (with and without "</w>") plus SOT and EOT, 514 ids, so every
// character is a token. It needs no vocabulary file.
func byteTokenizer(t testing.TB) *clip.Tokenizer {
	t.Helper()
	// GPT-2's byte-to-symbol table: printable bytes stand for themselves,
	// the others map to 256, 257, … in byte order.
	var sym [256]rune
	next := rune(256)
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			sym[b] = rune(b)
		} else {
			sym[b] = next
			next++
		}
	}
	ids := map[string]int{}
	for b := range 256 {
		ids[string(sym[b])] = len(ids)
	}
	for b := range 256 {
		ids[string(sym[b])+"</w>"] = len(ids)
	}
	ids[clip.SOTText] = len(ids)
	ids[clip.EOTText] = len(ids)
	raw, err := json.Marshal(ids)
	require.NoError(t, err)
	tok, err := clip.ReadHFTokenizer(strings.NewReader(string(raw)), strings.NewReader("#version: 0.2\n"))
	require.NoError(t, err)
	return tok
}

// tinyConfig has both towers: image T = 17, D = 32, N = 128, L = 4; text
// context 24, width 32, 2 blocks, vocabulary 514; d = 16.
func tinyConfig() clip.Config {
	return clip.Config{
		EmbedDim:   16,
		Activation: clip.QuickGELU,
		Vision:     &clip.VisionConfig{ImageSize: 32, PatchSize: 8, Width: 32, Layers: 4, Heads: 4, MLPWidth: 128},
		Text:       &clip.TextConfig{ContextLength: 24, VocabSize: 514, Width: 32, Layers: 2, Heads: 2, MLPWidth: 64},
	}
}

// tinyModel is a random tinyConfig model with the byte tokenizer.
func tinyModel(t testing.TB, seed uint64) *clip.Model {
	t.Helper()
	m, err := clip.New(tinyConfig())
	require.NoError(t, err)
	m.InitRandom(seed)
	m.SetTokenizer(byteTokenizer(t))
	return m
}

// words returns n distinct lower-case pseudo-words.
func words(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 3))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		b := make([]byte, 3+r.IntN(6))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		if s := string(b); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// randomImage is a deterministic noisy image.
func randomImage(seed uint64, w, h int) image.Image {
	r := rand.New(rand.NewPCG(seed, 5))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
		}
	}
	return img
}
