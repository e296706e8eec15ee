package clip

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEncodeResiduals resumes passes from every block (and after the last)
// with the streams an ordinary pass traced, for a batch of images: the
// embeddings are the ordinary pass's.
func TestEncodeResiduals(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	c := m.Config.Vision
	S, L := c.ImageSize, c.Layers
	const B = 5
	var want [][]float32
	streams := make([][][]float32, L+1) // [from][image]
	for i := range B {
		px := randomPixels(3*S*S, uint64(10+i))
		var hk Hooks
		var tr Trace
		var pts []Point
		for l := range L {
			pts = append(pts, Point{Layer: l, Site: ResidPre})
		}
		pts = append(pts, Point{Layer: L - 1, Site: ResidPost})
		tr.Keep(&hk, pts...)
		f, err := m.RunPixels(t.Context(), px, &hk)
		require.NoError(t, err)
		want = append(want, f)
		for l := range L {
			a, ok := tr.At(Point{Layer: l, Site: ResidPre})
			require.True(t, ok)
			streams[l] = append(streams[l], append([]float32(nil), a.Data...))
		}
		a, ok := tr.At(Point{Layer: L - 1, Site: ResidPost})
		require.True(t, ok)
		streams[L] = append(streams[L], append([]float32(nil), a.Data...))
	}
	for from := range L + 1 {
		got, err := m.EncodeResiduals(t.Context(), from, streams[from])
		require.NoError(t, err)
		require.Len(t, got, B)
		for i := range B {
			for k := range want[i] {
				assert.InDeltaf(t, want[i][k], got[i][k], 1e-5, "from %d, image %d, component %d", from, i, k)
			}
		}
	}

	_, err := m.EncodeResiduals(t.Context(), L+1, streams[L])
	assert.ErrorContains(t, err, "from block")
	_, err = m.EncodeResiduals(t.Context(), 1, [][]float32{streams[1][0], make([]float32, 3)})
	assert.ErrorContains(t, err, "residual stream 1")
	none, err := m.EncodeResiduals(t.Context(), 1, nil)
	require.NoError(t, err)
	assert.Empty(t, none)
	text, err := New(Config{EmbedDim: 8, Activation: QuickGELU, Text: &TextConfig{ContextLength: 8, VocabSize: 50, Width: 24, Layers: 1, Heads: 2, MLPWidth: 48}})
	require.NoError(t, err)
	_, err = text.EncodeResiduals(t.Context(), 0, nil)
	assert.Error(t, err)
}
