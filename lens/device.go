package lens

import (
	"context"
	"fmt"
	"sync"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/clip/cuda"
	"github.com/neuronlens/neuronlens/internal/kernels"
)

// WithDevice picks where [Analyze], [SecondOrderBatch] and
// [SecondOrderPixelsBatch] run their forward passes and the lens's
// per-image work: "cpu" or "cuda" ("gpu" is an alias, any case). The empty
// name, and the default, is the value of NEURONLENS_DEVICE, and an empty or
// unset variable means "cpu".
//
// On "cuda" the images go through the GPU in batches ([cuda.Encoder]): the
// traces the lens reads stay on the device, the alphas α_n^k(I) and their
// image-independent sums are computed there (and, for the batch forms of
// SecondOrder, their products with the u vectors), and only the per-image
// results come back. Analyze turns them into the same alpha-space records
// as on the CPU, so the cache, the accumulators and phases 2 and 3 are the
// same; results agree with the CPU's to float32 rounding (1e-4 relative is
// the tested bar), not bit for bit. With several layers, each layer has its
// own forward pass on the device.
//
// Asking for "cuda" in a binary built without the cuda tag returns an
// error wrapping [cuda.ErrNotBuilt]; on a machine without a usable GPU, one
// wrapping [cuda.ErrUnavailable]. There is no silent fall-back to the CPU.
// An unknown name is an error too. Other calls of this package ignore the
// option and run on the CPU.
func WithDevice(name string) Option { return func(c *config) { c.device = name } }

// WithEncoder runs on the GPU through enc, an encoder of the same model
// made by the caller (so that its weights are uploaded once for many
// calls); it implies WithDevice("cuda"). The caller closes enc. Without it,
// each call opens an encoder and closes it before returning.
func WithEncoder(enc *cuda.Encoder) Option { return func(c *config) { c.enc = enc } }

// deviceOf resolves the device of cfg: cuda.CPU or cuda.CUDA.
func deviceOf(cfg *config) (string, error) {
	if cfg.enc != nil {
		return cuda.CUDA, nil
	}
	dev, err := cuda.ParseDevice(cfg.device)
	if err != nil {
		return "", fmt.Errorf("lens: %w", err)
	}
	return dev, nil
}

// accel is the device side of the lens: one batch of images through the
// forward pass, with the second-order quantities of one layer. With u, the
// effects' products too (uploading u on first use). A non-nil dst is
// filled and returned, its arrays reused as cuda.Encoder.SecondOrderProj
// does.
type accel interface {
	secondOrder(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, u *secondU) (*cuda.SecondOrder, error)
	batch() int // images per call that keep the device busy
	close()
}

// projAccel is an accel that also computes the records' projection
// (deviceBasis) on the device.
type projAccel interface {
	secondOrderProj(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, bs *deviceBasis) (*cuda.SecondOrder, error)
}

// hostAccel is an accel that offers page-locked host memory, which it
// moves to and from the device without a copy of its own (pixels, and a
// SecondOrder destination's Alpha and Proj). pageLocked returns nil when
// it cannot; freePageLocked releases what pageLocked returned.
type hostAccel interface {
	pageLocked(n int) []float32
	freePageLocked(x []float32)
}

// openAccel returns the accelerator for m, or nil for the CPU.
func openAccel(m *clip.Model, cfg *config) (accel, error) {
	if cfg.accel != nil { // tests
		return cfg.accel, nil
	}
	dev, err := deviceOf(cfg)
	if err != nil || dev == cuda.CPU {
		return nil, err
	}
	if cfg.enc != nil {
		if cfg.enc.Model() != m {
			return nil, fmt.Errorf("lens: WithEncoder: the encoder holds another model")
		}
		return &encAccel{enc: cfg.enc, us: map[int]*cuda.UVectors{}, ps: map[int]*cuda.Projection{}}, nil
	}
	enc, err := cuda.NewImageEncoder(m)
	if err != nil {
		src := "WithDevice"
		if cfg.device == "" {
			src = cuda.DeviceEnv
		}
		return nil, fmt.Errorf("lens: device cuda (from %s): %w", src, err)
	}
	return &encAccel{enc: enc, own: true, us: map[int]*cuda.UVectors{}, ps: map[int]*cuda.Projection{}}, nil
}

