package clip

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/npy"
)

const preprocessGoldenDir = "../testdata/clip/preprocess"

// preprocessCase is one entry of the goldens' manifest.json.
type preprocessCase struct {
	Name    string `json:"name"`
	Input   string `json:"input"`
	Mode    string `json:"mode"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Size    int    `json:"size"`
	Resized [2]int `json:"resized"`
	Left    int    `json:"left"`
	Top     int    `json:"top"`
	Crop    string `json:"crop"`
	Norm    string `json:"norm"`
}

func loadPreprocessCases(t *testing.T) []preprocessCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(preprocessGoldenDir, "manifest.json"))
	require.NoError(t, err, "goldens missing: run testdata/clip/preprocess/make_goldens.py")
	var m struct {
		Cases []preprocessCase `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	require.NotEmpty(t, m.Cases)
	return m.Cases
}

// loadPreprocessInput decodes a case's input: a PNG, or a CMYK [H, W, 4] uint8 .npy.
func loadPreprocessInput(t *testing.T, c preprocessCase) image.Image {
	t.Helper()
	path := filepath.Join(preprocessGoldenDir, c.Input)
	if filepath.Ext(path) == ".npy" {
		a, err := npy.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, []int{c.Height, c.Width, 4}, a.Shape)
		pix, ok := a.Data.([]uint8)
		require.True(t, ok, "%s: want uint8 data", path)
		return &image.CMYK{Pix: pix, Stride: 4 * c.Width, Rect: image.Rect(0, 0, c.Width, c.Height)}
	}
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, c.Width, c.Height), img.Bounds())
	return img
}

// preprocessAtOnly hides an image's concrete type, so that only the generic At path can read it.
type preprocessAtOnly struct{ image.Image }

// preprocessShift returns a copy of img's header whose bounds start at (dx, dy),
// sharing Pix, for the types the goldens decode to.
func preprocessShift(t *testing.T, img image.Image, dx, dy int) image.Image {
	t.Helper()
	shift := func(r image.Rectangle) image.Rectangle { return r.Add(image.Pt(dx, dy)) }
	switch m := img.(type) {
	case *image.RGBA:
		c := *m
		c.Rect = shift(c.Rect)
		return &c
	case *image.NRGBA:
		c := *m
		c.Rect = shift(c.Rect)
		return &c
	case *image.Gray:
		c := *m
		c.Rect = shift(c.Rect)
		return &c
	case *image.Paletted:
		c := *m
		c.Rect = shift(c.Rect)
		return &c
	case *image.CMYK:
		c := *m
		c.Rect = shift(c.Rect)
		return &c
	}
	t.Fatalf("preprocessShift: unexpected type %T", img)
	return nil
}

// preprocessMaxDiff returns the largest |got - want| over the RGB values of got
// and want, a uint8 [S, S, 3] array.
func preprocessMaxDiff(got *image.RGBA, want []uint8, s int) (worst, at int) {
	for y := range s {
		for x := range s {
			for c := range 3 {
				g := int(got.Pix[y*got.Stride+4*x+c])
				w := int(want[(y*s+x)*3+c])
				if d := max(g-w, w-g); d > worst {
					worst, at = d, (y*s+x)*3+c
				}
			}
		}
	}
	return worst, at
}

