package clip

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"

	"github.com/neuronlens/neuronlens/internal/kernels"
	"github.com/neuronlens/neuronlens/internal/parallel"
)

var errNoVision = errors.New("clip: model has no image tower")

// Indices of the image tower's non-block parameters in its weights table.
const (
	vConv1 = iota
	vClass
	vPos
	vLNPreW
	vLNPreB
	vLNPostW
	vLNPostB
	vProj
)

// visionWeights returns the image tower's resolved parameters.
func (m *Model) visionWeights() *weights {
	if w := m.visionW.Load(); w != nil && w.current() {
		return w
	}
	v := m.Visual
	w := resolveWeights(v.Blocks, v.Conv1, v.ClassEmbedding, v.PositionalEmbedding,
		v.LNPre.W, v.LNPre.B, v.LNPost.W, v.LNPost.B, v.Proj)
	m.visionW.Store(w)
	return w
}

// EncodeImage preprocesses img as CLIP does (see [Preprocess]) and returns
// its un-normalized embedding f(I) [d].
func (m *Model) EncodeImage(img image.Image) ([]float32, error) {
	return m.RunImage(context.Background(), img, nil)
}

// RunImage is [Model.EncodeImage] with hooks: hk may read or change the
// activations at its points (see [Hooks]). A nil hk runs none.
func (m *Model) RunImage(ctx context.Context, img image.Image, hk *Hooks) ([]float32, error) {
	if m.Visual == nil {
		return nil, errNoVision
	}
	pixels, err := Preprocess(img, m.Config.Vision.ImageSize)
	if err != nil {
		return nil, err
	}
	return m.RunPixels(ctx, pixels, hk)
}

// EncodePixels returns the embedding f(I) [d] of preprocessed pixels
// [3, S, S] (channel-major, normalized as [Preprocess] does).
func (m *Model) EncodePixels(pixels []float32) ([]float32, error) {
	return m.RunPixels(context.Background(), pixels, nil)
}

// RunPixels is [Model.EncodePixels] with hooks.
func (m *Model) RunPixels(ctx context.Context, pixels []float32, hk *Hooks) ([]float32, error) {
	if err := m.checkPixels(pixels); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	table, err := hk.resolve(m.Config.Vision.Layers)
	if err != nil {
		return nil, err
	}
	dst := make([]float32, m.Config.EmbedDim)
	one := [1][]float32{pixels}
	m.encodePixels(dst, one[:], table)
	return dst, nil
}

func (m *Model) checkPixels(pixels []float32) error {
	if m.Visual == nil {
		return errNoVision
	}
	if S := m.Config.Vision.ImageSize; len(pixels) != 3*S*S {
		return fmt.Errorf("clip: pixels have %d values, want 3×%d×%d", len(pixels), S, S)
	}
	return nil
}

// EncodePixelsBatch returns the embeddings f(I) [d] of many preprocessed
// images, each [3, S, S] as for [Model.EncodePixels]. Images go through the
// tower together, up to about 1,024 tokens at a time (20 images for
// ViT-B/32), stacked into one residual stream [B·T, D] so that every Linear
// is one large matrix product spread over the cores; attention stays per
// image. The result equals EncodePixels on each image to float32 rounding.
// ctx is checked between batches; a wrong-sized image is an error naming
// its index.
func (m *Model) EncodePixelsBatch(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	if m.Visual == nil {
		return nil, errNoVision
	}
	for i, px := range pixels {
		if err := m.checkPixels(px); err != nil {
			return nil, fmt.Errorf("clip: image %d: %w", i, err)
		}
	}
	d := m.Config.EmbedDim
	flat := make([]float32, len(pixels)*d)
	step := m.visionBatch()
	for lo := 0; lo < len(pixels); lo += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+step, len(pixels))
		m.encodePixels(flat[lo*d:hi*d], pixels[lo:hi], nil)
	}
	return splitRows(flat, d), nil
}

// visionBatch is the number of images one batched pass takes.
func (m *Model) visionBatch() int { return max(1, batchRows/m.Config.Vision.Tokens()) }

// encodePixels runs the checked images through the tower with a pooled
// scratch, writing their embeddings into dst [B, d].
func (m *Model) encodePixels(dst []float32, pixels [][]float32, hk *hookTable) {
	s := m.visionPool.get()
	defer m.visionPool.put(s)
	m.visionForward(dst, pixels, m.visionWeights(), s, hk)
}

