package lens

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/numtest"
)

// closeRel checks got against want to 1e-5 relative, elementwise with an
// absolute floor of 1e-5 × max|want| (so entries near zero do not fail on
// float32 rounding of much larger terms).
func closeRel(t *testing.T, want []float64, got *mat.Dense, msg ...any) {
	t.Helper()
	r, c := got.Dims()
	require.Equal(t, len(want), r*c)
	numtest.Close(t, want, got.RawMatrix().Data, 1e-5, 1e-5*maxAbs(want), msg...)
}

func TestSecondOrderMatchesOracle(t *testing.T) {
	tiny := randomModel(t, tinyConfig(), 1)
	small := randomModel(t, smallConfig(), 2)
	cases := []struct {
		name   string
		m      *clip.Model
		layer  int
		raw    bool
		shared bool
	}{
		{"tiny first block", tiny, 0, false, true},
		{"tiny layer 1", tiny, 1, false, true},
		{"tiny next to last", tiny, 2, false, true},
		{"tiny last block", tiny, 3, false, true},
		{"tiny raw", tiny, 1, true, true},
		{"tiny without shared term", tiny, 1, false, false},
		{"tiny raw without shared term", tiny, 2, true, false},
		{"small layer 3", small, 3, false, true},
		{"small next to last", small, 4, false, true},
		{"small first block raw", small, 0, true, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			px := randomPixels(tc.m, uint64(100+i))
			var opts []Option
			if tc.raw {
				opts = append(opts, RawScale())
			}
			shared := 1.0
			if !tc.shared {
				opts = append(opts, WithoutSharedTerm())
				shared = 0
			}
			got, err := SecondOrderPixels(tc.m, px, tc.layer, opts...)
			require.NoError(t, err)
			want := oracleSecond(t, tc.m, px, tc.layer, tc.raw, shared)
			closeRel(t, want, got)
			if tc.layer == tc.m.Config.Vision.Layers-1 {
				assert.Zero(t, maxAbs(got.RawMatrix().Data), "the last block has no later heads")
			} else {
				assert.Positive(t, maxAbs(want))
			}
		})
	}
}

func TestSecondOrderSharedTermIsCommon(t *testing.T) {
	// C(I) is the same vector for every neuron: with and without it, the
	// rows differ by one vector.
	m := randomModel(t, tinyConfig(), 3)
	px := randomPixels(m, 4)
	with, err := SecondOrderPixels(m, px, 1)
	require.NoError(t, err)
	without, err := SecondOrderPixels(m, px, 1, WithoutSharedTerm())
	require.NoError(t, err)
	var diff mat.Dense
	diff.Sub(with, without)
	N, d := diff.Dims()
	for n := 1; n < N; n++ {
		numtest.Close(t, mat.Row(nil, 0, &diff), mat.Row(nil, n, &diff), 1e-4, 1e-6, "row", n)
	}
	_ = d
}

func TestSecondOrderErrors(t *testing.T) {
	m := randomModel(t, tinyConfig(), 5)
	px := randomPixels(m, 6)
	textOnly, err := clip.New(clip.Config{EmbedDim: 8, Activation: clip.QuickGELU,
		Text: &clip.TextConfig{ContextLength: 4, VocabSize: 10, Width: 8, Layers: 1, Heads: 1, MLPWidth: 8}})
	require.NoError(t, err)
	cases := []struct {
		name  string
		m     *clip.Model
		px    []float32
		layer int
		want  error
	}{
		{"nil model", nil, px, 0, ErrNoModel},
		{"no image tower", textOnly, px, 0, ErrNoVision},
		{"negative layer", m, px, -1, nil},
		{"layer past the end", m, px, 4, nil},
		{"wrong pixel count", m, px[:10], 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SecondOrderPixels(tc.m, tc.px, tc.layer)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			_, err = FirstOrderPixels(tc.m, tc.px, tc.layer)
			assert.Error(t, err)
		})
	}
}

func TestSecondOrderBatchSameAsSingle(t *testing.T) {
	m := randomModel(t, tinyConfig(), 8)
	var pxs [][]float32
	for i := range 5 {
		pxs = append(pxs, randomPixels(m, uint64(20+i)))
	}
	got, err := SecondOrderPixelsBatch(t.Context(), m, pxs, 1, WithWorkers(3))
	require.NoError(t, err)
	require.Len(t, got, len(pxs))
	for i, px := range pxs {
		one, err := SecondOrderPixels(m, px, 1)
		require.NoError(t, err)
		assert.True(t, mat.Equal(one, got[i]), "image %d", i)
	}
}
