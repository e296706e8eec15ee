package lens

import (
	"context"
	"fmt"
	"image"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/kernels"
	"github.com/neuronlens/neuronlens/internal/parallel"
)

// SecondOrder returns the second-order effects of every neuron of MLP block
// layer on the image embedding of img: an N×d matrix, one row per neuron
// (METHOD.md §1). img is preprocessed with [clip.Preprocess].
//
// Units: by default the paper scale of the reference implementation, every
// effect multiplied by 100/‖f(I)‖ with f(I) the un-normalized embedding, and
// each row includes the shared term C(I) (the bias and LayerNorm-mean terms
// split equally among the N neurons):
//
//	φ_n(I) = 100/(‖f(I)‖ σ_post) Σ_{l'>layer, h} α_n^{l',h}(I) u_n^{l',h} + C(I)
//
// [RawScale] gives raw embedding units (the factor 100/‖f(I)‖ dropped), and
// [WithoutSharedTerm] drops C(I). For the last block, which has no later
// attention heads, every effect is zero (the reference fails there).
//
// The u vectors are computed once per model and layer and cached on m
// ([clip.Model.Derived]): about N·(L-1-layer)·H·d float32 (151 MB for
// ViT-B/32, layer 9). Errors: nil model, no image tower, layer out of range,
// preprocessing errors.
func SecondOrder(m *clip.Model, img image.Image, layer int, opts ...Option) (*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	px, err := clip.Preprocess(img, m.Config.Vision.ImageSize)
	if err != nil {
		return nil, err
	}
	return SecondOrderPixels(m, px, layer, opts...)
}

// SecondOrderPixels is [SecondOrder] for pixels [3, S, S] already
// preprocessed as [clip.Preprocess] does.
func SecondOrderPixels(m *clip.Model, pixels []float32, layer int, opts ...Option) (*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	u, err := secondOf(m, layer)
	if err != nil {
		return nil, err
	}
	c := newCapture(m, []int{layer})
	if err := c.run(context.Background(), m, pixels); err != nil {
		return nil, err
	}
	var r record
	u.record(&r, c, cfg)
	return u.effects(&r, cfg.workers), nil
}

// SecondOrderBatch is [SecondOrder] for many images, spread over the
// workers ([WithWorkers]); out[i] is what SecondOrder returns for imgs[i].
// ctx cancels between images; the first error is returned. [WithDevice]
// ("cuda") runs the forward passes and the products Σ_k α_n^k u_n^k on the
// GPU, in batches.
func SecondOrderBatch(ctx context.Context, m *clip.Model, imgs []image.Image, layer int, opts ...Option) ([]*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	S := m.Config.Vision.ImageSize
	return secondBatch(ctx, m, len(imgs), layer, opts, func(i int) ([]float32, error) {
		return clip.Preprocess(imgs[i], S)
	})
}

// SecondOrderPixelsBatch is [SecondOrderBatch] for preprocessed pixels.
func SecondOrderPixelsBatch(ctx context.Context, m *clip.Model, pixels [][]float32, layer int, opts ...Option) ([]*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	return secondBatch(ctx, m, len(pixels), layer, opts, func(i int) ([]float32, error) { return pixels[i], nil })
}

