package clip

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"

	"github.com/neuronlens/neuronlens/internal/kernels"
)

var errNoVision = errors.New("clip: model has no image tower")

func (m *Model) visionScratch() *scratch {
	if s, ok := m.visionPool.Get().(*scratch); ok {
		return s
	}
	c := m.Config.Vision
	p := c.PatchSize
	return newScratch(c.Tokens(), c.Width, c.Heads, c.MLPWidth, (c.Tokens()-1)*3*p*p)
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
	if m.Visual == nil {
		return nil, errNoVision
	}
	c := m.Config.Vision
	if len(pixels) != 3*c.ImageSize*c.ImageSize {
		return nil, fmt.Errorf("clip: pixels have %d values, want 3×%d×%d", len(pixels), c.ImageSize, c.ImageSize)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	table, err := hk.resolve(c.Layers)
	if err != nil {
		return nil, err
	}
	s := m.visionScratch()
	defer m.visionPool.Put(s)
	dst := make([]float32, m.Config.EmbedDim)
	m.visionForward(dst, pixels, s, table)
	return dst, nil
}

// visionForward writes f(I) for pixels [3, S, S] into dst [d].
func (m *Model) visionForward(dst, pixels []float32, s *scratch, hk *hookTable) {
	c := m.Config.Vision
	v := m.Visual
	S, p, D, T := c.ImageSize, c.PatchSize, c.Width, c.Tokens()
	g := S / p
	// Patches [P, 3·p·p], column c·p·p + i·p + j, patch index gy·g + gx.
	pp := p * p
	for gy := range g {
		for gx := range g {
			row := s.in[(gy*g+gx)*3*pp:]
			for ch := range 3 {
				for i := range p {
					src := pixels[(ch*S+gy*p+i)*S+gx*p:]
					copy(row[ch*pp+i*p:ch*pp+i*p+p], src[:p])
				}
			}
		}
	}
	x := s.x[:T*D]
	copy(x[:D], values(v.ClassEmbedding))
	kernels.Linear(x[D:], s.in, T-1, 3*pp, values(v.Conv1), nil, D)
	kernels.Add(x, values(v.PositionalEmbedding))
	kernels.LayerNorm(x, x, T, D, values(v.LNPre.W), values(v.LNPre.B), layerNormEps, nil, nil)
	for l, b := range v.Blocks {
		blockForward(b, l, T, false, m.Config.Activation, s, hk)
	}
	pool(dst, s, 0, D, v.LNPost, values(v.Proj), hk)
}

// EncodeImages embeds many images, spreading them over the cores. The
// result is the same as calling [Model.EncodeImage] on each; ctx cancels
// between images. The first error stops the work and is returned.
func (m *Model) EncodeImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	if m.Visual == nil {
		return nil, errNoVision
	}
	out := make([][]float32, len(imgs))
	err := parallel(ctx, len(imgs), func(i int) error {
		e, err := m.RunImage(ctx, imgs[i], nil)
		if err != nil {
			return fmt.Errorf("clip: image %d: %w", i, err)
		}
		out[i] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parallel runs f(0..n-1) on GOMAXPROCS goroutines, stopping at the first
// error or when ctx is done, and returns the error of the lowest index.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var (
		mu    sync.Mutex
		next  int
		first = n
		ferr  error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := ferr != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = f(i)
				}
				if err != nil {
					mu.Lock()
					if i < first {
						first, ferr = i, err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return ferr
}
