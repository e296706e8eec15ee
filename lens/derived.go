package lens

import (
	"math"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/kernels"
)

func sqrt(x float64) float64 { return math.Sqrt(x) }

// Keys of the data cached on a model with [clip.Model.Derived].
type (
	secondKey struct{ layer int }
	gramKey   struct{ layer int }
	firstKey  struct{ layer int }
)

// secondU is the image-independent part of the second-order lens of one MLP
// layer l: one u vector per neuron and later (block, head) pair, and the
// vectors from which C(I) is assembled. k = (l' - l - 1)·H + h indexes the
// K = (L-1-l)·H pairs.
type secondU struct {
	layer, N, K, D, d, T, H int

	// U is [N, K, d], row-major: u_n^k[j] at U[(n*K+k)*d+j], with
	//	u_n^k = projᵀ [γ_post ⊙ W_O^h W_V^h (γ_1^{l'} ⊙ w_n)].
	U []float32

	// P1, P2, P3 are [K, d] (float64, row-major), the shared-term vectors
	//	P1_k = projᵀ[γ_post ⊙ W_O^h W_V^h (γ_1 ⊙ b_out)] / N
	//	P2_k = projᵀ[γ_post ⊙ W_O^h W_V^h γ_1]
	//	P3_k = projᵀ[γ_post ⊙ (W_O^h (W_V^h β_1 + b_V^h) / K1 + b_O / (K1 H))]
	P1, P2, P3 []float64
	invK1      []float64 // [K]: 1/K1 = 1/((1+2l')N)
	sumInvK2   float64   // Σ_k 1/K2, K2 = (1+2l')(1+2L)HN
	projG      []float64 // projᵀ γ_post [d]
	projB      []float64 // projᵀ β_post [d]
}

// secondOf returns the cached secondU of layer on m, building it on first use.
func secondOf(m *clip.Model, layer int) (*secondU, error) {
	v, err := m.Derived(secondKey{layer}, func() (any, error) { return buildSecond(m, layer), nil })
	if err != nil {
		return nil, err
	}
	return v.(*secondU), nil
}

func buildSecond(m *clip.Model, l int) *secondU {
	vc := m.Config.Vision
	vt := m.Visual
	L, H, N, D, d := vc.Layers, vc.Heads, vc.MLPWidth, vc.Width, m.Config.EmbedDim
	dh := D / H
	K := (L - 1 - l) * H
	s := &secondU{layer: l, N: N, K: K, D: D, d: d, T: vc.Tokens(), H: H,
		U: make([]float32, N*K*d), P1: make([]float64, K*d), P2: make([]float64, K*d), P3: make([]float64, K*d),
		invK1: make([]float64, K)}
	gp, bp := vt.LNPost.W.Data().F32(), vt.LNPost.B.Data().F32()
	proj := vt.Proj.Data().F32() // [D, d]
	s.projG, s.projB = projT(proj, toF64(gp), d), projT(proj, toF64(bp), d)

	W := vt.Blocks[l].MLP.CProj.W.Data().F32() // [D, N]
	bOut := vt.Blocks[l].MLP.CProj.B.Data().F32()
	Pg := make([]float32, D*d) // diag(γ_post)·proj [D, d]
	for i := range D {
		for j := range d {
			Pg[i*d+j] = gp[i] * proj[i*d+j]
		}
	}
	Wg := make([]float32, D*N)
	VT := make([]float32, N*D)
	MT := make([]float32, D*d)
	for lp := l + 1; lp < L; lp++ {
		b := vt.Blocks[lp]
		g1, b1 := b.LN1.W.Data().F32(), b.LN1.B.Data().F32()
		inW, inB := b.Attn.InProj.W.Data().F32(), b.Attn.InProj.B.Data().F32()
		WV, bV := inW[2*D*D:3*D*D], inB[2*D:3*D] // [D, D] (out, in), [D]
		WO, bO := b.Attn.OutProj.W.Data().F32(), b.Attn.OutProj.B.Data().F32()
		for i := range D {
			for n := range N {
				Wg[i*N+n] = g1[i] * W[i*N+n]
			}
		}
		// VT [N, D] = (diag(γ_1) W)ᵀ W_Vᵀ: row n, column block h is W_V^h (γ_1 ⊙ w_n).
		kernels.Gemm(true, true, 1, mat32(D, N, N, Wg), mat32(D, D, D, WV), 0, mat32(N, D, D, VT))
		// MT [D, d] = W_Oᵀ diag(γ_post) proj: row block h maps head h's z to e.
		kernels.Gemm(true, false, 1, mat32(D, D, D, WO), mat32(D, d, d, Pg), 0, mat32(D, d, d, MT))
		k1 := float64((1 + 2*lp) * N)
		k2 := float64((1 + 2*lp) * (1 + 2*L) * H * N)
		g1b := make([]float64, D)
		g164 := toF64(g1)
		for i := range D {
			g1b[i] = float64(g1[i]) * float64(bOut[i])
		}
		for h := range H {
			k := (lp-l-1)*H + h
			kernels.Gemm(false, false, 1,
				mat32(N, dh, D, VT[h*dh:]), mat32(dh, d, d, MT[h*dh*d:]),
				0, mat32(N, d, K*d, s.U[k*d:]))
			s.invK1[k] = 1 / k1
			s.sumInvK2 += 1 / k2
			zero := make([]float64, D)
			head := func(dst, vec []float64, zb []float64, ob []float64) {
				headVec(dst, vec, zb, ob, WV, WO, gp, proj, h, dh, D, d)
			}
			head(s.P1[k*d:(k+1)*d], g1b, nil, zero)
			for j := range d {
				s.P1[k*d+j] /= float64(N)
			}
			head(s.P2[k*d:(k+1)*d], g164, nil, zero)
			zb := make([]float64, dh)
			for i := range dh {
				zb[i] = float64(bV[h*dh+i])
			}
			ob := make([]float64, D)
			for i := range D {
				ob[i] = float64(bO[i]) / float64(H)
			}
			// (W_V^h β_1 + b_V^h)/K1 and b_O/(K1 H): apply 1/K1 after.
			head(s.P3[k*d:(k+1)*d], toF64(b1), zb, ob)
			for j := range d {
				s.P3[k*d+j] /= k1
			}
		}
	}
	return s
}

