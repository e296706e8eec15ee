package segment

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
)

// Panels draws one row of four S×S panels, side by side: the image as the
// model sees it (crop, e.g. from [clip.ResizeCrop]), the heatmap in a
// blue-to-red colour map blended over it, the thresholded mask and the
// ground truth truth [S, S] (nonzero = foreground; nil leaves its panel
// grey). It panics if crop is not S×S or truth has the wrong length.
func Panels(crop image.Image, h *Heatmap, truth []uint8) *image.RGBA {
	S := h.Size
	if b := crop.Bounds(); b.Dx() != S || b.Dy() != S {
		panic(fmt.Sprintf("segment: Panels: image is %v, heatmap %d×%d", b.Size(), S, S))
	}
	if truth != nil && len(truth) != S*S {
		panic(fmt.Sprintf("segment: Panels: truth has %d pixels, want %d", len(truth), S*S))
	}
	out := image.NewRGBA(image.Rect(0, 0, 4*S, S))
	draw.Draw(out, image.Rect(0, 0, S, S), crop, crop.Bounds().Min, draw.Src)
	mask := h.Mask()
	for y := range S {
		for x := range S {
			i := y*S + x
			r, g, b, _ := crop.At(crop.Bounds().Min.X+x, crop.Bounds().Min.Y+y).RGBA()
			hc := heatColour(h.Scores[i])
			out.SetRGBA(S+x, y, color.RGBA{
				R: uint8((uint32(hc.R)*3 + r>>8*2) / 5),
				G: uint8((uint32(hc.G)*3 + g>>8*2) / 5),
				B: uint8((uint32(hc.B)*3 + b>>8*2) / 5),
				A: 255,
			})
			out.SetRGBA(2*S+x, y, binColour(mask[i]))
			if truth == nil {
				out.SetRGBA(3*S+x, y, color.RGBA{128, 128, 128, 255})
			} else {
				out.SetRGBA(3*S+x, y, binColour(truth[i]))
			}
		}
	}
	return out
}

func binColour(v uint8) color.RGBA {
	if v != 0 {
		return color.RGBA{255, 255, 255, 255}
	}
	return color.RGBA{0, 0, 0, 255}
}

// heatColour maps s in [0, 1] to a jet-like colour: blue, cyan, yellow, red.
func heatColour(s float32) color.RGBA {
	s = min(max(s, 0), 1)
	ramp := func(a, b, v float32) uint8 { return uint8(255 * min(max((v-a)/(b-a), 0), 1)) }
	return color.RGBA{
		R: ramp(0.35, 0.65, s),
		G: min(ramp(0.1, 0.4, s), 255-ramp(0.65, 0.95, s)),
		B: 255 - ramp(0.35, 0.65, s),
		A: 255,
	}
}
