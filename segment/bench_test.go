package segment

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
)

// segB32 is a random ViT-B/32 image tower (no text tower), a 1000-class
// random classifier and random directions for layers 8–10.
func segB32(b *testing.B) (*clip.Model, *clip.Classifier, Directions) {
	cfg := clip.ViTB32()
	cfg.Text = nil
	m, err := clip.New(cfg)
	require.NoError(b, err)
	m.InitRandom(1)
	return m, segClassifier(1000, cfg.EmbedDim, 1), segRandomDirs(PaperLayers, cfg.Vision.MLPWidth, cfg.EmbedDim, 1)
}

// BenchmarkHeatmaps measures heatmaps per second on a random ViT-B/32:
// "forward" includes the traced forward pass and every method; the others
// start from a recorded trace (one method each, or all of them) and
// exclude it. "metrics" is Metrics.Add of one 224×224 heatmap.
func BenchmarkHeatmaps(b *testing.B) {
	m, cls, dirs := segB32(b)
	px := segPixels(m, 1)
	run := func(name string, ms []Method, forward bool) {
		b.Run(name, func(b *testing.B) {
			s, err := New(m, cls, dirs, WithMethods(ms...))
			require.NoError(b, err)
			var hk clip.Hooks
			var tr clip.Trace
			tr.Keep(&hk, s.Points()...)
			emb, err := m.RunPixels(b.Context(), px, &hk)
			require.NoError(b, err)
			_, err = s.SegmentTrace(&tr, emb, -1) // fill the neuron cache
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if forward {
					_, err = s.SegmentPixels(b.Context(), px, -1)
				} else {
					_, err = s.SegmentTrace(&tr, emb, -1)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
	run("B32/forward/all", Methods, true)
	run("B32/trace/all", Methods, false)
	for _, me := range Methods {
		run("B32/trace/"+me.String(), []Method{me}, false)
	}
	b.Run("B32/metrics", func(b *testing.B) {
		h := NewHeatmap(segPixels(m, 2)[:49], 7, 224, Post{})
		truth := make([]uint8, 224*224)
		for i := range truth {
			truth[i] = uint8(i / 224 % 2)
		}
		var acc Metrics
		b.ReportAllocs()
		for b.Loop() {
			acc.Add(h, truth)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}

// BenchmarkShapesHeatmaps measures heatmaps per second on the embedded
// shapes-world model (64×64 images, patch 8, 4 blocks): a forward pass with
// every method, or with the paper's method alone, for one held-out image.
// The directions are random (the speed does not depend on them) for the
// default layers 0–2, with the default neuron count (17 of N = 256).
func BenchmarkShapesHeatmaps(b *testing.B) {
	m, err := shapesmodel.Model()
	require.NoError(b, err)
	cls, err := m.NewClassifier(shapes.ClassNames(), shapes.Templates())
	require.NoError(b, err)
	vc := m.Config.Vision
	dirs := segRandomDirs(DefaultLayers(vc.Layers), vc.MLPWidth, m.Config.EmbedDim, 1)
	img := shapes.HeldOut(1, 1).At(0).Image
	for _, c := range []struct {
		name string
		ms   []Method
	}{{"all", Methods}, {"second-order", []Method{SecondOrder}}} {
		b.Run("shapes/forward/"+c.name, func(b *testing.B) {
			s, err := New(m, cls, dirs, WithMethods(c.ms...))
			require.NoError(b, err)
			_, err = s.Segment(b.Context(), img, -1) // fill the caches
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Segment(b.Context(), img, -1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
