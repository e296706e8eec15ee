package decompose

import (
	"image"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/lens"
)

// TestReconstructionCurve runs the whole chain on a random tiny model:
// Analyze, a pool embedded with the text tower, DecomposeNeurons for growing
// k, and ablation (e) with the reconstructions. The centred pool spans
// R^d, so at k = d every r_n is reconstructed exactly and the curve must
// end on (e) itself; OMP's nested active sets make the mean cosine
// non-decreasing in k.
func TestReconstructionCurve(t *testing.T) {
	m := tinyModel(t, 5)
	src := lens.Generator(40, func(i int) (image.Image, error) { return randomImage(uint64(i), 40, 36), nil })
	cache := t.TempDir()
	res, err := lens.Analyze(t.Context(), m, src, lens.WithLayers(1), lens.WithK(5), lens.WithCache(cache))
	require.NoError(t, err)
	// The constructed case: every neuron's mean is moved by a·r_n. Then
	// D_n becomes D_n - a·r_n, mean-ablation (b) moves rep by a·Σ r_n and
	// loses accuracy, (e) is unchanged (the shift lies along r_n), and a
	// reconstruction g_n recovers (e) as far as g_n recovers r_n.
	st := *res.Layer(1)
	st.Mean = mat.DenseCopyOf(st.Mean)
	st.Mean.Add(st.Mean, scaled(5, st.Direction))
	emb, err := Embed(t.Context(), m, &Pool{Texts: words(120, 5)})
	require.NoError(t, err)
	dict, err := NewDictionary(emb, Reference)
	require.NoError(t, err)
	// A sensitive classifier: one class per image, its own unit embedding
	// (the images look alike, so small changes of rep flip predictions).
	d := m.Config.EmbedDim
	classes := make([]float32, src.Len()*d)
	labels := make([]int, src.Len())
	for i := range labels {
		_, img, err := src.Image(i)
		require.NoError(t, err)
		f, err := m.EncodeImage(img)
		require.NoError(t, err)
		var s float64
		for _, v := range f {
			s += float64(v) * float64(v)
		}
		for k, v := range f {
			classes[i*d+k] = float32(float64(v) / math.Sqrt(s))
		}
		labels[i] = i
	}
	ks := []int{1, 2, 4, 8, 12, d}
	cv, err := ReconstructionCurve(t.Context(), m, src, labels, classes, &st, dict, ks, WithLensOptions(lens.WithCache(cache)))
	require.NoError(t, err)
	t.Logf("baseline %.1f, mean-ablated %.1f, rank-one %.1f", cv.Baseline, cv.MeanAblated, cv.RankOne)
	for i, k := range cv.Ks {
		t.Logf("k = %2d: accuracy %.1f, mean cosine %.4f", k, cv.Accuracy[i], cv.MeanCosine[i])
	}
	assert.Equal(t, 100.0, cv.Baseline)
	for i := 1; i < len(ks); i++ {
		assert.GreaterOrEqual(t, cv.MeanCosine[i], cv.MeanCosine[i-1]-1e-12, "k = %d", ks[i])
	}
	assert.InDelta(t, 1, cv.MeanCosine[len(ks)-1], 1e-6)
	assert.Equal(t, cv.RankOne, cv.Accuracy[len(ks)-1], "exact reconstruction is (e)")
	// Monotone-ish: the gap to (e) at the largest k is no larger than at
	// the smallest, and never grows by more than 2 images in one step.
	gap := func(i int) float64 { return math.Abs(cv.Accuracy[i] - cv.RankOne) }
	assert.LessOrEqual(t, gap(len(ks)-1), gap(0))
	for i := 1; i < len(ks); i++ {
		assert.LessOrEqual(t, gap(i), gap(i-1)+2*100.0/float64(src.Len())+1e-9, "k = %d", ks[i])
	}

	// Concept discovery of one image through the model equals Concepts on
	// its effects.
	ds, err := DecomposeNeurons(t.Context(), dict, &st, 8)
	require.NoError(t, err)
	_, img, err := src.Image(st.Top[0])
	require.NoError(t, err)
	got, sig, err := ImageConcepts(m, img, &st, ds)
	require.NoError(t, err)
	phi, err := lens.SecondOrder(m, img, st.Layer)
	require.NoError(t, err)
	want, wantSig := Concepts(phi, &st, ds)
	assert.Equal(t, want, got)
	assert.Equal(t, wantSig, sig)
	assert.NotEmpty(t, sig)
}

func scaled(a float64, x *mat.Dense) *mat.Dense {
	var y mat.Dense
	y.Scale(a, x)
	return &y
}
