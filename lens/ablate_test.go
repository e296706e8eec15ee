package lens

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/npy"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := randomModel(t, tinyConfig(), 50)
	res, err := Analyze(t.Context(), m, &countingSource{n: 9}, WithLayers(0, 2), WithK(3))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, res.Save(dir))
	got, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, res.IDs, got.IDs)
	require.Len(t, got.Layers, 2)
	for j, s := range res.Layers {
		g := got.Layers[j]
		assert.Equal(t, s.Layer, g.Layer)
		assert.True(t, mat.Equal(s.Mean, g.Mean))
		assert.True(t, mat.Equal(s.Direction, g.Direction))
		assert.Equal(t, s.Top, g.Top)
		assert.Equal(t, s.TopNorms, g.TopNorms)
		assert.Equal(t, s.Threshold, g.Threshold)
		assert.Equal(t, s.Significant, g.Significant)
		assert.Equal(t, s.Explained, g.Explained)
	}
	a, err := npy.ReadFile(filepath.Join(dir, "layer2_direction.npy"))
	require.NoError(t, err)
	assert.Equal(t, []int{128, 16}, a.Shape)
	_, err = Load(t.TempDir())
	assert.Error(t, err)

	// A damaged index: each edit must be refused with ErrFormat, naming the
	// index.
	index, err := os.ReadFile(filepath.Join(dir, "index.json"))
	require.NoError(t, err)
	for name, edit := range map[string][2]string{
		"ids outside":  {`"ids": "ids.json"`, `"ids": "../ids.json"`},
		"file outside": {`"layer0_mean.npy"`, `"/etc/passwd"`},
		"no neurons":   {`"neurons": 128`, `"neurons": 0`},
		"layer twice":  {`"layer": 2`, `"layer": 0`},
		"images vs ids": {`"k": 3,
   "images": 9`, `"k": 3,
   "images": 8`},
	} {
		bad := strings.Replace(string(index), edit[0], edit[1], 1)
		require.NotEqual(t, string(index), bad, name)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "index.json"), []byte(bad), 0o644))
		_, err := Load(dir)
		assert.ErrorIs(t, err, ErrFormat, name)
		assert.ErrorContains(t, err, "index.json", name)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644))
	// A top image out of range.
	top := make([]int64, 128*3)
	top[5] = 9
	require.NoError(t, npy.WriteFile(filepath.Join(dir, "layer0_top.npy"), []int{128, 3}, top))
	_, err = Load(dir)
	assert.ErrorContains(t, err, "top image 9 of 9")
}

// explicitAblate computes the five accuracies from explicit effects.
func explicitAblate(t *testing.T, m *clip.Model, st *Stats, labels []int, classes []float32, src Source) [5]float64 {
	var correct [5]int
	for i := range src.Len() {
		_, img, err := src.Image(i)
		require.NoError(t, err)
		phi, err := SecondOrder(m, img, st.Layer)
		require.NoError(t, err)
		f, err := m.EncodeImage(img)
		require.NoError(t, err)
		N, d := phi.Dims()
		rep := make([]float64, d)
		nf := norm64(f)
		for k := range d {
			rep[k] = 100 * float64(f[k]) / nf
		}
		b, ins, sig, pc := make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d)
		copy(b, rep)
		for n := range N {
			D := make([]float64, d)
			nn, coef := 0.0, 0.0
			for k := range d {
				D[k] = phi.At(n, k) - st.Mean.At(n, k)
				nn += D[k] * D[k]
				coef += D[k] * st.Direction.At(n, k)
			}
			for k := range d {
				b[k] -= D[k]
				if math.Sqrt(nn) > st.Threshold[n] {
					sig[k] += D[k]
				} else {
					ins[k] += D[k]
				}
				pc[k] += coef * st.Direction.At(n, k)
			}
		}
		vs := [5][]float64{rep, b, make([]float64, d), make([]float64, d), make([]float64, d)}
		for k := range d {
			vs[2][k], vs[3][k], vs[4][k] = b[k]+ins[k], b[k]+sig[k], b[k]+pc[k]
		}
		for x, v := range vs {
			if argmaxClass(v, classes, len(classes)/d) == labels[i] {
				correct[x]++
			}
		}
	}
	var out [5]float64
	for x, c := range correct {
		out[x] = 100 * float64(c) / float64(src.Len())
	}
	return out
}

func TestAblate(t *testing.T) {
	m := randomModel(t, tinyConfig(), 51)
	src := &countingSource{n: 24}
	dir := t.TempDir()
	res, err := Analyze(t.Context(), m, src, WithLayers(1, 2), WithK(5), WithCache(dir))
	require.NoError(t, err)
	st := res.Layer(1)
	d, C := 16, 4
	r := rand.New(rand.NewPCG(9, 9))
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
	labels := make([]int, src.Len())
	for i := range labels {
		labels[i] = r.IntN(C)
	}
	made := src.made.Load()
	acc, err := Ablate(t.Context(), m, src, labels, classes, st, WithCache(dir), WithLayers(1, 2))
	require.NoError(t, err)
	assert.Equal(t, made, src.made.Load(), "ablation reads the alpha cache")
	want := explicitAblate(t, m, st, labels, classes, src)
	got := [5]float64{acc.Baseline, acc.MeanAblated, acc.WithoutSignificant, acc.WithoutInsignificant, acc.RankOne}
	assert.Equal(t, want, got)

	fresh, err := Ablate(t.Context(), m, src, labels, classes, st) // no cache: recomputed
	require.NoError(t, err)
	assert.Equal(t, acc, fresh)

	_, err = Ablate(t.Context(), m, src, labels[:3], classes, st)
	assert.Error(t, err)
	_, err = Ablate(t.Context(), m, src, labels, classes[:5], st)
	assert.Error(t, err)
	_, err = Ablate(t.Context(), m, src, labels, classes, nil)
	assert.Error(t, err)
}
