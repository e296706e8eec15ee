// Package groundtruth checks what the lens says about neurons against the
// shapes world's ground truth: which concepts a neuron's top images share,
// and whether the neuron's text decomposition names them.
//
// A neuron is selective for a concept when at least a share MinShare of its
// top images show the concept, and that share is at least MinLift times the
// concept's rate over all images. Its description recovers the concept when
// one of its first few terms names the concept: a word of the term's text
// starts with the concept word ("stars" names "star", "in the sky" names
// "sky"). The chance level is the rate at which those same terms name the
// concept of another selective neuron, averaged over all such pairings: what
// a description unrelated to the neuron would score.
package groundtruth

import (
	"cmp"
	"slices"
	"strings"

	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/lens"
)

// Selective is a neuron whose top images share a concept.
type Selective struct {
	Layer, Neuron int
	Concept       string
	Share         float64 // fraction of the neuron's top images showing Concept
	Base          float64 // fraction of all images showing Concept
}

// Lift is Share/Base.
func (s Selective) Lift() float64 { return s.Share / s.Base }

// Criteria say when a neuron counts as selective.
type Criteria struct {
	MinShare float64  // e.g. 0.7
	MinLift  float64  // e.g. 2
	Concepts []string // the concepts considered; others are ignored
}

// SelectiveNeurons returns, for each neuron of st that meets c, its most
// lifted concept, strongest first (by lift, then share). concepts[i] lists
// the concepts of image i of the analysed source.
func SelectiveNeurons(st *lens.Stats, concepts [][]string, c Criteria) []Selective {
	consider := map[string]bool{}
	for _, k := range c.Concepts {
		consider[k] = true
	}
	base := map[string]float64{}
	for _, cs := range concepts {
		for _, k := range cs {
			if consider[k] {
				base[k]++
			}
		}
	}
	for k := range base {
		base[k] /= float64(len(concepts))
	}
	N := len(st.Threshold)
	var out []Selective
	count := map[string]float64{}
	for n := range N {
		clear(count)
		top := st.Top[n*st.K : (n+1)*st.K]
		for _, i := range top {
			for _, k := range concepts[i] {
				if consider[k] {
					count[k]++
				}
			}
		}
		best := Selective{Layer: st.Layer, Neuron: n}
		for _, k := range slices.Sorted(mapsKeys(count)) {
			s := Selective{Layer: st.Layer, Neuron: n, Concept: k, Share: count[k] / float64(len(top)), Base: base[k]}
			if s.Share >= c.MinShare && s.Lift() >= c.MinLift && (best.Concept == "" || s.Lift() > best.Lift()) {
				best = s
			}
		}
		if best.Concept != "" {
			out = append(out, best)
		}
	}
	slices.SortStableFunc(out, func(a, b Selective) int {
		return cmp.Or(cmp.Compare(b.Lift(), a.Lift()), cmp.Compare(b.Share, a.Share))
	})
	return out
}

func mapsKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Names reports whether one of the first top terms names concept: a word of
// the term's text starts with the concept word.
func Names(terms []decompose.Term, concept string, top int) bool {
	for _, t := range terms[:min(top, len(terms))] {
		for _, w := range strings.Fields(t.Text) {
			if strings.HasPrefix(w, concept) {
				return true
			}
		}
	}
	return false
}

// Recovery is how often descriptions name their neuron's concept.
type Recovery struct {
	Neurons int     // selective neurons scored
	Named   int     // of those, how many name their own concept in the top terms
	Rate    float64 // Named/Neurons
	Chance  float64 // the rate for another selective neuron's concept (see the package doc)
}

// Score measures recovery for the selective neurons sel, whose terms (sorted
// by |coef|) terms returns, looking at the first top terms of each.
func Score(sel []Selective, terms func(layer, neuron int) []decompose.Term, top int) Recovery {
	var r Recovery
	var pairs, chance float64
	for i, s := range sel {
		ts := terms(s.Layer, s.Neuron)
		r.Neurons++
		if Names(ts, s.Concept, top) {
			r.Named++
		}
		for j, o := range sel {
			if j == i || o.Concept == s.Concept {
				continue
			}
			pairs++
			if Names(ts, o.Concept, top) {
				chance++
			}
		}
	}
	if r.Neurons > 0 {
		r.Rate = float64(r.Named) / float64(r.Neurons)
	}
	if pairs > 0 {
		r.Chance = chance / pairs
	}
	return r
}
