package segment

import (
	"fmt"

	"github.com/neuronlens/neuronlens/clip"
)

// AttentionMap is the raw-attention baseline: the CLS query's attention to
// each patch in one block, averaged over heads,
//
//	grid[t−1] = (1/H) Σ_h A^h[0, t]    for t = 1 .. T−1
//
// pattern is that block's post-softmax attention [H, T, T], row-major
// (head h, query q, key k at (h*T+q)*T+k), as at [clip.AttnPattern]. The
// result is the patch grid [g, g], g² = T−1. It panics if
// len(pattern) != H·T·T.
func AttentionMap(pattern []float32, H, T int) []float32 {
	if len(pattern) != H*T*T {
		panic(fmt.Sprintf("segment: AttentionMap: pattern of %d values, want [%d %d %d]", len(pattern), H, T, T))
	}
	grid := make([]float32, T-1)
	inv := 1 / float32(H)
	for h := range H {
		row := pattern[h*T*T : h*T*T+T]
		for t := 1; t < T; t++ {
			grid[t-1] += inv * row[t]
		}
	}
	return grid
}

// textSpanPoints are the trace points [TextSpanMap] reads in each block.
var textSpanSites = []clip.Site{clip.ResidPre, clip.LN1Mean, clip.LN1Scale, clip.AttnPattern}

// TextSpanPoints returns the trace points that [TextSpanMap] needs for the
// given blocks.
func TextSpanPoints(layers []int) []clip.Point {
	pts := []clip.Point{{Site: clip.LNPostMean}, {Site: clip.LNPostScale}}
	for _, l := range layers {
		for _, s := range textSpanSites {
			pts = append(pts, clip.Point{Layer: l, Site: s})
		}
	}
	return pts
}

// TextSpanMap is the TextSpan baseline (Gandelsman et al. 2024, the
// head-based method the paper compares with): each patch token's direct
// contribution, through the attention heads of the given blocks, to the
// image embedding along the direction v [d].
//
// In block l, head h moves A^{l,h}[0,t]·W_O^h (W_V^h x̂_t + b_V^h) from
// patch t into the CLS token, with x̂_t = ln_1(x_t) of that block, W_V^h
// the head's rows of the value projection and W_O^h its columns of
// out_proj; out_proj's bias b_O is shared equally over the T tokens and H
// heads. The sum of all these terms, of the other heads' and the MLPs',
// reaches f = proj^T ln_post(x_L[CLS]); with ln_post's mean μ and σ frozen
// at the image's values and shared equally over the K = 2L+1 residual
// components (the embedding, L attention and L MLP outputs) and the T·H
// terms of each attention output, the term of (l, h, t) is
//
//	e^{l,h}_t = proj^T [ γ ⊙ (A^{l,h}[0,t]·W_O^h(W_V^h x̂_t + b_V^h) + b_O/(TH) − μ/(KTH)) / σ + β/(KTH) ]
//
// (γ, β: ln_post's scale and shift). The map is
//
//	grid[t−1] = Σ_{l ∈ layers} Σ_h <e^{l,h}_t, v>    for t = 1 .. T−1
//
// computed as Σ_h A^{l,h}[0,t]·(s^{l,h}·x̂_t + r^{l,h}·b_V^h)/σ plus terms
// constant in t, with g = γ ⊙ (proj v), r^{l,h} = (W_O^h)ᵀ g and
// s^{l,h} = (W_V^h)ᵀ r^{l,h}: O(H·D) per token and block after O(D²) per
// block. TextSpan passes v = w_c − mean over classes of w_c' (a classifier
// row minus the mean row) and divides by ‖f‖; that positive factor is left
// out here, as it changes no heatmap.
//
// tr must hold the points of [TextSpanPoints] from the run of m on the
// image. It returns an error if a point is missing or a layer is out of
// range, and panics if len(v) is not m's embedding dimension.
func TextSpanMap(m *clip.Model, tr *clip.Trace, layers []int, v []float32) ([]float32, error) {
	w, err := newSpanWeights(m, layers, v)
	if err != nil {
		return nil, err
	}
	return w.apply(m, tr)
}

// spanWeights is the image-independent part of [TextSpanMap] for one
// direction v: per block, s^{l,h} [H, D], r^{l,h}·b_V^h [H] and g·b_O.
type spanWeights struct {
	layers []int
	s      [][]float64 // per layer, [H*D]
	bv     [][]float64 // per layer, [H]
	gbo    []float64   // per layer
	sumG   float64     // Σ g
	betaU  float64     // β·(proj v)
}

