// Command secondorder computes the second-order effects of the neurons of
// one MLP layer on one image, prints the neurons with the largest effects
// and writes the N×d matrix as .npy.
//
//	go run ./examples/secondorder -model ViT-B-32.pt -image cat.jpg -layer 9 -out effects.npy
//	go run ./examples/secondorder -random small -layer 9
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"os"
	"sort"

	"gonum.org/v1/gonum/floats"

	"github.com/neuronlens/neuronlens/examples/internal/cli"
	"github.com/neuronlens/neuronlens/internal/npy"
	"github.com/neuronlens/neuronlens/lens"

	"github.com/neuronlens/neuronlens/internal/imagefile"
)

func main() {
	var (
		model  = flag.String("model", "", "CLIP checkpoint (any format clip.Load reads)")
		random = flag.String("random", "", "use a random model instead: b32 (ViT-B/32 shape) or small")
		img    = flag.String("image", "", "image file (.jpg, .png); a generated picture when empty")
		layer  = flag.Int("layer", 9, "MLP block whose neurons to explain (0-based)")
		top    = flag.Int("top", 10, "how many neurons to print")
		out    = flag.String("out", "effects.npy", "where to write the [N, d] float32 matrix (empty: don't)")
		raw    = flag.Bool("raw", false, "raw embedding units instead of paper scale (×100/‖f‖)")
		noC    = flag.Bool("noshared", false, "leave out the shared term C(I)")
	)
	flag.Parse()
	if err := run(*model, *random, *img, *layer, *top, *out, *raw, *noC); err != nil {
		fmt.Fprintln(os.Stderr, "secondorder:", err)
		os.Exit(1)
	}
}

func run(model, random, imgPath string, layer, top int, out string, raw, noC bool) error {
	m, err := cli.Model(os.Stderr, model, "", random)
	if err != nil {
		return err
	}
	var im image.Image
	if imgPath == "" {
		rgba := image.NewRGBA(image.Rect(0, 0, 256, 224))
		for y := range 224 {
			for x := range 256 {
				rgba.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8((x * y) >> 8), 255})
			}
		}
		im = rgba
	} else {
		var err error
		if im, err = imagefile.Read(imgPath); err != nil {
			return err
		}
	}
	var opts []lens.Option
	if raw {
		opts = append(opts, lens.RawScale())
	}
	if noC {
		opts = append(opts, lens.WithoutSharedTerm())
	}
	phi, err := lens.SecondOrder(m, im, layer, opts...)
	if err != nil {
		return err
	}
	N, d := phi.Dims()
	norms := make([]float64, N)
	idx := make([]int, N)
	for n := range N {
		norms[n], idx[n] = floats.Norm(phi.RawRowView(n), 2), n
	}
	sort.SliceStable(idx, func(a, b int) bool { return norms[idx[a]] > norms[idx[b]] })
	fmt.Printf("layer %d: %d neurons × %d; largest effects (‖φ_n‖):\n", layer, N, d)
	for _, n := range idx[:min(top, N)] {
		fmt.Printf("  neuron %4d  %.4f\n", n, norms[n])
	}
	if out == "" {
		return nil
	}
	data := make([]float32, N*d)
	for i, v := range phi.RawMatrix().Data {
		data[i] = float32(v)
	}
	if err := npy.WriteFile(out, []int{N, d}, data); err != nil {
		return err
	}
	fmt.Println("wrote", out)
	return nil
}
