package segment_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/segment"
)

// Example_segment segments one image with every method and scores the
// heatmaps against its mask. A small random model stands in for CLIP, and
// random unit directions for the lens statistics (which give r_n per
// neuron); with a trained model and its directions the same calls give the
// paper's heatmaps.
func Example_segment() {
	m, _ := clip.New(clip.Config{
		EmbedDim: 16, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 64, PatchSize: 16, Width: 32, Layers: 6, Heads: 4, MLPWidth: 128},
	})
	m.InitRandom(1)
	r := rand.New(rand.NewPCG(1, 2))
	unit := func(x []float64) {
		var s float64
		for i := range x {
			x[i] = r.NormFloat64()
			s += x[i] * x[i]
		}
		for i := range x {
			x[i] /= math.Sqrt(s)
		}
	}
	cls := &clip.Classifier{Classes: []string{"disc", "square"}, Dim: 16, Weights: make([]float32, 2*16)}
	w := make([]float64, 16)
	for c := range 2 {
		unit(w)
		for k, v := range w {
			cls.Weights[c*16+k] = float32(v)
		}
	}
	dirs := segment.Directions{}
	for _, l := range segment.DefaultLayers(6) { // 2, 3, 4: the three blocks before the last
		d := mat.NewDense(128, 16, nil)
		for n := range 128 {
			unit(d.RawRowView(n))
		}
		dirs[l] = d
	}
	seg, err := segment.New(m, cls, dirs, segment.WithSeed(7))
	if err != nil {
		fmt.Println(err)
		return
	}

	// A 96×64 image of a bright disc, and its mask.
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	mask := image.NewGray(img.Bounds())
	for y := range 64 {
		for x := range 96 {
			img.Set(x, y, color.RGBA{40, 60, 90, 255})
			if (x-48)*(x-48)+(y-32)*(y-32) < 15*15 {
				img.Set(x, y, color.RGBA{250, 220, 30, 255})
				mask.SetGray(x, y, color.Gray{255})
			}
		}
	}
	res, err := seg.Segment(context.Background(), img, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	truth, _ := segment.ResizeMask(mask, 64, segment.AlignedMask)
	fmt.Printf("class %q, %d neurons from layers %v\n", cls.Classes[res.Class], len(res.Neurons[segment.SecondOrder]), segment.DefaultLayers(6))
	for _, me := range segment.Methods {
		var acc segment.Metrics
		h := res.Heatmaps[me]
		acc.Add(h, truth)
		fmt.Printf("%-13s %d×%d heatmap, scores in [0, 1]: %v, pixel accuracy in [0, 1]: %v\n",
			me, h.Size, h.Size, inUnit(h.Scores), acc.PixelAccuracy() >= 0 && acc.PixelAccuracy() <= 1)
	}
	// Output:
	// class "disc", 8 neurons from layers [2 3 4]
	// second-order  64×64 heatmap, scores in [0, 1]: true, pixel accuracy in [0, 1]: true
	// random        64×64 heatmap, scores in [0, 1]: true, pixel accuracy in [0, 1]: true
	// raw-attention 64×64 heatmap, scores in [0, 1]: true, pixel accuracy in [0, 1]: true
	// textspan      64×64 heatmap, scores in [0, 1]: true, pixel accuracy in [0, 1]: true
}

func inUnit(s []float32) bool {
	for _, v := range s {
		if v < 0 || v > 1 {
			return false
		}
	}
	return true
}
