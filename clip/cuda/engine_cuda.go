//go:build cuda && cgo

package cuda

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/neuronlens/neuronlens/clip"
	cu "github.com/neuronlens/neuronlens/internal/cuda"
)

const built = true

// foldBias makes the in-projection's product add its bias (see
// engine.kp); benchmarks turn it off to measure the separate pass.
var foldBias = true

// biasPad is the number of columns after LayerNorm's D outputs in the
// buffer that the in-projection reads: a constant 1, then zeros, so that
// rows stay 16-byte aligned.
const biasPad = 4

// blockWeights are one residual block's parameters on the device, in the
// checkpoint's row-major layout; inW is [3D, kp] (engine.kp), the bias in
// column D when the product adds it.
type blockWeights struct {
	ln1W, ln1B, inW, inB, outW, outB, ln2W, ln2B, fcW, fcB, projW, projB cu.Ptr
}

// buffers are the activations of one device batch of up to capacity images.
type buffers struct {
	capacity                     int
	pix                          [2]cu.Ptr // [B,3,S,S] per staging slot (the second made on first use)
	patches, conv                cu.Ptr    // [B*P, 3p²], [B*P, D]
	x, h, z                      cu.Ptr    // [B*T, D] (h [B*T, kp]): residual, LayerNorm output, heads' concatenation
	qkv                          cu.Ptr    // [B*T, 3D]
	scores                       cu.Ptr    // [B, H, T, T]
	hidden                       cu.Ptr    // [B*T, N]
	mean, sigma                  cu.Ptr    // [B*T] ln_1 statistics of the current block
	pooled                       cu.Ptr    // [B, D] ln_post(x[:, 0])
	muPost, sigmaPost, emb       cu.Ptr    // [B], [B], [B, d]
	qPtr, kPtr, vPtr, sPtr, zPtr cu.Ptr    // [B*H] device addresses for the batched attention products
	all                          []cu.Buffer

	// Page-locked host memory: the pixels on their way up, [B,3,S,S] per
	// staging slot, and the embeddings, ln_post's μ and σ on their way
	// down, [B*d | B | B].
	pixHost [2][]float32
	outHost []float32
}

// lensBuffers keep the traces of one layer for a device batch.
type lensBuffers struct {
	layer, capacity int
	p               cu.Ptr // [B, T, N] MLP post-activations of the layer
	w               cu.Ptr // [B, T, K] A[0,t]/σ1[t] per later (l', h)
	one, mu         cu.Ptr // [B, K]
	alpha           cu.Ptr // [B, N, K]
	effects         cu.Ptr // [B, N, d], allocated on first use
	proj            cu.Ptr // [B, N*K], allocated on first use
	all             []cu.Buffer
	host            []float32 // page-locked [B*N*K | B*K | B*K]: alpha, one, mu on their way down
	projHost        []float32 // page-locked [B*N*K]: proj on its way down
}

// engine is the image tower on one GPU.
type engine struct {
	c   *cu.Context
	m   *clip.Model
	cfg config

	S, p, P, T, D, H, dh, N, L, d int
	act                           int
	fused                         bool // attention by attn_fused

	// kp is the row length of LayerNorm's output h: D, or D+biasPad with
	// the folded bias, where h[:, D] = 1 and inW's column D is the
	// in-projection's bias, so that its product adds the bias and no
	// separate pass over [B*T, 3D] is needed.
	kp int

	conv1, cls, pos, lnPreW, lnPreB, lnPostW, lnPostB, proj cu.Ptr
	blocks                                                  []blockWeights
	weights                                                 []cu.Buffer

	buf  *buffers
	lens *lensBuffers

	// The lens's tail (alphas, effects' products, their download) runs on
	// side while main finishes the forward pass. The pixels go up on up,
	// so that a call of several device batches uploads the next batch
	// while the device computes the current one: slot i's pixels are on
	// the device at evUp[i].
	main, side, up              cu.Stream
	evGather, evEffects, evLens cu.Event
	evUp                        [2]cu.Event

	prof *opProfile // nil unless a profiling benchmark set it

	// resident makes forward skip staging: the pixels of the previous
	// call are still on the device. Benchmarks set it to time the forward
	// pass from device memory, as PyTorch's is timed with its input there.
	resident bool
}

