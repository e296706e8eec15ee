package clip

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/neuronlens/neuronlens/internal/parallel"
)

var errNoText = errors.New("clip: model has no text tower")

// Indices of the text tower's non-block parameters in its weights table.
const (
	tTok = iota
	tPos
	tLNW
	tLNB
	tProj
)

// textWeights returns the text tower's resolved parameters.
func (m *Model) textWeights() *weights {
	if w := m.textW.Load(); w != nil && w.current() {
		return w
	}
	t := m.Text
	w := resolveWeights(t.Blocks, t.TokenEmbedding, t.PositionalEmbedding, t.LNFinal.W, t.LNFinal.B, t.TextProjection)
	m.textW.Store(w)
	return w
}

// EncodeText tokenizes each text (on all cores) and returns its
// un-normalized embedding g(text) [d], running the texts through
// [Model.EncodeTokensBatch]'s batched pass.
func (m *Model) EncodeText(texts []string) ([][]float32, error) {
	if m.Text == nil {
		return nil, errNoText
	}
	if m.tokenizer == nil {
		return nil, ErrNoTokenizer
	}
	ids := make([][]int, len(texts))
	err := parallel.For(context.Background(), len(texts), runtime.GOMAXPROCS(0), func(_, i int) error {
		var err error
		ids[i], err = m.Tokenize(texts[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	return m.EncodeTokensBatch(context.Background(), ids)
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
	eot, err := m.checkTokens(ids)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	table, err := hk.resolve(m.Config.Text.Layers)
	if err != nil {
		return nil, err
	}
	dst := make([]float32, m.Config.EmbedDim)
	one, eots := [1][]int{ids}, [1]int{eot}
	m.encodeTokens(dst, one[:], eots[:], table)
	return dst, nil
}

// checkTokens checks one sequence and returns the position of its EOT, the
// largest id.
func (m *Model) checkTokens(ids []int) (eot int, err error) {
	if m.Text == nil {
		return 0, errNoText
	}
	c := m.Config.Text
	if len(ids) == 0 || len(ids) > c.ContextLength {
		return 0, fmt.Errorf("clip: %d token ids, want 1 to %d", len(ids), c.ContextLength)
	}
	for i, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return 0, fmt.Errorf("clip: token id %d at position %d is outside the vocabulary of %d", id, i, c.VocabSize)
		}
		if id > ids[eot] {
			eot = i
		}
	}
	return eot, nil
}

// EncodeTokensBatch returns the embeddings [d] of many token sequences, each
// as [Model.EncodeTokens] takes it. Every sequence is cut at its EOT and the
// cut sequences are packed back to back, about 1,024 tokens at a time, into
// one residual stream, so every Linear is one large matrix product over all
// of them while attention (with its causal mask) stays per sequence; no
// padding is computed. The result equals EncodeTokens on each to float32
// rounding. ctx is checked between batches; a bad sequence is an error
// naming its index.
func (m *Model) EncodeTokensBatch(ctx context.Context, ids [][]int) ([][]float32, error) {
	if m.Text == nil {
		return nil, errNoText
	}
	eots := make([]int, len(ids))
	for i, seq := range ids {
		eot, err := m.checkTokens(seq)
		if err != nil {
			return nil, fmt.Errorf("clip: text %d: %w", i, err)
		}
		eots[i] = eot
	}
	d := m.Config.EmbedDim
	flat := make([]float32, len(ids)*d)
	for lo := 0; lo < len(ids); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi, rows := lo+1, eots[lo]+1
		for hi < len(ids) && rows+eots[hi]+1 <= batchRows {
			rows += eots[hi] + 1
			hi++
		}
		m.encodeTokens(flat[lo*d:hi*d], ids[lo:hi], eots[lo:hi], nil)
		lo = hi
	}
	return splitRows(flat, d), nil
}

// encodeTokens runs checked sequences, cut after eots[b], through the tower
// with a pooled scratch, writing their embeddings into dst [B, d].
func (m *Model) encodeTokens(dst []float32, ids [][]int, eots []int, hk *hookTable) {
	s := m.textPool.get()
	defer m.textPool.put(s)
	c := m.Config.Text
	W := c.Width
	w := m.textWeights()
	s.setLens(len(ids), func(b int) int { return eots[b] + 1 })
	s.reserve(W, c.Heads, c.MLPWidth, 0)
	tok, pos := w.extra(tTok), w.extra(tPos)
	for b, seq := range ids {
		r := s.rows[b]
		for i, id := range seq[:s.lens[b]] {
			row := s.x[(r+i)*W : (r+i+1)*W]
			copy(row, tok[id*W:(id+1)*W])
			for j, p := range pos[i*W : (i+1)*W] {
				row[j] += p
			}
		}
		s.pooled[b] = r + eots[b]
	}
	for l := range w.blocks {
		blockForward(&w.blocks[l], l, true, m.Config.Activation, s, hk)
	}
	poolTo(dst, s, W, w.extra(tLNW), w.extra(tLNB), w.extra(tProj), hk)
}
