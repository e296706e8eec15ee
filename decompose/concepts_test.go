package decompose

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/lens"
)

func TestConceptsByHand(t *testing.T) {
	st := &lens.Stats{
		Mean:      mat.NewDense(4, 2, []float64{1, 1, 0, 0, 5, 5, 0, 0}),
		Threshold: []float64{1, 1, 1.5, 2},
	}
	effects := mat.NewDense(4, 2, []float64{
		4, 5, // centred (3, 4): norm 5 > 1, significant
		0.3, 0.4, // norm 0.5 ≤ 1
		5, 7, // centred (0, 2): norm 2 > 1.5, significant
		2, 0, // norm 2, not above the threshold 2
	})
	ds := &Descriptions{Neurons: []*Decomposition{
		{Terms: []Term{{Index: 0, Text: "dog", Coef: 0.5}, {Index: 1, Text: "cat", Coef: -0.2}}},
		{Terms: []Term{{Index: 2, Text: "car", Coef: 1}}},
		{Terms: []Term{{Index: 3, Text: "sky", Coef: 0.3}, {Index: 0, Text: "dog", Coef: 0.25}}},
		{Terms: []Term{{Index: 2, Text: "car", Coef: 9}}},
	}}
	got, sig := Concepts(effects, st, ds)
	assert.Equal(t, []int{0, 2}, sig)
	want := []Concept{
		{Index: 0, Text: "dog", Score: 0.5*5 + 0.25*2, Neurons: 2},
		{Index: 3, Text: "sky", Score: 0.3 * 2, Neurons: 1},
		{Index: 1, Text: "cat", Score: -0.2 * 5, Neurons: 1},
	}
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Index, got[i].Index)
		assert.Equal(t, want[i].Text, got[i].Text)
		assert.InDelta(t, want[i].Score, got[i].Score, 1e-12)
		assert.Equal(t, want[i].Neurons, got[i].Neurons)
	}
	assert.Panics(t, func() { Concepts(mat.NewDense(3, 2, nil), st, ds) })
}
