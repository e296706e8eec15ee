//go:build cuda && cgo

package cuda

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/numtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newEncoderOrSkip opens m on the GPU, or skips the test when this machine
// has none: CI without a GPU stays green.
func newEncoderOrSkip(t testing.TB, m *clip.Model, opts ...Option) *Encoder {
	t.Helper()
	enc, err := NewImageEncoder(m, opts...)
	if err != nil {
		if Available() != nil {
			t.Skipf("no usable GPU: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

var small = map[string]clip.Config{
	"quickgelu": {EmbedDim: 32, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 32, PatchSize: 8, Width: 64, Layers: 4, Heads: 4, MLPWidth: 256}},
	// 10 tokens, 3 heads of 32: sizes that are not multiples of the warp.
	"gelu odd": {EmbedDim: 24, Activation: clip.GELU,
		Vision: &clip.VisionConfig{ImageSize: 48, PatchSize: 16, Width: 96, Layers: 3, Heads: 3, MLPWidth: 200}},
}

// closeRel is the parity bar: max abs difference ≤ rtol × ‖want‖.
func closeRel(t *testing.T, want, got []float32, rtol float64, what string) {
	t.Helper()
	numtest.Close(t, want, got, 0, rtol*numtest.Norm(want), what)
}

func TestDeviceInfo(t *testing.T) {
	m := randomModel(t, "quickgelu", small["quickgelu"], 1)
	enc := newEncoderOrSkip(t, m)
	t.Logf("device: %s", enc.Device())
}

func TestEncodeMatchesCPU(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      clip.Config
		images   int
		maxBatch int
	}{
		{name: "quickgelu", cfg: small["quickgelu"], images: 5, maxBatch: 64},
		{name: "gelu odd", cfg: small["gelu odd"], images: 3, maxBatch: 64},
		{name: "split batches", cfg: small["quickgelu"], images: 7, maxBatch: 3},
		{name: "B32", cfg: sizes["B32"], images: 3, maxBatch: 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.name, tc.cfg, 3)
			enc := newEncoderOrSkip(t, m, WithMaxBatch(tc.maxBatch))
			pix := randomPixels(tc.images, tc.cfg.Vision.ImageSize, 5)
			got, err := enc.EncodeBatch(t.Context(), pix)
			require.NoError(t, err)
			require.Len(t, got, tc.images)
			for i, p := range pix {
				want, err := m.EncodePixels(p)
				require.NoError(t, err)
				closeRel(t, want, got[i], 1e-4, tc.name)
			}
			one, err := enc.EncodePixels(pix[0])
			require.NoError(t, err)
			closeRel(t, got[0], one, 1e-5, "batch of one")
		})
	}
}

// TestTF32Error measures what TF32 costs on B/32; the number goes in
// BENCHMARKS.md. It only checks that the error stays small.
func TestTF32Error(t *testing.T) {
	m := randomModel(t, "B32", sizes["B32"], 3)
	enc := newEncoderOrSkip(t, m, WithTF32())
	pix := randomPixels(4, 224, 9)
	got, err := enc.EncodeBatch(t.Context(), pix)
	require.NoError(t, err)
	worst := 0.0
	for i, p := range pix {
		want, err := m.EncodePixels(p)
		require.NoError(t, err)
		worst = max(worst, numtest.MaxAbsDiff(want, got[i])/numtest.Norm(want))
	}
	t.Logf("TF32: max |Δf|/‖f‖ = %.2e over %d images (float32 bar: 1e-4)", worst, len(pix))
	assert.Less(t, worst, 1e-2)
}

