package adversarial

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/lens"
)

var testPool = []string{"red", "sky", "star", "blue star", "water", "three", "moon", "dotted", "small", "grass", "two stars", "yellow circle"}

// synthetic builds lens results for layers 1 and 2 with N random unit
// directions each, and a decomposer giving every neuron three terms.
func synthetic(d, N int, seed uint64) (*lens.Results, *fakeDecomposer) {
	r := rand.New(rand.NewPCG(seed, 1))
	res := &lens.Results{}
	dec := &fakeDecomposer{texts: testPool, terms: map[string][]Term{}}
	for _, l := range []int{1, 2} {
		dir := mat.NewDense(N, d, nil)
		for n := range N {
			row := make([]float64, d)
			for j := range row {
				row[j] = r.NormFloat64()
			}
			unit(row)
			dir.SetRow(n, row)
			var ts []Term
			for _, k := range r.Perm(len(testPool))[:3] {
				ts = append(ts, Term{Index: k, Text: testPool[k], Coef: r.NormFloat64()})
			}
			slices.SortFunc(ts, func(a, b Term) int { return cmp.Compare(math.Abs(b.Coef), math.Abs(a.Coef)) })
			dec.terms[rowKey(row)] = ts
		}
		res.Layers = append(res.Layers, &lens.Stats{Layer: l, Direction: dir})
	}
	return res, dec
}

func TestMineSecondOrder(t *testing.T) {
	m := randomModel(t, 1)
	res, dec := synthetic(16, 20, 2)
	p := Pair{A: "star", B: "moon"}
	got, err := Mine(t.Context(), m, res, dec, p, WithNeurons(7), WithTerms(2), WithWords(4), WithThreshold(2))
	require.NoError(t, err)

	// Brute force: Δ from the text tower, every neuron's projection.
	e, err := m.EncodeText([]string{"star", "moon"})
	require.NoError(t, err)
	eA, eB := unit(toF64(e[0])), unit(toF64(e[1]))
	for j := range eA {
		assert.InDelta(t, eA[j]-eB[j], got.Delta[j], 1e-6)
	}
	type cand struct {
		n Neuron
		s float64
	}
	var all []cand
	for _, st := range res.Layers {
		for n := range 20 {
			all = append(all, cand{Neuron{st.Layer, n}, dot(st.Direction.RawRowView(n), got.Delta)})
		}
	}
	slices.SortStableFunc(all, func(a, b cand) int { return cmp.Compare(math.Abs(b.s), math.Abs(a.s)) })
	require.Len(t, got.Neurons, 7)
	best := map[string]float64{}
	for i, c := range all[:7] {
		assert.Equal(t, c.n, got.Neurons[i].Neuron)
		assert.InDelta(t, c.s, got.Neurons[i].Score, 1e-12)
		ts := dec.terms[rowKey(res.Layer(c.n.Layer).Direction.RawRowView(c.n.Index))][:2]
		assert.Equal(t, ts, got.Neurons[i].Terms)
		for _, tm := range ts {
			if tm.Text == "star" || tm.Text == "blue star" || tm.Text == "two stars" {
				continue
			}
			if v, ok := best[tm.Text]; !ok || tm.Coef*c.s > v {
				best[tm.Text] = tm.Coef * c.s
			}
		}
	}
	var want []string
	for w := range best {
		want = append(want, w)
	}
	slices.SortFunc(want, func(a, b string) int { return cmp.Compare(best[b], best[a]) })
	want = want[:min(4, len(want))]
	assert.Equal(t, want, got.Texts())
	for _, w := range got.Words {
		assert.InDelta(t, best[w.Text], w.Score, 1e-12)
		require.NotEmpty(t, w.Sources)
		assert.InDelta(t, w.Score, w.Sources[0].Score, 1e-12, "best source first")
		for _, s := range w.Sources {
			assert.InDelta(t, s.Coef*s.NeuronScore, s.Score, 1e-12)
		}
	}
	for _, dr := range got.Dropped {
		assert.Equal(t, DropTarget, dr.Reason, dr.Text)
		assert.Contains(t, dr.Text, "star")
	}
	assert.Equal(t, 1, dec.calls)
}

func TestMineFilter(t *testing.T) {
	m := randomModel(t, 1)
	dec := &fakeDecomposer{texts: testPool}
	p := Pair{A: "star", B: "moon"}
	e, err := m.EncodeText(append([]string{"star"}, testPool...))
	require.NoError(t, err)
	sim := map[string]float64{}
	for i, w := range testPool {
		sim[w] = cosine(toF64(e[0]), toF64(e[i+1]))
	}
	tests := []struct {
		name      string
		opts      []Option
		wantDrops map[string]Reason
	}{
		{"target only", []Option{WithThreshold(2)}, map[string]Reason{"star": DropTarget, "blue star": DropTarget, "two stars": DropTarget}},
		{"blocklist", []Option{WithThreshold(2), WithBlocklist("water", "circle")}, map[string]Reason{
			"star": DropTarget, "blue star": DropTarget, "two stars": DropTarget, "water": DropBlocklist, "yellow circle": DropBlocklist}},
		{"similarity", []Option{WithThreshold(0.3)}, func() map[string]Reason {
			w := map[string]Reason{"star": DropTarget, "blue star": DropTarget, "two stars": DropTarget}
			for _, t := range testPool {
				if _, ok := w[t]; !ok && sim[t] >= 0.3 {
					w[t] = DropSimilar
				}
			}
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Mine(t.Context(), m, nil, dec, p, append(tt.opts, WithMethod(SimilarWords), WithWords(100))...)
			require.NoError(t, err)
			drops := map[string]Reason{}
			for _, d := range got.Dropped {
				drops[d.Text] = d.Reason
				assert.InDelta(t, sim[d.Text], d.Similarity, 1e-6)
			}
			assert.Equal(t, tt.wantDrops, drops)
			assert.Len(t, got.Words, len(testPool)-len(tt.wantDrops), "every other word is kept")
			for i, w := range got.Words {
				assert.InDelta(t, sim[w.Text], w.Score, 1e-6, "similar words score by similarity")
				if i > 0 {
					assert.GreaterOrEqual(t, got.Words[i-1].Score, w.Score)
				}
				assert.Empty(t, w.Sources)
			}
		})
	}
}

