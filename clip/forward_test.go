package clip

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/numtest"
)

// TestEncodePixelsBatchMatchesOneByOne runs more images than one batched
// pass takes (so two passes, the second partial) and compares each with
// the one-image pass, for both activations.
func TestEncodePixelsBatchMatchesOneByOne(t *testing.T) {
	for _, act := range []Activation{QuickGELU, GELU} {
		t.Run(act.String(), func(t *testing.T) {
			m := smallRandomModel(t, act)
			n := m.visionBatch() + 5
			pixels := make([][]float32, n)
			for i := range pixels {
				pixels[i] = randomPixels(3*16*16, uint64(100+i))
			}
			got, err := m.EncodePixelsBatch(t.Context(), pixels)
			require.NoError(t, err)
			require.Len(t, got, n)
			for i, px := range pixels {
				want, err := m.EncodePixels(px)
				require.NoError(t, err)
				numtest.Close(t, want, got[i], 1e-5, 1e-6, fmt.Sprintf("image %d", i))
				assert.Len(t, got[i], 16)
				assert.Equal(t, 16, cap(got[i]), "rows must not share capacity")
			}
		})
	}
}

func TestEncodePixelsBatchErrors(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	_, err := m.EncodePixelsBatch(t.Context(), [][]float32{randomPixels(3*16*16, 1), make([]float32, 5)})
	assert.ErrorContains(t, err, "image 1")
	ctx, cancel := contextWithCancel(t)
	cancel()
	_, err = m.EncodePixelsBatch(ctx, [][]float32{randomPixels(3*16*16, 1)})
	assert.ErrorIs(t, err, ctx.Err())
	got, err := m.EncodePixelsBatch(t.Context(), nil)
	require.NoError(t, err)
	assert.Empty(t, got)
	got2, err := m.EncodeTokensBatch(t.Context(), nil)
	require.NoError(t, err)
	assert.Empty(t, got2)

	noTowers, err := New(Config{EmbedDim: 16, Activation: QuickGELU, Text: m.Config.Text})
	require.NoError(t, err)
	_, err = noTowers.EncodePixelsBatch(t.Context(), nil)
	assert.ErrorIs(t, err, errNoVision)
	noTowers, err = New(Config{EmbedDim: 16, Activation: QuickGELU, Vision: m.Config.Vision})
	require.NoError(t, err)
	_, err = noTowers.EncodeTokensBatch(t.Context(), nil)
	assert.ErrorIs(t, err, errNoText)
}

// randomTokens returns n sequences for the small model (context 8,
// vocabulary 50, EOT = 49): random lengths from SOT+EOT alone to the full
// context, some zero padded, one a single token.
func randomTokens(n int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([][]int, n)
	for i := range out {
		T := 2 + rng.IntN(7) // 2..8 tokens up to and with the EOT
		ids := []int{48}
		for range T - 2 {
			ids = append(ids, 1+rng.IntN(47))
		}
		ids = append(ids, 49)
		if i%3 == 0 {
			for len(ids) < 8 {
				ids = append(ids, 0)
			}
		}
		out[i] = ids
	}
	out[n/2] = []int{7}
	return out
}

// TestEncodeTokensBatchMatchesOneByOne packs sequences of mixed lengths
// (more tokens than one pass takes) and compares each embedding with the
// one-sequence pass: a token attending across a sequence boundary, or a
// wrong pooled row, fails.
func TestEncodeTokensBatchMatchesOneByOne(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	ids := randomTokens(batchRows/4, 5) // about 1.3 passes of batchRows tokens
	got, err := m.EncodeTokensBatch(t.Context(), ids)
	require.NoError(t, err)
	require.Len(t, got, len(ids))
	for i, seq := range ids {
		want, err := m.EncodeTokens(seq)
		require.NoError(t, err)
		numtest.Close(t, want, got[i], 1e-5, 1e-6, fmt.Sprintf("text %d %v", i, seq))
	}
	_, err = m.EncodeTokensBatch(t.Context(), [][]int{{48, 49}, {48, 50}})
	assert.ErrorContains(t, err, "text 1")
}

// TestBatchedHooksSeePerSequenceViews runs three sequences through one
// batched pass with hooks and checks that every hook fires once per
// sequence, in order, with the shapes and values of a one-sequence run.
func TestBatchedHooksSeePerSequenceViews(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	ids := [][]int{{48, 3, 49}, {48, 5, 6, 7, 8, 49, 0, 0}, {48, 49}}
	eots := []int{2, 5, 1}
	points := []Point{{0, ResidPre}, {1, LN1Scale}, {1, AttnPattern}, {0, MLPPost}, {1, ResidPost}, {0, LNPostScale}}
	type call struct {
		p    Point
		rows int
		data []float32
	}
	var calls []call
	var hk Hooks
	for _, p := range points {
		hk.On(p, func(p Point, a *Act) {
			calls = append(calls, call{p, a.Rows, append([]float32(nil), a.Data...)})
		})
	}
	table, err := hk.resolve(m.Config.Text.Layers)
	require.NoError(t, err)
	dst := make([]float32, 3*m.Config.EmbedDim)
	m.encodeTokens(dst, ids, eots, table)

	for b, seq := range ids {
		var one Hooks
		var tr Trace
		tr.Keep(&one, points...)
		want, err := m.RunTokens(t.Context(), seq, &one)
		require.NoError(t, err)
		numtest.Close(t, want, dst[b*16:(b+1)*16], 1e-5, 1e-6, "embedding %d", b)
		for _, p := range points {
			a, ok := tr.At(p)
			require.True(t, ok)
			var seen []call
			for _, c := range calls {
				if c.p == p {
					seen = append(seen, c)
				}
			}
			require.Len(t, seen, 3, "%v fires once per sequence", p)
			assert.Equal(t, a.Rows, seen[b].rows, "%v rows of sequence %d", p, b)
			numtest.Close(t, a.Data, seen[b].data, 1e-5, 1e-6, "%v sequence %d", p, b)
		}
	}
}

// TestWeightsFollowReplacedParams checks that a parameter whose matrix is
// replaced after a forward pass is seen by the next one.
func TestWeightsFollowReplacedParams(t *testing.T) {
	m := smallRandomModel(t, QuickGELU)
	px := randomPixels(3*16*16, 9)
	before, err := m.EncodePixels(px)
	require.NoError(t, err)
	ln := m.Visual.LNPost
	for _, p := range []*nn.Param{ln.W, ln.B} {
		v := values(p)
		doubled := make([]float32, len(v))
		for i, x := range v {
			doubled[i] = 2 * x
		}
		p.ReplaceValue(newParam(doubled, len(v)).Matrix)
	}
	after, err := m.EncodePixels(px)
	require.NoError(t, err)
	want := make([]float32, len(before))
	for i, x := range before {
		want[i] = 2 * x
	}
	numtest.Close(t, want, after, 1e-6, 1e-7)
}
