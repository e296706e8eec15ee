package groundtruth

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
)

// On the embedded model, with the quickstart's configuration (2,000 held-out
// images of seed 7, k = 40, 8 terms, the unit normalization: the reference's
// per-dimension scaling is computed over only 163 texts here), the descriptions of neurons that respond to one
// known concept name that concept more often than chance. The bound is a
// one-sided binomial test at three standard deviations: with n selective
// neurons and chance rate p, the named count must exceed n·p + 3·sqrt(n·p·(1-p)).
func TestDescriptionsRecoverGroundTruth(t *testing.T) {
	m, err := shapesmodel.Model()
	require.NoError(t, err)
	v := m.Config.Vision
	world := shapes.HeldOut(7, 2000, shapes.WithSize(v.ImageSize, v.ImageSize))
	run, err := Describe(t.Context(), m, world, Config{
		Layers: []int{v.Layers - 3, v.Layers - 2}, K: 40, Terms: 8, Top: 3, Norm: decompose.Unit,
		Criteria: Criteria{MinShare: 0.7, MinLift: 2, Concepts: ConceptWords()},
	})
	require.NoError(t, err)
	r := run.Recovery
	require.GreaterOrEqual(t, r.Neurons, 50, "too few selective neurons to judge")
	n, p := float64(r.Neurons), r.Chance
	bound := n*p + 3*math.Sqrt(n*p*(1-p))
	t.Logf("%d selective neurons; %d name their concept (%.1f%%), chance %.1f%%, bound %.1f", r.Neurons, r.Named, 100*r.Rate, 100*p, bound)
	assert.Greater(t, float64(r.Named), bound, "descriptions name their neuron's concept no more often than chance")
}
