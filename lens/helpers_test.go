package lens

import (
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/clip"
)

// tinyConfig is a small image tower: T = 17 tokens, D = 32, H = 4, N = 128,
// L = 4 blocks, d = 16.
func tinyConfig() clip.Config {
	return clip.Config{
		EmbedDim:   16,
		Activation: clip.QuickGELU,
		Vision:     &clip.VisionConfig{ImageSize: 32, PatchSize: 8, Width: 32, Layers: 4, Heads: 4, MLPWidth: 128},
	}
}

// smallConfig is larger: D = 64, H = 8, N = 256, L = 6, d = 32.
func smallConfig() clip.Config {
	return clip.Config{
		EmbedDim:   32,
		Activation: clip.GELU,
		Vision:     &clip.VisionConfig{ImageSize: 32, PatchSize: 8, Width: 64, Layers: 6, Heads: 8, MLPWidth: 256},
	}
}

// randomModel builds a model with random weights and, unlike InitRandom,
// random biases and LayerNorm parameters, so that every term of the lens is
// exercised.
func randomModel(t testing.TB, cfg clip.Config, seed uint64) *clip.Model {
	t.Helper()
	m, err := clip.New(cfg)
	require.NoError(t, err)
	m.InitRandom(seed)
	r := rand.New(rand.NewPCG(seed, 7))
	jitter := func(x []float32, base, std float64) {
		for i := range x {
			x[i] = float32(base + std*r.NormFloat64())
		}
	}
	v := m.Visual
	for _, b := range v.Blocks {
		jitter(b.LN1.W.Data().F32(), 1, 0.2)
		jitter(b.LN1.B.Data().F32(), 0, 0.1)
		jitter(b.LN2.W.Data().F32(), 1, 0.2)
		jitter(b.LN2.B.Data().F32(), 0, 0.1)
		jitter(b.Attn.InProj.B.Data().F32(), 0, 0.1)
		jitter(b.Attn.OutProj.B.Data().F32(), 0, 0.1)
		jitter(b.MLP.CFC.B.Data().F32(), 0, 0.1)
		jitter(b.MLP.CProj.B.Data().F32(), 0, 0.1)
	}
	jitter(v.LNPre.W.Data().F32(), 1, 0.2)
	jitter(v.LNPre.B.Data().F32(), 0, 0.1)
	jitter(v.LNPost.W.Data().F32(), 1, 0.2)
	jitter(v.LNPost.B.Data().F32(), 0, 0.1)
	return m
}

// randomPixels returns normalized-looking pixels [3, S, S].
func randomPixels(m *clip.Model, seed uint64) []float32 {
	S := m.Config.Vision.ImageSize
	r := rand.New(rand.NewPCG(seed, 11))
	px := make([]float32, 3*S*S)
	for i := range px {
		px[i] = float32(r.NormFloat64())
	}
	return px
}

// traced runs one forward pass keeping everything the oracles read.
func traced(t testing.TB, m *clip.Model, px []float32, layer int) (*clip.Trace, []float32) {
	t.Helper()
	var hk clip.Hooks
	var tr clip.Trace
	L := m.Config.Vision.Layers
	tr.Keep(&hk, clip.Point{Layer: layer, Site: clip.MLPPost},
		clip.Point{Site: clip.LNPostMean}, clip.Point{Site: clip.LNPostScale})
	for l := range L {
		tr.Keep(&hk, clip.Point{Layer: l, Site: clip.LN1Mean}, clip.Point{Layer: l, Site: clip.LN1Scale},
			clip.Point{Layer: l, Site: clip.AttnPattern})
	}
	f, err := m.RunPixels(t.Context(), px, &hk)
	require.NoError(t, err)
	return &tr, f
}

func at(t testing.TB, tr *clip.Trace, p clip.Point) []float64 {
	t.Helper()
	a, ok := tr.At(p)
	require.True(t, ok, "trace has no %v", p)
	out := make([]float64, len(a.Data))
	for i, v := range a.Data {
		out[i] = float64(v)
	}
	return out
}

