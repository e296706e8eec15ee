package clip

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
)

// ImageMean is CLIP's per-channel pixel mean, in (R, G, B) order, on the
// 0..1 pixel scale (a uint8 value v is v/255). [Preprocess] subtracts it.
var ImageMean = [3]float32{0.48145466, 0.4578275, 0.40821073}

// ImageStd is CLIP's per-channel pixel standard deviation, in (R, G, B)
// order, on the 0..1 pixel scale. [Preprocess] divides by it.
var ImageStd = [3]float32{0.26862954, 0.26130258, 0.27577711}

// MaxPreprocessSize is the largest output side S that [Preprocess],
// [PreprocessTo] and [ResizeCrop] accept.
const MaxPreprocessSize = 1 << 14

// ErrImage is returned, wrapped, for an image that cannot be preprocessed:
// a nil image, empty bounds, or a paletted pixel, among those the crop
// reads, whose index lies outside its palette.
var ErrImage = errors.New("clip: unusable image")

// Preprocess converts img into CLIP's input pixels: a new [3, S, S] float32
// slice (S = size), channel-major and row-major, with channel c of pixel
// (x, y) of the crop at out[(c*S+y)*S+x], channels in (R, G, B) order.
//
// It reproduces the OpenAI CLIP / open_clip pipeline as run by PIL and
// torchvision, in this order:
//
//  1. Convert to 8-bit RGB as PIL's Image.convert("RGB") does (see below).
//  2. Resize as torchvision's Resize(S, BICUBIC) does on a PIL image: the
//     short side becomes S and the long side int(S*long/short), truncated;
//     the resampling is PIL's bicubic (a = -0.5) with its support widened by
//     the downscale factor (antialiasing), one horizontal pass then one
//     vertical pass, in PIL's fixed point (22 fractional bits), each pass
//     rounded and clipped to uint8. An axis whose length does not change is
//     not resampled.
//  3. Crop the centre S×S as torchvision's CenterCrop does:
//     top = round((h' - S)/2), left = round((w' - S)/2), with halves rounded
//     to the even integer (Python's round), h'×w' the resized size.
//  4. Normalize each uint8 value v of channel c in float32, as torchvision's
//     ToTensor and Normalize do, by the formula below.
//
// The normalization, each operation rounded to float32:
//
//	out = (v/255 - ImageMean[c]) / ImageStd[c]
//
// Steps 1–3 are what [ResizeCrop] returns; on the goldens made with
// Pillow 9.4 they agree with PIL bit for bit.
//
// Colour conversion (step 1), per concrete type of img:
//   - *image.Gray: the gray value in R, G and B (PIL mode L).
//   - *image.NRGBA (what image/png decodes RGBA and gray+alpha files to):
//     R, G, B; alpha is dropped without compositing (PIL modes RGBA, LA).
//   - *image.RGBA: alpha-premultiplied, so the colour is un-premultiplied
//     first, as [color.NRGBAModel] does; fully transparent pixels become
//     black, because their colour is lost. Opaque images (what image/png
//     decodes RGB files to) are exact.
//   - *image.Paletted: the palette colour, alpha dropped (PIL mode P).
//   - *image.CMYK: PIL's own formula, with nk = 255 - K and
//     R = nk - (C*nk)/255 rounded as PIL's integer MULDIV255 does (not
//     [color.CMYKToRGB], which differs by up to one level).
//   - *image.Gray16, *image.NRGBA64, *image.RGBA64: the high byte of each
//     16-bit value (RGBA64 un-premultiplied first). PIL itself clips 16-bit
//     values to 255 instead; we keep the more useful high byte.
//   - *image.YCbCr and *image.NYCbCrA (decoded JPEGs): [color.YCbCrToRGB],
//     alpha dropped. Go's JPEG decoder (IDCT, chroma upsampling, rounding)
//     is not libjpeg's, so a JPEG file may decode a level or two away from
//     PIL's pixels before any of this runs.
//   - anything else: img.At per pixel, converted the same way by colour
//     type (slow; the types above read Pix directly).
//
// Reference order: OpenAI's CLIP transform resizes before it converts to
// RGB. For RGB, gray and YCbCr images the two orders give the same pixels.
// For RGBA and LA images PIL would resize premultiplied colour, for
// paletted images it would resize with nearest neighbour, and for CMYK in
// CMYK; here every image is converted first and resized as RGB.
//
// Bounds need not start at (0, 0). The input is never modified.
// Preprocess returns an error wrapping [ErrImage] for a nil image or empty
// bounds, and an error when size is not in 1..[MaxPreprocessSize].
func Preprocess(img image.Image, size int) ([]float32, error) {
	if err := checkPreprocess(img, size); err != nil {
		return nil, err
	}
	dst := make([]float32, 3*size*size)
	if err := PreprocessTo(dst, img, size); err != nil {
		return nil, err
	}
	return dst, nil
}