// encAccel is accel on a cuda.Encoder.
type encAccel struct {
	enc *cuda.Encoder
	own bool
	mu  sync.Mutex
	us  map[int]*cuda.UVectors
	ps  map[int]*cuda.Projection
}

func (a *encAccel) batch() int { return max(a.enc.MaxBatch(), 1) }

func (a *encAccel) secondOrder(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, u *secondU) (*cuda.SecondOrder, error) {
	var uv *cuda.UVectors
	if u != nil && u.K > 0 {
		a.mu.Lock()
		uv = a.us[layer]
		if uv == nil {
			var err error
			if uv, err = a.enc.UploadU(layer, u.U); err != nil {
				a.mu.Unlock()
				return nil, fmt.Errorf("lens: cuda: %w", err)
			}
			a.us[layer] = uv
		}
		a.mu.Unlock()
	}
	so, err := a.enc.SecondOrderProj(ctx, dst, pixels, layer, uv, nil)
	if err != nil {
		return nil, fmt.Errorf("lens: cuda: %w", err)
	}
	return so, nil
}

func (a *encAccel) secondOrderProj(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, bs *deviceBasis) (*cuda.SecondOrder, error) {
	var p *cuda.Projection
	if bs.P != nil {
		a.mu.Lock()
		p = a.ps[layer]
		if p == nil {
			var err error
			if p, err = a.enc.UploadProjection(layer, bs.P); err != nil {
				a.mu.Unlock()
				return nil, fmt.Errorf("lens: cuda: %w", err)
			}
			a.ps[layer] = p
		}
		a.mu.Unlock()
	}
	so, err := a.enc.SecondOrderProj(ctx, dst, pixels, layer, nil, p)
	if err != nil {
		return nil, fmt.Errorf("lens: cuda: %w", err)
	}
	return so, nil
}

func (a *encAccel) pageLocked(n int) []float32 {
	h, err := a.enc.PageLocked(n)
	if err != nil {
		return nil // ordinary memory will do, through the encoder's own copy
	}
	return h
}

func (a *encAccel) freePageLocked(x []float32) { a.enc.FreePageLocked(x) }

func (a *encAccel) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, uv := range a.us {
		uv.Free()
	}
	clear(a.us)
	for _, p := range a.ps {
		p.Free()
	}
	clear(a.ps)
	if a.own {
		a.enc.Close()
	}
}

// deviceBasis turns the device's per-image sums into the shared term C(I)
// and W = U_n C(I) of a layer without touching the u vectors per image.
// C(I) is linear in r = 2K+3 per-image coefficients (METHOD.md §1 and
// secondU.record):
//
//	C = Σ_k a_k P1_k + Σ_k b_k P2_k + c ΣP3 + e projB + g projG
//	a_k = s·One_k/σ,  b_k = -s·Mu_k/(K1_k σ),  c = s/σ,  e = s·Σ1/K2,  g = -e·μ_post/σ
//
// with s the scale, σ = σ_post. Stacking those vectors as the rows of Q
// [r, d], C = Qᵀ coef and W = X coef with X = U Qᵀ [N·K, r]. Grouping the
// terms by their per-image factors,
//
//	W = (s/σ)·(P·[One; Mu; 1]) + e·x_{2K+1} + g·x_{2K+2}
//
// with P [N·K, 2K+1] the first 2K+1 columns of X, those of P2 scaled by
// -1/K1_k. The product with P is the only per-image work of size N·K·K: the
// device computes it beside the alphas ([cuda.Encoder.SecondOrderProj]), and
// the host combines it with the two columns while it writes the record.
type deviceBasis struct {
	r      int       // coefficients per image
	Q      []float64 // [r, d]
	P      []float32 // [N·K, 2K+1]
	x1, x2 []float32 // [N·K]: the columns 2K+1 and 2K+2 of X
}

type basisKey struct{ layer int }

