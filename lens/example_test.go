package lens_test

import (
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