// opProfile times the main stream's operations with timing events: each
// mark closes the span since the previous one under its label. Only the
// profiling benchmark sets it; the events themselves cost a little.
type opProfile struct {
	events []cu.Event
	labels []string
	n      int
	ms     map[string]float64 // summed over batches
	order  []string           // labels in the order first seen
	calls  int
}

func newOpProfile() *opProfile { return &opProfile{ms: map[string]float64{}} }

// mark records the end of the operation label on the current stream.
func (e *engine) mark(label string) {
	p := e.prof
	if p == nil {
		return
	}
	if p.n == len(p.events) {
		p.events = append(p.events, e.c.NewEvent(true))
		p.labels = append(p.labels, "")
	}
	e.c.Record(p.events[p.n])
	p.labels[p.n] = label
	p.n++
}

// collect adds the spans of a finished forward pass to the totals.
func (p *opProfile) collect(c *cu.Context) {
	for i := 1; i < p.n; i++ {
		l := p.labels[i]
		if _, ok := p.ms[l]; !ok {
			p.order = append(p.order, l)
		}
		p.ms[l] += float64(c.Elapsed(p.events[i-1], p.events[i]))
	}
	p.n = 0
	p.calls++
}

// newEngine opens the device and uploads m's image tower; a nil m only
// opens the device (for Available).
func newEngine(m *clip.Model, cfg config) (*engine, error) {
	c, err := cu.Open(cu.Options{Device: cfg.device, TF32: cfg.tf32})
	if err != nil {
		return nil, err
	}
	e := &engine{c: c, m: m, cfg: cfg}
	if m == nil {
		return e, nil
	}
	e.main, e.side, e.up = c.MainStream(), c.NewStream(), c.NewStream()
	e.evGather, e.evEffects, e.evLens = c.NewEvent(false), c.NewEvent(false), c.NewEvent(false)
	e.evUp = [2]cu.Event{c.NewEvent(false), c.NewEvent(false)}
	v := m.Config.Vision
	e.S, e.p, e.T, e.D, e.H, e.N, e.L, e.d = v.ImageSize, v.PatchSize, v.Tokens(), v.Width, v.Heads, v.MLPWidth, v.Layers, m.Config.EmbedDim
	e.P, e.dh = e.T-1, e.D/e.H
	e.kp = e.D
	if foldBias {
		e.kp = e.D + biasPad
	}
	e.fused = cfg.attn == AttnFused && e.dh <= 64
	e.act = 1
	if m.Config.Activation == clip.GELU {
		e.act = 2
	}
	defer c.Bind()()
	vt := m.Visual
	e.conv1, e.cls, e.pos = e.put(vt.Conv1.Data().F32()), e.put(vt.ClassEmbedding.Data().F32()), e.put(vt.PositionalEmbedding.Data().F32())
	e.lnPreW, e.lnPreB = e.put(vt.LNPre.W.Data().F32()), e.put(vt.LNPre.B.Data().F32())
	e.lnPostW, e.lnPostB = e.put(vt.LNPost.W.Data().F32()), e.put(vt.LNPost.B.Data().F32())
	e.proj = e.put(vt.Proj.Data().F32())
	for _, b := range vt.Blocks {
		e.blocks = append(e.blocks, blockWeights{
			ln1W: e.put(b.LN1.W.Data().F32()), ln1B: e.put(b.LN1.B.Data().F32()),
			inW: e.put(e.padBias(b.Attn.InProj.W.Data().F32(), b.Attn.InProj.B.Data().F32())), inB: e.put(b.Attn.InProj.B.Data().F32()),
			outW: e.put(b.Attn.OutProj.W.Data().F32()), outB: e.put(b.Attn.OutProj.B.Data().F32()),
			ln2W: e.put(b.LN2.W.Data().F32()), ln2B: e.put(b.LN2.B.Data().F32()),
			fcW: e.put(b.MLP.CFC.W.Data().F32()), fcB: e.put(b.MLP.CFC.B.Data().F32()),
			projW: e.put(b.MLP.CProj.W.Data().F32()), projB: e.put(b.MLP.CProj.B.Data().F32()),
		})
	}
	if err := c.Sync(); err != nil {
		c.Close()
		return nil, fmt.Errorf("clip/cuda: uploading the image tower: %w", err)
	}
	return e, nil
}

