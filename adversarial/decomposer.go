package adversarial

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/sparse"
)

// TextDecomposer is the reference's sparse decomposition (METHOD.md §3)
// over a text pool: the texts are encoded raw with the text tower,
// L2-normalized and ×100, centred over the pool, and each embedding
// dimension is divided by its norm over the pool and ×100 (the reference's
// column normalization); directions are coded by plain OMP
// ([sparse.OMPBatch]). It stands in for package decompose and satisfies
// [Decomposer].
type TextDecomposer struct {
	texts []string
	dict  *sparse.Dictionary
}

// NewTextDecomposer encodes texts with m and builds the dictionary. Errors:
// no texts, a duplicate text, text tower errors, a degenerate pool.
func NewTextDecomposer(m *clip.Model, texts []string) (*TextDecomposer, error) {
	if len(texts) == 0 {
		return nil, errors.New("adversarial: empty text pool")
	}
	seen := map[string]bool{}
	for _, t := range texts {
		if seen[t] {
			return nil, fmt.Errorf("adversarial: text pool holds %q twice", t)
		}
		seen[t] = true
	}
	emb, err := m.EncodeText(texts)
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	M, d := len(texts), m.Config.EmbedDim
	E := make([]float64, M*d)
	for i, e := range emb {
		u := unit(toF64(e))
		for j, v := range u {
			E[i*d+j] = 100 * v
		}
	}
	for j := range d {
		var mean float64
		for i := range M {
			mean += E[i*d+j]
		}
		mean /= float64(M)
		var ss float64
		for i := range M {
			E[i*d+j] -= mean
			ss += E[i*d+j] * E[i*d+j]
		}
		if ss == 0 {
			ss = 1 // a constant column stays zero
		}
		inv := 100 / math.Sqrt(ss)
		for i := range M {
			E[i*d+j] *= inv
		}
	}
	dict, err := sparse.NewDictionary(mat.NewDense(M, d, E))
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	return &TextDecomposer{texts: append([]string(nil), texts...), dict: dict}, nil
}

// Texts returns the pool.
func (t *TextDecomposer) Texts() []string { return t.texts }

// Decompose codes each row of dirs with at most k atoms (k is clamped to
// the pool size) and returns the terms sorted by decreasing |Coef|, ties by
// pool index.
func (t *TextDecomposer) Decompose(ctx context.Context, dirs *mat.Dense, k int) ([][]Term, error) {
	M, _ := t.dict.Dims()
	res, err := sparse.OMPBatch(ctx, t.dict, dirs, min(k, M))
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	out := make([][]Term, len(res))
	for i, r := range res {
		ts := make([]Term, len(r.Atoms))
		for j, a := range r.Atoms {
			ts[j] = Term{Index: a, Text: t.texts[a], Coef: r.Coefs[j]}
		}
		slices.SortStableFunc(ts, func(x, y Term) int {
			if c := cmp.Compare(math.Abs(y.Coef), math.Abs(x.Coef)); c != 0 {
				return c
			}
			return cmp.Compare(x.Index, y.Index)
		})
		out[i] = ts
	}
	return out, nil
}
