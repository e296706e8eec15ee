package lens

import (
	"context"
	"image"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/kernels"
)

// firstU is the image-independent part of the first-order lens of a layer.
type firstU struct {
	N, d         int
	U            []float32 // [N, d]: projᵀ(γ_post ⊙ w_n) at U[n*d+j]
	bOut         []float64 // projᵀ(γ_post ⊙ b_out) [d]
	projG, projB []float64
	K            float64 // (1+2L)·N, the reference's share of ln_post's mean and bias
}

func firstOf(m *clip.Model, layer int) (*firstU, error) {
	v, err := m.Derived(firstKey{layer}, func() (any, error) {
		vc, vt := m.Config.Vision, m.Visual
		D, N, d := vc.Width, vc.MLPWidth, m.Config.EmbedDim
		gp, bp := vt.LNPost.W.Data().F32(), vt.LNPost.B.Data().F32()
		proj := vt.Proj.Data().F32()
		Pg := make([]float32, D*d)
		for i := range D {
			for j := range d {
				Pg[i*d+j] = gp[i] * proj[i*d+j]
			}
		}
		f := &firstU{N: N, d: d, U: make([]float32, N*d), K: float64((1 + 2*vc.Layers) * N)}
		W := vt.Blocks[layer].MLP.CProj.W.Data().F32()
		kernels.Gemm(true, false, 1, mat32(D, N, N, W), mat32(D, d, d, Pg), 0, mat32(N, d, d, f.U))
		gb := make([]float64, D)
		for i, b := range vt.Blocks[layer].MLP.CProj.B.Data().F32() {
			gb[i] = float64(gp[i]) * float64(b)
		}
		f.bOut = projT(proj, gb, d)
		f.projG, f.projB = projT(proj, toF64(gp), d), projT(proj, toF64(bp), d)
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*firstU), nil
}

// FirstOrder returns the first-order (direct) effects of every neuron of
// MLP block layer: the neuron's output at the CLS token carried straight
// through ln_post (statistics frozen) and proj, an N×d matrix, one row per
// neuron, in the same units as [SecondOrder]:
//
//	ψ_n(I) = 100/‖f(I)‖ · projᵀ[γ_post ⊙ (p[0,n] w_n + b_out/N - μ_post/K)/σ_post + β_post/K]
//
// with K = (1+2L)·N, the reference's equal split of ln_post's mean and bias
// over the 1+2L residual components and the N neurons. [RawScale] drops the
// 100/‖f(I)‖ factor; [WithoutSharedTerm] keeps only p[0,n] projᵀ(γ_post ⊙ w_n)/σ_post.
// Errors as for SecondOrder.
func FirstOrder(m *clip.Model, img image.Image, layer int, opts ...Option) (*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	px, err := clip.Preprocess(img, m.Config.Vision.ImageSize)
	if err != nil {
		return nil, err
	}
	return FirstOrderPixels(m, px, layer, opts...)
}

// FirstOrderPixels is [FirstOrder] for preprocessed pixels [3, S, S].
func FirstOrderPixels(m *clip.Model, pixels []float32, layer int, opts ...Option) (*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	fu, err := firstOf(m, layer)
	if err != nil {
		return nil, err
	}
	c := newCapture(m, []int{layer})
	if err := c.run(context.Background(), m, pixels); err != nil {
		return nil, err
	}
	N, d := fu.N, fu.d
	scale := 1.0
	if !cfg.raw {
		scale = 100 / c.norm()
	}
	sp, mp := float64(c.sigPost), float64(c.muPost)
	C := make([]float64, d)
	if !cfg.noShared {
		for j := range d {
			C[j] = scale * (fu.bOut[j]/(float64(N)*sp) - mp/(fu.K*sp)*fu.projG[j] + fu.projB[j]/fu.K)
		}
	}
	out := make([]float64, N*d)
	p0 := c.post[layer][:N] // token 0
	for n := range N {
		s := scale / sp * float64(p0[n])
		for j := range d {
			out[n*d+j] = s*float64(fu.U[n*d+j]) + C[j]
		}
	}
	return mat.NewDense(N, d, out), nil
}
