// Package shapeseg runs zero-shot segmentation (package segment, METHOD.md
// §4) on the shapes world (internal/shapes): it adapts the world to a
// [segment.Source] and gets the neurons' directions from the lens on
// held-out images. It lives apart from both packages because internal/shapes
// must not import segment, and segment must not depend on the world.
package shapeseg

import (
	"context"
	"fmt"
	"image"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/lens"
	"github.com/neuronlens/neuronlens/segment"
)

// Source is the shapes world as a [segment.Source]: sample i is World.At(i),
// its mask the foreground (the union of the objects of the sample's class)
// and its class the shape's index in [shapes.ClassNames], or −1 (segment
// the zero-shot prediction, as METHOD.md §4 does) when Predict is set.
type Source struct {
	World   shapes.Source
	Predict bool
}

// Len returns the number of samples.
func (s Source) Len() int { return s.World.Len() }

// Sample renders sample i; the error is always nil.
func (s Source) Sample(i int) (segment.Sample, error) {
	smp := s.World.At(i)
	class := int(smp.Class)
	if s.Predict {
		class = -1
	}
	return segment.Sample{
		Name:  fmt.Sprintf("%06d_%s", i, smp.Class),
		Image: smp.Image,
		Mask:  shapes.MaskImage(smp.Foreground, s.World.Width, s.World.Height),
		Class: class,
	}, nil
}

// Split returns two disjoint held-out sets of seed, at the model's input
// size: the first nAnalyze samples (for the lens statistics) and the nEval
// after them (to segment).
func Split(m *clip.Model, seed uint64, nAnalyze, nEval int) (analyze, eval shapes.Source) {
	S := m.Config.Vision.ImageSize
	all := shapes.HeldOut(seed, nAnalyze+nEval, shapes.WithSize(S, S))
	return all.Slice(0, nAnalyze), all.Slice(nAnalyze, nAnalyze+nEval)
}

// Classifier is the world's zero-shot classifier: the class names of
// [shapes.ClassNames] with the prompt templates of [shapes.Templates].
func Classifier(m *clip.Model) (*clip.Classifier, error) {
	return m.NewClassifier(shapes.ClassNames(), shapes.Templates())
}

// Directions runs [lens.Analyze] on the images of world for the given
// layers (opts are passed on after the layers) and returns each layer's
// neuron directions r_n, [N, d].
func Directions(ctx context.Context, m *clip.Model, world shapes.Source, layers []int, opts ...lens.Option) (segment.Directions, error) {
	src := lens.Generator(world.Len(), func(i int) (image.Image, error) { return world.At(i).Image, nil })
	res, err := lens.Analyze(ctx, m, src, append([]lens.Option{lens.WithLayers(layers...)}, opts...)...)
	if err != nil {
		return nil, err
	}
	dirs := segment.Directions{}
	for _, l := range layers {
		st := res.Layer(l)
		if st == nil {
			return nil, fmt.Errorf("shapeseg: Analyze returned no statistics for layer %d", l)
		}
		dirs[l] = st.Direction
	}
	return dirs, nil
}

// The defaults of examples/segment and of the package's tests.
const (
	// DefaultSeed is the seed of the held-out images.
	DefaultSeed = 1
	// DefaultAnalyze is the number of held-out images the lens analyses.
	DefaultAnalyze = 2000
)

// DefaultK is the number of top images per neuron for n analysed images:
// 2% of them (the paper keeps 100 of 5,124), at least 5.
func DefaultK(n int) int { return max(5, (n+25)/50) }
