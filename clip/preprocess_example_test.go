package clip_test

import (
	"fmt"
	"image"
	"image/color"

	"github.com/neuronlens/neuronlens/clip"
)

func ExamplePreprocess() {
	// A 64×48 mid-gray picture, as image/png would decode a gray PNG.
	img := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	const s = 32
	px, err := clip.Preprocess(img, s)
	if err != nil {
		fmt.Println(err)
		return
	}
	// px is [3, S, S]: channel c of pixel (x, y) is px[(c*S+y)*S+x].
	fmt.Printf("%d values; pixel (5, 7): R %.4f G %.4f B %.4f\n",
		len(px), px[(0*s+7)*s+5], px[(1*s+7)*s+5], px[(2*s+7)*s+5])

	crop, _ := clip.ResizeCrop(img, s)
	fmt.Println(crop.Bounds(), crop.At(5, 7).(color.RGBA))
	// Output:
	// 3072 values; pixel (5, 7): R 0.0763 G 0.1689 B 0.3399
	// (0,0)-(32,32) {128 128 128 255}
}