// cpuSecondOrder is the oracle: the same quantities from a clip.Trace of
// the CPU forward pass, summed in float64.
func cpuSecondOrder(t *testing.T, m *clip.Model, pixels []float32, layer int, u []float32) (alpha, one, mu, emb []float32, sigmaPost float32, effects []float32) {
	c := m.Config.Vision
	T, H, N, L, d := c.Tokens(), c.Heads, c.MLPWidth, c.Layers, m.Config.EmbedDim
	K := (L - 1 - layer) * H
	var hk clip.Hooks
	var tr clip.Trace
	pts := []clip.Point{{Layer: layer, Site: clip.MLPPost}, {Site: clip.LNPostScale}}
	for l := layer + 1; l < L; l++ {
		pts = append(pts, clip.Point{Layer: l, Site: clip.AttnPattern}, clip.Point{Layer: l, Site: clip.LN1Scale}, clip.Point{Layer: l, Site: clip.LN1Mean})
	}
	tr.Keep(&hk, pts...)
	emb, err := m.RunPixels(t.Context(), pixels, &hk)
	require.NoError(t, err)
	at := func(p clip.Point) []float32 {
		a, ok := tr.At(p)
		require.True(t, ok, "%v", p)
		return a.Data
	}
	p := at(pts[0])
	sigmaPost = at(pts[1])[0]
	alpha, one, mu = make([]float32, N*K), make([]float32, K), make([]float32, K)
	for l := layer + 1; l < L; l++ {
		A := at(clip.Point{Layer: l, Site: clip.AttnPattern})
		sig := at(clip.Point{Layer: l, Site: clip.LN1Scale})
		mean := at(clip.Point{Layer: l, Site: clip.LN1Mean})
		for h := range H {
			k := (l-layer-1)*H + h
			var s1, s2 float64
			for tt := range T {
				w := float64(A[h*T*T+tt]) / float64(sig[tt])
				s1 += w
				s2 += w * float64(mean[tt])
			}
			one[k], mu[k] = float32(s1), float32(s2)
			for n := range N {
				var s float64
				for tt := range T {
					s += float64(A[h*T*T+tt]) * float64(p[tt*N+n]) / float64(sig[tt])
				}
				alpha[n*K+k] = float32(s)
			}
		}
	}
	if u != nil {
		norm := numtest.Norm(emb)
		scale := 100 / (norm * float64(sigmaPost))
		effects = make([]float32, N*d)
		for n := range N {
			for j := range d {
				var s float64
				for k := range K {
					s += float64(alpha[n*K+k]) * float64(u[(n*K+k)*d+j])
				}
				effects[n*d+j] = float32(scale * s)
			}
		}
	}
	return alpha, one, mu, emb, sigmaPost, effects
}

func TestSecondOrderMatchesTrace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    clip.Config
		layer  int
		images int
		withU  bool
		batch  int
	}{
		{name: "quickgelu", cfg: small["quickgelu"], layer: 1, images: 3, withU: true},
		{name: "split batches", cfg: small["quickgelu"], layer: 1, images: 5, withU: true, batch: 2},
		{name: "gelu odd", cfg: small["gelu odd"], layer: 0, images: 2, withU: true},
		{name: "last layer", cfg: small["quickgelu"], layer: 3, images: 2},
		{name: "B32", cfg: sizes["B32"], layer: 9, images: 2, withU: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.name, tc.cfg, 3)
			enc := newEncoderOrSkip(t, m, WithMaxBatch(cmp.Or(tc.batch, 64)))
			c := tc.cfg.Vision
			N, K, d := c.MLPWidth, (c.Layers-1-tc.layer)*c.Heads, tc.cfg.EmbedDim
			var u []float32
			var uv *UVectors
			if tc.withU {
				r := rand.New(rand.NewPCG(4, 4))
				u = make([]float32, N*K*d)
				for i := range u {
					u[i] = float32(r.NormFloat64())
				}
				var err error
				uv, err = enc.UploadU(tc.layer, u)
				require.NoError(t, err)
				defer uv.Free()
			}
			pix := randomPixels(tc.images, c.ImageSize, 8)
			so, err := enc.SecondOrder(t.Context(), pix, tc.layer, uv)
			require.NoError(t, err)
			require.Equal(t, K, so.K)
			for b, p := range pix {
				alpha, one, mu, emb, sp, eff := cpuSecondOrder(t, m, p, tc.layer, u)
				closeRel(t, alpha, so.Alpha[b*N*K:(b+1)*N*K], 1e-4, "alpha")
				closeRel(t, one, so.One[b*K:(b+1)*K], 1e-4, "one")
				closeRel(t, mu, so.Mu[b*K:(b+1)*K], 1e-4, "mu")
				closeRel(t, emb, so.Emb[b*d:(b+1)*d], 1e-4, "embedding")
				assert.InDelta(t, sp, so.SigmaPost[b], 1e-4*float64(sp))
				assert.InDelta(t, numtest.Norm(emb), float64(so.Norm[b]), 1e-4*numtest.Norm(emb))
				if tc.withU {
					closeRel(t, eff, so.Effects[b*N*d:(b+1)*N*d], 1e-4, "effects")
				}
			}
			assert.False(t, math.IsNaN(float64(so.Norm[0])))
		})
	}
}

