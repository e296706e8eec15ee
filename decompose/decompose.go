package decompose

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/lens"
	"github.com/neuronlens/neuronlens/sparse"
)

// Term is one text of a decomposition with its signed coefficient.
type Term struct {
	Index int     // the text's index in the pool
	Text  string  // the text
	Coef  float64 // its coefficient γ: the direction ≈ Σ γ·atom
}

// Decomposition is a direction coded as a sparse sum of dictionary atoms.
type Decomposition struct {
	// Terms are sorted by decreasing |Coef| (ties: lower Index first). There
	// are at most k; fewer when OMP stopped early (see Stopped).
	Terms []Term
	// Reconstruction is Σ_t Coef_t·atom_t, [d], in float64.
	Reconstruction []float64
	// Cosine is the cosine between Reconstruction and the target; 0 when
	// either is zero.
	Cosine float64
	// Stopped says why OMP ended.
	Stopped sparse.Stop
}

// Decompose codes direction [d] with at most k atoms by OMP (METHOD.md §3:
// plain greedy OMP, as scikit-learn's orthogonal_mp_gram with
// n_nonzero_coefs = k; [NonNegative] switches variant). The reference's
// target is the unit vector r_n; direction is used as given.
//
// Errors: k outside [1, M], a direction of the wrong length or with a NaN
// or an infinity.
func (dict *Dictionary) Decompose(direction []float64, k int, opts ...Option) (*Decomposition, error) {
	cfg := newConfig(opts)
	res, err := sparse.OMP(dict.dict, direction, k, cfg.sparseOpts()...)
	if err != nil {
		return nil, fmt.Errorf("decompose: %w", err)
	}
	return dict.decomposition(res, direction), nil
}

func (c *config) sparseOpts() []sparse.Option {
	o := []sparse.Option{sparse.WithWorkers(c.workers)}
	if c.nonNeg {
		o = append(o, sparse.NonNegative())
	}
	return o
}

// decomposition turns an OMP result for target y into a Decomposition.
func (dict *Dictionary) decomposition(res sparse.Result, y []float64) *Decomposition {
	d := dict.Dim
	dec := &Decomposition{Terms: make([]Term, 0, len(res.Atoms)), Reconstruction: make([]float64, d), Stopped: res.Stopped}
	for i, a := range res.Atoms {
		c := res.Coefs[i]
		dec.Terms = append(dec.Terms, Term{Index: a, Text: dict.Texts[a], Coef: c})
		for j, v := range dict.Atom(a) {
			dec.Reconstruction[j] += c * float64(v)
		}
	}
	slices.SortStableFunc(dec.Terms, func(a, b Term) int {
		if c := cmp.Compare(math.Abs(b.Coef), math.Abs(a.Coef)); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	dec.Cosine = cosine(dec.Reconstruction, y)
	return dec
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for j := range a {
		ab += a[j] * b[j]
		aa += a[j] * a[j]
		bb += b[j] * b[j]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// Descriptions are the decompositions of the directions r_n of every neuron
// of one layer.
type Descriptions struct {
	Layer int // the MLP block
	K     int // the number of terms asked for
	// Neurons[n] decomposes r_n, row n of the layer's lens.Stats.Direction.
	Neurons []*Decomposition
}

// DecomposeNeurons decomposes the direction r_n of every neuron of st with
// at most k terms (METHOD.md §3; the paper uses k = 128). The directions go
// to [sparse.OMPBatch], which advances blocks of them in lockstep over
// [WithWorkers] goroutines; progress is reported per chunk of neurons. ctx
// cancels between OMP steps.
//
// Errors: those of [Dictionary.Decompose], stats whose dimension is not the
// dictionary's, a cancelled context.
func DecomposeNeurons(ctx context.Context, dict *Dictionary, st *lens.Stats, k int, opts ...Option) (*Descriptions, error) {
	if st == nil || st.Direction == nil {
		return nil, fmt.Errorf("decompose: no directions")
	}
	_, d := st.Direction.Dims()
	if d != dict.Dim {
		return nil, fmt.Errorf("decompose: directions have %d dimensions, the dictionary %d", d, dict.Dim)
	}
	decs, err := dict.decomposeRows(ctx, st.Direction, k, newConfig(opts))
	if err != nil {
		return nil, err
	}
	return &Descriptions{Layer: st.Layer, K: k, Neurons: decs}, nil
}

// decomposeRows decomposes every row of dirs [N, d].
func (dict *Dictionary) decomposeRows(ctx context.Context, dirs *mat.Dense, k int, cfg *config) ([]*Decomposition, error) {
	N, d := dirs.Dims()
	out := make([]*Decomposition, 0, N)
	chunk := max(256, 64*cfg.workers)
	for lo := 0; lo < N; lo += chunk {
		hi := min(lo+chunk, N)
		part := mat.DenseCopyOf(dirs.Slice(lo, hi, 0, d))
		res, err := sparse.OMPBatch(ctx, dict.dict, part, k, cfg.sparseOpts()...)
		if err != nil {
			return nil, fmt.Errorf("decompose: %w", err)
		}
		for i, r := range res {
			out = append(out, dict.decomposition(r, part.RawRowView(i)))
		}
		if cfg.progress != nil {
			cfg.progress(hi, N)
		}
	}
	return out, nil
}

// Reconstructions returns the reconstructions of all neurons, [N, d]: row n
// is Neurons[n].Reconstruction.
func (ds *Descriptions) Reconstructions() *mat.Dense {
	if len(ds.Neurons) == 0 {
		return &mat.Dense{}
	}
	d := len(ds.Neurons[0].Reconstruction)
	g := mat.NewDense(len(ds.Neurons), d, nil)
	for n, dec := range ds.Neurons {
		g.SetRow(n, dec.Reconstruction)
	}
	return g
}