// padBias returns w [rows, D] with rows of length kp: with the folded bias,
// column D holds bias and the columns after it zeros.
func (e *engine) padBias(w, bias []float32) []float32 {
	D, kp := e.D, e.kp
	if kp == D {
		return w
	}
	rows := len(bias)
	out := make([]float32, rows*kp)
	for r := range rows {
		copy(out[r*kp:r*kp+D], w[r*D:(r+1)*D])
		out[r*kp+D] = bias[r]
	}
	return out
}

// put uploads x into a new device buffer kept for the engine's life.
func (e *engine) put(x []float32) cu.Ptr {
	b := e.c.Alloc(len(x))
	e.c.Upload(b.Ptr, x)
	e.weights = append(e.weights, b)
	return b.Ptr
}

func (e *engine) describe() string {
	c := e.c
	prec := "float32"
	if c.TF32 {
		prec = "TF32 products"
	}
	return fmt.Sprintf("%s (sm_%d%d, driver %d, cuBLAS %d, NVRTC %s, %s, %s)",
		c.Name, c.Major, c.Minor, c.Driver, c.BLASVersion, c.NVRTCVersion, c.Code, prec)
}

func (e *engine) close() error { return e.c.Close() }

func (e *engine) upload(x []float32) (cu.Buffer, error) {
	defer e.c.Bind()()
	b := e.c.Alloc(len(x))
	e.c.Upload(b.Ptr, x)
	return b, e.c.Sync()
}

func (e *engine) free(b cu.Buffer) {
	defer e.c.Bind()()
	e.c.Free(b)
}

// alloc returns a new device buffer of n floats, recorded in list.
func (e *engine) alloc(list *[]cu.Buffer, n int) cu.Ptr {
	b := e.c.Alloc(n)
	*list = append(*list, b)
	return b.Ptr
}

// ensure sizes the activation buffers for B images, keeping them when
// they are large enough.
func (e *engine) ensure(B int) {
	if e.buf != nil && e.buf.capacity >= B {
		return
	}
	if e.buf != nil {
		for _, b := range e.buf.all {
			e.c.Free(b)
		}
		e.c.FreeHost(e.buf.pixHost[0])
		e.c.FreeHost(e.buf.pixHost[1])
		e.c.FreeHost(e.buf.outHost)
	}
	B = max(B, min(e.cfg.maxBatch, 2*B))
	S, P, T, D, H, N, pp := e.S, e.P, e.T, e.D, e.H, e.N, e.p*e.p
	s := &buffers{capacity: B}
	a := func(n int) cu.Ptr { return e.alloc(&s.all, n) }
	s.pix[0], s.patches, s.conv = a(B*3*S*S), a(B*P*3*pp), a(B*P*D)
	s.x, s.h, s.z = a(B*T*D), a(B*T*e.kp), a(B*T*D)
	if e.kp > D {
		e.c.Launch("fill_pad", grid(B*T), 1, 256, s.h, int64(B*T), e.kp, D)
	}
	s.qkv, s.scores, s.hidden = a(B*T*3*D), a(B*H*T*T), a(B*T*N)
	s.mean, s.sigma = a(B*T), a(B*T)
	s.pooled, s.muPost, s.sigmaPost, s.emb = a(B*D), a(B), a(B), a(B*e.d)
	s.pixHost[0], s.outHost = e.c.AllocHost(B*3*S*S), e.c.AllocHost(B*(e.d+2))
	// Addresses of the per-(image, head) operands, index i = b*H + h; a
	// smaller batch uses a prefix.
	n := B * H
	q, k, v, sc, z := make([]cu.Ptr, n), make([]cu.Ptr, n), make([]cu.Ptr, n), make([]cu.Ptr, n), make([]cu.Ptr, n)
	for b := range B {
		for h := range H {
			i := b*H + h
			q[i] = s.qkv.Add(b*T*3*D + h*e.dh)
			k[i] = q[i].Add(D)
			v[i] = q[i].Add(2 * D)
			sc[i] = s.scores.Add(i * T * T)
			z[i] = s.z.Add(b*T*D + h*e.dh)
		}
	}
	for _, arr := range []struct {
		dst *cu.Ptr
		src []cu.Ptr
	}{{&s.qPtr, q}, {&s.kPtr, k}, {&s.vPtr, v}, {&s.sPtr, sc}, {&s.zPtr, z}} {
		*arr.dst = a(2 * n)
		e.c.UploadPtrs(*arr.dst, arr.src)
	}
	e.buf = s
}

