package clip

import (
	"os"
	"testing"

	"github.com/neuronlens/neuronlens/internal/numtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sharedVocab = "../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz"

func modelWithVocab(t *testing.T) *Model {
	t.Helper()
	if _, err := os.Stat(sharedVocab); err != nil {
		t.Skipf("CLIP vocabulary not found at %s (third-party data in ../shared/data): %v", sharedVocab, err)
	}
	m, err := New(Config{EmbedDim: 8, Activation: QuickGELU,
		Text: &TextConfig{ContextLength: 77, VocabSize: 49408, Width: 16, Layers: 1, Heads: 2, MLPWidth: 32}})
	require.NoError(t, err)
	m.InitRandom(3)
	tok, err := LoadTokenizer(sharedVocab)
	require.NoError(t, err)
	m.SetTokenizer(tok)
	return m
}

func TestClassifierIsRenormalizedMeanOfTemplates(t *testing.T) {
	m := modelWithVocab(t)
	classes := []string{"cat", "dog", "airplane"}
	templates := []string{"a photo of a {}.", "a drawing of the {}", "{}"}
	c, err := m.NewClassifier(classes, templates)
	require.NoError(t, err)
	require.Equal(t, 8, c.Dim)
	for i, name := range classes {
		want := make([]float64, 8)
		for _, tmpl := range templates {
			e, err := m.EncodeText([]string{replaceBraces(tmpl, name)})
			require.NoError(t, err)
			n := numtest.Norm(e[0])
			for k, v := range e[0] {
				want[k] += float64(v) / n
			}
		}
		n := numtest.Norm(want)
		for k := range want {
			want[k] /= n
		}
		numtest.Close(t, want, c.Weights[i*8:(i+1)*8], 1e-5, 1e-6, name)
		assert.InDelta(t, 1, numtest.Norm(c.Weights[i*8:(i+1)*8]), 1e-6)
		// An embedding equal to (a multiple of) the class vector is classified as that class.
		emb := make([]float32, 8)
		for k := range emb {
			emb[k] = 3 * c.Weights[i*8+k]
		}
		assert.Equal(t, i, c.Predict(emb))
		assert.InDelta(t, 1, c.Scores(emb)[i], 1e-5)
	}
	_, err = m.NewClassifier(classes, []string{"no placeholder"})
	assert.Error(t, err)
	_, err = m.NewClassifier(nil, templates)
	assert.Error(t, err)
}

func replaceBraces(tmpl, name string) string {
	for i := 0; i+1 < len(tmpl); i++ {
		if tmpl[i] == '{' && tmpl[i+1] == '}' {
			return tmpl[:i] + name + tmpl[i+2:]
		}
	}
	return tmpl
}

func TestModelTokenizeNeedsVocab(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	_, err := m.Tokenize("a cat")
	assert.ErrorIs(t, err, ErrNoTokenizer)
	_, err = m.EncodeText([]string{"a cat"})
	assert.ErrorIs(t, err, ErrNoTokenizer)
}
