package decompose

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/lens"
)

// Concept is one text's score in the concept discovery of one image.
type Concept struct {
	Index int    // the text's index in the pool
	Text  string // the text
	// Score is Σ over the image's significant neurons n whose
	// decomposition holds the text of Coef_n(text)·‖φ_n(I) − mean_n‖.
	Score float64
	// Neurons is the number of significant neurons contributing.
	Neurons int
}

// Concepts scores the texts that the significant neurons of one image
// contribute (METHOD.md §3, concept discovery). effects is [N, d], the
// image's second-order effects φ_n(I) in the units of st (as
// [lens.SecondOrder] returns them with the options st was made with). A
// neuron is significant when its centred norm ‖φ_n(I) − mean_n‖ exceeds
// st.Threshold[n]; each term of its decomposition in ds scores
//
//	Coef × ‖φ_n(I) − mean_n‖,
//
// and a text's scores add up over the neurons. Concepts are sorted by
// decreasing Score (ties: lower Index first); negative scores are words the
// image's neurons write against. It also returns the significant neurons,
// in increasing order.
//
// It panics if effects, st and ds disagree on N or d.
func Concepts(effects *mat.Dense, st *lens.Stats, ds *Descriptions) ([]Concept, []int) {
	N, d := effects.Dims()
	if n, dd := st.Mean.Dims(); n != N || dd != d || len(st.Threshold) != N || len(ds.Neurons) != N {
		panic(fmt.Sprintf("decompose: Concepts: effects [%d %d], stats [%d %d], %d decompositions", N, d, n, dd, len(ds.Neurons)))
	}
	byIndex := map[int]*Concept{}
	var sig []int
	for n := range N {
		var s float64
		for j := range d {
			v := effects.At(n, j) - st.Mean.At(n, j)
			s += v * v
		}
		norm := math.Sqrt(s)
		if !(norm > st.Threshold[n]) {
			continue
		}
		sig = append(sig, n)
		for _, t := range ds.Neurons[n].Terms {
			c := byIndex[t.Index]
			if c == nil {
				c = &Concept{Index: t.Index, Text: t.Text}
				byIndex[t.Index] = c
			}
			c.Score += t.Coef * norm
			c.Neurons++
		}
	}
	out := make([]Concept, 0, len(byIndex))
	for _, c := range byIndex {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Concept) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return out, sig
}

// ImageConcepts computes img's second-order effects on st's layer with
// [lens.SecondOrder], in st's units, and scores them with [Concepts].
func ImageConcepts(m *clip.Model, img image.Image, st *lens.Stats, ds *Descriptions) ([]Concept, []int, error) {
	var opts []lens.Option
	if st.RawScale {
		opts = append(opts, lens.RawScale())
	}
	if st.WithoutSharedTerm {
		opts = append(opts, lens.WithoutSharedTerm())
	}
	phi, err := lens.SecondOrder(m, img, st.Layer, opts...)
	if err != nil {
		return nil, nil, err
	}
	c, sig := Concepts(phi, st, ds)
	return c, sig, nil
}
