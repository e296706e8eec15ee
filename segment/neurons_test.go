package segment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

func TestDefaults(t *testing.T) {
	assert.Equal(t, []int{8, 9, 10}, DefaultLayers(12))
	assert.Equal(t, PaperLayers, DefaultLayers(12))
	assert.Equal(t, []int{20, 21, 22}, DefaultLayers(24))
	assert.Equal(t, []int{2, 3, 4}, DefaultLayers(6))
	assert.Equal(t, []int{0, 1}, DefaultLayers(3))
	assert.Equal(t, []int{0}, DefaultLayers(1))
	assert.Equal(t, 200, DefaultNeuronCount(3072))
	assert.Equal(t, 267, DefaultNeuronCount(4096))
	assert.Equal(t, 17, DefaultNeuronCount(256))
	assert.Equal(t, 1, DefaultNeuronCount(4))
}

// segDirs builds directions for layers 3 and 4, N = 4, d = 3, whose first
// coordinates (the coefficients against class e0) are given.
func segDirs(first map[int][]float64) Directions {
	dirs := Directions{}
	for l, f := range first {
		m := mat.NewDense(len(f), 3, nil)
		for n, v := range f {
			m.Set(n, 0, v)
			m.Set(n, 1, 0.5)
			m.Set(n, 2, -0.25)
		}
		dirs[l] = m
	}
	return dirs
}

func TestSelectNeuronsConstructed(t *testing.T) {
	dirs := segDirs(map[int][]float64{
		3: {0.1, -0.9, 0.3, 0.0},
		4: {0.5, 0.2, -0.3, 0.95},
		7: {1, 1, 1, 1}, // not asked for
	})
	class := []float32{1, 0, 0}
	got, err := SelectNeurons(dirs, []int{3, 4}, class, 4)
	require.NoError(t, err)
	assert.Equal(t, []Neuron{
		{Layer: 4, Index: 3, Coef: 0.95},
		{Layer: 3, Index: 1, Coef: -0.9}, // sign ignored
		{Layer: 4, Index: 0, Coef: 0.5},
		{Layer: 3, Index: 2, Coef: 0.3}, // ties with (4, 2): the lower layer first
	}, got)
	// The other coordinates count too.
	got, err = SelectNeurons(dirs, []int{3}, []float32{0, 1, 0}, 1)
	require.NoError(t, err)
	assert.Equal(t, Neuron{Layer: 3, Index: 0, Coef: 0.5}, got[0])
}

func TestSelectNeuronsErrors(t *testing.T) {
	dirs := segDirs(map[int][]float64{3: {1, 2}, 4: {1, 2, 3}})
	class := []float32{1, 0, 0}
	for name, f := range map[string]func() error{
		"missing layer": func() error { _, err := SelectNeurons(dirs, []int{5}, class, 1); return err },
		"rows differ":   func() error { _, err := SelectNeurons(dirs, []int{3, 4}, class, 1); return err },
		"dimension":     func() error { _, err := SelectNeurons(dirs, []int{3}, []float32{1, 0}, 1); return err },
		"k too large":   func() error { _, err := SelectNeurons(dirs, []int{3}, class, 3); return err },
		"k zero":        func() error { _, err := RandomNeurons(dirs, []int{3}, class, 0, 1, 1); return err },
		"no layers":     func() error { _, err := SelectNeurons(dirs, nil, class, 1); return err },
	} {
		assert.Error(t, f(), name)
	}
}

func TestRandomNeuronsSeeded(t *testing.T) {
	first := make([]float64, 50)
	for i := range first {
		first[i] = float64(i) / 50
	}
	dirs := segDirs(map[int][]float64{3: first, 4: first})
	class := []float32{1, 0, 0}
	a, err := RandomNeurons(dirs, []int{3, 4}, class, 20, 7, 2)
	require.NoError(t, err)
	b, err := RandomNeurons(dirs, []int{3, 4}, class, 20, 7, 2)
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed and stream")
	c, err := RandomNeurons(dirs, []int{3, 4}, class, 20, 7, 3)
	require.NoError(t, err)
	assert.NotEqual(t, a, c, "another class draws another set")
	d, err := RandomNeurons(dirs, []int{3, 4}, class, 20, 8, 2)
	require.NoError(t, err)
	assert.NotEqual(t, a, d, "another seed")
	seen := map[[2]int]bool{}
	layers := map[int]int{}
	for _, n := range a {
		require.True(t, n.Layer == 3 || n.Layer == 4)
		require.True(t, n.Index >= 0 && n.Index < 50)
		assert.False(t, seen[[2]int{n.Layer, n.Index}], "distinct")
		seen[[2]int{n.Layer, n.Index}] = true
		assert.Equal(t, first[n.Index], n.Coef)
		layers[n.Layer]++
	}
	assert.NotZero(t, layers[3])
	assert.NotZero(t, layers[4])
	// Asking for all of them gives a permutation.
	all, err := RandomNeurons(dirs, []int{3, 4}, class, 100, 1, 1)
	require.NoError(t, err)
	seen = map[[2]int]bool{}
	for _, n := range all {
		seen[[2]int{n.Layer, n.Index}] = true
	}
	assert.Len(t, seen, 100)
}