// TestAttentionFusedMatchesGEMM checks attn_fused against the two products
// and the softmax kernel, whatever NEURONLENS_CUDA_ATTN says: embeddings and
// the lens's quantities (which read the CLS row of the pattern) on shapes
// with several query and key tiles, the last partial (145 tokens, heads of
// 64) and on a single tile with narrow heads.
func TestAttentionFusedMatchesGEMM(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   clip.Config
		layer int
	}{
		{"145 tokens", clip.Config{EmbedDim: 32, Activation: clip.QuickGELU,
			Vision: &clip.VisionConfig{ImageSize: 96, PatchSize: 8, Width: 128, Layers: 3, Heads: 2, MLPWidth: 256}}, 0},
		{"gelu odd", small["gelu odd"], 1},
		{"B32", sizes["B32"], 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.name, tc.cfg, 11)
			gemm := newEncoderOrSkip(t, m, WithAttention(AttnGEMM))
			fused := newEncoderOrSkip(t, m, WithAttention(AttnFused))
			require.Equal(t, AttnGEMM, gemm.Attention())
			require.Equal(t, AttnFused, fused.Attention())
			pix := randomPixels(5, tc.cfg.Vision.ImageSize, 12)
			want, err := gemm.EncodeBatch(t.Context(), pix)
			require.NoError(t, err)
			got, err := fused.EncodeBatch(t.Context(), pix)
			require.NoError(t, err)
			for i := range want {
				closeRel(t, want[i], got[i], 1e-5, "embedding")
				cpu, err := m.EncodePixels(pix[i])
				require.NoError(t, err)
				closeRel(t, cpu, got[i], 1e-4, "embedding vs CPU")
			}
			sw, err := gemm.SecondOrder(t.Context(), pix, tc.layer, nil)
			require.NoError(t, err)
			sf, err := fused.SecondOrder(t.Context(), pix, tc.layer, nil)
			require.NoError(t, err)
			closeRel(t, sw.Alpha, sf.Alpha, 1e-5, "alpha")
			closeRel(t, sw.One, sf.One, 1e-5, "one")
			closeRel(t, sw.Mu, sf.Mu, 1e-5, "mu")
			closeRel(t, sw.Emb, sf.Emb, 1e-5, "emb")
		})
	}
}

// TestSecondOrderProjection checks SecondOrder.Proj against its definition
// from the returned One and Mu.
func TestSecondOrderProjection(t *testing.T) {
	cfg := small["quickgelu"]
	m := randomModel(t, "quickgelu", cfg, 13)
	enc := newEncoderOrSkip(t, m)
	layer := 1
	N, K := cfg.Vision.MLPWidth, (cfg.Vision.Layers-1-layer)*cfg.Vision.Heads
	P := randomFloats(N*K*(2*K+1), 14)
	proj, err := enc.UploadProjection(layer, P)
	require.NoError(t, err)
	defer proj.Free()
	pix := randomPixels(4, cfg.Vision.ImageSize, 16)
	so, err := enc.SecondOrderProj(t.Context(), nil, pix, layer, nil, proj)
	require.NoError(t, err)
	require.Len(t, so.Proj, 4*N*K)
	want := make([]float32, len(so.Proj))
	for b := range 4 {
		for i := range N * K {
			p := P[i*(2*K+1) : (i+1)*(2*K+1)]
			s := float64(p[2*K])
			for k := range K {
				s += float64(p[k])*float64(so.One[b*K+k]) + float64(p[K+k])*float64(so.Mu[b*K+k])
			}
			want[b*N*K+i] = float32(s)
		}
	}
	closeRel(t, want, so.Proj, 1e-5, "proj")
}

