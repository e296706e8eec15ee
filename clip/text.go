package clip

import (
	"context"
	"errors"
	"fmt"
)

var errNoText = errors.New("clip: model has no text tower")

func (m *Model) textScratch() *scratch {
	if s, ok := m.textPool.Get().(*scratch); ok {
		return s
	}
	c := m.Config.Text
	return newScratch(c.ContextLength, c.Width, c.Heads, c.MLPWidth, 0)
}

// EncodeText tokenizes each text and returns its un-normalized embedding
// g(text) [d], spreading the texts over the cores.
func (m *Model) EncodeText(texts []string) ([][]float32, error) {
	if m.Text == nil {
		return nil, errNoText
	}
	if m.tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	out := make([][]float32, len(texts))
	err := parallel(context.Background(), len(texts), func(i int) error {
		ids, err := m.Tokenize(texts[i])
		if err != nil {
			return err
		}
		out[i], err = m.RunTokens(context.Background(), ids, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EncodeTokens returns the embedding [d] of one token sequence (SOT … EOT,
// optionally zero padded, at most the context length). The pooled token is
// the EOT, found as the largest id as CLIP does.
func (m *Model) EncodeTokens(ids []int) ([]float32, error) {
	return m.RunTokens(context.Background(), ids, nil)
}

// RunTokens is [Model.EncodeTokens] with hooks. The tower runs only up to the
// EOT position: under the causal mask the result is identical to a pass over
// the full context, so traces have T = eot+1 rows.
func (m *Model) RunTokens(ctx context.Context, ids []int, hk *Hooks) ([]float32, error) {
	if m.Text == nil {
		return nil, errNoText
	}
	c := m.Config.Text
	if len(ids) == 0 || len(ids) > c.ContextLength {
		return nil, fmt.Errorf("clip: %d token ids, want 1 to %d", len(ids), c.ContextLength)
	}
	eot := 0
	for i, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return nil, fmt.Errorf("clip: token id %d at position %d is outside the vocabulary of %d", id, i, c.VocabSize)
		}
		if id > ids[eot] {
			eot = i
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	table, err := hk.resolve(c.Layers)
	if err != nil {
		return nil, err
	}
	s := m.textScratch()
	defer m.textPool.Put(s)
	T, W := eot+1, c.Width
	t := m.Text
	tok, pos := values(t.TokenEmbedding), values(t.PositionalEmbedding)
	for i := range T {
		row := s.x[i*W : (i+1)*W]
		copy(row, tok[ids[i]*W:(ids[i]+1)*W])
		for j, p := range pos[i*W : (i+1)*W] {
			row[j] += p
		}
	}
	for l, b := range t.Blocks {
		blockForward(b, l, T, true, m.Config.Activation, s, table)
	}
	dst := make([]float32, m.Config.EmbedDim)
	pool(dst, s, eot, W, t.LNFinal, values(t.TextProjection), table)
	return dst, nil
}
