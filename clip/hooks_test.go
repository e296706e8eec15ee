package clip

import (
	"image"
	"testing"

	"github.com/neuronlens/neuronlens/internal/numtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func smallRandomModel(t testing.TB, act Activation) *Model {
	t.Helper()
	m, err := New(Config{
		EmbedDim: 16, Activation: act,
		Vision: &VisionConfig{ImageSize: 16, PatchSize: 4, Width: 32, Layers: 3, Heads: 4, MLPWidth: 64},
		Text:   &TextConfig{ContextLength: 8, VocabSize: 50, Width: 24, Layers: 2, Heads: 2, MLPWidth: 48},
	})
	require.NoError(t, err)
	m.InitRandom(7)
	return m
}

func randomPixels(n int, seed uint64) []float32 {
	x := make([]float32, n)
	s := seed
	for i := range x {
		s = s*6364136223846793005 + 1442695040888963407
		x[i] = float32(int64(s>>33)%2001-1000) / 1000
	}
	return x
}

func TestPointStringParseRoundTrip(t *testing.T) {
	for s := range numSites {
		p := Point{Layer: 7, Site: s}
		if s.final() {
			p.Layer = 0
		}
		q, err := ParsePoint(p.String())
		require.NoError(t, err, p.String())
		assert.Equal(t, p, q)
	}
	assert.Equal(t, "blocks.9.mlp.hook_post", Point{9, MLPPost}.String())
	assert.Equal(t, "ln_post.hook_scale", Point{Site: LNPostScale}.String())
	for _, bad := range []string{"", "blocks.9.mlp.post", "blocks.-1.mlp.hook_post", "blocks.09.mlp.hook_post", "blocks.x.hook_resid_pre", "mlp.hook_post", "blocks.9.ln_post.hook_scale"} {
		_, err := ParsePoint(bad)
		assert.Error(t, err, bad)
	}
}

func TestHooksOutOfRangeIsAnError(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	var hk Hooks
	hk.On(Point{Layer: 3, Site: MLPPost}, func(Point, *Act) {})
	_, err := m.RunPixels(t.Context(), randomPixels(3*16*16, 1), &hk)
	assert.ErrorContains(t, err, "blocks.3.mlp.hook_post")
}

func TestHooksSeeShapes(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	var hk Hooks
	got := map[Site][2]int{}
	for s := range numSites {
		hk.On(Point{Layer: 1, Site: s}, func(p Point, a *Act) {
			assert.Equal(t, a.Rows*a.Cols, len(a.Data))
			got[p.Site] = [2]int{a.Rows, a.Cols}
		})
	}
	_, err := m.RunPixels(t.Context(), randomPixels(3*16*16, 1), &hk)
	require.NoError(t, err)
	T, D, H, N := 17, 32, 4, 64
	assert.Equal(t, map[Site][2]int{
		ResidPre: {T, D}, LN1Mean: {T, 1}, LN1Scale: {T, 1}, AttnPattern: {H * T, T}, AttnOut: {T, D},
		ResidMid: {T, D}, MLPPre: {T, N}, MLPPost: {T, N}, MLPOut: {T, D}, ResidPost: {T, D},
		LNPostMean: {1, 1}, LNPostScale: {1, 1},
	}, got)
}

// Zeroing every neuron of a block through a hook must equal a model whose
// c_proj weights are zero: an independent route to the same function.
func TestHookInterventionMatchesEditedWeights(t *testing.T) {
	m := smallRandomModel(t, GELU)
	pixels := randomPixels(3*16*16, 2)
	var hk Hooks
	hk.On(Point{Layer: 1, Site: MLPPost}, func(_ Point, a *Act) { clear(a.Data) })
	ablated, err := m.RunPixels(t.Context(), pixels, &hk)
	require.NoError(t, err)

	edited := smallRandomModel(t, GELU)
	clear(values(edited.Visual.Blocks[1].MLP.CProj.W))
	want, err := edited.EncodePixels(pixels)
	require.NoError(t, err)
	numtest.Close(t, want, ablated, 1e-6, 1e-6)

	plain, err := m.EncodePixels(pixels)
	require.NoError(t, err)
	assert.Greater(t, numtest.MaxAbsDiff(plain, ablated), 1e-3, "the ablation changed nothing")
}

func TestTraceReusesBuffersAndSeesEarlierEdits(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	var hk Hooks
	var tr Trace
	p := Point{Layer: 2, Site: MLPPost}
	hk.On(p, func(_ Point, a *Act) { a.Data[0] = 42 })
	tr.Keep(&hk, p)
	_, err := m.RunPixels(t.Context(), randomPixels(3*16*16, 3), &hk)
	require.NoError(t, err)
	a, ok := tr.At(p)
	require.True(t, ok)
	assert.Equal(t, float32(42), a.Data[0])
	first := &a.Data[0]
	_, err = m.RunPixels(t.Context(), randomPixels(3*16*16, 4), &hk)
	require.NoError(t, err)
	b, _ := tr.At(p)
	assert.Same(t, first, &b.Data[0])
	_, ok = tr.At(Point{Layer: 0, Site: MLPPost})
	assert.False(t, ok)
}

func TestTextRunsOnlyToEOT(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	ids := []int{48, 5, 9, 49, 0, 0, 0, 0}
	full, err := m.EncodeTokens(ids)
	require.NoError(t, err)
	short, err := m.EncodeTokens(ids[:4])
	require.NoError(t, err)
	assert.Equal(t, full, short)
	var hk Hooks
	var tr Trace
	tr.Keep(&hk, Point{Layer: 0, Site: ResidPre})
	_, err = m.RunTokens(t.Context(), ids, &hk)
	require.NoError(t, err)
	a, _ := tr.At(Point{Layer: 0, Site: ResidPre})
	assert.Equal(t, 4, a.Rows)
	for _, bad := range [][]int{nil, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 50}, {-1, 3}} {
		_, err := m.EncodeTokens(bad)
		assert.Error(t, err, "%v", bad)
	}
}

func TestRunPixelsChecksInputAndContext(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	_, err := m.EncodePixels(make([]float32, 5))
	assert.Error(t, err)
	ctx, cancel := contextWithCancel(t)
	cancel()
	_, err = m.RunPixels(ctx, randomPixels(3*16*16, 1), nil)
	assert.ErrorIs(t, err, ctx.Err())
}

func TestEncodeImagesMatchesOneByOne(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	imgs := make([]image.Image, 5)
	for i := range imgs {
		img := image.NewRGBA(image.Rect(0, 0, 20+i, 17))
		copy(img.Pix, func() []byte {
			b := make([]byte, len(img.Pix))
			for j := range b {
				b[j] = byte(j*7 + i*13)
			}
			return b
		}())
		imgs[i] = img
	}
	got, err := m.EncodeImages(t.Context(), imgs)
	require.NoError(t, err)
	for i, img := range imgs {
		want, err := m.EncodeImage(img)
		require.NoError(t, err)
		// One batched pass against one image at a time: equal to float32
		// rounding (bit-equal with the Go kernels, not with OpenBLAS).
		numtest.Close(t, want, got[i], 1e-5, 1e-6, "image %d", i)
	}
	imgs[3] = image.NewRGBA(image.Rect(0, 0, 0, 0))
	_, err = m.EncodeImages(t.Context(), imgs)
	assert.ErrorContains(t, err, "image 3")
}