// randomFloats returns n standard normal values.
func randomFloats(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 15))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// TestSecondOrderProjReusesDst runs batches of several sizes through one
// destination: each result equals a fresh call's, with dst's arrays reused
// when they are large enough and nothing left of the previous batch.
func TestSecondOrderProjReusesDst(t *testing.T) {
	cfg := small["quickgelu"]
	m := randomModel(t, "quickgelu", cfg, 17)
	enc := newEncoderOrSkip(t, m, WithMaxBatch(2))
	layer := 1
	N, K, d := cfg.Vision.MLPWidth, (cfg.Vision.Layers-1-layer)*cfg.Vision.Heads, cfg.EmbedDim
	proj, err := enc.UploadProjection(layer, randomFloats(N*K*(2*K+1), 18))
	require.NoError(t, err)
	defer proj.Free()
	uv, err := enc.UploadU(layer, randomFloats(N*K*d, 19))
	require.NoError(t, err)
	defer uv.Free()

	var dst *SecondOrder
	for i, tc := range []struct {
		images int
		u      *UVectors
		p      *Projection
		reused bool
	}{
		{5, uv, proj, false},
		{3, uv, proj, true},  // smaller: the same arrays
		{3, nil, nil, true},  // no effects, no projection
		{7, uv, proj, false}, // larger: new arrays
	} {
		pix := randomPixels(tc.images, cfg.Vision.ImageSize, uint64(30+i))
		want, err := enc.SecondOrderProj(t.Context(), nil, pix, layer, tc.u, tc.p)
		require.NoError(t, err)
		var alpha0 *float32
		if dst != nil {
			alpha0 = &dst.Alpha[0]
		}
		got, err := enc.SecondOrderProj(t.Context(), dst, pix, layer, tc.u, tc.p)
		require.NoError(t, err)
		if dst != nil {
			require.Same(t, dst, got)
			assert.Equal(t, tc.reused, alpha0 == &got.Alpha[0], "batch %d: alphas reused", i)
		}
		require.Equal(t, want.B, got.B)
		require.Len(t, got.Alpha, len(want.Alpha))
		closeRel(t, want.Alpha, got.Alpha, 1e-6, "alpha")
		closeRel(t, want.One, got.One, 1e-6, "one")
		closeRel(t, want.Mu, got.Mu, 1e-6, "mu")
		closeRel(t, want.Emb, got.Emb, 1e-6, "emb")
		closeRel(t, want.Norm, got.Norm, 1e-6, "norm")
		closeRel(t, want.MuPost, got.MuPost, 1e-6, "mu post")
		closeRel(t, want.SigmaPost, got.SigmaPost, 1e-6, "sigma post")
		if tc.u == nil {
			assert.Nil(t, got.Effects)
			assert.Nil(t, got.Proj)
		} else {
			closeRel(t, want.Effects, got.Effects, 1e-6, "effects")
			closeRel(t, want.Proj, got.Proj, 1e-6, "proj")
		}
		dst = got
	}
}

