package adversarial

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"strings"
)

// digits is a 3×5 bitmap font for 0–9: row r of digit k is digits[k][r],
// bit 2 the left column.
var digits = [10][5]uint8{
	{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
	{7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
}

// ContactSheet draws imgs as numbered tiles, cols per row, each tile
// scaled (nearest neighbour) to tile×tile pixels with a 9-pixel label strip
// above it holding its number, 1-based, in a built-in digit font. Pair it
// with [WriteSheetIndex] for the descriptions. It panics if cols or tile is
// not positive.
func ContactSheet(imgs []image.Image, cols, tile int) *image.RGBA {
	if cols <= 0 || tile <= 0 {
		panic(fmt.Sprintf("adversarial: ContactSheet: cols %d, tile %d", cols, tile))
	}
	const label, pad = 9, 2
	rows := (len(imgs) + cols - 1) / cols
	cw, ch := tile+pad, tile+label+pad
	dst := image.NewRGBA(image.Rect(0, 0, max(cols*cw+pad, 1), max(rows*ch+pad, 1)))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.RGBA{40, 40, 40, 255}), image.Point{}, draw.Src)
	for i, img := range imgs {
		x0, y0 := pad+(i%cols)*cw, pad+(i/cols)*ch
		drawNumber(dst, x0+1, y0+2, i+1)
		b := img.Bounds()
		for y := range tile {
			for x := range tile {
				sx := b.Min.X + x*b.Dx()/tile
				sy := b.Min.Y + y*b.Dy()/tile
				dst.Set(x0+x, y0+label+y, img.At(sx, sy))
			}
		}
	}
	return dst
}

// drawNumber writes n in white, 3×5 glyphs with one pixel between them.
func drawNumber(dst *image.RGBA, x, y, n int) {
	white := color.RGBA{255, 255, 255, 255}
	for k, c := range fmt.Sprint(n) {
		g := digits[c-'0']
		for r := range 5 {
			for col := range 3 {
				if g[r]>>(2-col)&1 == 1 {
					dst.SetRGBA(x+4*k+col, y+r, white)
				}
			}
		}
	}
}

// WriteSheetIndex writes "number<TAB>text" lines, 1-based, matching the
// tiles of [ContactSheet]; tabs and newlines in texts become spaces.
func WriteSheetIndex(w io.Writer, texts []string) error {
	var b strings.Builder
	for i, t := range texts {
		fmt.Fprintf(&b, "%d\t%s\n", i+1, strings.NewReplacer("\t", " ", "\n", " ").Replace(t))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
