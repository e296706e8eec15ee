package segment

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// MaskProtocol says how a ground-truth mask is brought to the model's S×S
// input, where the heatmap lives.
type MaskProtocol uint8

const (
	// ReferenceMask resizes the mask straight to S×S with nearest
	// neighbour, without the crop, as the reference does. The image itself
	// is resized (short side S) and centre-cropped, so on non-square images
	// the two are misaligned. Use it to compare with published numbers.
	ReferenceMask MaskProtocol = iota
	// AlignedMask puts the mask through the image's own geometry: the short
	// side resized to S (nearest neighbour) and the same centre crop.
	AlignedMask
)

// String returns "reference" or "aligned".
func (p MaskProtocol) String() string {
	switch p {
	case ReferenceMask:
		return "reference"
	case AlignedMask:
		return "aligned"
	}
	return fmt.Sprintf("MaskProtocol(%d)", uint8(p))
}

// ParseMaskProtocol reads "reference" or "aligned".
func ParseMaskProtocol(s string) (MaskProtocol, error) {
	switch s {
	case "reference":
		return ReferenceMask, nil
	case "aligned":
		return AlignedMask, nil
	}
	return 0, fmt.Errorf("segment: unknown mask protocol %q (want reference or aligned)", s)
}

// ErrMask is returned, wrapped, for a mask that cannot be used.
var ErrMask = errors.New("segment: bad mask")

// ResizeMask returns mask as the model sees it: [S, S] row-major (pixel
// (x, y) at y*S+x), 1 for foreground and 0 for background, S = size. A mask
// pixel is foreground when its colour has a nonzero red, green or blue value
// (for a paletted image, its palette colour). Alpha is not looked at, but
// image types with premultiplied colour (RGBA, RGBA64) hold zero colour
// wherever alpha is zero.
//
// Resizing is PIL's nearest neighbour (Image.resize with NEAREST, which
// torchvision's Resize uses for masks): output pixel i of m along an axis of
// n inputs takes input ⌊x_i⌋, with x_0 = n/(2m) and x_{i+1} = x_i + n/m
// accumulated in float64 as PIL does. The protocol p says whether the mask
// is resized straight to S×S or, like the image, short side to S
// (torchvision's Resize(S): the long side becomes ⌊S·long/short⌋) and then
// centre-cropped (offset round((n − S)/2), halves to even).
//
// It returns an error wrapping [ErrMask] for a nil or empty mask and an
// error for a size that is not positive or an unknown protocol.
func ResizeMask(mask image.Image, size int, p MaskProtocol) ([]uint8, error) {
	if mask == nil {
		return nil, fmt.Errorf("%w: nil image", ErrMask)
	}
	b := mask.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("%w: empty bounds %v", ErrMask, b)
	}
	if size <= 0 {
		return nil, fmt.Errorf("segment: mask size %d must be positive", size)
	}
	w, h := b.Dx(), b.Dy()
	var xs, ys []int
	switch p {
	case ReferenceMask:
		xs, ys = nearestTaps(w, size), nearestTaps(h, size)
	case AlignedMask:
		nw, nh := resizedSize(w, h, size)
		left, top := cropOffset(nw, size), cropOffset(nh, size)
		xs, ys = nearestTaps(w, nw)[left:left+size], nearestTaps(h, nh)[top:top+size]
	default:
		return nil, fmt.Errorf("segment: unknown mask protocol %v", p)
	}
	bin := binarize(mask)
	out := make([]uint8, size*size)
	for oy, sy := range ys {
		if sy < 0 {
			continue
		}
		src := bin[sy*w : (sy+1)*w]
		dst := out[oy*size : (oy+1)*size]
		for ox, sx := range xs {
			if sx >= 0 {
				dst[ox] = src[sx]
			}
		}
	}
	return out, nil
}

// nearestTaps is PIL's nearest-neighbour source index for each of m
// outputs from n inputs, −1 where PIL leaves the pixel at zero.
func nearestTaps(n, m int) []int {
	step := float64(n) / float64(m)
	x := step * 0.5
	taps := make([]int, m)
	for i := range taps {
		j := -1
		if x >= 0 {
			j = int(x)
		}
		if j >= n {
			j = -1
		}
		taps[i] = j
		x += step
	}
	return taps
}

// resizedSize is torchvision's Resize(s) output size for a w×h image: the
// short side becomes s and the long side ⌊s·long/short⌋ (the rule of
// clip.ResizeCrop).
func resizedSize(w, h, s int) (nw, nh int) {
	if w <= h {
		return s, s * h / w
	}
	return s * w / h, s
}

// cropOffset is torchvision's CenterCrop offset, round((n − s)/2) with
// halves to even (the rule of clip.ResizeCrop).
func cropOffset(n, s int) int {
	return int(math.RoundToEven(float64(n-s) / 2))
}

// binarize returns mask as [h, w] bytes, 1 where its RGB is nonzero.
func binarize(mask image.Image) []uint8 {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]uint8, w*h)
	set := func(i int, on bool) {
		if on {
			out[i] = 1
		}
	}
	switch m := mask.(type) {
	case *image.Gray:
		for y := range h {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X):]
			for x := range w {
				set(y*w+x, row[x] != 0)
			}
		}
	case *image.Paletted:
		fg := make([]bool, len(m.Palette))
		for i, c := range m.Palette {
			r, g, bl, _ := c.RGBA()
			fg[i] = r|g|bl != 0
		}
		for y := range h {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X):]
			for x := range w {
				set(y*w+x, int(row[x]) < len(fg) && fg[row[x]])
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+4*(b.Min.X-m.Rect.Min.X):]
			for x := range w {
				set(y*w+x, row[4*x]|row[4*x+1]|row[4*x+2] != 0)
			}
		}
	default:
		for y := range h {
			for x := range w {
				r, g, bl, _ := mask.At(b.Min.X+x, b.Min.Y+y).RGBA()
				set(y*w+x, r|g|bl != 0)
			}
		}
	}
	return out
}
