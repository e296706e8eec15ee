package lens

import (
	"context"
	"fmt"
	"image"

	"github.com/neuronlens/neuronlens/internal/parallel"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
)

// Indirect returns the indirect effects of neurons of MLP block layer by
// mean-ablation: for each neuron n, the forward pass is run again with the
// neuron's activation at every token t replaced by means[t*N+n] (hooked at
// MLPPost), and the effect is the change of the embedding,
//
//	ι_n(I) = 100/‖f(I)‖ · (f(I) - f_n^ablated(I))
//
// in paper scale, or f(I) - f_n^ablated(I) with [RawScale]. The result has
// one row per neuron: all N by default, or the neurons of [WithNeurons] in
// that order. means is [T, N], row-major (per-token dataset means of the
// MLPPost activations, collected by the caller). [WithoutSharedTerm] has no
// meaning here and is ignored.
//
// Cost: the blocks before and at layer run once. Replacing one activation
// changes block layer's output by (means[t,n] − p[t,n])·w_n at each token
// (w_n the neuron's column of c_proj), so each ablated pass starts from the
// ordinary pass's residual stream after block layer, plus that change, and
// runs only the later blocks ([clip.Model.EncodeResiduals]), many neurons
// at once, spread over [WithWorkers] goroutines. For ViT-B/32 layer 9 that
// is 2 of the 12 blocks per neuron. The result equals rerunning the whole
// pass with the hook to float32 rounding. Errors as for [SecondOrder], plus
// a means slice of the wrong length and neurons out of range.
func Indirect(m *clip.Model, img image.Image, layer int, means []float32, opts ...Option) (*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	px, err := clip.Preprocess(img, m.Config.Vision.ImageSize)
	if err != nil {
		return nil, err
	}
	return IndirectPixels(context.Background(), m, px, layer, means, opts...)
}

// indirectChunk is how many ablated streams one EncodeResiduals call
// takes: enough for the later blocks' products to be large.
const indirectChunk = 32

// IndirectPixels is [Indirect] for preprocessed pixels [3, S, S]; ctx
// cancels between groups of neurons.
func IndirectPixels(ctx context.Context, m *clip.Model, pixels []float32, layer int, means []float32, opts ...Option) (*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	vc := m.Config.Vision
	T, N, D, d := vc.Tokens(), vc.MLPWidth, vc.Width, m.Config.EmbedDim
	if len(means) != T*N {
		return nil, fmt.Errorf("lens: means have %d values, want [%d %d]", len(means), T, N)
	}
	sel := cfg.neurons
	if sel == nil {
		sel = make([]int, N)
		for i := range sel {
			sel[i] = i
		}
	}
	for _, n := range sel {
		if n < 0 || n >= N {
			return nil, fmt.Errorf("lens: neuron %d out of range [0, %d)", n, N)
		}
	}
	var hk clip.Hooks
	var tr clip.Trace
	post, resid := clip.Point{Layer: layer, Site: clip.MLPPost}, clip.Point{Layer: layer, Site: clip.ResidPost}
	tr.Keep(&hk, post, resid)
	f, err := m.RunPixels(ctx, pixels, &hk)
	if err != nil {
		return nil, err
	}
	p, _ := tr.At(post)
	x, _ := tr.At(resid)
	W := m.Visual.Blocks[layer].MLP.CProj.W.Data().F32() // [D, N]
	scale := 1.0
	if !cfg.raw {
		scale = 100 / norm64(f)
	}
	out := make([]float64, len(sel)*d)
	chunks := (len(sel) + indirectChunk - 1) / indirectChunk
	err = parallel.For(ctx, chunks, cfg.workers, func(_, c int) error {
		lo, hi := c*indirectChunk, min((c+1)*indirectChunk, len(sel))
		streams := make([][]float32, hi-lo)
		for i := range streams {
			n := sel[lo+i]
			xs := append([]float32(nil), x.Data...)
			for t := range T {
				delta := means[t*N+n] - p.Data[t*N+n]
				if delta == 0 {
					continue
				}
				row := xs[t*D : (t+1)*D]
				for k := range row {
					row[k] += delta * W[k*N+n]
				}
			}
			streams[i] = xs
		}
		gs, err := m.EncodeResiduals(ctx, layer+1, streams)
		if err != nil {
			return err
		}
		for i, g := range gs {
			for j := range d {
				out[(lo+i)*d+j] = scale * (float64(f[j]) - float64(g[j]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return mat.NewDense(len(sel), d, out), nil
}

func norm64(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return sqrt(s)
}