func TestMineBaselines(t *testing.T) {
	m := randomModel(t, 1)
	res, dec := synthetic(16, 30, 3)
	p := Pair{A: "heart", B: "diamond"}
	neurons := func(r *Mined) []Neuron {
		var out []Neuron
		for _, s := range r.Neurons {
			out = append(out, s.Neuron)
		}
		return out
	}
	r1, err := Mine(t.Context(), m, res, dec, p, WithMethod(RandomNeurons), WithSeed(1), WithNeurons(10))
	require.NoError(t, err)
	r1b, err := Mine(t.Context(), m, res, dec, p, WithMethod(RandomNeurons), WithSeed(1), WithNeurons(10))
	require.NoError(t, err)
	r2, err := Mine(t.Context(), m, res, dec, p, WithMethod(RandomNeurons), WithSeed(2), WithNeurons(10))
	require.NoError(t, err)
	assert.Equal(t, neurons(r1), neurons(r1b), "same seed, same neurons")
	assert.NotEqual(t, neurons(r1), neurons(r2))
	for _, s := range r1.Neurons {
		assert.InDelta(t, dot(res.Layer(s.Layer).Direction.RawRowView(s.Index), r1.Delta), s.Score, 1e-12)
	}

	// Indirect: effects that point along Δ for neurons 3 and 17 of layer 2.
	ie := &IndirectEffects{Layers: []int{1, 2}, Mean: []*mat.Dense{mat.NewDense(30, 16, nil), mat.NewDense(30, 16, nil)}}
	ie.Mean[1].SetRow(3, r1.Delta)
	neg := slices.Clone(r1.Delta)
	for i := range neg {
		neg[i] *= -2
	}
	ie.Mean[1].SetRow(17, neg)
	ri, err := Mine(t.Context(), m, res, dec, p, WithMethod(IndirectNeurons), WithIndirect(ie), WithNeurons(2))
	require.NoError(t, err)
	assert.Equal(t, []Neuron{{2, 17}, {2, 3}}, neurons(ri))
	assert.InDelta(t, -2*dot(r1.Delta, r1.Delta), ri.Neurons[0].By, 1e-9)
	_, err = Mine(t.Context(), m, res, dec, p, WithMethod(IndirectNeurons))
	assert.ErrorContains(t, err, "WithIndirect")
}

func TestMineReferenceCut(t *testing.T) {
	m := randomModel(t, 1)
	d := 16
	row := make([]float64, d)
	row[0] = 1
	res := &lens.Results{Layers: []*lens.Stats{{Layer: 0, Direction: mat.NewDense(1, d, row)}}}
	dec := &fakeDecomposer{texts: testPool, terms: map[string][]Term{rowKey(row): {
		{Index: 1, Text: "sky", Coef: 0.9}, {Index: 4, Text: "water", Coef: 0.5}, {Index: 7, Text: "dotted", Coef: 0.4}, {Index: 5, Text: "three", Coef: -0.3},
	}}}
	p := Pair{A: "ring", B: "circle"}
	got, err := Mine(t.Context(), m, res, dec, p, WithWords(2), WithThreshold(2))
	require.NoError(t, err)
	s := got.Neurons[0].Score
	want := []string{"sky", "water"}
	if s < 0 {
		want = []string{"three", "dotted"}
	}
	assert.Equal(t, want, got.Texts())
	gotRef, err := Mine(t.Context(), m, res, dec, p, WithWords(2), WithThreshold(2), ReferenceCut())
	require.NoError(t, err)
	assert.Equal(t, want, gotRef.Texts(), "distinct entries: the same words")
}

func TestMineErrors(t *testing.T) {
	m := randomModel(t, 1)
	res, dec := synthetic(16, 5, 4)
	bad := &lens.Results{Layers: []*lens.Stats{{Layer: 1, Direction: mat.NewDense(3, 8, nil)}}}
	tests := []struct {
		name string
		res  *lens.Results
		p    Pair
		opts []Option
		want string
	}{
		{"empty class", res, Pair{A: "", B: "moon"}, nil, "empty class name"},
		{"zero neurons", res, Pair{A: "star", B: "moon"}, []Option{WithNeurons(0)}, "want all ≥ 1"},
		{"missing layer", res, Pair{A: "star", B: "moon"}, []Option{WithLayers(7)}, "layer 7"},
		{"wrong dimension", bad, Pair{A: "star", B: "moon"}, nil, "want d = 16"},
		{"nil results", nil, Pair{A: "star", B: "moon"}, nil, "nil lens results"},
		{"bad method", res, Pair{A: "star", B: "moon"}, []Option{WithMethod(9)}, "unknown method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Mine(t.Context(), m, tt.res, dec, tt.p, tt.opts...)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestParseMethod(t *testing.T) {
	for _, m := range Methods() {
		got, err := ParseMethod(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := ParseMethod("best")
	assert.Error(t, err)
}