func TestPreprocessGoldens(t *testing.T) {
	wantType := map[string]string{
		"RGB": "*image.RGBA", "RGBA": "*image.NRGBA", "LA": "*image.NRGBA",
		"L": "*image.Gray", "P": "*image.Paletted", "CMYK": "*image.CMYK",
	}
	for _, c := range loadPreprocessCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			img := loadPreprocessInput(t, c)
			require.Equal(t, wantType[c.Mode], fmt.Sprintf("%T", img), "decoded type for PIL mode %s", c.Mode)
			s := c.Size

			nw, nh := resizedSize(c.Width, c.Height, s)
			assert.Equal(t, c.Resized, [2]int{nw, nh}, "resized size")
			assert.Equal(t, c.Left, cropOffset(nw, s), "left")
			assert.Equal(t, c.Top, cropOffset(nh, s), "top")

			cropArr, err := npy.ReadFile(filepath.Join(preprocessGoldenDir, c.Crop))
			require.NoError(t, err)
			require.Equal(t, []int{s, s, 3}, cropArr.Shape)
			wantCrop := cropArr.Data.([]uint8)
			normArr, err := npy.ReadFile(filepath.Join(preprocessGoldenDir, c.Norm))
			require.NoError(t, err)
			require.Equal(t, []int{3, s, s}, normArr.Shape)
			wantNorm := normArr.Data.([]float32)

			inputs := []struct {
				name string
				img  image.Image
			}{
				{name: "fast", img: img},
				{name: "offset", img: preprocessShift(t, img, -37, 11)},
				{name: "at", img: preprocessAtOnly{preprocessShift(t, img, 5, -3)}},
			}
			for _, in := range inputs {
				crop, err := ResizeCrop(in.img, s)
				require.NoError(t, err, in.name)
				require.Equal(t, image.Rect(0, 0, s, s), crop.Bounds(), in.name)
				worst, at := preprocessMaxDiff(crop, wantCrop, s)
				t.Logf("%s/%s: max |uint8 crop - PIL| = %d (at HWC index %d)", c.Name, in.name, worst, at)
				assert.LessOrEqual(t, worst, 2, "%s: uint8 crop differs from PIL by more than 2/255 (the spec)", in.name)
				assert.Zero(t, worst, "%s: uint8 crop is documented as bit-exact to PIL on these goldens", in.name)
				for i := 3; i < len(crop.Pix); i += 4 {
					if crop.Pix[i] != 255 {
						t.Fatalf("%s: alpha %d at Pix[%d], want 255", in.name, crop.Pix[i], i)
					}
				}

				got, err := Preprocess(in.img, s)
				require.NoError(t, err, in.name)
				require.Len(t, got, 3*s*s, in.name)
				misses, worstN := 0, 0.0
				for i, w := range wantNorm {
					ch := i / (s * s)
					tol := 2.0/255/float64(ImageStd[ch]) + 1e-6
					d := math.Abs(float64(got[i]) - float64(w))
					worstN = max(worstN, d)
					if d > tol {
						misses++
					}
				}
				t.Logf("%s/%s: max |normalized - torch| = %.3g", c.Name, in.name, worstN)
				assert.Zero(t, misses, "%s: %d normalized values beyond 2/255/std", in.name, misses)
			}
		})
	}
}

// preprocessRandomImages returns one image of every fast-path type, filled with
// random pixels, with bounds w×h starting at min.
func preprocessRandomImages(rng *rand.Rand, w, h int, min image.Point) []struct {
	name string
	img  image.Image
} {
	r := image.Rectangle{Min: min, Max: min.Add(image.Pt(w, h))}
	fill := func(p []uint8) {
		for i := range p {
			p[i] = uint8(rng.UintN(256))
		}
	}
	rgba := image.NewRGBA(r)
	fill(rgba.Pix)
	for i := 0; i < len(rgba.Pix); i += 4 { // mostly valid premultiplied, some not, some a = 0 or 255
		switch a := rgba.Pix[i+3]; {
		case a < 20:
			rgba.Pix[i+3] = 0
		case a > 200:
			rgba.Pix[i+3] = 255
		case a > 40:
			for c := range 3 {
				rgba.Pix[i+c] = uint8(int(rgba.Pix[i+c]) * int(a) / 255)
			}
		}
	}
	nrgba := image.NewNRGBA(r)
	fill(nrgba.Pix)
	gray := image.NewGray(r)
	fill(gray.Pix)
	gray16 := image.NewGray16(r)
	fill(gray16.Pix)
	nrgba64 := image.NewNRGBA64(r)
	fill(nrgba64.Pix)
	rgba64 := image.NewRGBA64(r)
	fill(rgba64.Pix)
	for i := 0; i < len(rgba64.Pix); i += 8 {
		if rgba64.Pix[i+6] > 128 {
			rgba64.Pix[i+6], rgba64.Pix[i+7] = 0xff, 0xff
		}
	}
	cmyk := image.NewCMYK(r)
	fill(cmyk.Pix)
	pal := image.NewPaletted(r, nil)
	for range 100 {
		pal.Palette = append(pal.Palette, color.NRGBA{uint8(rng.UintN(256)), uint8(rng.UintN(256)), uint8(rng.UintN(256)), uint8(rng.UintN(256))})
	}
	pal.Palette[3] = color.RGBA{10, 20, 30, 40}
	pal.Palette[4] = color.Gray{77}
	for i := range pal.Pix {
		pal.Pix[i] = uint8(rng.UintN(uint(len(pal.Palette))))
	}
	var out []struct {
		name string
		img  image.Image
	}
	add := func(name string, img image.Image) {
		out = append(out, struct {
			name string
			img  image.Image
		}{name, img})
	}
	add("RGBA", rgba)
	add("NRGBA", nrgba)
	add("Gray", gray)
	add("Gray16", gray16)
	add("NRGBA64", nrgba64)
	add("RGBA64", rgba64)
	add("CMYK", cmyk)
	add("Paletted", pal)
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422} {
		y := image.NewYCbCr(r, ratio)
		fill(y.Y)
		fill(y.Cb)
		fill(y.Cr)
		add("YCbCr"+ratio.String(), y)
	}
	nycc := image.NewNYCbCrA(r, image.YCbCrSubsampleRatio420)
	fill(nycc.Y)
	fill(nycc.Cb)
	fill(nycc.Cr)
	fill(nycc.A)
	add("NYCbCrA", nycc)
	return out
}

func TestPreprocessAtPathMatchesFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, geo := range []struct {
		name string
		w, h int
		min  image.Point
		size int
	}{
		{name: "down", w: 57, h: 41, min: image.Pt(0, 0), size: 16},
		{name: "up-offset", w: 9, h: 14, min: image.Pt(-3, 7), size: 20},
		{name: "odd-offset", w: 33, h: 33, min: image.Pt(5, 1), size: 32},
	} {
		for _, tc := range preprocessRandomImages(rng, geo.w, geo.h, geo.min) {
			t.Run(geo.name+"/"+tc.name, func(t *testing.T) {
				fast, err := ResizeCrop(tc.img, geo.size)
				require.NoError(t, err)
				slow, err := ResizeCrop(preprocessAtOnly{tc.img}, geo.size)
				require.NoError(t, err)
				assert.Equal(t, fast.Pix, slow.Pix)

				fastN, err := Preprocess(tc.img, geo.size)
				require.NoError(t, err)
				slowN, err := Preprocess(preprocessAtOnly{tc.img}, geo.size)
				require.NoError(t, err)
				assert.Equal(t, fastN, slowN)
			})
		}
	}
}

// TestPreprocessConversion checks the colour conversions against values
// worked out by hand from PIL's and Go's formulas.
func TestPreprocessConversion(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    color.Color
		want [3]uint8
	}{
		{name: "NRGBA drops alpha", c: color.NRGBA{200, 100, 50, 7}, want: [3]uint8{200, 100, 50}},
		{name: "RGBA opaque", c: color.RGBA{1, 2, 3, 255}, want: [3]uint8{1, 2, 3}},
		{name: "RGBA half", c: color.RGBA{64, 32, 0, 128}, want: [3]uint8{127, 63, 0}},
		{name: "RGBA transparent", c: color.RGBA{0, 0, 0, 0}, want: [3]uint8{0, 0, 0}},
		{name: "RGBA invalid clips", c: color.RGBA{200, 0, 0, 100}, want: [3]uint8{255, 0, 0}},
		{name: "Gray", c: color.Gray{9}, want: [3]uint8{9, 9, 9}},
		{name: "Gray16 high byte", c: color.Gray16{0xabff}, want: [3]uint8{0xab, 0xab, 0xab}},
		{name: "NRGBA64 high byte", c: color.NRGBA64{0x1234, 0x5678, 0x9abc, 0}, want: [3]uint8{0x12, 0x56, 0x9a}},
		// PIL: nk = 255-k; nk - (c*nk+128 + (c*nk+128)>>8)>>8.
		{name: "CMYK white", c: color.CMYK{0, 0, 0, 0}, want: [3]uint8{255, 255, 255}},
		{name: "CMYK black", c: color.CMYK{0, 0, 0, 255}, want: [3]uint8{0, 0, 0}},
		{name: "CMYK mixed", c: color.CMYK{128, 255, 10, 100}, want: [3]uint8{155 - 78, 0, 155 - 6}},
		{name: "YCbCr", c: color.YCbCr{100, 128, 128}, want: [3]uint8{100, 100, 100}},
		{name: "nil", c: nil, want: [3]uint8{0, 0, 0}},
		{name: "Alpha16 via RGBA()", c: color.Alpha16{0x8000}, want: [3]uint8{255, 255, 255}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, g, b := rgbOf(tc.c)
			assert.Equal(t, tc.want, [3]uint8{r, g, b})
		})
	}
}