// PreprocessTo is [Preprocess] writing into dst, which must have length
// 3*S*S (S = size); dst is [3, S, S], row-major: dst[(c*S+y)*S+x]. It
// allocates only per-call scratch: the resampling weights, one converted
// input row of the crop's window, and (k+2)·S·3 bytes of intermediate
// pixels, k the vertical kernel length (about 4× the downscale factor, at
// least 4). It returns the errors of [Preprocess], and an error when
// len(dst) is wrong; dst is unchanged after any error.
func PreprocessTo(dst []float32, img image.Image, size int) error {
	if err := checkPreprocess(img, size); err != nil {
		return err
	}
	if len(dst) != 3*size*size {
		return fmt.Errorf("clip: preprocess: dst has length %d, want 3*%d*%d = %d", len(dst), size, size, 3*size*size)
	}
	var lut [3][256]float32
	for c := range lut {
		mean, std := ImageMean[c], ImageStd[c]
		for v := range lut[c] {
			lut[c][v] = (float32(v)/255 - mean) / std
		}
	}
	plane := size * size
	r := newResampler(img, size)
	return r.run(img, func(y int, row []uint8) {
		for c := range 3 {
			o := c*plane + y*size
			d, l := dst[o:o+size], &lut[c]
			for x, v := range row[c*size : (c+1)*size] {
				d[x] = l[v]
			}
		}
	})
}

