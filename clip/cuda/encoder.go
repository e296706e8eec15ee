package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"

	"github.com/neuronlens/neuronlens/clip"
	cu "github.com/neuronlens/neuronlens/internal/cuda"
)

// Device names accepted by [Select] and NEURONLENS_DEVICE.
const (
	CPU  = "cpu"
	CUDA = "cuda"
)

// DeviceEnv is the environment variable [Select] reads for an empty name.
const DeviceEnv = "NEURONLENS_DEVICE"

var (
	// ErrUnavailable is wrapped by every error saying CUDA cannot run here:
	// no driver, no GPU, a library missing, or no CUDA support compiled in.
	ErrUnavailable = cu.ErrUnavailable
	// ErrNotBuilt is returned by every constructor in a binary built without
	// the cuda tag (or without cgo). It wraps ErrUnavailable.
	ErrNotBuilt = fmt.Errorf("%w: clip/cuda: this binary was built without CUDA support (rebuild with CGO_ENABLED=1 go build -tags cuda)", cu.ErrUnavailable)
)

// Select returns the device to use, CPU or CUDA. An empty name means the
// value of NEURONLENS_DEVICE, and an empty variable means CPU. An unknown
// name is an error. For CUDA, Select also checks that a GPU can be opened
// here and returns the reason when it cannot (wrapping [ErrUnavailable]).
func Select(name string) (string, error) {
	dev, src, raw, err := parseDevice(name)
	if err != nil {
		return "", err
	}
	if dev == CUDA {
		if err := Available(); err != nil {
			return "", fmt.Errorf("clip/cuda: %s=%q: %w", src, raw, err)
		}
	}
	return dev, nil
}

// ParseDevice is [Select] without opening a GPU: it maps name, or
// NEURONLENS_DEVICE when name is empty, to CPU or CUDA ("gpu" is CUDA, any
// case), and an unknown name to an error. Whether CUDA can run here is left
// to the constructors, which say why not.
func ParseDevice(name string) (string, error) {
	dev, _, _, err := parseDevice(name)
	return dev, err
}

// parseDevice returns the device, where its name came from ("device" or
// DeviceEnv) and the name as given.
func parseDevice(name string) (dev, src, raw string, err error) {
	src = "device"
	if name == "" {
		name, src = os.Getenv(DeviceEnv), DeviceEnv
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", CPU:
		return CPU, src, name, nil
	case CUDA, "gpu":
		return CUDA, src, name, nil
	}
	return "", src, name, fmt.Errorf("clip/cuda: %s=%q: want %q or %q", src, name, CPU, CUDA)
}

// Available reports why CUDA cannot be used here, or nil when a GPU can be
// opened. It opens and closes device 0, which takes a second or so the first
// time (kernel compilation).
func Available() error {
	if !built {
		return ErrNotBuilt
	}
	e, err := newEngine(nil, config{})
	if err != nil {
		return err
	}
	return e.close()
}

// Option configures [NewImageEncoder].
type Option func(*config)

type config struct {
	device   int
	tf32     bool
	maxBatch int
	attn     string // AttnGEMM or AttnFused
}

// Attention implementations for [WithAttention] and NEURONLENS_CUDA_ATTN.
const (
	// AttnGEMM is two strided-batched cuBLAS products around a softmax
	// kernel, the [B, H, T, T] scores in device memory.
	AttnGEMM = "gemm"
	// AttnFused is one kernel per (image, head, 64 queries) holding its
	// scores in shared memory (online softmax); it writes only the CLS row of
	// the pattern, and only when the lens asks for it. Head dimension ≤ 64;
	// wider heads use AttnGEMM.
	AttnFused = "fused"
)

// AttnEnv is the environment variable that picks the attention
// implementation when no [WithAttention] is given: "gemm" (the default) or
// "fused".
const AttnEnv = "NEURONLENS_CUDA_ATTN"