func TestNeuronMapWeightings(t *testing.T) {
	// T = 3 (CLS + 2 patches), N = 2, layers 1 and 2.
	acts := map[int][]float32{
		1: {9, 9, 1, 2, 3, 4}, // token 0 is CLS: never read
		2: {9, 9, 10, 20, 30, 40},
	}
	ns := []Neuron{{Layer: 1, Index: 1, Coef: 0.5}, {Layer: 2, Index: 0, Coef: -1.5}}
	assert.InDeltaSlice(t, []float32{(2 + 10) / 2.0, (4 + 30) / 2.0}, NeuronMap(acts, 3, 2, ns, MeanWeight), 1e-6)
	assert.InDeltaSlice(t, []float32{(2 - 10) / 2.0, (4 - 30) / 2.0}, NeuronMap(acts, 3, 2, ns, SignWeight), 1e-6)
	assert.InDeltaSlice(t, []float32{(0.5*2 - 1.5*10) / 2, (0.5*4 - 1.5*30) / 2}, NeuronMap(acts, 3, 2, ns, CoefWeight), 1e-5)
	assert.Panics(t, func() { NeuronMap(acts, 3, 2, []Neuron{{Layer: 5}}, MeanWeight) })
	assert.Panics(t, func() { NeuronMap(acts, 3, 2, []Neuron{{Layer: 1, Index: 2}}, MeanWeight) })
	w, err := ParseWeighting("coef")
	require.NoError(t, err)
	assert.Equal(t, CoefWeight, w)
	_, err = ParseWeighting("median")
	assert.Error(t, err)
}

func TestAttentionMap(t *testing.T) {
	// H = 2, T = 3.
	p := []float32{
		0.2, 0.3, 0.5, 1, 0, 0, 1, 0, 0,
		0.6, 0.4, 0.0, 1, 0, 0, 1, 0, 0,
	}
	assert.InDeltaSlice(t, []float32{0.35, 0.25}, AttentionMap(p, 2, 3), 1e-7)
	assert.Panics(t, func() { AttentionMap(p, 3, 3) })
}

// TestSyntheticEndToEnd builds activations whose answer is known: the
// neurons best aligned with the class fire on a band of whole patch rows
// (a band, so that bilinear upsampling puts the 0.5 level exactly on the
// patch edges; at a square's corners it would round them off), every other
// neuron is noise that is larger still. Selection,
// the neuron map, upsampling, thresholding and the metrics must then
// recover the object exactly.
func TestSyntheticEndToEnd(t *testing.T) {
	const g, p, N = 4, 8, 6
	S, T := g*p, g*g+1
	layers := []int{1, 2}
	object := func(t int) bool { // patch token t = 1 + gy*g + gx
		gy := (t - 1) / g
		return gy >= 1 && gy <= 2
	}
	// Neurons 0 and 3 of each layer are aligned with the class; neuron 3 of
	// layer 2 opposes it.
	dirs := segDirs(map[int][]float64{1: {0.9, 0.01, 0.02, 0.8, 0.01, 0.03}, 2: {0.85, 0.02, 0.01, -0.95, 0.02, 0.01}})
	class := []float32{1, 0, 0}
	acts := map[int][]float32{}
	noise := uint32(12345)
	for _, l := range layers {
		a := make([]float32, T*N)
		for tok := range T {
			for n := range N {
				noise = noise*1664525 + 1013904223
				v := float32(noise>>8)/float32(1<<24)*10 - 5
				if n == 0 || n == 3 {
					v = 0
					if object(tok) {
						v = 1
					}
				}
				a[tok*N+n] = v
			}
		}
		acts[l] = a
	}
	truth := make([]uint8, S*S)
	for y := range S {
		for x := range S {
			if object(1 + (y/p)*g + x/p) {
				truth[y*S+x] = 1
			}
		}
	}
	ns, err := SelectNeurons(dirs, layers, class, 4)
	require.NoError(t, err)
	h := NewHeatmap(NeuronMap(acts, T, N, ns, MeanWeight), g, S, Post{})
	assert.Equal(t, truth, h.Mask())
	var m Metrics
	m.Add(h, truth)
	assert.InDelta(t, 1.0, m.PixelAccuracy(), 1e-12)
	assert.InDelta(t, 1.0, m.MIoU(), 1e-12)
	assert.InDelta(t, 1.0, m.MAP(), 1e-12)

	// Random neurons see mostly noise.
	rs, err := RandomNeurons(dirs, layers, class, 4, 1, 0)
	require.NoError(t, err)
	var mr Metrics
	mr.Add(NewHeatmap(NeuronMap(acts, T, N, rs, MeanWeight), g, S, Post{}), truth)
	assert.Less(t, mr.MIoU(), 0.99)
}