// ensureLens sizes the trace buffers of layer for the current capacity.
func (e *engine) ensureLens(layer int, effects, proj bool) *lensBuffers {
	B := e.buf.capacity
	if l := e.lens; l != nil && (l.layer != layer || l.capacity != B) {
		for _, b := range l.all {
			e.c.Free(b)
		}
		e.c.FreeHost(l.host)
		e.c.FreeHost(l.projHost)
		e.lens = nil
	}
	if e.lens == nil {
		K := (e.L - 1 - layer) * e.H
		l := &lensBuffers{layer: layer, capacity: B}
		a := func(n int) cu.Ptr { return e.alloc(&l.all, n) }
		l.p, l.w, l.one, l.mu, l.alpha = a(B*e.T*e.N), a(B*e.T*K), a(B*K), a(B*K), a(B*e.N*K)
		l.host = e.c.AllocHost(B*e.N*K + 2*B*K)
		e.lens = l
	}
	if effects && e.lens.effects == 0 {
		e.lens.effects = e.alloc(&e.lens.all, B*e.N*e.d)
	}
	if K := (e.L - 1 - layer) * e.H; proj && K > 0 && e.lens.proj == 0 {
		e.lens.proj = e.alloc(&e.lens.all, B*e.N*K)
		e.lens.projHost = e.c.AllocHost(B * e.N * K)
	}
	return e.lens
}

// grid returns the number of 256-thread blocks for n elements of a
// grid-stride kernel.
func grid(n int) int { return max(1, min((n+255)/256, 1<<16)) }

const eps = float32(1e-5)