// basisOf returns the cached deviceBasis of layer on m.
func basisOf(m *clip.Model, u *secondU) (*deviceBasis, error) {
	v, err := m.Derived(basisKey{u.layer}, func() (any, error) {
		K, d := u.K, u.d
		r := 2*K + 3
		b := &deviceBasis{r: r, Q: make([]float64, r*d)}
		copy(b.Q[:K*d], u.P1)
		copy(b.Q[K*d:2*K*d], u.P2)
		for k := range K {
			for j := range d {
				b.Q[2*K*d+j] += u.P3[k*d+j]
			}
		}
		copy(b.Q[(2*K+1)*d:], u.projB)
		copy(b.Q[(2*K+2)*d:], u.projG)
		if K == 0 {
			return b, nil
		}
		q32 := make([]float32, r*d)
		for i, x := range b.Q {
			q32[i] = float32(x)
		}
		NK, rp := u.N*K, 2*K+1
		b.P, b.x1, b.x2 = make([]float32, NK*rp), make([]float32, NK), make([]float32, NK)
		parallelBlocks(NK, min(8, max(1, NK/4096)), func(lo, hi int) {
			X := make([]float32, (hi-lo)*r)
			kernels.Gemm(false, true, 1, mat32(hi-lo, d, d, u.U[lo*d:]), mat32(r, d, d, q32), 0, mat32(hi-lo, r, r, X))
			for i := lo; i < hi; i++ {
				x, p := X[(i-lo)*r:(i-lo+1)*r], b.P[i*rp:(i+1)*rp]
				for k := range K {
					p[k] = x[k]
					p[K+k] = float32(-u.invK1[k] * float64(x[K+k]))
				}
				p[2*K] = x[2*K]
				b.x1[i], b.x2[i] = x[2*K+1], x[2*K+2]
			}
		})
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*deviceBasis), nil
}

// recordW fills W = U_n C(I) [N·K] of the image r was made from (by
// record, with the shared term) through the layer's basis, as
// deviceRecord does from the device's product: 2K+1 products per entry
// instead of the d of U·C, and 15 MB of P read per image instead of the
// 151 MB of U (ViT-B/32 layer 9).
func (u *secondU) recordW(bs *deviceBasis, W []float32, r *record, c *capture, cfg *config) {
	K := u.K
	if K == 0 {
		return
	}
	if cfg.noShared {
		clear(W)
		return
	}
	scale := 1.0
	if !cfg.raw {
		scale = 100 / c.norm()
	}
	f, e, g := u.wFactors(scale, float64(c.sigPost), float64(c.muPost))
	rp := 2*K + 1
	v := make([]float64, rp)
	copy(v, r.One)
	copy(v[K:], r.Mu)
	v[2*K] = 1
	for i := range W[:u.N*K] {
		p := bs.P[i*rp : (i+1)*rp : (i+1)*rp]
		var s0, s1 float64
		j := 0
		for ; j+2 <= rp; j += 2 {
			s0 += float64(p[j]) * v[j]
			s1 += float64(p[j+1]) * v[j+1]
		}
		if j < rp {
			s0 += float64(p[j]) * v[j]
		}
		W[i] = float32(f*(s0+s1) + e*float64(bs.x1[i]) + g*float64(bs.x2[i]))
	}
}

// hostProj computes so.Proj = P·[One; Mu; 1] per image when the device did
// not (an accelerator without projections).
func (u *secondU) hostProj(bs *deviceBasis, so *cuda.SecondOrder, workers int) {
	K, NK, B := u.K, u.N*u.K, so.B
	if so.Proj != nil || K == 0 {
		return
	}
	rp := 2*K + 1
	V := make([]float32, B*rp)
	for b := range B {
		copy(V[b*rp:], so.One[b*K:(b+1)*K])
		copy(V[b*rp+K:], so.Mu[b*K:(b+1)*K])
		V[b*rp+2*K] = 1
	}
	so.Proj = make([]float32, B*NK)
	parallelBlocks(NK, min(workers, max(1, NK/1024)), func(lo, hi int) {
		kernels.Gemm(false, true, 1, mat32(B, rp, rp, V), mat32(hi-lo, rp, rp, bs.P[lo*rp:]),
			0, mat32(B, hi-lo, NK, so.Proj[lo:]))
	})
}

// deviceRecord fills the alpha-space record of image b of so: A = s·α/σ
// [N, K], C(I) [d] and W [N, K] (zero when K = 0 or the shared term is left
// out). so.Proj must be set when K > 0.
func (u *secondU) deviceRecord(bs *deviceBasis, A, W, C []float32, so *cuda.SecondOrder, b int, cfg *config) {
	N, K, d := u.N, u.K, u.d
	clear(C)
	if K == 0 {
		clear(W)
		return
	}
	scale := 1.0
	if !cfg.raw {
		scale = 100 / norm32(so.Emb[b*d:(b+1)*d])
	}
	sp := float64(so.SigmaPost[b])
	f := float32(scale / sp)
	for i, a := range so.Alpha[b*N*K : (b+1)*N*K] {
		A[i] = f * a
	}
	if cfg.noShared {
		clear(W)
		return
	}
	u.sharedTerm(bs, C, so, b, scale)
	_, e64, g64 := u.wFactors(scale, sp, float64(so.MuPost[b]))
	e, g := float32(e64), float32(g64)
	pr := so.Proj[b*N*K : (b+1)*N*K]
	x1, x2 := bs.x1[:len(pr)], bs.x2[:len(pr)]
	W = W[:len(pr)]
	for i, p := range pr {
		W[i] = f*p + e*x1[i] + g*x2[i]
	}
}

// sharedTerm writes C(I) of image b into C, for K > 0, and returns its
// coefficients.
func (u *secondU) sharedTerm(bs *deviceBasis, C []float32, so *cuda.SecondOrder, b int, scale float64) []float64 {
	d := u.d
	coef := u.coefficients(bs.r, so, b, scale)
	acc := make([]float64, d)
	for i, c := range coef {
		for j, q := range bs.Q[i*d : (i+1)*d] {
			acc[j] += c * q
		}
	}
	for j, v := range acc {
		C[j] = float32(v)
	}
	return coef
}

// coefficients returns the r = 2K+3 coefficients of C(I) for image b.
func (u *secondU) coefficients(r int, so *cuda.SecondOrder, b int, scale float64) []float64 {
	K := u.K
	sp := float64(so.SigmaPost[b])
	coef := make([]float64, r)
	for k := range K {
		coef[k] = scale * float64(so.One[b*K+k]) / sp
		coef[K+k] = -scale * float64(so.Mu[b*K+k]) * u.invK1[k] / sp
	}
	coef[2*K], coef[2*K+1], coef[2*K+2] = u.wFactors(scale, sp, float64(so.MuPost[b]))
	return coef
}

// wFactors are the per-image factors of W = f·(P·[One; Mu; 1]) + e·x₁ +
// g·x₂ (deviceBasis), which are also the last three coefficients of C(I):
// f = s/σ_post, e = s·Σ1/K2, g = -e·μ_post/σ_post, s the scale.
func (u *secondU) wFactors(scale, sigmaPost, muPost float64) (f, e, g float64) {
	e = scale * u.sumInvK2
	return scale / sigmaPost, e, -e * muPost / sigmaPost
}

// deviceEffects builds the N×d effects of image b from the device's
// products (paper scale) and the shared term.
func (u *secondU) deviceEffects(bs *deviceBasis, so *cuda.SecondOrder, b int, cfg *config) []float64 {
	N, K, d := u.N, u.K, u.d
	out := make([]float64, N*d)
	if K == 0 {
		return out
	}
	scale, f := 1.0, 1.0
	if norm := norm32(so.Emb[b*d : (b+1)*d]); cfg.raw {
		f = norm / 100
	} else {
		scale = 100 / norm
	}
	C := make([]float32, d)
	if !cfg.noShared {
		u.sharedTerm(bs, C, so, b, scale)
	}
	E := so.Effects[b*N*d : (b+1)*N*d]
	for n := range N {
		for j := range d {
			out[n*d+j] = float64(float32(f*float64(E[n*d+j])) + C[j])
		}
	}
	return out
}

func norm32(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return sqrt(s)
}