func newConfig(opts []Option) config {
	c := config{maxBatch: 64, attn: AttnGEMM}
	if v := strings.ToLower(strings.TrimSpace(os.Getenv(AttnEnv))); v == AttnFused || v == AttnGEMM {
		c.attn = v
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithAttention picks the attention implementation, [AttnGEMM] or
// [AttnFused]; any other name keeps the default (NEURONLENS_CUDA_ATTN, else
// AttnGEMM).
func WithAttention(name string) Option {
	return func(c *config) {
		if name == AttnGEMM || name == AttnFused {
			c.attn = name
		}
	}
}

// Attention returns the attention implementation in use, [AttnGEMM] or
// [AttnFused] (AttnGEMM for heads wider than 64 even when fused was asked).
func (e *Encoder) Attention() string {
	if e.cfg.attn == AttnFused && e.model.Config.Vision.Width/e.model.Config.Vision.Heads <= 64 {
		return AttnFused
	}
	return AttnGEMM
}

// WithDeviceIndex picks the GPU by ordinal; the default is 0.
func WithDeviceIndex(i int) Option { return func(c *config) { c.device = i } }

// WithTF32 lets cuBLAS use TF32 tensor cores for the matrix products. Inputs
// are rounded to a 10-bit mantissa, so embeddings differ from float32 ones by
// about 1e-3 relative. The default is plain float32.
func WithTF32() Option { return func(c *config) { c.tf32 = true } }

// WithMaxBatch sets how many images go through the device at once (default
// 64); longer inputs are split. Device memory grows linearly with it.
func WithMaxBatch(n int) Option { return func(c *config) { c.maxBatch = max(1, n) } }

// Encoder is a CLIP image tower resident on a GPU. It is safe for concurrent
// use; calls are serialized.
type Encoder struct {
	mu    sync.Mutex
	model *clip.Model
	cfg   config
	eng   *engine
}

// NewImageEncoder uploads m's image tower to the GPU. It returns
// [ErrNotBuilt] without CUDA support compiled in, and an error wrapping
// [ErrUnavailable] without a driver, libraries or GPU. m must not change
// while the Encoder is in use.
func NewImageEncoder(m *clip.Model, opts ...Option) (*Encoder, error) {
	if m == nil || m.Visual == nil {
		return nil, errors.New("clip/cuda: model has no image tower")
	}
	if !built {
		return nil, ErrNotBuilt
	}
	cfg := newConfig(opts)
	eng, err := newEngine(m, cfg)
	if err != nil {
		return nil, err
	}
	return &Encoder{model: m, cfg: cfg, eng: eng}, nil
}

// Model returns the model whose image tower the Encoder holds.
func (e *Encoder) Model() *clip.Model { return e.model }

// MaxBatch returns how many images go through the device at once.
func (e *Encoder) MaxBatch() int { return e.cfg.maxBatch }

// Device describes the GPU and libraries in use, e.g. "NVIDIA H100 80GB HBM3
// (sm_90, driver 12040, cuBLAS 120401, NVRTC 12.4, cubin sm_90, float32)".
func (e *Encoder) Device() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eng == nil {
		return "closed"
	}
	return e.eng.describe()
}

// PageLocked returns n float32 values of page-locked (pinned) host memory,
// which the device reads and writes directly. Pixels held in it are
// uploaded without the copy into the encoder's own staging memory, and a
// [SecondOrder] destination whose Alpha or Proj lies in it receives them
// without the copy out of the encoder's memory: for a 64-image ViT-B/32
// batch that is 38 MB of host copies each way. The memory is scarcer than
// ordinary memory: allocate it once and reuse it, and free it with
// FreePageLocked, or Close frees it. n must be positive.
func (e *Encoder) PageLocked(n int) ([]float32, error) {
	if n <= 0 {
		return nil, fmt.Errorf("clip/cuda: PageLocked: n = %d, want > 0", n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eng == nil {
		return nil, errClosed
	}
	h, err := e.eng.pageLocked(n)
	if err != nil {
		return nil, fmt.Errorf("clip/cuda: PageLocked(%d): %w", n, err)
	}
	return h, nil
}

// FreePageLocked releases memory from PageLocked, given as the whole slice
// PageLocked returned (or one starting where it started). It does nothing
// for other memory, or once the encoder is closed (Close has freed it).
func (e *Encoder) FreePageLocked(x []float32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eng != nil {
		e.eng.freePageLocked(x)
	}
}

// Close frees the device memory. The Encoder cannot be used afterwards.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eng == nil {
		return nil
	}
	err := e.eng.close()
	e.eng = nil
	return err
}

// EncodePixels returns the embedding f(I) [d] of preprocessed pixels
// [3, S, S], as [clip.Model.EncodePixels] does.
func (e *Encoder) EncodePixels(pixels []float32) ([]float32, error) {
	out, err := e.EncodeBatch(context.Background(), [][]float32{pixels})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// EncodeBatch returns the embeddings [d] of many preprocessed images, each
// [3, S, S]. ctx is checked between device batches.
func (e *Encoder) EncodeBatch(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	d := e.model.Config.EmbedDim
	flat := make([]float32, len(pixels)*d)
	sigma := make([]float32, len(pixels))
	err := e.run(ctx, pixels, nil, func(lo, hi int) *batchResult {
		return &batchResult{emb: flat[lo*d : hi*d], sigmaPost: sigma[lo:hi]}
	})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(pixels))
	for i := range out {
		out[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return out, nil
}

// SecondOrder holds the per-image results of [Encoder.SecondOrder] for a
// batch of B images and layer Layer. K = (L-1-Layer)·H columns, column
// k = (l'-Layer-1)·H + h for later block l' and head h.
type SecondOrder struct {
	Layer   int
	B, N, K int
	D       int // embedding dimension d

	// Alpha is [B, N, K], row-major: Alpha[(b*N+n)*K+k] =
	// Σ_t A^{l',h}[0,t] p[t,n] / σ1^{l'}[t].
	Alpha []float32
	// One is [B, K]: Σ_t A^{l',h}[0,t] / σ1^{l'}[t], the weight of the
	// shared bias terms.
	One []float32
	// Mu is [B, K]: Σ_t A^{l',h}[0,t] μ1^{l'}[t] / σ1^{l'}[t], the weight of
	// ln_1's mean terms.
	Mu []float32
	// Emb is [B, d]: the embeddings f(I), un-normalized.
	Emb []float32
	// Norm is [B]: ‖f(I)‖.
	Norm []float32
	// MuPost and SigmaPost are [B]: ln_post's μ and σ at the CLS token.
	MuPost, SigmaPost []float32
	// Proj is [B, N·K] when a projection P was given ([Encoder.SecondOrderProj]),
	// else nil: Proj[b, i] = Σ_k P[i,k]·One[b,k] + Σ_k P[i,K+k]·Mu[b,k] + P[i,2K].
	Proj []float32
	// Effects is [B, N, d] when u vectors were given, else nil:
	// 100/(‖f‖σ_post) · Σ_k Alpha[b,n,k]·u[n,k,:]. The shared term C(I) of
	// METHOD.md §1 is not included.
	Effects []float32
}

// UVectors are a layer's u vectors resident on the device, made by
// [Encoder.UploadU].
type UVectors struct {
	Layer   int
	N, K, D int
	enc     *Encoder
	buf     cu.Buffer
}

// UploadU copies the u vectors of layer to the device: u is [N, K, d],
// row-major, u[(n*K+k)*d+j], with K = (L-1-layer)·H in [SecondOrder]'s
// column order. It panics when len(u) does not match (a programmer error).
func (e *Encoder) UploadU(layer int, u []float32) (*UVectors, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	N, K, d := e.lensShape(layer)
	if len(u) != N*K*d {
		panic(fmt.Sprintf("clip/cuda: UploadU: u has %d values, want %d×%d×%d", len(u), N, K, d))
	}
	if e.eng == nil {
		return nil, errClosed
	}
	buf, err := e.eng.upload(u)
	if err != nil {
		return nil, err
	}
	return &UVectors{Layer: layer, N: N, K: K, D: d, enc: e, buf: buf}, nil
}

// Free releases the device memory of u.
func (u *UVectors) Free() {
	u.enc.mu.Lock()
	defer u.enc.mu.Unlock()
	if u.enc.eng != nil {
		u.enc.eng.free(u.buf)
	}
	u.buf = cu.Buffer{}
}

// Projection is a layer's matrix P [N·K, 2K+1] resident on the device, made
// by [Encoder.UploadProjection].
type Projection struct {
	Layer int
	N, K  int
	enc   *Encoder
	p, p0 cu.Buffer // P's first 2K columns [N·K, 2K], and its last [N·K]
}

// UploadProjection copies P [N·K, 2K+1] (row-major) of layer to the device,
// for [Encoder.SecondOrderProj]. It panics when len(p) does not match.
func (e *Encoder) UploadProjection(layer int, p []float32) (*Projection, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	N, K, _ := e.lensShape(layer)
	NK, r := N*K, 2*K+1
	if len(p) != NK*r {
		panic(fmt.Sprintf("clip/cuda: UploadProjection: p has %d values, want %d×%d", len(p), NK, r))
	}
	if e.eng == nil {
		return nil, errClosed
	}
	if K == 0 {
		return &Projection{Layer: layer, N: N, K: K, enc: e}, nil
	}
	a, b := make([]float32, NK*2*K), make([]float32, NK)
	for i := range NK {
		copy(a[i*2*K:(i+1)*2*K], p[i*r:i*r+2*K])
		b[i] = p[i*r+2*K]
	}
	pa, err := e.eng.upload(a)
	if err != nil {
		return nil, err
	}
	pb, err := e.eng.upload(b)
	if err != nil {
		e.eng.free(pa)
		return nil, err
	}
	return &Projection{Layer: layer, N: N, K: K, enc: e, p: pa, p0: pb}, nil
}

// Free releases the device memory of p.
func (p *Projection) Free() {
	p.enc.mu.Lock()
	defer p.enc.mu.Unlock()
	if p.enc.eng != nil {
		p.enc.eng.free(p.p)
		p.enc.eng.free(p.p0)
	}
	p.p, p.p0 = cu.Buffer{}, cu.Buffer{}
}

var errClosed = errors.New("clip/cuda: encoder is closed")

func (e *Encoder) lensShape(layer int) (N, K, d int) {
	c := e.model.Config.Vision
	if layer < 0 || layer >= c.Layers {
		panic(fmt.Sprintf("clip/cuda: layer %d out of range [0, %d)", layer, c.Layers))
	}
	return c.MLPWidth, (c.Layers - 1 - layer) * c.Heads, e.model.Config.EmbedDim
}

// SecondOrder runs the forward pass for pixels (each [3, S, S]) and returns
// the second-order quantities of layer (see [SecondOrder]); with u non-nil
// (made by [Encoder.UploadU] for the same layer) it also returns the
// effects. It panics when layer is out of range or u is for another layer.
func (e *Encoder) SecondOrder(ctx context.Context, pixels [][]float32, layer int, u *UVectors) (*SecondOrder, error) {
	return e.SecondOrderProj(ctx, nil, pixels, layer, u, nil)
}

// SecondOrderProj is [Encoder.SecondOrder] that also returns the product of
// a projection with each image's One, Mu and 1 (SecondOrder.Proj), computed
// on the device beside the alphas (proj nil: no product), and that fills
// dst when it is not nil: dst is returned, its arrays reused where they are
// large enough, so that a caller going through many batches need not
// allocate (and the system zero) tens of megabytes per batch. Every value
// of the result is written; nothing of dst's old contents remains. After
// an error dst holds no useful values.
func (e *Encoder) SecondOrderProj(ctx context.Context, dst *SecondOrder, pixels [][]float32, layer int, u *UVectors, proj *Projection) (*SecondOrder, error) {
	N, K, d := e.lensShape(layer)
	if u != nil && (u.Layer != layer || u.enc != e) {
		panic("clip/cuda: SecondOrder: u vectors of another layer or encoder")
	}
	if proj != nil && (proj.Layer != layer || proj.enc != e) {
		panic("clip/cuda: SecondOrder: projection of another layer or encoder")
	}
	B := len(pixels)
	so := dst
	if so == nil {
		so = new(SecondOrder)
	}
	old := *so
	*so = SecondOrder{Layer: layer, B: B, N: N, K: K, D: d}
	sized := false
	req := &lensRequest{layer: layer, u: u, proj: proj}
	err := e.run(ctx, pixels, req, func(lo, hi int) *batchResult {
		// Sized here, while the device works on the first batch: the
		// alphas are large, and a fresh array is not free.
		if !sized {
			sized = true
			so.Alpha, so.One, so.Mu = resize(old.Alpha, B*N*K), resize(old.One, B*K), resize(old.Mu, B*K)
			so.Emb, so.Norm = resize(old.Emb, B*d), resize(old.Norm, B)
			so.MuPost, so.SigmaPost = resize(old.MuPost, B), resize(old.SigmaPost, B)
			if u != nil {
				so.Effects = resize(old.Effects, B*N*d)
			}
			if proj != nil {
				so.Proj = resize(old.Proj, B*N*K)
			}
		}
		r := &batchResult{
			alpha: so.Alpha[lo*N*K : hi*N*K], one: so.One[lo*K : hi*K], mu: so.Mu[lo*K : hi*K],
			emb: so.Emb[lo*d : hi*d], muPost: so.MuPost[lo:hi], sigmaPost: so.SigmaPost[lo:hi],
		}
		if u != nil {
			r.effects = so.Effects[lo*N*d : hi*N*d]
		}
		if proj != nil {
			r.proj = so.Proj[lo*N*K : hi*N*K]
		}
		return r
	})
	if err != nil {
		return nil, err
	}
	for b := range B {
		var s float64
		for _, v := range so.Emb[b*d : (b+1)*d] {
			s += float64(v) * float64(v)
		}
		so.Norm[b] = float32(math.Sqrt(s))
	}
	return so, nil
}

// resize returns b with length n, reusing its array when it is large
// enough; the values are left to be overwritten.
func resize(b []float32, n int) []float32 {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]float32, n)
}

// lensRequest asks a forward pass to keep the traces of one layer.
type lensRequest struct {
	layer int
	u     *UVectors
	proj  *Projection
}

// batchResult says where one device batch's results go: views into the
// caller's arrays, filled by the engine. emb and sigmaPost are always set;
// the others only for a lens request (effects only with u vectors).
type batchResult struct {
	emb, muPost, sigmaPost  []float32
	alpha, one, mu, effects []float32
	proj                    []float32
}

// run checks the pixels and feeds them to the engine in device batches of
// at most maxBatch images; dst gives the destination of images [lo, hi),
// called once per device batch after its work is queued.
func (e *Encoder) run(ctx context.Context, pixels [][]float32, req *lensRequest, dst func(lo, hi int) *batchResult) error {
	c := e.model.Config.Vision
	want := 3 * c.ImageSize * c.ImageSize
	for i, p := range pixels {
		if len(p) != want {
			return fmt.Errorf("clip/cuda: image %d: pixels have %d values, want 3×%d×%d", i, len(p), c.ImageSize, c.ImageSize)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eng == nil {
		return errClosed
	}
	// Each device batch stages the next one's pixels into the other slot
	// while the device computes.
	B := e.cfg.maxBatch
	for lo, slot := 0, 0; lo < len(pixels); lo, slot = lo+B, 1-slot {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+B, len(pixels))
		next := pixels[hi:min(hi+B, len(pixels))]
		if err := e.eng.forward(pixels[lo:hi], slot, lo > 0, next, req, func() *batchResult { return dst(lo, hi) }); err != nil {
			return err
		}
	}
	return nil
}