// TestEncodeStagedBatches runs calls of many device batches, each staging
// the next batch's pixels while the device computes, against one image at
// a time; and the in-projection's bias added by its own pass (foldBias
// off) against the product that adds it.
func TestEncodeStagedBatches(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      clip.Config
		images   int
		maxBatch int
	}{
		{name: "quickgelu", cfg: small["quickgelu"], images: 11, maxBatch: 2},
		{name: "B32", cfg: sizes["B32"], images: 9, maxBatch: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.name, tc.cfg, 21)
			enc := newEncoderOrSkip(t, m, WithMaxBatch(tc.maxBatch))
			pix := randomPixels(tc.images, tc.cfg.Vision.ImageSize, 22)
			for round := range 2 { // the second call starts again at slot 0
				got, err := enc.EncodeBatch(t.Context(), pix)
				require.NoError(t, err)
				for i, p := range pix {
					one, err := enc.EncodePixels(p)
					require.NoError(t, err)
					closeRel(t, one, got[i], 1e-5, fmt.Sprintf("round %d, image %d", round, i))
				}
			}

			foldBias = false
			pass := newEncoderOrSkip(t, m, WithMaxBatch(tc.maxBatch))
			foldBias = true
			require.Equal(t, tc.cfg.Vision.Width, pass.eng.kp)
			require.Equal(t, tc.cfg.Vision.Width+biasPad, enc.eng.kp)
			want, err := pass.EncodeBatch(t.Context(), pix)
			require.NoError(t, err)
			got, err := enc.EncodeBatch(t.Context(), pix)
			require.NoError(t, err)
			for i := range pix {
				closeRel(t, want[i], got[i], 1e-5, fmt.Sprintf("bias pass, image %d", i))
			}
		})
	}
}

// TestPageLocked feeds pixels from page-locked memory (some images, so that
// a chunk mixes direct and staged uploads) and takes the alphas and the
// projection into page-locked destinations, over several device batches:
// the results equal those through ordinary memory, and the destinations
// are the ones given.
func TestPageLocked(t *testing.T) {
	cfg := small["quickgelu"]
	m := randomModel(t, "quickgelu", cfg, 23)
	enc := newEncoderOrSkip(t, m, WithMaxBatch(4))
	layer := 1
	N, K := cfg.Vision.MLPWidth, (cfg.Vision.Layers-1-layer)*cfg.Vision.Heads
	proj, err := enc.UploadProjection(layer, randomFloats(N*K*(2*K+1), 24))
	require.NoError(t, err)
	defer proj.Free()

	pix := randomPixels(11, cfg.Vision.ImageSize, 25)
	pinned := make([][]float32, len(pix))
	for i, p := range pix {
		pinned[i] = p
		if i%3 != 1 {
			h, err := enc.PageLocked(len(p))
			require.NoError(t, err)
			copy(h, p)
			pinned[i] = h
		}
	}
	want, err := enc.EncodeBatch(t.Context(), pix)
	require.NoError(t, err)
	got, err := enc.EncodeBatch(t.Context(), pinned)
	require.NoError(t, err)
	for i := range want {
		closeRel(t, want[i], got[i], 1e-6, fmt.Sprintf("embedding %d", i))
	}

	wantSO, err := enc.SecondOrderProj(t.Context(), nil, pix, layer, nil, proj)
	require.NoError(t, err)
	alpha, err := enc.PageLocked(len(pix) * N * K)
	require.NoError(t, err)
	projOut, err := enc.PageLocked(len(pix) * N * K)
	require.NoError(t, err)
	for i := range alpha {
		alpha[i], projOut[i] = float32(math.NaN()), float32(math.NaN())
	}
	dst := &SecondOrder{Alpha: alpha, Proj: projOut}
	gotSO, err := enc.SecondOrderProj(t.Context(), dst, pinned, layer, nil, proj)
	require.NoError(t, err)
	require.Same(t, &alpha[0], &gotSO.Alpha[0], "alphas not in the page-locked destination")
	require.Same(t, &projOut[0], &gotSO.Proj[0], "projection not in the page-locked destination")
	closeRel(t, wantSO.Alpha, gotSO.Alpha, 1e-6, "alpha")
	closeRel(t, wantSO.Proj, gotSO.Proj, 1e-6, "proj")
	closeRel(t, wantSO.One, gotSO.One, 1e-6, "one")
	closeRel(t, wantSO.Emb, gotSO.Emb, 1e-6, "emb")

	_, err = enc.PageLocked(0)
	assert.ErrorContains(t, err, "PageLocked")
	enc.FreePageLocked(pix[0]) // ordinary memory: nothing happens
	enc.FreePageLocked(alpha)
	require.NoError(t, enc.Close())
	_, err = enc.PageLocked(10)
	assert.ErrorContains(t, err, "closed")
	enc.FreePageLocked(projOut) // freed by Close: nothing happens
}