func secondBatch(ctx context.Context, m *clip.Model, n, layer int, opts []Option, px func(int) ([]float32, error)) ([]*mat.Dense, error) {
	cfg := newConfig(opts)
	dev, err := openAccel(m, cfg)
	if err != nil {
		return nil, err
	}
	u, err := secondOf(m, layer)
	if err != nil {
		if dev != nil {
			dev.close()
		}
		return nil, err
	}
	if dev != nil {
		defer dev.close()
		return deviceSecondBatch(ctx, m, dev, u, n, cfg, px)
	}
	out := make([]*mat.Dense, n)
	caps := make([]*capture, cfg.workers)
	err = parallel.For(ctx, n, cfg.workers, func(w, i int) error {
		if caps[w] == nil {
			caps[w] = newCapture(m, []int{layer})
		}
		p, err := px(i)
		if err == nil {
			err = caps[w].run(ctx, m, p)
		}
		if err != nil {
			return fmt.Errorf("lens: image %d: %w", i, err)
		}
		var r record
		u.record(&r, caps[w], cfg)
		out[i] = u.effects(&r, 1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// record is the alpha-space state of one image for one layer: the effects
// are φ_n = Σ_k A[n*K+k] u_n^k + C.
type record struct {
	A []float32 // [N, K]: s·α_n^k, with s = scale/σ_post
	C []float32 // [d]: the shared term C(I), zero without it
	// One and Mu [K] are the image's per-head sums Σ_t A[0,t]/σ_1[t] and
	// Σ_t A[0,t]·μ_1[t]/σ_1[t] (cuda.SecondOrder's One and Mu), set with
	// the shared term.
	One, Mu []float64
}

// record fills r from a capture, in the units cfg asks for.
func (u *secondU) record(r *record, c *capture, cfg *config) {
	N, K, T, H, d := u.N, u.K, u.T, u.H, u.d
	r.A = grow(r.A, N*K)
	r.C = grow(r.C, d)
	clear(r.C)
	if K == 0 {
		return
	}
	scale := 1.0
	if !cfg.raw {
		scale = 100 / c.norm()
	}
	sp := float64(c.sigPost)
	// Q [K, T]: Q[k,t] = A^{l',h}[0,t] / σ_1^{l'}[t].
	Q := make([]float32, K*T)
	for k := range K {
		lp, h := u.layer+1+k/H, k%H
		for t := range T {
			Q[k*T+t] = c.cls[lp][h*T+t] / c.sig1[lp][t]
		}
	}
	// A = s·Pᵀ Qᵀ: [N, T]·[T, K].
	kernels.Gemm(true, true, float32(scale/sp), mat32(T, N, N, c.post[u.layer]), mat32(K, T, T, Q), 0, mat32(N, K, K, r.A))
	if cfg.noShared {
		return
	}
	acc := make([]float64, d)
	r.One, r.Mu = grow(r.One, K), grow(r.Mu, K)
	for k := range K {
		lp := u.layer + 1 + k/H
		var a1, a2 float64
		for t := range T {
			q := float64(Q[k*T+t])
			a1 += q
			a2 += q * float64(c.mu1[lp][t])
		}
		r.One[k], r.Mu[k] = a1, a2
		c1, c2 := a1/sp, -a2*u.invK1[k]/sp
		p1, p2, p3 := u.P1[k*d:(k+1)*d], u.P2[k*d:(k+1)*d], u.P3[k*d:(k+1)*d]
		for j := range d {
			acc[j] += c1*p1[j] + c2*p2[j] + p3[j]/sp
		}
	}
	mp := float64(c.muPost) / sp
	for j := range d {
		acc[j] += u.sumInvK2 * (u.projB[j] - mp*u.projG[j])
		r.C[j] = float32(scale * acc[j])
	}
}

// effects expands a record into the N×d matrix of effects, using up to
// workers goroutines over blocks of neurons.
func (u *secondU) effects(r *record, workers int) *mat.Dense {
	N, K, d := u.N, u.K, u.d
	out := make([]float64, N*d)
	blocks := min(workers, N)
	parallelBlocks(N, blocks, func(lo, hi int) {
		row := make([]float32, d)
		for n := lo; n < hi; n++ {
			u.effectRow(row, n, r.A[n*K:(n+1)*K], r.C)
			for j, v := range row {
				out[n*d+j] = float64(v)
			}
		}
	})
	return mat.NewDense(N, d, out)
}

// effectRow writes neuron n's effect C + Σ_k a_k u_n^k [d] into row, a the
// neuron's K alpha-space coefficients. One row at a time, K scaled rows
// added: a GEMM of one row would pack each U_n (48 kB for ViT-B/32) only to
// read it once.
func (u *secondU) effectRow(row []float32, n int, a, C []float32) {
	K, d := u.K, u.d
	copy(row[:d], C)
	y := blas32.Vector{N: d, Inc: 1, Data: row}
	for k, x := range a[:K] {
		blas32.Axpy(x, blas32.Vector{N: d, Inc: 1, Data: u.U[(n*K+k)*d : (n*K+k+1)*d]}, y)
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
