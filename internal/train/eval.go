package train

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
)

// Quality is a model's held-out quality on the shapes world.
type Quality struct {
	// Accuracy is the zero-shot class accuracy, in [0, 1]: the classifier
	// is m.NewClassifier(shapes.ClassNames(), shapes.Templates()).
	Accuracy float64
	// R1 is image→caption recall@1 within batches of Batch consecutive
	// samples, in [0, 1]: an image counts when its caption scores highest
	// among the batch's captions (a caption of identical text counts too).
	R1     float64
	Images int // images measured
	Batch  int // R1's batch size
}

// Evaluate measures m on every image of src (accuracy) and on its first
// ⌊n/batch⌋ batches of batch images (R1). It returns the errors of the
// encoders, or an error if src has fewer than batch samples or batch < 2.
func Evaluate(ctx context.Context, m *clip.Model, src shapes.Source, batch int) (Quality, error) {
	n := src.Len()
	if batch < 2 || n < batch {
		return Quality{}, fmt.Errorf("train: evaluate: %d images, batch %d", n, batch)
	}
	cls, err := m.NewClassifier(shapes.ClassNames(), shapes.Templates())
	if err != nil {
		return Quality{}, err
	}
	samples := make([]shapes.Sample, n)
	imgs := make([]image.Image, n)
	for i := range n {
		samples[i] = src.At(i)
		imgs[i] = samples[i].Image
	}
	embs, err := m.EncodeImages(ctx, imgs)
	if err != nil {
		return Quality{}, err
	}
	q := Quality{Images: n, Batch: batch}
	correct := 0
	for i, e := range embs {
		if cls.Predict(e) == int(samples[i].Class) {
			correct++
		}
	}
	q.Accuracy = float64(correct) / float64(n)
	hits, total := 0, 0
	for lo := 0; lo+batch <= n; lo += batch {
		caps := make([]string, batch)
		for j := range caps {
			caps[j] = samples[lo+j].Caption
		}
		tembs, err := m.EncodeText(caps)
		if err != nil {
			return Quality{}, err
		}
		for j := range batch {
			best, bestS := 0, float32(0)
			for k, t := range tembs {
				if s := cosine(embs[lo+j], t); k == 0 || s > bestS {
					best, bestS = k, s
				}
			}
			if caps[best] == caps[j] {
				hits++
			}
			total++
		}
	}
	q.R1 = float64(hits) / float64(total)
	return q, nil
}

// cosine returns the cosine similarity of a and b.
func cosine(a, b []float32) float32 {
	var ab, aa, bb float64
	for i, x := range a {
		y := float64(b[i])
		ab += float64(x) * y
		aa += float64(x) * float64(x)
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return float32(ab / (math.Sqrt(aa) * math.Sqrt(bb)))
}
