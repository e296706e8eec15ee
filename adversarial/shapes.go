package adversarial

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"slices"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
)

// Candidate is a class pair tied by one of the shapes world's spurious
// correlations ([shapes.Correlations]): A is the correlated class, Concept
// its concept. Base is the fraction of images of "a B" that CLIP prefers as
// A, Oracle the fraction when B is drawn with A's concept ("a B in the
// sky"), and Lift = Oracle − Base: how far the model learned the
// correlation, measured on the world's ground truth, with no word mining.
type Candidate struct {
	Pair
	Concept            string
	Base, Oracle, Lift float64
}

// ShapesPairs chooses n class pairs of the shapes world for the attack: for
// every correlated class A it takes the class B (not A, and not a shape of
// A's concept) of largest Lift, then keeps the n classes A of largest Lift,
// best first (ties by class order). Each rate is measured on images
// images rendered by [ShapesGenerator] from descriptions written by
// [TemplateDescriber] (the concept as the only word for Oracle, no word
// for Base), judged by the binary test ([Judge], [WithTemplates]). It is
// deterministic. Errors: n or images below 1, model errors.
func ShapesPairs(ctx context.Context, m *clip.Model, n, images int, opts ...Option) ([]Candidate, error) {
	if n < 1 || images < 1 {
		return nil, fmt.Errorf("adversarial: ShapesPairs(n %d, images %d): want both ≥ 1", n, images)
	}
	if m == nil {
		return nil, errors.New("adversarial: nil model")
	}
	rate := func(p Pair, words []string) (float64, error) {
		ds, err := TemplateDescriber{MaxWords: 1}.Describe(ctx, Request{Depict: p.B, Words: words, N: images, Seed: 1})
		if err != nil {
			return 0, err
		}
		imgs := make([]image.Image, 0, images)
		for i, d := range ds {
			g, err := ShapesGenerator{}.Generate(ctx, d, 1, uint64(i))
			if err != nil {
				return 0, err
			}
			imgs = append(imgs, g...)
		}
		j, err := NewJudge(m, p, opts...)
		if err != nil {
			return 0, err
		}
		a, b, err := j.Score(ctx, imgs)
		if err != nil {
			return 0, err
		}
		k := 0
		for i := range a {
			if a[i] > b[i] {
				k++
			}
		}
		return float64(k) / float64(len(a)), nil
	}
	var out []Candidate
	for _, c := range shapes.Correlations() {
		var best *Candidate
		for s := range shapes.NumShapes {
			b := shapes.Shape(s)
			if b == c.Class || mentions(c.Concept, b.String()) {
				continue
			}
			k := Candidate{Pair: Pair{A: c.Class.String(), B: b.String()}, Concept: c.Concept}
			var err error
			if k.Base, err = rate(k.Pair, nil); err != nil {
				return nil, err
			}
			if k.Oracle, err = rate(k.Pair, []string{c.Concept}); err != nil {
				return nil, err
			}
			k.Lift = k.Oracle - k.Base
			if best == nil || k.Lift > best.Lift {
				best = &k
			}
		}
		out = append(out, *best)
	}
	slices.SortStableFunc(out, func(x, y Candidate) int { return cmp.Compare(y.Lift, x.Lift) })
	return out[:min(n, len(out))], nil
}
