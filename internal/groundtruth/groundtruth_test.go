package groundtruth

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/lens"
)

func TestSelectiveNeuronsAndScore(t *testing.T) {
	// Six images; neuron 0's top images are the sky ones, neuron 1's the star ones,
	// neuron 2's a mix.
	concepts := [][]string{
		{"sky", "star"}, {"sky", "circle"}, {"water", "star"},
		{"water", "circle"}, {"grass", "star"}, {"sky", "ring"},
	}
	st := &lens.Stats{Layer: 3, K: 3, Threshold: make([]float64, 3),
		Top: []int{0, 1, 5, 0, 2, 4, 1, 2, 4}}
	sel := SelectiveNeurons(st, concepts, Criteria{MinShare: 0.9, MinLift: 1.5, Concepts: []string{"sky", "star", "water", "circle"}})
	assert.Equal(t, []Selective{
		{Layer: 3, Neuron: 0, Concept: "sky", Share: 1, Base: 0.5},
		{Layer: 3, Neuron: 1, Concept: "star", Share: 1, Base: 0.5},
	}, sel)

	terms := map[int][]decompose.Term{
		0: {{Text: "in the sky"}, {Text: "red"}},
		1: {{Text: "blue"}, {Text: "two stars"}},
	}
	get := func(_, n int) []decompose.Term { return terms[n] }
	assert.Equal(t, Recovery{Neurons: 2, Named: 2, Rate: 1, Chance: 0}, Score(sel, get, 2))
	assert.Equal(t, Recovery{Neurons: 2, Named: 1, Rate: 0.5, Chance: 0}, Score(sel, get, 1))
	terms[0] = []decompose.Term{{Text: "star"}}
	assert.Equal(t, Recovery{Neurons: 2, Named: 1, Rate: 0.5, Chance: 0.5}, Score(sel, get, 2))
	assert.False(t, Names(nil, "sky", 3))
}