func w64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// oracleSecond computes METHOD.md §1 steps 1–5 literally, in float64, from
// a trace: for every later block l' and head h, every neuron n, every token
// t, the D-vector c[t,n], its ln_1 image x[t,n], the values v, the CLS row of
// the attention, out_proj, ln_post at CLS and proj. shared = 0 drops every
// bias and mean term (the option WithoutSharedTerm). It returns [N, d].
func oracleSecond(t testing.TB, m *clip.Model, px []float32, layer int, raw bool, shared float64) []float64 {
	t.Helper()
	tr, f := traced(t, m, px, layer)
	vc := m.Config.Vision
	vt := m.Visual
	T, D, H, N, L, d := vc.Tokens(), vc.Width, vc.Heads, vc.MLPWidth, vc.Layers, m.Config.EmbedDim
	dh := D / H
	p := at(t, tr, clip.Point{Layer: layer, Site: clip.MLPPost}) // [T, N]
	W := w64(vt.Blocks[layer].MLP.CProj.W.Data().F32())          // [D, N]
	bOut := w64(vt.Blocks[layer].MLP.CProj.B.Data().F32())
	gp, bp := w64(vt.LNPost.W.Data().F32()), w64(vt.LNPost.B.Data().F32())
	proj := w64(vt.Proj.Data().F32())
	muP := at(t, tr, clip.Point{Site: clip.LNPostMean})[0]
	sgP := at(t, tr, clip.Point{Site: clip.LNPostScale})[0]
	phi := make([]float64, N*d)
	for lp := layer + 1; lp < L; lp++ {
		b := vt.Blocks[lp]
		g1, b1 := w64(b.LN1.W.Data().F32()), w64(b.LN1.B.Data().F32())
		inW, inB := w64(b.Attn.InProj.W.Data().F32()), w64(b.Attn.InProj.B.Data().F32())
		WO, bO := w64(b.Attn.OutProj.W.Data().F32()), w64(b.Attn.OutProj.B.Data().F32())
		mu1 := at(t, tr, clip.Point{Layer: lp, Site: clip.LN1Mean})
		sg1 := at(t, tr, clip.Point{Layer: lp, Site: clip.LN1Scale})
		A := at(t, tr, clip.Point{Layer: lp, Site: clip.AttnPattern}) // [H*T, T]
		K1 := float64((1 + 2*lp) * N)
		K2 := float64((1 + 2*lp) * (1 + 2*L) * H * N)
		for h := range H {
			for n := range N {
				z := make([]float64, dh)
				for tk := range T {
					// 1. c = p w_n + b_out/N; 2. ln_1 with frozen statistics.
					x := make([]float64, D)
					for i := range D {
						c := p[tk*N+n]*W[i*N+n] + shared*bOut[i]/float64(N)
						x[i] = g1[i]*(c-shared*mu1[tk]/K1)/sg1[tk] + shared*b1[i]/K1
					}
					// 3. values of head h, weighted by the CLS query's attention.
					a := A[(h*T+0)*T+tk]
					for j := range dh {
						v := shared * inB[2*D+h*dh+j] / K1
						for i := range D {
							v += inW[(2*D+h*dh+j)*D+i] * x[i]
						}
						z[j] += a * v
					}
				}
				// 3. out_proj; 4. ln_post at CLS and proj.
				e := make([]float64, d)
				for o := range D {
					ov := shared * bO[o] / (K1 * float64(H))
					for j := range dh {
						ov += WO[o*D+h*dh+j] * z[j]
					}
					y := gp[o]*(ov-shared*muP/K2)/sgP + shared*bp[o]/K2
					for j := range d {
						e[j] += y * proj[o*d+j]
					}
				}
				for j := range d {
					phi[n*d+j] += e[j]
				}
			}
		}
	}
	if !raw {
		s := 100 / norm64(f)
		for i := range phi {
			phi[i] *= s
		}
	}
	return phi
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

func encodePNG(w io.Writer, img image.Image) error { return png.Encode(w, img) }
