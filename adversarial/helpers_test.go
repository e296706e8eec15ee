package adversarial

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
)

// byteTokenizer is a CLIP tokenizer with no merges: the 512 byte symbols,
// SOT and EOT (514 ids).
func byteTokenizer(t testing.TB) *clip.Tokenizer {
	t.Helper()
	var alphabet []string
	var rest []int
	for b := range 256 {
		if b >= '!' && b <= '~' || b >= 0xa1 && b <= 0xac || b >= 0xae {
			alphabet = append(alphabet, string(rune(b)))
		} else {
			rest = append(rest, b)
		}
	}
	for i := range rest {
		alphabet = append(alphabet, string(rune(256+i)))
	}
	vocab := map[string]int{}
	for i, c := range alphabet {
		vocab[c] = i
		vocab[c+"</w>"] = 256 + i
	}
	vocab["<|startoftext|>"], vocab["<|endoftext|>"] = 512, 513
	vj, err := json.Marshal(vocab)
	require.NoError(t, err)
	tok, err := clip.ReadHFTokenizer(strings.NewReader(string(vj)), strings.NewReader("#version: 0.2\n"))
	require.NoError(t, err)
	return tok
}

// randomModel is a tiny CLIP with both towers and random weights: 32×32
// images in 8×8 patches (T = 17), D = 32, N = 128, L = 4, d = 16.
func randomModel(t testing.TB, seed uint64) *clip.Model {
	t.Helper()
	m, err := clip.New(clip.Config{
		EmbedDim:   16,
		Activation: clip.QuickGELU,
		Vision:     &clip.VisionConfig{ImageSize: 32, PatchSize: 8, Width: 32, Layers: 4, Heads: 4, MLPWidth: 128},
		Text:       &clip.TextConfig{ContextLength: 32, VocabSize: 514, Width: 32, Layers: 2, Heads: 4, MLPWidth: 64},
	})
	require.NoError(t, err)
	m.InitRandom(seed)
	m.SetTokenizer(byteTokenizer(t))
	return m
}

// fakeDecomposer returns fixed terms per direction row, found by the row's
// values; rows it does not know get no terms.
type fakeDecomposer struct {
	texts []string
	terms map[string][]Term
	calls int
}

func rowKey(r []float64) string { return fmt.Sprint(r) }

func (f *fakeDecomposer) Texts() []string { return f.texts }

func (f *fakeDecomposer) Decompose(_ context.Context, dirs *mat.Dense, k int) ([][]Term, error) {
	f.calls++
	n, _ := dirs.Dims()
	out := make([][]Term, n)
	for i := range n {
		ts := f.terms[rowKey(dirs.RawRowView(i))]
		out[i] = ts[:min(k, len(ts))]
	}
	return out, nil
}
