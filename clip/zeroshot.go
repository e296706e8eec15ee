package clip

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Classifier is a zero-shot classifier built from class names and prompt
// templates, as CLIP's ImageNet evaluation does: each class is the
// renormalized mean of its L2-normalized template embeddings.
type Classifier struct {
	Classes []string
	Dim     int       // d
	Weights []float32 // [C, d] row-major, unit rows: class c is Weights[c*Dim:(c+1)*Dim]
}

// NewClassifier embeds every template filled with every class name ("{}" in
// a template is replaced by the name) and averages per class. With no
// templates the class names are used as they are.
func (m *Model) NewClassifier(classes, templates []string) (*Classifier, error) {
	if len(classes) == 0 {
		return nil, errors.New("clip: NewClassifier: no classes")
	}
	if len(templates) == 0 {
		templates = []string{"{}"}
	}
	for _, t := range templates {
		if !strings.Contains(t, "{}") {
			return nil, fmt.Errorf("clip: NewClassifier: template %q has no {} for the class name", t)
		}
	}
	texts := make([]string, 0, len(classes)*len(templates))
	for _, c := range classes {
		for _, t := range templates {
			texts = append(texts, strings.ReplaceAll(t, "{}", c))
		}
	}
	embs, err := m.EncodeText(texts)
	if err != nil {
		return nil, err
	}
	d := m.Config.EmbedDim
	c := &Classifier{Classes: append([]string(nil), classes...), Dim: d, Weights: make([]float32, len(classes)*d)}
	acc := make([]float64, d)
	for i := range classes {
		clear(acc)
		for j := range templates {
			e := embs[i*len(templates)+j]
			inv := 1 / norm(e)
			for k, v := range e {
				acc[k] += float64(v) * inv
			}
		}
		var s float64
		for _, v := range acc {
			s += v * v
		}
		inv := 1 / math.Sqrt(s)
		for k, v := range acc {
			c.Weights[i*d+k] = float32(v * inv)
		}
	}
	return c, nil
}

// Scores returns the cosine similarity of emb [d] to every class, [C].
// Multiply by exp(logit_scale) (100 for CLIP) for logits.
func (c *Classifier) Scores(emb []float32) []float32 {
	if len(emb) != c.Dim {
		panic(fmt.Sprintf("clip: Classifier.Scores: embedding of %d values, want %d", len(emb), c.Dim))
	}
	inv := 1 / norm(emb)
	out := make([]float32, len(c.Classes))
	for i := range out {
		var s float64
		for k, w := range c.Weights[i*c.Dim : (i+1)*c.Dim] {
			s += float64(w) * float64(emb[k])
		}
		out[i] = float32(s * inv)
	}
	return out
}

// Predict returns the index of the class most similar to emb [d].
func (c *Classifier) Predict(emb []float32) int {
	scores := c.Scores(emb)
	best := 0
	for i, s := range scores {
		if s > scores[best] {
			best = i
		}
	}
	return best
}

func norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if s == 0 {
		return 1
	}
	return math.Sqrt(s)
}