// forward runs the image tower on pixels (B images, each [3, S, S]) and,
// with req, the lens of req.layer, downloading the results into dst(),
// which it calls once the device work is queued (with the lens, once the
// work up to the lens's tail is, which needs to know where its results
// go), so that allocating the destination overlaps the device's work.
//
// The pixels come from staging slot: staged says that an earlier call
// already staged them there (its next); else forward stages them. next,
// when not empty, are the pixels of the caller's following device batch
// (at most as many images): forward stages them into the other slot once
// its own work is queued, so that their copy and upload overlap it.
//
// Everything runs on the main stream but the lens's tail: once the last
// block's attention pattern is gathered, the alphas' product and their
// download go to the side stream and overlap the rest of the forward pass,
// and their copy out of page-locked memory overlaps it on the host.
func (e *engine) forward(pixels [][]float32, slot int, staged bool, next [][]float32, req *lensRequest, dst func() *batchResult) error {
	c := e.c
	defer c.Bind()()
	B := len(pixels)
	e.ensure(B)
	s := e.buf
	var lb *lensBuffers
	K := 0
	if req != nil {
		lb = e.ensureLens(req.layer, req.u != nil, req.proj != nil)
		K = (e.L - 1 - req.layer) * e.H
	}
	S, p, P, T, D, H, dh, N, kp := e.S, e.p, e.P, e.T, e.D, e.H, e.dh, e.N, e.kp
	BT, pp := B*T, p*p
	e.mark("") // the start of the first span
	if !e.resident {
		if !staged {
			e.stage(pixels, slot)
		}
		c.Wait(e.evUp[slot])
		e.mark("upload")
	}

	// Embedding: patches·Conv1ᵀ, class token, positions, ln_pre.
	c.Launch("patchify", grid(B*P*3*pp), 1, 256, s.pix[slot], s.patches, B, S, p)
	c.Gemm(linear(B*P, 3*pp, D), 1, s.patches, e.conv1, 0, s.conv) // [B*P, D]
	c.Launch("embed", grid(BT*D), 1, 256, s.conv, e.cls, e.pos, s.x, B, T, D)
	c.Launch("layernorm", BT, 1, 256, s.x, int64(D), cu.Ptr(0), s.x, int64(D), e.lnPreW, e.lnPreB, cu.Ptr(0), cu.Ptr(0), D, eps)
	e.mark("embedding")

	var r *batchResult // dst(), once the lens's tail needs it or all is queued
	var pending cu.Ptr // c_proj bias of the previous block, not yet added to x
	for l, w := range e.blocks {
		// x = x + OutProj(softmax(QKᵀ/√dh)·V), Q, K, V from InProj(LN1(x)).
		c.Launch("layernorm", BT, 1, 256, s.x, int64(D), pending, s.h, int64(kp), w.ln1W, w.ln1B, s.mean, s.sigma, D, eps)
		e.mark("layernorm")
		c.Gemm(linear(BT, kp, 3*D), 1, s.h, w.inW, 0, s.qkv) // [B*T, 3D], bias included when kp > D
		e.mark("gemm qkv")
		if kp == D {
			c.Launch("bias_act", grid(3*D), min(BT, 65535), 256, s.qkv, w.inB, BT, 3*D, 0)
			e.mark("bias qkv")
		}
		scale := float32(1 / math.Sqrt(float64(dh)))
		gather := lb != nil && l > req.layer
		if e.fused {
			// z directly; the CLS rows of the pattern (at the start of each
			// head's [T, T] block of scores) only when the lens reads them.
			pat := cu.Ptr(0)
			if gather {
				pat = s.scores
			}
			c.LaunchShared("attn_fused", (T+63)/64, B*H, 256, cu.AttnFusedShared, s.qkv, s.z, pat, int64(T*T), B, H, T, D, dh, scale)
			e.mark("attention fused")
		} else {
			c.GemmBatched(cu.RowMajor{TransB: true, M: T, N: T, K: dh, Lda: 3 * D, Ldb: 3 * D, Ldc: T},
				B*H, scale, s.qPtr, s.kPtr, 0, s.sPtr) // [B, H, T, T]
			e.mark("gemm scores")
			c.Launch("softmax_rows", (B*H*T+7)/8, 1, 256, s.scores, B*H*T, T)
			e.mark("softmax")
		}
		if gather {
			c.Launch("lens_gather", B*H, 1, 128, s.scores, s.sigma, s.mean, lb.w, lb.one, lb.mu, B, H, T, K, (l-req.layer-1)*H)
			e.mark("lens gather")
			if l == e.L-1 {
				r = dst()
				e.lensTail(lb, req, r, B, K)
			}
		}
		if !e.fused {
			c.GemmBatched(cu.RowMajor{M: T, N: dh, K: T, Lda: T, Ldb: 3 * D, Ldc: D},
				B*H, 1, s.sPtr, s.vPtr, 0, s.zPtr) // [B*T, D]
			e.mark("gemm pattern·V")
		}
		c.Gemm(linear(BT, D, D), 1, s.z, w.outW, 1, s.x) // x += z·Woutᵀ; bias added by ln_2
		e.mark("gemm out")

		// x = x + CProj(act(CFC(LN2(x)))). The lens's layer writes its
		// post-activations straight into the trace buffer.
		hidden := s.hidden
		if lb != nil && l == req.layer {
			hidden = lb.p
		}
		c.Launch("layernorm", BT, 1, 256, s.x, int64(D), w.outB, s.h, int64(kp), w.ln2W, w.ln2B, cu.Ptr(0), cu.Ptr(0), D, eps)
		e.mark("layernorm")
		c.Gemm(cu.RowMajor{TransB: true, M: BT, N: N, K: D, Lda: kp, Ldb: D, Ldc: N}, 1, s.h, w.fcW, 0, hidden) // [B*T, N]
		e.mark("gemm fc")
		c.Launch("bias_act", grid(N), min(BT, 65535), 256, hidden, w.fcB, BT, N, e.act)
		e.mark("bias+activation fc")
		c.Gemm(linear(BT, N, D), 1, hidden, w.projW, 1, s.x) // x += hidden·Wprojᵀ; bias added by the next LayerNorm
		e.mark("gemm proj")
		pending = w.projB
	}

	// f = ln_post(x[:, 0])·proj.
	c.Launch("layernorm", B, 1, 256, s.x, int64(T*D), pending, s.pooled, int64(D), e.lnPostW, e.lnPostB, s.muPost, s.sigmaPost, D, eps)
	c.Gemm(cu.RowMajor{M: B, N: e.d, K: D, Lda: D, Ldb: e.d, Ldc: e.d}, 1, s.pooled, e.proj, 0, s.emb) // [B, d]
	e.mark("ln_post·proj")
	if lb != nil && K > 0 && req.u != nil {
		c.Wait(e.evEffects)
		c.Launch("effect_scale", grid(N*e.d), B, 256, lb.effects, s.emb, s.sigmaPost, int64(N*e.d), e.d)
		e.mark("lens effects (wait, scale)")
	}
	d := e.d
	out := s.outHost[:B*(d+2)]
	c.DownloadAsync(out[:B*d], s.emb)
	c.DownloadAsync(out[B*d:B*d+B], s.muPost)
	c.DownloadAsync(out[B*d+B:], s.sigmaPost)
	e.mark("download")

	// Everything is queued; the host's work from here overlaps the device's.
	if len(next) > 0 {
		e.stage(next, 1-slot)
	}
	if r == nil {
		r = dst()
	}
	if lb != nil && K > 0 {
		if err := c.SyncEvent(e.evLens); err != nil {
			return fmt.Errorf("clip/cuda: forward pass: %w", err)
		}
		h := lb.host
		nA := B * N * K
		if !c.IsHost(r.alpha) {
			parallelCopy(r.alpha, h[:nA])
		}
		copy(r.one, h[nA:nA+B*K])
		copy(r.mu, h[nA+B*K:nA+2*B*K])
		if req.proj != nil && !c.IsHost(r.proj) {
			parallelCopy(r.proj, lb.projHost[:nA])
		}
		if req.u != nil {
			c.Download(r.effects, lb.effects)
		}
		e.mark("lens results (wait, copy out)")
	}
	if lb != nil && K == 0 {
		clear(r.effects)
	}
	if err := c.Sync(); err != nil {
		return fmt.Errorf("clip/cuda: forward pass: %w", err)
	}
	if e.prof != nil {
		e.prof.collect(c)
	}
	copy(r.emb, out[:B*d])
	copy(r.muPost, out[B*d:B*d+B])
	copy(r.sigmaPost, out[B*d+B:])
	return nil
}

