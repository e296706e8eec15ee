package lens

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

func TestAblateReplaced(t *testing.T) {
	m := randomModel(t, tinyConfig(), 52)
	src := &countingSource{n: 24}
	dir := t.TempDir()
	res, err := Analyze(t.Context(), m, src, WithLayers(1), WithK(5), WithCache(dir))
	require.NoError(t, err)
	st := res.Layer(1)
	N, d := st.Direction.Dims()
	C := 4
	r := rand.New(rand.NewPCG(10, 10))
	classes := make([]float32, C*d)
	for c := range C {
		var s float64
		for k := range d {
			v := r.NormFloat64()
			classes[c*d+k] = float32(v)
			s += v * v
		}
		for k := range d {
			classes[c*d+k] /= float32(math.Sqrt(s))
		}
	}
	// Labels: the baseline prediction, so that ablations can only lose.
	labels := make([]int, src.Len())
	for i := range labels {
		_, img, err := src.Image(i)
		require.NoError(t, err)
		f, err := m.EncodeImage(img)
		require.NoError(t, err)
		v := make([]float64, d)
		for k := range d {
			v[k] = float64(f[k])
		}
		labels[i] = argmaxClass(v, classes, C)
	}
	// A random, unnormalized replacement, and zero (which is (b)).
	rnd := mat.NewDense(N, d, nil)
	for n := range N {
		for k := range d {
			rnd.Set(n, k, 0.5*r.NormFloat64())
		}
	}
	zero := mat.NewDense(N, d, nil)
	acc, err := AblateReplaced(t.Context(), m, src, labels, classes, st, []*mat.Dense{st.Direction, rnd, zero}, WithCache(dir))
	require.NoError(t, err)
	ref, err := Ablate(t.Context(), m, src, labels, classes, st, WithCache(dir))
	require.NoError(t, err)
	assert.Equal(t, ref.Baseline, acc.Baseline)
	assert.Equal(t, 100.0, acc.Baseline)
	assert.Equal(t, ref.MeanAblated, acc.MeanAblated)
	assert.Equal(t, ref.RankOne, acc.RankOne)
	require.Len(t, acc.Replaced, 3)
	assert.Equal(t, ref.RankOne, acc.Replaced[0])
	assert.Equal(t, ref.MeanAblated, acc.Replaced[2])
	swapped := *st
	swapped.Direction = rnd
	want := explicitAblate(t, m, &swapped, labels, classes, src)
	assert.Equal(t, want[4], acc.Replaced[1])

	_, err = AblateReplaced(t.Context(), m, src, labels, classes, st, []*mat.Dense{mat.NewDense(N, d+1, nil)})
	assert.Error(t, err)
	_, err = AblateReplaced(t.Context(), m, src, labels, classes, st, []*mat.Dense{nil})
	assert.Error(t, err)
}