// headVec writes into dst [d] projᵀ[γ_post ⊙ (W_O^h (W_V^h vec + zb) + ob)]
// in float64; zb [dh] may be nil.
func headVec(dst, vec, zb, ob []float64, WV, WO, gp, proj []float32, h, dh, D, d int) {
	z := make([]float64, dh)
	for i := range dh {
		row := WV[(h*dh+i)*D : (h*dh+i+1)*D]
		var acc float64
		for j, w := range row {
			acc += float64(w) * vec[j]
		}
		if zb != nil {
			acc += zb[i]
		}
		z[i] = acc
	}
	y := make([]float64, D)
	for o := range D {
		row := WO[o*D+h*dh : o*D+(h+1)*dh]
		acc := ob[o]
		for i, w := range row {
			acc += float64(w) * z[i]
		}
		y[o] = acc * float64(gp[o])
	}
	clear(dst)
	for o := range D {
		for j := range d {
			dst[j] += y[o] * float64(proj[o*d+j])
		}
	}
}

// projT returns projᵀ v [d] for proj [D, d] and v [D].
func projT(proj []float32, v []float64, d int) []float64 {
	out := make([]float64, d)
	for o, x := range v {
		for j := range d {
			out[j] += x * float64(proj[o*d+j])
		}
	}
	return out
}

func toF64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func mat32(rows, cols, stride int, data []float32) kernels.Matrix {
	return kernels.Matrix{Rows: rows, Cols: cols, Stride: stride, Data: data}
}

// gramOf returns the cached Gram matrices G_n = U_n U_nᵀ of layer, [N, K, K]
// float64: G_n[a][b] at G[(n*K+a)*K+b].
func gramOf(m *clip.Model, layer int) ([]float64, error) {
	v, err := m.Derived(gramKey{layer}, func() (any, error) {
		s, err := secondOf(m, layer)
		if err != nil {
			return nil, err
		}
		K, d := s.K, s.d
		G := make([]float64, s.N*K*K)
		g32 := make([]float32, K*K)
		for n := range s.N {
			if K == 0 {
				break
			}
			Un := mat32(K, d, d, s.U[n*K*d:])
			kernels.Gemm(false, true, 1, Un, Un, 0, mat32(K, K, K, g32))
			for i, v := range g32 {
				G[n*K*K+i] = float64(v)
			}
		}
		return G, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]float64), nil
}
