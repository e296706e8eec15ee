package lens

import (
	"context"
	"fmt"
	"github.com/neuronlens/neuronlens/internal/parallel"
	"image"

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
// MLPPost activations, collected by the caller). [WithoutSharedTerm] has no meaning here and is ignored.
//
// Cost: one full forward pass per neuron, spread over [WithWorkers]
// goroutines; for all 3,072 neurons of ViT-B/32 that is 3,073 passes per
// image, so restrict the set where you can. Errors as for [SecondOrder],
// plus a means slice of the wrong length and neurons out of range.
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

// IndirectPixels is [Indirect] for preprocessed pixels [3, S, S]; ctx
// cancels between forward passes.
func IndirectPixels(ctx context.Context, m *clip.Model, pixels []float32, layer int, means []float32, opts ...Option) (*mat.Dense, error) {
	if err := checkModel(m, layer); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	vc := m.Config.Vision
	T, N, d := vc.Tokens(), vc.MLPWidth, m.Config.EmbedDim
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
	f, err := m.RunPixels(ctx, pixels, nil)
	if err != nil {
		return nil, err
	}
	scale := 1.0
	if !cfg.raw {
		scale = 100 / norm64(f)
	}
	out := make([]float64, len(sel)*d)
	type worker struct {
		hk     clip.Hooks
		neuron int
	}
	ws := make([]*worker, cfg.workers)
	err = parallel.For(ctx, len(sel), cfg.workers, func(w, i int) error {
		wk := ws[w]
		if wk == nil {
			wk = &worker{}
			wk.hk.On(clip.Point{Layer: layer, Site: clip.MLPPost}, func(_ clip.Point, a *clip.Act) {
				n := wk.neuron
				for t := range T {
					a.Data[t*N+n] = means[t*N+n]
				}
			})
			ws[w] = wk
		}
		wk.neuron = sel[i]
		g, err := m.RunPixels(ctx, pixels, &wk.hk)
		if err != nil {
			return err
		}
		for j := range d {
			out[i*d+j] = scale * (float64(f[j]) - float64(g[j]))
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
