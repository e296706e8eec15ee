package clip_test

import (
	"fmt"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
)

// Embed an image and classify it zero-shot with the embedded shapes-world model.
func ExampleModel_EncodeImage() {
	m, err := shapesmodel.Model()
	if err != nil {
		panic(err)
	}
	sample := shapes.HeldOut(1, 1).At(0)
	emb, err := m.EncodeImage(sample.Image) // un-normalized f(I), [d]
	if err != nil {
		panic(err)
	}
	cls, err := m.NewClassifier(shapes.ClassNames(), shapes.Templates())
	if err != nil {
		panic(err)
	}
	fmt.Println(len(emb), sample.Caption)
	fmt.Println("predicted:", cls.Classes[cls.Predict(emb)])
	// Output:
	// 64 a large purple triangle and a small yellow circle on a striped background
	// predicted: triangle
}

// Load reads any checkpoint format; the architecture comes from the tensor shapes.
func ExampleLoad() {
	m, err := clip.Load("../testdata/clip/formats/hf")
	if err != nil {
		panic(err)
	}
	v := m.Config.Vision
	fmt.Println(v.ImageSize, v.PatchSize, v.Width, v.Layers, v.Heads, m.Config.Activation)
	// Output: 16 8 32 2 4 quick_gelu
}