func TestPreprocess16BitHighByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := image.Rect(2, 3, 45, 30)
	g8 := image.NewGray(r)
	g16 := image.NewGray16(r)
	for i := range g8.Pix {
		v := uint8(rng.UintN(256))
		g8.Pix[i] = v
		g16.Pix[2*i], g16.Pix[2*i+1] = v, uint8(rng.UintN(256))
	}
	a, err := ResizeCrop(g8, 24)
	require.NoError(t, err)
	b, err := ResizeCrop(g16, 24)
	require.NoError(t, err)
	assert.Equal(t, a.Pix, b.Pix)
}

func TestPreprocessSubImage(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	big := image.NewNRGBA(image.Rect(0, 0, 80, 60))
	for i := range big.Pix {
		big.Pix[i] = uint8(rng.UintN(256))
	}
	sub := big.SubImage(image.Rect(13, 7, 61, 50)).(*image.NRGBA)
	cp := image.NewNRGBA(image.Rect(0, 0, 48, 43))
	for y := range 43 {
		copy(cp.Pix[y*cp.Stride:(y+1)*cp.Stride], sub.Pix[y*sub.Stride:y*sub.Stride+4*48])
	}
	a, err := Preprocess(sub, 32)
	require.NoError(t, err)
	b, err := Preprocess(cp, 32)
	require.NoError(t, err)
	assert.Equal(t, b, a)
}

func TestPreprocessToNormalizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	img := image.NewRGBA(image.Rect(0, 0, 50, 70))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.UintN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	const s = 40
	crop, err := ResizeCrop(img, s)
	require.NoError(t, err)
	dst := make([]float32, 3*s*s)
	require.NoError(t, PreprocessTo(dst, img, s))
	for c := range 3 {
		for y := range s {
			for x := range s {
				v := float64(crop.Pix[y*crop.Stride+4*x+c])
				want := (v/255 - float64(ImageMean[c])) / float64(ImageStd[c])
				got := float64(dst[(c*s+y)*s+x])
				if math.Abs(got-want) > 1e-6 {
					t.Fatalf("dst[%d][%d][%d] = %v, want %v", c, y, x, got, want)
				}
			}
		}
	}
	allocs := testing.AllocsPerRun(5, func() {
		if err := PreprocessTo(dst, img, s); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 20.0, "PreprocessTo allocates only scratch")
}

func TestPreprocessResizeArithmetic(t *testing.T) {
	for _, tc := range []struct {
		name      string
		w, h, s   int
		nw, nh    int
		left, top int
	}{
		{name: "square", w: 224, h: 224, s: 224, nw: 224, nh: 224},
		{name: "landscape", w: 640, h: 480, s: 224, nw: 298, nh: 224, left: 37},
		{name: "portrait truncates", w: 250, h: 333, s: 224, nw: 224, nh: 298, top: 37},
		{name: "tie 0.5 to even", w: 100, h: 103, s: 48, nw: 48, nh: 49, top: 0},
		{name: "tie 1.5 to even", w: 107, h: 100, s: 48, nw: 51, nh: 48, left: 2},
		{name: "tie 2.5 to even", w: 53, h: 48, s: 48, nw: 53, nh: 48, left: 2},
		{name: "upscale", w: 20, h: 13, s: 48, nw: 73, nh: 48, left: 12},
		{name: "one pixel wide", w: 1, h: 5, s: 3, nw: 3, nh: 15, top: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nw, nh := resizedSize(tc.w, tc.h, tc.s)
			assert.Equal(t, [2]int{tc.nw, tc.nh}, [2]int{nw, nh})
			assert.Equal(t, tc.left, cropOffset(nw, tc.s), "left")
			assert.Equal(t, tc.top, cropOffset(nh, tc.s), "top")
		})
	}
}

