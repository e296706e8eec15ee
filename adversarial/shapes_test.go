//go:build shapesmodel

// This file needs internal/shapesmodel (branch train); drop the build tag
// once it is merged.

package adversarial

import (
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
	"github.com/neuronlens/neuronlens/lens"
)

// TestOursBeatsBaselinesOnShapes is a small version of examples/adversarial:
// on the embedded shapes CLIP, the second-order words must beat every
// baseline on at least 2 of 3 pairs tied by the world's correlations.
func TestOursBeatsBaselinesOnShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains nothing, but runs the lens on 400 images")
	}
	m, err := shapesmodel.Model()
	require.NoError(t, err)
	L := m.Config.Vision.Layers
	layers := []int{max(L-4, 0), max(L-3, 0), L - 2}
	src := shapes.Dataset(1, 300)
	res, err := lens.Analyze(t.Context(), m, lens.Generator(src.Len(), func(i int) (image.Image, error) { return src.At(i).Image, nil }),
		lens.WithLayers(layers...), lens.WithK(10))
	require.NoError(t, err)
	dec, err := NewTextDecomposer(t.Context(), m, shapes.Phrases())
	require.NoError(t, err)
	probe := shapes.HeldOut(2, 2)
	ie, err := ComputeIndirect(t.Context(), m, []image.Image{probe.At(0).Image, probe.At(1).Image}, layers)
	require.NoError(t, err)
	p := &Pipeline{Model: m, Results: res, Decomposer: dec, Images: 24, Options: []Option{WithIndirect(ie)}}
	pairs := []Pair{{A: "star", B: "moon"}, {A: "ring", B: "circle"}, {A: "triangle", B: "moon"}}
	rep, err := p.Run(t.Context(), pairs, Methods(), []uint64{0, 1})
	require.NoError(t, err)
	wins := 0
	for _, pr := range pairs {
		if rep.Beats(pr) {
			wins++
		}
	}
	var tb testWriter
	rep.Table(&tb)
	t.Log("\n" + string(tb))
	assert.GreaterOrEqual(t, wins, 2, "ours must beat every baseline on at least 2 of 3 pairs")
}

type testWriter []byte

func (w *testWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }
