package adversarial

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/lens"
)

// TextDecomposer is the sparse decomposition of METHOD.md §3 over a text
// pool, through package decompose: texts encoded raw, ×100 unit norm,
// centred, scaled by the dictionary's normalization (the reference's column
// scaling, [decompose.Reference], or unit texts, [decompose.Unit]), plain
// OMP. It satisfies [Decomposer].
type TextDecomposer struct {
	Dict *decompose.Dictionary
}

// NewTextDecomposer encodes texts with m and builds the dictionary with
// normalization norm ([decompose.Reference] reproduces the reference).
// Errors: no texts, a duplicate text, an unknown normalization, text tower
// errors.
func NewTextDecomposer(ctx context.Context, m *clip.Model, texts []string, norm decompose.Normalization) (*TextDecomposer, error) {
	seen := map[string]bool{}
	for _, t := range texts {
		if seen[t] {
			return nil, fmt.Errorf("adversarial: text pool holds %q twice", t)
		}
		seen[t] = true
	}
	emb, err := decompose.Embed(ctx, m, &decompose.Pool{Texts: append([]string(nil), texts...)})
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	dict, err := decompose.NewDictionary(emb, norm)
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	return &TextDecomposer{Dict: dict}, nil
}

// Texts returns the pool.
func (t *TextDecomposer) Texts() []string { return t.Dict.Texts }

// Decompose codes each row of dirs with at most k atoms (k is clamped to
// the pool size), terms sorted by decreasing |Coef|, ties by pool index.
func (t *TextDecomposer) Decompose(ctx context.Context, dirs *mat.Dense, k int) ([][]Term, error) {
	ds, err := decompose.DecomposeNeurons(ctx, t.Dict, &lens.Stats{Direction: dirs}, min(k, t.Dict.Len()))
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	out := make([][]Term, len(ds.Neurons))
	for i, d := range ds.Neurons {
		out[i] = d.Terms
	}
	return out, nil
}
