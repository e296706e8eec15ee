package main

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"slices"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/groundtruth"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/segment"
)

const zoom, gap = 3, 4

// drawNeuron writes a PNG with the neuron's top images in the first row and,
// below each, where the neuron fires: its post-activation at each patch,
// upsampled bilinearly and laid over the image in red, on one scale for
// the whole row.
func drawNeuron(path string, m *clip.Model, world shapes.Source, layer, neuron int, top []int) error {
	S := m.Config.Vision.ImageSize
	g := S / m.Config.Vision.PatchSize
	N := m.Config.Vision.MLPWidth
	p := clip.Point{Layer: layer, Site: clip.MLPPost}
	imgs := make([]image.Image, len(top))
	heats := make([][]float32, len(top))
	var hi float32
	for j, i := range top {
		var hk clip.Hooks
		var tr clip.Trace
		tr.Keep(&hk, p)
		imgs[j] = world.At(i).Image
		if _, err := m.RunImage(context.Background(), imgs[j], &hk); err != nil {
			return err
		}
		act, _ := tr.At(p)
		grid := make([]float32, g*g)
		for t := range grid {
			grid[t] = max(act.Data[(t+1)*N+neuron], 0) // patch tokens; CLS dropped
		}
		heats[j] = segment.Upsample(grid, g, g, S, S)
		hi = max(hi, slices.Max(heats[j]))
	}
	tile := S*zoom + gap
	sheet := image.NewRGBA(image.Rect(0, 0, len(top)*tile+gap, 2*tile+gap))
	for i := range sheet.Pix {
		sheet.Pix[i] = 255
	}
	for j, img := range imgs {
		x0 := gap + j*tile
		for y := range S * zoom {
			for x := range S * zoom {
				c := color.RGBAModel.Convert(img.At(img.Bounds().Min.X+x/zoom, img.Bounds().Min.Y+y/zoom)).(color.RGBA)
				sheet.SetRGBA(x0+x, gap+y, c)
				a := 0.0
				if hi > 0 {
					a = 0.75 * float64(heats[j][(y/zoom)*S+x/zoom]/hi)
				}
				mix := func(v uint8, to float64) uint8 { return uint8(float64(v)*(1-a) + to*a) }
				sheet.SetRGBA(x0+x, tile+gap+y, color.RGBA{mix(c.R/2, 255), mix(c.G/2, 0), mix(c.B/2, 0), 255})
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, sheet); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// displayOrder lists the strongest neuron of each concept first (strongest
// lift first), then the rest, so a short list shows many concepts.
func displayOrder(sel []groundtruth.Selective) []groundtruth.Selective {
	sorted := slices.Clone(sel)
	slices.SortStableFunc(sorted, func(a, b groundtruth.Selective) int {
		return cmp.Or(cmp.Compare(b.Lift(), a.Lift()), cmp.Compare(b.Share, a.Share), cmp.Compare(a.Layer, b.Layer))
	})
	seen := map[string]bool{}
	var first, rest []groundtruth.Selective
	for _, s := range sorted {
		if seen[s.Concept] {
			rest = append(rest, s)
		} else {
			seen[s.Concept] = true
			first = append(first, s)
		}
	}
	return append(first, rest...)
}
