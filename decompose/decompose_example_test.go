package decompose_test

import (
	"fmt"

	"github.com/neuronlens/neuronlens/decompose"
)

// ExampleDictionary_Decompose codes a direction planted as 0.8·"red" −
// 0.5·"square" in a toy pool of six texts (hand-made 4-d embeddings in
// place of a text tower's), with unit-norm atoms.
func ExampleDictionary_Decompose() {
	emb := &decompose.Embeddings{
		Texts: []string{"red", "blue", "square", "circle", "sky", "grass"},
		Dim:   4,
		Data: []float32{
			90, 20, 30, 10,
			10, 95, 20, 20,
			30, 10, 90, 30,
			20, 30, 30, 90,
			10, 70, 10, 70,
			60, 60, 40, 20,
		},
	}
	dict, err := decompose.NewDictionary(emb, decompose.Unit)
	if err != nil {
		fmt.Println(err)
		return
	}
	target := make([]float64, 4)
	for j := range target {
		target[j] = 0.8*float64(dict.Atom(0)[j]) - 0.5*float64(dict.Atom(2)[j])
	}
	dec, err := dict.Decompose(target, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range dec.Terms {
		fmt.Printf("%-7s %+.3f\n", t.Text, t.Coef)
	}
	fmt.Printf("cosine %.4f\n", dec.Cosine)
	// Output:
	// red     +0.800
	// square  -0.500
	// cosine 1.0000
}