func newSpanWeights(m *clip.Model, layers []int, v []float32) (*spanWeights, error) {
	c := m.Config.Vision
	vt := m.Visual
	if vt == nil {
		return nil, fmt.Errorf("segment: model has no image tower")
	}
	D, H, d := c.Width, c.Heads, m.Config.EmbedDim
	if len(v) != d {
		panic(fmt.Sprintf("segment: TextSpanMap: direction of %d values, want %d", len(v), d))
	}
	dh := D / H
	// g = γ ⊙ (proj v) [D]; proj is [D, d].
	proj := vt.Proj.Data().F32()
	gamma, beta := vt.LNPost.W.Data().F32(), vt.LNPost.B.Data().F32()
	w := &spanWeights{layers: layers}
	g := make([]float64, D)
	for j := range D {
		var u float64
		for k, pv := range proj[j*d : (j+1)*d] {
			u += float64(pv) * float64(v[k])
		}
		g[j] = float64(gamma[j]) * u
		w.sumG += g[j]
		w.betaU += float64(beta[j]) * u
	}
	r := make([]float64, D)
	for _, l := range layers {
		if l < 0 || l >= c.Layers {
			return nil, fmt.Errorf("segment: TextSpanMap: layer %d out of 0..%d", l, c.Layers-1)
		}
		b := vt.Blocks[l]
		wo := b.Attn.OutProj.W.Data().F32() // [D, D] (out, in)
		bo := b.Attn.OutProj.B.Data().F32()
		win := b.Attn.InProj.W.Data().F32() // [3D, D]; values are rows 2D..3D
		bin := b.Attn.InProj.B.Data().F32()
		// r = W_Oᵀ g (all heads at once: r[h*dh+i] = Σ_j W_O[j, h*dh+i] g_j).
		clear(r)
		var gbo float64
		for j := range D {
			gj := g[j]
			gbo += gj * float64(bo[j])
			for i, x := range wo[j*D : (j+1)*D] {
				r[i] += float64(x) * gj
			}
		}
		// s^h = (W_V^h)ᵀ r^h and the value-bias term r^h·b_V^h.
		s := make([]float64, H*D)
		bv := make([]float64, H)
		for h := range H {
			sh := s[h*D : (h+1)*D]
			for i := range dh {
				ri := r[h*dh+i]
				row := 2*D + h*dh + i
				bv[h] += ri * float64(bin[row])
				for k, x := range win[row*D : (row+1)*D] {
					sh[k] += float64(x) * ri
				}
			}
		}
		w.s, w.bv, w.gbo = append(w.s, s), append(w.bv, bv), append(w.gbo, gbo)
	}
	return w, nil
}

// apply evaluates the map on one traced image.
func (w *spanWeights) apply(m *clip.Model, tr *clip.Trace) ([]float32, error) {
	c := m.Config.Vision
	D, H, T := c.Width, c.Heads, c.Tokens()
	K := float64(2*c.Layers + 1)
	mu, ok1 := tr.At(clip.Point{Site: clip.LNPostMean})
	sig, ok2 := tr.At(clip.Point{Site: clip.LNPostScale})
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("segment: TextSpanMap: the trace lacks ln_post statistics")
	}
	sigma := float64(sig.Data[0])
	// Per (l, t, h): (−μ Σg/σ + β·u)/(KTH); per (l, t), summed over heads: H times that.
	perLayer := (-float64(mu.Data[0])*w.sumG/sigma + w.betaU) / (K * float64(T))
	grid := make([]float64, T-1)
	xhat := make([]float64, D)
	for li, l := range w.layers {
		var acts [4]*clip.Act
		for i, site := range textSpanSites {
			p := clip.Point{Layer: l, Site: site}
			a, ok := tr.At(p)
			if !ok {
				return nil, fmt.Errorf("segment: TextSpanMap: the trace lacks %v", p)
			}
			acts[i] = a
		}
		resid, lnMean, lnScale, pattern := acts[0].Data, acts[1].Data, acts[2].Data, acts[3].Data
		b := m.Visual.Blocks[l]
		g1, b1 := b.LN1.W.Data().F32(), b.LN1.B.Data().F32()
		s, bv := w.s[li], w.bv[li]
		constant := w.gbo[li]/(float64(T)*sigma) + perLayer
		for t := 1; t < T; t++ {
			x := resid[t*D : (t+1)*D]
			mt, inv := float64(lnMean[t]), 1/float64(lnScale[t])
			for k := range D {
				xhat[k] = float64(g1[k])*(float64(x[k])-mt)*inv + float64(b1[k])
			}
			var sum float64
			for h := range H {
				a := float64(pattern[h*T*T+t])
				if a == 0 {
					continue
				}
				var dot float64
				for k, sv := range s[h*D : (h+1)*D] {
					dot += sv * xhat[k]
				}
				sum += a * (dot + bv[h])
			}
			grid[t-1] += sum/sigma + constant
		}
	}
	out := make([]float32, T-1)
	for i, x := range grid {
		out[i] = float32(x)
	}
	return out, nil
}
