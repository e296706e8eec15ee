package shapes

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContactSheet writes 32 samples, each above its foreground mask, scaled
// 3×, to the PNG named by $SHAPES_CONTACT_SHEET, for looking at by eye. It is
// skipped when the variable is unset.
func TestContactSheet(t *testing.T) {
	path := os.Getenv("SHAPES_CONTACT_SHEET")
	if path == "" {
		t.Skip("set SHAPES_CONTACT_SHEET=/tmp/sheet.png to write a contact sheet")
	}
	const cols, rows, zoom, gap = 8, 4, 3, 4
	src := Dataset(1, cols*rows)
	w, h := src.Width*zoom, src.Height*zoom
	sheet := image.NewRGBA(image.Rect(0, 0, cols*(w+gap), rows*(2*h+2*gap)))
	for i := range sheet.Pix {
		sheet.Pix[i] = 255
	}
	for i := range src.Len() {
		s := src.At(i)
		t.Logf("%2d %-8s %s", i, s.Class, s.Caption)
		ox, oy := (i%cols)*(w+gap), (i/cols)*(2*h+2*gap)
		for y := range h {
			for x := range w {
				sx, sy := x/zoom, y/zoom
				sheet.Set(ox+x, oy+y, s.Image.At(sx, sy))
				c := color.RGBA{40, 40, 40, 255}
				for k, m := range s.Masks {
					if m[sy*src.Width+sx] {
						c = s.Scene.Objects[k].Colour.RGBA()
						if !s.Foreground[sy*src.Width+sx] {
							c = color.RGBA{c.R / 3, c.G / 3, c.B / 3, 255}
						}
					}
				}
				sheet.Set(ox+x, oy+h+gap+y, c)
			}
		}
	}
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, png.Encode(f, sheet))
}
