package lens_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"log"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/lens"
)

func ExampleSecondOrder() {
	// A small random CLIP image tower (T = 17 tokens, 4 blocks, N = 128).
	m, err := clip.New(clip.Config{
		EmbedDim:   16,
		Activation: clip.QuickGELU,
		Vision:     &clip.VisionConfig{ImageSize: 32, PatchSize: 8, Width: 32, Layers: 4, Heads: 4, MLPWidth: 128},
	})
	if err != nil {
		log.Fatal(err)
	}
	m.InitRandom(1)

	img := image.NewRGBA(image.Rect(0, 0, 48, 40))
	for y := range 40 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{uint8(5 * x), uint8(6 * y), 128, 255})
		}
	}

	phi, err := lens.SecondOrder(m, img, 1) // [N, d], paper scale
	if err != nil {
		log.Fatal(err)
	}
	N, d := phi.Dims()
	fmt.Println("effects:", N, "neurons ×", d)
	best, bestNorm := 0, 0.0
	for n := range N {
		if v := floats.Norm(phi.RawRowView(n), 2); v > bestNorm {
			best, bestNorm = n, v
		}
	}
	fmt.Printf("largest: neuron %d, norm %.3f\n", best, bestNorm)
	fmt.Printf("its first entries: %.3f\n", mat.Row(nil, best, phi)[:3])
	// Output:
	// effects: 128 neurons × 16
	// largest: neuron 72, norm 1.475
	// its first entries: [0.503 -0.121 -0.048]
}

func ExampleAnalyze() {
	// A small random CLIP image tower (4 blocks, N = 128, d = 16) and 60
	// synthetic images; with a real model, lens.Folder("images/") is the
	// source, and WithCache makes a long run resumable.
	m, err := clip.New(clip.Config{
		EmbedDim:   16,
		Activation: clip.QuickGELU,
		Vision:     &clip.VisionConfig{ImageSize: 32, PatchSize: 8, Width: 32, Layers: 4, Heads: 4, MLPWidth: 128},
	})
	if err != nil {
		log.Fatal(err)
	}
	m.InitRandom(1)
	src := lens.Generator(60, func(i int) (image.Image, error) {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for y := range 32 {
			for x := range 32 {
				img.Set(x, y, color.RGBA{uint8(7*i + 3*x), uint8(5 * y), uint8(11 * i), 255})
			}
		}
		return img, nil
	})

	res, err := lens.Analyze(context.Background(), m, src, lens.WithLayers(1, 2), lens.WithK(6))
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range res.Layers {
		N, d := s.Direction.Dims()
		fmt.Printf("layer %d: %d images, r_n for %d neurons in %d dimensions, top %d images each\n", s.Layer, s.Images, N, d, s.K)
	}
	// Output:
	// layer 1: 60 images, r_n for 128 neurons in 16 dimensions, top 6 images each
	// layer 2: 60 images, r_n for 128 neurons in 16 dimensions, top 6 images each
}
