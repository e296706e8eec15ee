package lens

import (
	"context"
	"errors"
	"fmt"

	"github.com/neuronlens/neuronlens/clip"
)

// Errors for bad inputs.
var (
	// ErrNoModel is returned for a nil model.
	ErrNoModel = errors.New("lens: nil model")
	// ErrNoVision is returned for a model without an image tower.
	ErrNoVision = errors.New("lens: model has no image tower")
)

// checkModel validates m and the layers against its image tower.
func checkModel(m *clip.Model, layers ...int) error {
	if m == nil {
		return ErrNoModel
	}
	if m.Visual == nil || m.Config.Vision == nil {
		return ErrNoVision
	}
	L := len(m.Visual.Blocks)
	for _, l := range layers {
		if l < 0 || l >= L {
			return fmt.Errorf("lens: layer %d out of range: the image tower has blocks 0..%d", l, L-1)
		}
	}
	return nil
}

// capture is what one forward pass records for the lens. Shapes: T tokens,
// H heads, N neurons, L blocks.
type capture struct {
	T, H, N, L int
	from       int         // first block whose ln_1 statistics and CLS attention are kept
	post       [][]float32 // [L] → MLPPost [T, N] for the layers asked for, else nil
	mu1, sig1  [][]float32 // [L] → ln_1 mean and σ [T] for blocks ≥ from
	cls        [][]float32 // [L] → CLS attention rows [H, T]: A^{l,h}[0,t] at h*T+t
	muPost     float32     // ln_post mean at CLS
	sigPost    float32     // ln_post σ at CLS
	f          []float32   // f(I) [d]
	hk         clip.Hooks
}

// newCapture prepares a capture of the MLP post-activations of layers and of
// what every block after the first of them contributes to the lens.
func newCapture(m *clip.Model, layers []int) *capture {
	v := m.Config.Vision
	c := &capture{T: v.Tokens(), H: v.Heads, N: v.MLPWidth, L: v.Layers, from: v.Layers}
	c.post = make([][]float32, c.L)
	c.mu1 = make([][]float32, c.L)
	c.sig1 = make([][]float32, c.L)
	c.cls = make([][]float32, c.L)
	for _, l := range layers {
		if c.post[l] == nil {
			c.post[l] = make([]float32, c.T*c.N)
			c.hk.On(clip.Point{Layer: l, Site: clip.MLPPost}, c.keepPost)
		}
		c.from = min(c.from, l+1)
	}
	for l := c.from; l < c.L; l++ {
		c.mu1[l] = make([]float32, c.T)
		c.sig1[l] = make([]float32, c.T)
		c.cls[l] = make([]float32, c.H*c.T)
		c.hk.On(clip.Point{Layer: l, Site: clip.LN1Mean}, c.keepMu1)
		c.hk.On(clip.Point{Layer: l, Site: clip.LN1Scale}, c.keepSig1)
		c.hk.On(clip.Point{Layer: l, Site: clip.AttnPattern}, c.keepCLS)
	}
	c.hk.On(clip.Point{Site: clip.LNPostMean}, func(_ clip.Point, a *clip.Act) { c.muPost = a.Data[0] })
	c.hk.On(clip.Point{Site: clip.LNPostScale}, func(_ clip.Point, a *clip.Act) { c.sigPost = a.Data[0] })
	return c
}

func (c *capture) keepPost(p clip.Point, a *clip.Act) { copy(c.post[p.Layer], a.Data) }
func (c *capture) keepMu1(p clip.Point, a *clip.Act)  { copy(c.mu1[p.Layer], a.Data) }
func (c *capture) keepSig1(p clip.Point, a *clip.Act) { copy(c.sig1[p.Layer], a.Data) }

func (c *capture) keepCLS(p clip.Point, a *clip.Act) {
	T := c.T
	for h := range c.H {
		copy(c.cls[p.Layer][h*T:(h+1)*T], a.Data[h*T*T:h*T*T+T])
	}
}

// run does one forward pass on pixels [3, S, S].
func (c *capture) run(ctx context.Context, m *clip.Model, pixels []float32) error {
	f, err := m.RunPixels(ctx, pixels, &c.hk)
	if err != nil {
		return err
	}
	c.f = f
	return nil
}

// norm returns ‖f(I)‖.
func (c *capture) norm() float64 {
	var s float64
	for _, v := range c.f {
		s += float64(v) * float64(v)
	}
	return sqrt(s)
}