// visionForward writes f(I) [d] of each image pixels[b] [3, S, S] into
// dst[b*d : (b+1)*d]. The B images share one residual stream [B·T, D],
// image b at rows b·T …, class token first.
func (m *Model) visionForward(dst []float32, pixels [][]float32, w *weights, s *scratch, hk *hookTable) {
	c := m.Config.Vision
	S, p, D, T := c.ImageSize, c.PatchSize, c.Width, c.Tokens()
	B, P, pp := len(pixels), T-1, p*p
	s.setLens(B, func(int) int { return T })
	s.reserve(D, c.Heads, c.MLPWidth, B*P*3*pp)
	in := s.hidden[:B*P*3*pp]
	for b, px := range pixels {
		patchify(in[b*P*3*pp:(b+1)*P*3*pp], px, S, p)
	}
	emb := s.h[:B*P*D]
	kernels.Linear(emb, in, B*P, 3*pp, w.extra(vConv1), nil, D) // [B·P, D]
	x := s.x[:B*T*D]
	for b := range B {
		xb := x[b*T*D : (b+1)*T*D]
		copy(xb[:D], w.extra(vClass))
		copy(xb[D:], emb[b*P*D:(b+1)*P*D])
		kernels.Add(xb, w.extra(vPos)) // [T, D]
		s.pooled[b] = b * T
	}
	kernels.LayerNorm(x, x, B*T, D, w.extra(vLNPreW), w.extra(vLNPreB), layerNormEps, nil, nil)
	for l := range w.blocks {
		blockForward(&w.blocks[l], l, false, m.Config.Activation, s, hk)
	}
	poolTo(dst, s, D, w.extra(vLNPostW), w.extra(vLNPostB), w.extra(vProj), hk)
}

// EncodeResiduals finishes the image tower's pass from block from: each
// resid[b] is a residual stream [T, D] entering block from (what the
// ResidPre hook of that block sees; from = Layers means after the last
// block), and the result is the embedding f [d] that the rest of the
// tower, ln_post and the projection make of it. Streams go through
// together in batches as in [Model.EncodePixelsBatch]. A caller that
// changes the stream after some block (an ablation, a patch) reruns only
// the blocks after it: with the stream of an ordinary pass it gives that
// pass's embedding, to float32 rounding. ctx is checked between batches.
// Errors: no image tower, from out of 0..Layers, a stream of the wrong
// length (naming its index).
func (m *Model) EncodeResiduals(ctx context.Context, from int, resid [][]float32) ([][]float32, error) {
	if m.Visual == nil {
		return nil, errNoVision
	}
	c := m.Config.Vision
	if from < 0 || from > c.Layers {
		return nil, fmt.Errorf("clip: EncodeResiduals from block %d, want 0..%d", from, c.Layers)
	}
	T, D := c.Tokens(), c.Width
	for i, x := range resid {
		if len(x) != T*D {
			return nil, fmt.Errorf("clip: residual stream %d has %d values, want [%d %d]", i, len(x), T, D)
		}
	}
	d := m.Config.EmbedDim
	flat := make([]float32, len(resid)*d)
	step := m.visionBatch()
	w := m.visionWeights()
	for lo := 0; lo < len(resid); lo += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+step, len(resid))
		s := m.visionPool.get()
		B := hi - lo
		s.setLens(B, func(int) int { return T })
		s.reserve(D, c.Heads, c.MLPWidth, 0)
		x := s.x[:B*T*D]
		for b := range B {
			copy(x[b*T*D:(b+1)*T*D], resid[lo+b])
			s.pooled[b] = b * T
		}
		for l := from; l < len(w.blocks); l++ {
			blockForward(&w.blocks[l], l, false, m.Config.Activation, s, nil)
		}
		poolTo(flat[lo*d:hi*d], s, D, w.extra(vLNPostW), w.extra(vLNPostB), w.extra(vProj), nil)
		m.visionPool.put(s)
	}
	return splitRows(flat, d), nil
}

// patchify writes the patches of pixels [3, S, S] into dst [P, 3·p·p]:
// patch gy·g + gx (g = S/p) at row gy·g+gx, column c·p·p + i·p + j, the
// layout of conv1's weight [D, 3, p, p].
func patchify(dst, pixels []float32, S, p int) {
	g, pp := S/p, p*p
	for gy := range g {
		for gx := range g {
			row := dst[(gy*g+gx)*3*pp:]
			for ch := range 3 {
				for i := range p {
					src := pixels[(ch*S+gy*p+i)*S+gx*p:]
					copy(row[ch*pp+i*p:ch*pp+i*p+p], src[:p])
				}
			}
		}
	}
}

// EncodeImages embeds many images: each batch is preprocessed on all cores
// and then goes through [Model.EncodePixelsBatch]'s batched pass. The
// result is the same as calling [Model.EncodeImage] on each, to float32
// rounding; ctx cancels between batches. The first error (of the lowest
// index) stops the work and is returned.
func (m *Model) EncodeImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	if m.Visual == nil {
		return nil, errNoVision
	}
	d := m.Config.EmbedDim
	flat := make([]float32, len(imgs)*d)
	step := m.visionBatch()
	pixels := make([][]float32, min(step, len(imgs)))
	for lo := 0; lo < len(imgs); lo += step {
		hi := min(lo+step, len(imgs))
		err := parallel.For(ctx, hi-lo, runtime.GOMAXPROCS(0), func(_, i int) error {
			px, err := Preprocess(imgs[lo+i], m.Config.Vision.ImageSize)
			if err != nil {
				return fmt.Errorf("clip: image %d: %w", lo+i, err)
			}
			pixels[i] = px
			return nil
		})
		if err != nil {
			return nil, err
		}
		m.encodePixels(flat[lo*d:hi*d], pixels[:hi-lo], nil)
	}
	return splitRows(flat, d), nil
}