// ResizeCrop returns the S×S (S = size) 8-bit RGB image that [Preprocess]
// normalizes: img converted to RGB, resized so its short side is S and
// centre-cropped (steps 1–3 of [Preprocess]). Alpha is 255 everywhere, and
// the result's bounds are (0, 0)–(S, S). It returns the errors of
// [Preprocess].
func ResizeCrop(img image.Image, size int) (*image.RGBA, error) {
	if err := checkPreprocess(img, size); err != nil {
		return nil, err
	}
	out := image.NewRGBA(image.Rect(0, 0, size, size))
	r := newResampler(img, size)
	err := r.run(img, func(y int, row []uint8) {
		pix := out.Pix[y*out.Stride : y*out.Stride+4*size]
		pr, pg, pb := row[:size], row[size:2*size], row[2*size:3*size]
		for x := range pr {
			q := pix[4*x : 4*x+4 : 4*x+4]
			q[0], q[1], q[2], q[3] = pr[x], pg[x], pb[x], 255
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func checkPreprocess(img image.Image, size int) error {
	if img == nil {
		return fmt.Errorf("%w: nil image", ErrImage)
	}
	if b := img.Bounds(); b.Empty() {
		return fmt.Errorf("%w: empty bounds %v", ErrImage, b)
	}
	if size <= 0 || size > MaxPreprocessSize {
		return fmt.Errorf("clip: preprocess: size %d is not in 1..%d", size, MaxPreprocessSize)
	}
	return nil
}

// resizedSize is torchvision's Resize(s) output size for a w×h image: the
// short side becomes s and the long side int(s*long/short).
func resizedSize(w, h, s int) (nw, nh int) {
	if w <= h {
		return s, s * h / w
	}
	return s * w / h, s
}

// cropOffset is torchvision's CenterCrop offset, int(round((n-s)/2.0)) with
// Python's round (halves to even).
func cropOffset(n, s int) int {
	return int(math.RoundToEven(float64(n-s) / 2))
}

// precisionBits is the number of fractional bits of the fixed-point
// resampling weights (PIL's PRECISION_BITS).
const precisionBits = 32 - 8 - 2

// taps holds fixed-point resampling weights for a run of consecutive
// output pixels along one axis: output i reads inputs
// start[i] .. start[i]+n[i]-1 (relative to the window origin) with weights
// k[i*stride : i*stride+n[i]].
type taps struct {
	start, n []int
	k        []int32
	stride   int
	lo, hi   int  // input window [lo, hi) in absolute input coordinates
	identity bool // output i is input lo+i: the size does not change
}

// bicubic is the Keys cubic convolution kernel with a = -0.5, evaluated with
// one rounding per operation (explicit conversions forbid fused
// multiply-adds) so the weights match PIL's double arithmetic bit for bit.
func bicubic(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		// ((a+2)x - (a+3))x² + 1
		t := float64(1.5*x) - 2.5
		return float64(t*x*x) + 1
	}
	if x < 2 {
		// (((x-5)x + 8)x - 4)a
		t := float64((x-5)*x) + 8
		t = float64(t*x) - 4
		return t * -0.5
	}
	return 0
}

// newTaps computes the weights for outputs first .. first+count-1 of a
// resize from inSize to outSize pixels, as PIL's bicubic resampler does: the
// output pixel centre maps to center = (i+0.5)·scale, the kernel is
// stretched by max(scale, 1), the window is [int(center-support+0.5),
// int(center+support+0.5)) clamped to the input, the weights are normalised
// to sum 1 and rounded half away from zero to precisionBits. When the size
// does not change the weights are the identity, as PIL skips that pass.
func newTaps(inSize, outSize, first, count int) taps {
	t := taps{start: make([]int, count), n: make([]int, count)}
	if inSize == outSize {
		t.stride = 1
		t.k = make([]int32, count)
		for i := range count {
			t.start[i], t.n[i], t.k[i] = first+i, 1, 1<<precisionBits
		}
		t.rebase()
		t.identity = true
		return t
	}
	scale := float64(inSize) / float64(outSize)
	filterScale := max(scale, 1)
	support := 2 * filterScale
	inv := 1 / filterScale
	t.stride = int(math.Ceil(support))*2 + 1
	t.k = make([]int32, count*t.stride)
	w := make([]float64, t.stride)
	for i := range count {
		center := (float64(first+i) + 0.5) * scale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize)
		n := xmax - xmin
		var sum float64
		for j := range n {
			w[j] = bicubic((float64(j+xmin) - center + 0.5) * inv)
			sum += w[j]
		}
		k := t.k[i*t.stride : i*t.stride+n]
		for j := range n {
			v := w[j]
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				k[j] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[j] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		t.start[i], t.n[i] = xmin, n
	}
	t.rebase()
	return t
}

// rebase sets the input window [lo, hi) and makes start relative to lo.
func (t *taps) rebase() {
	t.lo, t.hi = math.MaxInt, math.MinInt
	for i, s := range t.start {
		t.lo = min(t.lo, s)
		t.hi = max(t.hi, s+t.n[i])
	}
	for i := range t.start {
		t.start[i] -= t.lo
	}
}

// clip8 turns a fixed-point sum (with the rounding half already added) into
// a uint8, clipping to 0..255.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resampler resizes and crops one image; all its slices are per-call
// scratch.
type resampler struct {
	s    int
	h, v taps
	line []uint8 // one converted input row of the window, planar: all R, all G, all B
	tmp  []uint8 // ring of horizontal pass rows: input row y sits in slot (y-v.lo) % ring; each row s pixels, planar (R, G, B)
	ring int     // number of rows in tmp
	acc  []int32 // vertical pass accumulators, s*3
	row  []uint8 // one output row of s pixels, planar (R, G, B)
}

// newResampler plans the resize and crop of img to size×size; the
// arguments are already checked.
func newResampler(img image.Image, size int) *resampler {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	nw, nh := resizedSize(w, h, size)
	r := &resampler{
		s: size,
		h: newTaps(w, nw, cropOffset(nw, size), size),
		v: newTaps(h, nh, cropOffset(nh, size), size),
	}
	// Output row y needs the horizontal pass of input rows start[y] ..
	// start[y]+n[y]-1 (relative to v.lo); rows are made in order, so the ring
	// must reach back from the furthest row made so far to start[y].
	end := 0
	for y := range size {
		end = max(end, r.v.start[y]+r.v.n[y])
		r.ring = max(r.ring, end-r.v.start[y])
	}
	r.line = make([]uint8, 3*(r.h.hi-r.h.lo))
	r.tmp = make([]uint8, 3*size*r.ring)
	r.acc = make([]int32, 3*size)
	r.row = make([]uint8, 3*size)
	return r
}

// run converts the input window row by row, resamples it and calls emit
// once per output row y in 0..s-1 with that row, planar: row[c*s+x] is
// channel c of pixel x (row is reused after emit returns).
//
// Each input row is converted and resampled horizontally once, just before
// the first output row that needs it, into the ring r.tmp. emit is not
// called when run returns an error.
func (r *resampler) run(img image.Image, emit func(y int, row []uint8)) error {
	conv, err := rowConverter(img, image.Rect(r.h.lo, r.v.lo, r.h.hi, r.v.hi))
	if err != nil {
		return err
	}
	s3 := 3 * r.s
	n := r.h.hi - r.h.lo
	lr, lg, lb := r.line[:n], r.line[n:2*n], r.line[2*n:3*n]
	next := 0 // next input row to make, relative to v.lo
	for y := range r.s {
		for end := r.v.start[y] + r.v.n[y]; next < end; next++ {
			conv(lr, lg, lb, r.v.lo+next, r.h.lo, r.h.hi)
			slot := next % r.ring
			r.horizontal(r.tmp[slot*s3 : (slot+1)*s3])
		}
		r.vertical(y)
		emit(y, r.row)
	}
	return nil
}

// horizontal resamples r.line into dst, one row of s pixels, planar: s R
// values, s G values, s B values.
func (r *resampler) horizontal(dst []uint8) {
	t := &r.h
	n := len(r.line) / 3
	pr, pg, pb := r.line[:n], r.line[n:2*n], r.line[2*n:3*n]
	dr, dg, db := dst[:r.s], dst[r.s:2*r.s], dst[2*r.s:3*r.s]
	if t.identity { // one tap of weight 1 each: a copy
		copy(dr, pr)
		copy(dg, pg)
		copy(db, pb)
		return
	}
	for x := range dr {
		k := t.k[x*t.stride : x*t.stride+t.n[x]]
		s := t.start[x]
		lr := pr[s : s+len(k)]
		lg := pg[s : s+len(lr)]
		lb := pb[s : s+len(lr)]
		const half = 1 << (precisionBits - 1)
		sr, sg, sb := int32(half), int32(half), int32(half)
		for j, w := range k {
			sr += int32(lr[j]) * w
			sg += int32(lg[j]) * w
			sb += int32(lb[j]) * w
		}
		dr[x], dg[x], db[x] = clip8(sr), clip8(sg), clip8(sb)
	}
}

// vertical resamples output row y from r.tmp into r.row.
func (r *resampler) vertical(y int) {
	t := &r.v
	s3 := 3 * r.s
	if t.identity {
		o := t.start[y] % r.ring * s3
		copy(r.row, r.tmp[o:o+s3])
		return
	}
	acc := r.acc
	for i := range acc {
		acc[i] = 1 << (precisionBits - 1)
	}
	k := t.k[y*t.stride : y*t.stride+t.n[y]]
	for j, w := range k {
		o := (t.start[y] + j) % r.ring * s3
		src := r.tmp[o : o+s3]
		acc := acc[:len(src)]
		for i, p := range src {
			acc[i] += int32(p) * w
		}
	}
	for i, v := range acc {
		r.row[i] = clip8(v)
	}
}

// convertFunc writes pixels x0..x1-1 of row y (coordinates relative to the
// image's Bounds().Min) as RGB into the planes r, g and b, each of length
// x1-x0.
type convertFunc func(r, g, b []uint8, y, x0, x1 int)

// rowConverter picks the conversion to RGB for img's concrete type: a fast
// path on Pix for the image package's types and At for the rest. window
// (relative to Bounds().Min) is the part that will be read: a paletted
// image is checked there for indices outside its palette, so that the
// conversion itself cannot fail.
func rowConverter(img image.Image, window image.Rectangle) (convertFunc, error) {
	o := img.Bounds().Min
	switch m := img.(type) {
	case *image.RGBA:
		return func(r, g, b []uint8, y, x0, x1 int) {
			g, b = g[:len(r)], b[:len(r)]
			i := m.PixOffset(o.X+x0, o.Y+y)
			src := m.Pix[i : i+4*(x1-x0)]
			for x := range x1 - x0 {
				p := src[4*x : 4*x+4 : 4*x+4]
				if p[3] == 255 {
					r[x], g[x], b[x] = p[0], p[1], p[2]
				} else {
					r[x], g[x], b[x] = unpremul8(p[0], p[1], p[2], p[3])
				}
			}
		}, nil
	case *image.NRGBA:
		return func(r, g, b []uint8, y, x0, x1 int) {
			g, b = g[:len(r)], b[:len(r)]
			i := m.PixOffset(o.X+x0, o.Y+y)
			src := m.Pix[i : i+4*(x1-x0)]
			for x := range x1 - x0 {
				p := src[4*x : 4*x+4 : 4*x+4]
				r[x], g[x], b[x] = p[0], p[1], p[2]
			}
		}, nil
	case *image.Gray:
		return func(r, g, b []uint8, y, x0, x1 int) {
			g, b = g[:len(r)], b[:len(r)]
			i := m.PixOffset(o.X+x0, o.Y+y)
			for x, v := range m.Pix[i : i+x1-x0] {
				r[x], g[x], b[x] = v, v, v
			}
		}, nil
	case *image.YCbCr:
		return ycbcrConverter(m), nil
	case *image.NYCbCrA:
		return ycbcrConverter(&m.YCbCr), nil
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range m.Palette {
			if i < len(pal) {
				pal[i][0], pal[i][1], pal[i][2] = rgbOf(c)
			}
		}
		if n := len(m.Palette); n < len(pal) {
			for y := window.Min.Y; y < window.Max.Y; y++ {
				i := m.PixOffset(o.X+window.Min.X, o.Y+y)
				for x, v := range m.Pix[i : i+window.Dx()] {
					if int(v) >= n {
						return nil, fmt.Errorf("%w: pixel (%d, %d) has palette index %d, palette has %d colours",
							ErrImage, o.X+window.Min.X+x, o.Y+y, v, n)
					}
				}
			}
		}
		return func(r, g, b []uint8, y, x0, x1 int) {
			g, b = g[:len(r)], b[:len(r)]
			i := m.PixOffset(o.X+x0, o.Y+y)
			for x, v := range m.Pix[i : i+x1-x0] {
				r[x], g[x], b[x] = pal[v][0], pal[v][1], pal[v][2]
			}
		}, nil
	case *image.CMYK:
		return func(r, g, b []uint8, y, x0, x1 int) {
			g, b = g[:len(r)], b[:len(r)]
			i := m.PixOffset(o.X+x0, o.Y+y)
			src := m.Pix[i : i+4*(x1-x0)]
			for x := range x1 - x0 {
				p := src[4*x : 4*x+4 : 4*x+4]
				r[x], g[x], b[x] = cmykToRGB(p[0], p[1], p[2], p[3])
			}
		}, nil
	case *image.Gray16:
		return func(r, g, b []uint8, y, x0, x1 int) {
			g, b = g[:len(r)], b[:len(r)]
			i := m.PixOffset(o.X+x0, o.Y+y)
			src := m.Pix[i : i+2*(x1-x0)]
			for x := range x1 - x0 {
				v := src[2*x]
				r[x], g[x], b[x] = v, v, v
			}
		}, nil
	case *image.NRGBA64:
		return func(r, g, b []uint8, y, x0, x1 int) {
			g, b = g[:len(r)], b[:len(r)]
			i := m.PixOffset(o.X+x0, o.Y+y)
			src := m.Pix[i : i+8*(x1-x0)]
			for x := range x1 - x0 {
				p := src[8*x : 8*x+8 : 8*x+8]
				r[x], g[x], b[x] = p[0], p[2], p[4]
			}
		}, nil
	case *image.RGBA64:
		return func(r, g, b []uint8, y, x0, x1 int) {
			g, b = g[:len(r)], b[:len(r)]
			i := m.PixOffset(o.X+x0, o.Y+y)
			src := m.Pix[i : i+8*(x1-x0)]
			for x := range x1 - x0 {
				p := src[8*x : 8*x+8 : 8*x+8]
				r[x], g[x], b[x] = unpremul16(
					uint32(p[0])<<8|uint32(p[1]), uint32(p[2])<<8|uint32(p[3]),
					uint32(p[4])<<8|uint32(p[5]), uint32(p[6])<<8|uint32(p[7]))
			}
		}, nil
	}
	return func(r, g, b []uint8, y, x0, x1 int) {
		g, b = g[:len(r)], b[:len(r)]
		for x := range x1 - x0 {
			r[x], g[x], b[x] = rgbOf(img.At(o.X+x0+x, o.Y+y))
		}
	}, nil
}

func ycbcrConverter(m *image.YCbCr) convertFunc {
	o := m.Rect.Min
	return func(r, g, b []uint8, y, x0, x1 int) {
		g, b = g[:len(r)], b[:len(r)]
		for x := range x1 - x0 {
			px, py := o.X+x0+x, o.Y+y
			yi, ci := m.YOffset(px, py), m.COffset(px, py)
			r[x], g[x], b[x] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
		}
	}
}

// rgbOf converts one colour to 8-bit RGB by the rules documented on
// [Preprocess]; it is the slow path's per-pixel conversion and agrees
// exactly with the fast paths.
func rgbOf(c color.Color) (r, g, b uint8) {
	switch c := c.(type) {
	case color.NRGBA:
		return c.R, c.G, c.B
	case color.RGBA:
		return unpremul8(c.R, c.G, c.B, c.A)
	case color.Gray:
		return c.Y, c.Y, c.Y
	case color.Gray16:
		v := uint8(c.Y >> 8)
		return v, v, v
	case color.NRGBA64:
		return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
	case color.RGBA64:
		return unpremul16(uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A))
	case color.CMYK:
		return cmykToRGB(c.C, c.M, c.Y, c.K)
	case color.YCbCr:
		return color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
	case color.NYCbCrA:
		return color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
	case nil:
		return 0, 0, 0
	}
	r32, g32, b32, a32 := c.RGBA()
	return unpremul16(r32, g32, b32, a32)
}

// unpremul8 un-premultiplies an 8-bit colour as color.NRGBAModel does
// (on the 16-bit expansion v·0x101), clipping invalid colours (v > a).
func unpremul8(r, g, b, a uint8) (uint8, uint8, uint8) {
	switch a {
	case 255:
		return r, g, b
	case 0:
		return 0, 0, 0
	}
	// (v·0x101)·0xffff / (a·0x101) = v·0xffff / a exactly.
	f := func(v uint8) uint8 { return uint8(min(uint32(v)*0xffff/uint32(a), 0xffff) >> 8) }
	return f(r), f(g), f(b)
}

// unpremul16 un-premultiplies a 16-bit colour as color.NRGBAModel does and
// keeps the high bytes, clipping invalid colours (v > a).
func unpremul16(r, g, b, a uint32) (uint8, uint8, uint8) {
	switch a {
	case 0xffff:
		return uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)
	case 0:
		return 0, 0, 0
	}
	f := func(v uint32) uint8 { return uint8(min(v*0xffff/a, 0xffff) >> 8) }
	return f(r), f(g), f(b)
}

// cmykToRGB is PIL's CMYK to RGB conversion (Pillow 9.4 Convert.c):
// nk = 255-k, out = nk - MULDIV255(in, nk), MULDIV255(a, b) = (t + t>>8) >> 8
// with t = a·b + 128.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := 255 - uint32(k)
	f := func(v uint8) uint8 {
		t := uint32(v)*nk + 128
		return uint8(nk - (t+t>>8)>>8)
	}
	return f(c), f(m), f(y)
}