// lensTail queues, on the side stream after the main stream's work so far
// (the last block's lens_gather), the alphas, the effects' product when
// there are u vectors, and the download of alpha, one and mu into lb.host,
// or of alpha straight into r.alpha when that is page-locked (the same for
// the projection). It records evEffects after the product and evLens after
// the downloads.
func (e *engine) lensTail(lb *lensBuffers, req *lensRequest, r *batchResult, B, K int) {
	c, N, T := e.c, e.N, e.T
	c.Record(e.evGather)
	c.SetStream(e.side)
	defer c.SetStream(e.main)
	c.Wait(e.evGather)
	// α_b [N, K] = p_bᵀ [N, T] · w_b [T, K], one product per image.
	c.GemmStrided(cu.RowMajor{TransA: true, M: N, N: K, K: T, Lda: N, Ldb: K, Ldc: K},
		B, 1, lb.p, T*N, lb.w, T*K, 0, lb.alpha, N*K)
	if u := req.u; u != nil {
		// φ[b, n, :] = Σ_k α[b, n, k] u[n, k, :]: per neuron, [B, K]·[K, d];
		// the main stream scales it once the embeddings are known.
		c.GemmStrided(cu.RowMajor{M: B, N: e.d, K: K, Lda: N * K, Ldb: e.d, Ldc: N * e.d},
			N, 1, lb.alpha, K, u.buf.Ptr, K*e.d, 0, lb.effects, e.d)
		c.Record(e.evEffects)
	}
	nA := B * N * K
	if p := req.proj; p != nil {
		// proj_b [N·K] = P[:, :K]·one_b + P[:, K:2K]·mu_b + P[:, 2K].
		NK := N * K
		c.Gemm(cu.RowMajor{TransB: true, M: B, N: NK, K: K, Lda: K, Ldb: 2 * K, Ldc: NK}, 1, lb.one, p.p.Ptr, 0, lb.proj)
		c.Gemm(cu.RowMajor{TransB: true, M: B, N: NK, K: K, Lda: K, Ldb: 2 * K, Ldc: NK}, 1, lb.mu, p.p.Ptr.Add(K), 1, lb.proj)
		c.Launch("bias_act", grid(NK), min(B, 65535), 256, lb.proj, p.p0.Ptr, B, NK, 0)
		if c.IsHost(r.proj) {
			c.DownloadAsync(r.proj, lb.proj)
		} else {
			c.DownloadAsync(lb.projHost[:nA], lb.proj)
		}
	}
	if c.IsHost(r.alpha) {
		c.DownloadAsync(r.alpha, lb.alpha)
	} else {
		c.DownloadAsync(lb.host[:nA], lb.alpha)
	}
	c.DownloadAsync(lb.host[nA:nA+B*K], lb.one)
	c.DownloadAsync(lb.host[nA+B*K:nA+2*B*K], lb.mu)
	c.Record(e.evLens)
}

