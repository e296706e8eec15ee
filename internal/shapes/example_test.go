package shapes_test

import (
	"fmt"

	"github.com/neuronlens/neuronlens/internal/shapes"
)

func ExampleDataset() {
	src := shapes.Dataset(1, 1000)
	for i := range 4 {
		s := src.At(i)
		fg := 0
		for _, in := range s.Foreground {
			if in {
				fg++
			}
		}
		fmt.Printf("%-8v %3d px  %s\n", s.Class, fg, s.Caption)
	}
	// Output:
	// diamond  176 px  a large yellow diamond on a plain background
	// heart    774 px  three large red hearts on a dotted background
	// moon     370 px  two large yellow moons, a small purple triangle and a small red circle on sand
	// cross    864 px  three large white crosses on water
}

func ExampleParse() {
	sc, ignored := shapes.Parse("a blue square and a small shiny yellow circle on sky", 1)
	fmt.Println(sc.Caption())
	fmt.Println("ignored:", ignored)
	r := shapes.Render(sc, 64, 64)
	fmt.Println(r.Image.Bounds(), len(r.Masks))
	// Output:
	// a large blue square and a small yellow circle in the sky
	// ignored: [shiny]
	// (0,0)-(64,64) 2
}
