package lens

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/numtest"
)

// oracleFirst is the first-order effect written out from the trace in float64.
func oracleFirst(t *testing.T, m *clip.Model, px []float32, layer int, raw bool, shared float64) []float64 {
	tr, f := traced(t, m, px, layer)
	vc, vt := m.Config.Vision, m.Visual
	D, N, L, d := vc.Width, vc.MLPWidth, vc.Layers, m.Config.EmbedDim
	p := at(t, tr, clip.Point{Layer: layer, Site: clip.MLPPost})
	W := w64(vt.Blocks[layer].MLP.CProj.W.Data().F32())
	bOut := w64(vt.Blocks[layer].MLP.CProj.B.Data().F32())
	gp, bp := w64(vt.LNPost.W.Data().F32()), w64(vt.LNPost.B.Data().F32())
	proj := w64(vt.Proj.Data().F32())
	muP := at(t, tr, clip.Point{Site: clip.LNPostMean})[0]
	sgP := at(t, tr, clip.Point{Site: clip.LNPostScale})[0]
	K := float64((1 + 2*L) * N)
	s := 1.0
	if !raw {
		s = 100 / norm64(f)
	}
	out := make([]float64, N*d)
	for n := range N {
		for o := range D {
			c := p[n]*W[o*N+n] + shared*bOut[o]/float64(N)
			y := gp[o]*(c-shared*muP/K)/sgP + shared*bp[o]/K
			for j := range d {
				out[n*d+j] += s * y * proj[o*d+j]
			}
		}
	}
	return out
}

func TestFirstOrderMatchesOracle(t *testing.T) {
	m := randomModel(t, tinyConfig(), 9)
	for _, tc := range []struct {
		name   string
		layer  int
		raw    bool
		shared bool
	}{
		{"first block", 0, false, true},
		{"last block", 3, false, true},
		{"raw", 2, true, true},
		{"without shared term", 1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			px := randomPixels(m, 30)
			var opts []Option
			sh := 1.0
			if tc.raw {
				opts = append(opts, RawScale())
			}
			if !tc.shared {
				opts = append(opts, WithoutSharedTerm())
				sh = 0
			}
			got, err := FirstOrderPixels(m, px, tc.layer, opts...)
			require.NoError(t, err)
			closeRel(t, oracleFirst(t, m, px, tc.layer, tc.raw, sh), got)
		})
	}
}

func TestIndirect(t *testing.T) {
	m := randomModel(t, tinyConfig(), 10)
	vc := m.Config.Vision
	T, N, d := vc.Tokens(), vc.MLPWidth, m.Config.EmbedDim
	px := randomPixels(m, 31)
	tr, f := traced(t, m, px, 2)
	post, _ := tr.At(clip.Point{Layer: 2, Site: clip.MLPPost})

	t.Run("means equal to the activations give zero", func(t *testing.T) {
		got, err := IndirectPixels(t.Context(), m, px, 2, post.Data, WithNeurons(0, 5, 7))
		require.NoError(t, err)
		assert.Zero(t, maxAbs(got.RawMatrix().Data))
	})
	t.Run("matches a hand-made ablation", func(t *testing.T) {
		means := make([]float32, T*N)
		for i := range means {
			means[i] = float32(i%7) * 0.1
		}
		all, err := IndirectPixels(t.Context(), m, px, 2, means, WithWorkers(2))
		require.NoError(t, err)
		sub, err := IndirectPixels(t.Context(), m, px, 2, means, WithNeurons(9, 3), RawScale())
		require.NoError(t, err)
		for i, n := range []int{9, 3} {
			var hk clip.Hooks
			hk.On(clip.Point{Layer: 2, Site: clip.MLPPost}, func(_ clip.Point, a *clip.Act) {
				for tk := range T {
					a.Data[tk*N+n] = means[tk*N+n]
				}
			})
			g, err := m.RunPixels(t.Context(), px, &hk)
			require.NoError(t, err)
			want := make([]float64, d)
			for j := range d {
				want[j] = float64(f[j]) - float64(g[j])
			}
			// Indirect resumes after block 2 with the change added to the
			// stream instead of rerunning the whole pass: equal to float32
			// rounding of f (about 1e-7·‖f‖), not bit for bit.
			numtest.Close(t, want, mat.Row(nil, i, sub), 0, 1e-5*norm64(f))
			s := 100 / norm64(f)
			for j := range want {
				want[j] *= s
			}
			numtest.Close(t, want, mat.Row(nil, n, all), 0, 1e-3)
		}
	})
	t.Run("every neuron of the first, a middle and the last block", func(t *testing.T) {
		for _, layer := range []int{0, 2, vc.Layers - 1} {
			tr, f := traced(t, m, px, layer)
			post, _ := tr.At(clip.Point{Layer: layer, Site: clip.MLPPost})
			means := make([]float32, T*N)
			for i := range means {
				means[i] = post.Data[i] * float32(1+i%3) // changes most activations
			}
			got, err := IndirectPixels(t.Context(), m, px, layer, means, RawScale(), WithWorkers(2))
			require.NoError(t, err)
			var hk clip.Hooks
			var n int
			hk.On(clip.Point{Layer: layer, Site: clip.MLPPost}, func(_ clip.Point, a *clip.Act) {
				for tk := range T {
					a.Data[tk*N+n] = means[tk*N+n]
				}
			})
			for n = range N {
				g, err := m.RunPixels(t.Context(), px, &hk)
				require.NoError(t, err)
				want := make([]float64, d)
				for j := range d {
					want[j] = float64(f[j]) - float64(g[j])
				}
				numtest.Close(t, want, mat.Row(nil, n, got), 0, 1e-5*norm64(f), "layer", layer, "neuron", n)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := IndirectPixels(t.Context(), m, px, 2, post.Data[:3])
		assert.Error(t, err)
		_, err = IndirectPixels(t.Context(), m, px, 2, post.Data, WithNeurons(N))
		assert.Error(t, err)
		_, err = IndirectPixels(t.Context(), m, px, 4, post.Data)
		assert.Error(t, err)
	})
}