// TestPreprocessConstant checks a closed form: a constant image stays
// constant through any resize, since the weights sum to one.
func TestPreprocessConstant(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		size int
	}{
		{name: "down", w: 301, h: 97, size: 31},
		{name: "up", w: 3, h: 2, size: 64},
		{name: "same", w: 16, h: 20, size: 16},
		{name: "one pixel", w: 1, h: 1, size: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewNRGBA(image.Rect(0, 0, tc.w, tc.h))
			for i := 0; i < len(img.Pix); i += 4 {
				img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 0, 200, 255, 9
			}
			crop, err := ResizeCrop(img, tc.size)
			require.NoError(t, err)
			for i := 0; i < len(crop.Pix); i += 4 {
				require.Equal(t, []uint8{0, 200, 255, 255}, crop.Pix[i:i+4], "pixel %d", i/4)
			}
		})
	}
}

func TestPreprocessErrors(t *testing.T) {
	ok := image.NewGray(image.Rect(0, 0, 4, 4))
	badPal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	badPal.Pix[5] = 7
	for _, tc := range []struct {
		name     string
		img      image.Image
		size     int
		errImage bool
	}{
		{name: "nil image", img: nil, size: 8, errImage: true},
		{name: "nil pointer bounds", img: &image.RGBA{}, size: 8, errImage: true},
		{name: "empty bounds", img: image.NewRGBA(image.Rect(3, 3, 3, 9)), size: 8, errImage: true},
		{name: "zero size", img: ok, size: 0},
		{name: "negative size", img: ok, size: -1},
		{name: "huge size", img: ok, size: MaxPreprocessSize + 1},
		{name: "palette index", img: badPal, size: 4, errImage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Preprocess(tc.img, tc.size)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.Equal(t, tc.errImage, errors.Is(err, ErrImage), "errors.Is(%v, ErrImage)", err)

			crop, err := ResizeCrop(tc.img, tc.size)
			require.Error(t, err)
			assert.Nil(t, crop)

			if tc.size > 0 && tc.size <= MaxPreprocessSize {
				require.Error(t, PreprocessTo(make([]float32, 3*tc.size*tc.size), tc.img, tc.size))
			}
		})
	}
	t.Run("dst length", func(t *testing.T) {
		for _, n := range []int{0, 3*8*8 - 1, 3*8*8 + 1} {
			assert.Error(t, PreprocessTo(make([]float32, n), ok, 8), "len %d", n)
		}
		assert.Error(t, PreprocessTo(nil, ok, 8))
	})
}

func BenchmarkPreprocess(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.UintN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	const s = 224
	dst := make([]float32, 3*s*s)
	b.Run("Preprocess", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Preprocess(img, s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("PreprocessTo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := PreprocessTo(dst, img, s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("AtPath", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := PreprocessTo(dst, preprocessAtOnly{img}, s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	// An image already s×s: both passes are copies.
	presized := img.SubImage(image.Rect(100, 100, 100+s, 100+s))
	b.Run("Presized", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := PreprocessTo(dst, presized, s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}

// FuzzPreprocess checks that any geometry gives an error or a [3, S, S]
// result that keeps a constant image constant, and never panics.
func FuzzPreprocess(f *testing.F) {
	f.Add(uint16(20), uint16(13), uint16(48), int16(0), int16(0), uint8(7))
	f.Add(uint16(1), uint16(1), uint16(1), int16(-5), int16(9), uint8(0))
	f.Add(uint16(640), uint16(3), uint16(224), int16(1), int16(-1), uint8(255))
	f.Add(uint16(0), uint16(10), uint16(8), int16(0), int16(0), uint8(1))
	f.Fuzz(func(t *testing.T, w, h, size uint16, dx, dy int16, v uint8) {
		w, h, size = w%700, h%700, size%300
		r := image.Rect(int(dx), int(dy), int(dx)+int(w), int(dy)+int(h))
		img := image.NewGray(r)
		for i := range img.Pix {
			img.Pix[i] = v
		}
		crop, err := ResizeCrop(img, int(size))
		if w == 0 || h == 0 || size == 0 {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		require.Equal(t, image.Rect(0, 0, int(size), int(size)), crop.Bounds())
		for i := 0; i < len(crop.Pix); i += 4 {
			require.Equal(t, []uint8{v, v, v, 255}, crop.Pix[i:i+4])
		}
	})
}