// stage queues the upload of the pixels to slot's device buffer on the up
// stream; evUp[slot] marks its end. Images in page-locked memory
// ([Encoder.PageLocked]) go up directly; the others are first copied into
// slot's page-locked buffer, several at once, chunk by chunk, so that
// copying the next chunk overlaps the transfer of the previous one. The
// slot's earlier contents must be used up: forward's calls are
// synchronous, and a slot is staged again at the earliest by the call
// after the one that read it.
func (e *engine) stage(pixels [][]float32, slot int) {
	c, s := e.c, e.buf
	n := 3 * e.S * e.S
	if s.pix[slot] == 0 {
		s.pix[slot] = e.alloc(&s.all, s.capacity*n)
		s.pixHost[slot] = c.AllocHost(s.capacity * n)
		if c.Err() != nil {
			return // reported by the forward pass's next sync
		}
	}
	c.SetStream(e.up)
	defer c.SetStream(e.main)
	const chunk = 8
	var direct [chunk]bool
	for lo := 0; lo < len(pixels); lo += chunk {
		hi := min(lo+chunk, len(pixels))
		var wg sync.WaitGroup
		for i := lo; i < hi; i++ {
			direct[i-lo] = c.IsHost(pixels[i])
			if !direct[i-lo] {
				wg.Go(func() { copy(s.pixHost[slot][i*n:(i+1)*n], pixels[i]) })
			}
		}
		wg.Wait()
		// One transfer per run of copied images, one per direct image.
		for i := lo; i < hi; {
			j := i + 1
			if direct[i-lo] {
				c.UploadAsync(s.pix[slot].Add(i*n), pixels[i])
			} else {
				for j < hi && !direct[j-lo] {
					j++
				}
				c.UploadAsync(s.pix[slot].Add(i*n), s.pixHost[slot][i*n:j*n])
			}
			i = j
		}
	}
	c.Record(e.evUp[slot])
}

// pageLocked returns n values of page-locked host memory.
func (e *engine) pageLocked(n int) ([]float32, error) {
	defer e.c.Bind()()
	return e.c.TryAllocHost(n)
}

// freePageLocked releases memory from pageLocked.
func (e *engine) freePageLocked(x []float32) {
	defer e.c.Bind()()
	e.c.FreeHost(x)
}

// parallelCopy is copy(dst, src) for large arrays, split over goroutines.
func parallelCopy(dst, src []float32) {
	const grain = 1 << 18
	n := len(src)
	parts := max(1, min((n+grain-1)/grain, runtime.GOMAXPROCS(0), 8))
	if parts == 1 {
		copy(dst, src)
		return
	}
	step := (n + parts - 1) / parts
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
	}
	wg.Wait()
}

// linear is the row-major product of x [rows, in] with a weight W [out, in]
// transposed, the layout of nn.Linear: y [rows, out] = x·Wᵀ.
func linear(rows, in, out int) cu.RowMajor {
	return cu.RowMajor{TransB: true, M: rows, N: out, K: in, Lda: in, Ldb: in, Ldc: out}
}
