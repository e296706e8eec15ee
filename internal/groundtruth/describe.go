package groundtruth

import (
	"context"
	"image"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/lens"
)

// Run is one pass of the method over shapes-world images, with what the
// world says about it.
type Run struct {
	Results      *lens.Results                   // lens.Analyze over the images
	Descriptions map[int]*decompose.Descriptions // layer → every r_n as texts
	Concepts     [][]string                      // Concepts[i]: the concepts of image i
	Selective    []Selective                     // neurons whose top images share a concept
	Recovery     Recovery                        // how often their descriptions name it
	Pool         *decompose.Pool                 // the texts the descriptions draw on
}

// Config is what Describe runs.
type Config struct {
	Layers   []int // MLP blocks to analyse
	K        int   // top images per neuron
	Terms    int   // terms per description
	Top      int   // terms that count for naming a concept
	Norm     decompose.Normalization
	Criteria Criteria
}

// Describe runs lens.Analyze on the images of world with m, decomposes every
// direction over the world's phrases (shapes.Phrases), and scores the
// descriptions of the selective neurons against the images' concepts.
func Describe(ctx context.Context, m *clip.Model, world shapes.Source, c Config, opts ...lens.Option) (*Run, error) {
	n := world.Len()
	r := &Run{Concepts: make([][]string, n), Descriptions: map[int]*decompose.Descriptions{}}
	for i := range r.Concepts {
		r.Concepts[i] = world.SceneAt(i).Concepts()
	}
	src := lens.Generator(n, func(i int) (image.Image, error) { return world.At(i).Image, nil })
	opts = append([]lens.Option{lens.WithLayers(c.Layers...), lens.WithK(c.K)}, opts...)
	var err error
	if r.Results, err = lens.Analyze(ctx, m, src, opts...); err != nil {
		return nil, err
	}
	r.Pool = &decompose.Pool{Texts: shapes.Phrases()}
	emb, err := decompose.Embed(ctx, m, r.Pool)
	if err != nil {
		return nil, err
	}
	dict, err := decompose.NewDictionary(emb, c.Norm)
	if err != nil {
		return nil, err
	}
	for _, l := range c.Layers {
		if r.Descriptions[l], err = decompose.DecomposeNeurons(ctx, dict, r.Results.Layer(l), c.Terms); err != nil {
			return nil, err
		}
		r.Selective = append(r.Selective, SelectiveNeurons(r.Results.Layer(l), r.Concepts, c.Criteria)...)
	}
	r.Recovery = Score(r.Selective, r.Terms, c.Top)
	return r, nil
}

// Terms returns the description of neuron n of layer l, sorted by |coef|.
func (r *Run) Terms(l, n int) []decompose.Term { return r.Descriptions[l].Neurons[n].Terms }

// ConceptWords are the concepts a neuron may be selective for: the world's
// shapes, colours and backgrounds (sizes and counts are in nearly every
// image, so they say little).
func ConceptWords() []string {
	var out []string
	for _, w := range shapes.Words() {
		switch w {
		case "large", "small", "one", "two", "three":
			continue
		}
		out = append(out, w)
	}
	return out
}
