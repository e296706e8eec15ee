package shapes

import (
	"image/color"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMasksAgreeWithRender renders generated scenes on a plain background and
// checks: every mask pixel has its object's exact colour, pixels far from all
// masks have the background's, masks are disjoint and not empty, and the
// foreground is the union of the class's masks.
func TestMasksAgreeWithRender(t *testing.T) {
	src := Dataset(11, 300)
	for i := range src.Len() {
		s := src.At(i)
		w, h := src.Width, src.Height
		plain := s.Scene
		plain.Background = Plain
		r := Render(plain, w, h)
		require.Equal(t, s.Masks, r.Masks, "sample %d: masks do not depend on the background", i)
		bg := r.Image.RGBAAt(0, 0)
		owner := make([]int, w*h)
		for k, m := range r.Masks {
			n := 0
			want := plain.Objects[k].Colour.RGBA()
			for p, in := range m {
				if !in {
					continue
				}
				n++
				require.Zero(t, owner[p], "sample %d: masks overlap", i)
				owner[p] = k + 1
				require.Equal(t, want, r.Image.RGBAAt(p%w, p/w), "sample %d object %d pixel %d", i, k, p)
			}
			assert.Positive(t, n, "sample %d: object %d is visible", i, k)
		}
		for y := range h {
			for x := range w {
				near := false
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						xx, yy := x+dx, y+dy
						if xx >= 0 && yy >= 0 && xx < w && yy < h && owner[yy*w+xx] != 0 {
							near = true
						}
					}
				}
				if !near {
					require.Equal(t, bg, r.Image.RGBAAt(x, y), "sample %d: pixel (%d, %d) is background", i, x, y)
				}
			}
		}
		cls, _ := s.Scene.Class()
		for p := range s.Foreground {
			o := owner[p]
			assert.Equal(t, o != 0 && s.Scene.Objects[o-1].Shape == cls, s.Foreground[p], "sample %d pixel %d", i, p)
		}
	}
}

// TestCircleMaskBruteForce checks the centre rule against float geometry: a
// pixel is in a circle's mask when its centre is within the radius.
func TestCircleMaskBruteForce(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		obj  Object
	}{
		{"large at 64", 64, 64, Object{Shape: Circle, Size: Large, X: 0.5, Y: 0.5}},
		{"small off-centre", 64, 64, Object{Shape: Circle, Size: Small, X: 21.0 / 64, Y: 40.0 / 64}},
		{"clipped at the corner", 64, 64, Object{Shape: Circle, Size: Large, X: 0, Y: 1}},
		{"large at 128x96", 128, 96, Object{Shape: Circle, Size: Large, X: 0.25, Y: 0.75}},
		{"sub-pixel centre", 64, 64, Object{Shape: Circle, Size: Large, X: 30.375 / 64, Y: 33.625 / 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Render(Scene{Objects: []Object{tt.obj}}, tt.w, tt.h)
			rad := Radius(tt.obj.Size, tt.w, tt.h)
			cx, cy := tt.obj.X*float64(tt.w), tt.obj.Y*float64(tt.h)
			for y := range tt.h {
				for x := range tt.w {
					dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
					want := dx*dx+dy*dy <= rad*rad
					require.Equal(t, want, r.Masks[0][y*tt.w+x], "pixel (%d, %d)", x, y)
				}
			}
		})
	}
}

// TestShapeAreas compares mask areas of large shapes at 512×512 with their
// closed-form areas (the star's by the shoelace formula), within 2%.
func TestShapeAreas(t *testing.T) {
	const n = 512
	R := Radius(Large, n, n)
	star := 0.0
	for i := range starPoly {
		a, b := starPoly[i], starPoly[(i+1)%len(starPoly)]
		star += float64(a[0]*b[1]-b[0]*a[1]) / 2
	}
	star = math.Abs(star) / (unit * unit)
	areas := map[Shape]float64{
		Circle:   math.Pi,
		Ring:     math.Pi * (1 - 0.55*0.55),
		Square:   4 * 0.78125 * 0.78125,
		Triangle: (970.0 / 1024) * (1830.0 / 1024),
		Diamond:  2 * 740.0 / 1024,
		Star:     star,
		Cross:    2*(2*0.34*2) - (2*0.34)*(2*0.34),
	}
	for s, a := range areas {
		t.Run(s.String(), func(t *testing.T) {
			r := Render(Scene{Objects: []Object{{Shape: s, Size: Large, X: 0.5, Y: 0.5}}}, n, n)
			got := 0
			for _, in := range r.Masks[0] {
				if in {
					got++
				}
			}
			assert.InEpsilon(t, a*R*R, float64(got), 0.02)
		})
	}
	// Heart and moon: no closed form here, but a plausible share of the
	// bounding square and symmetric (heart) about the vertical axis.
	for _, s := range []Shape{Heart, Moon} {
		r := Render(Scene{Objects: []Object{{Shape: s, Size: Large, X: 0.5, Y: 0.5}}}, n, n)
		got := 0
		for _, in := range r.Masks[0] {
			if in {
				got++
			}
		}
		frac := float64(got) / (4 * R * R)
		assert.True(t, frac > 0.2 && frac < 0.8, "%v covers %.2f of its box", s, frac)
		if s == Heart {
			for y := range n {
				for x := range n / 2 {
					require.Equal(t, r.Masks[0][y*n+x], r.Masks[0][y*n+n-1-x], "heart is symmetric at (%d, %d)", x, y)
				}
			}
		}
	}
}

func TestRenderOcclusionAndClipping(t *testing.T) {
	s := Scene{Objects: []Object{
		{Shape: Square, Colour: Red, Size: Large, X: 0.5, Y: 0.5},
		{Shape: Circle, Colour: Blue, Size: Small, X: 0.5, Y: 0.5},
		{Shape: Star, Colour: Green, Size: Large, X: 3, Y: 0.5}, // outside
		{Shape: Heart, Colour: Green, Size: Large, X: math.NaN(), Y: 0.5},
	}}
	r := Render(s, 64, 64)
	assert.False(t, r.Masks[0][32*64+32], "the later circle covers the square's centre")
	assert.True(t, r.Masks[1][32*64+32])
	assert.Equal(t, Blue.RGBA(), r.Image.RGBAAt(32, 32))
	assert.True(t, r.Masks[0][32*64+25], "the square shows around the circle")
	assert.NotContains(t, r.Masks[2], true)
	assert.NotContains(t, r.Masks[3], true)
}

func TestRenderPanicsAndValidate(t *testing.T) {
	ok := Scene{Objects: []Object{{Shape: Star}}}
	require.NoError(t, ok.Validate())
	bad := []Scene{
		{Background: Background(NumBackgrounds)},
		{Objects: []Object{{Shape: Shape(NumShapes)}}},
		{Objects: []Object{{Colour: Colour(200)}}},
		{Objects: []Object{{Size: Size(2)}}},
	}
	for _, s := range bad {
		assert.Error(t, s.Validate())
		assert.Panics(t, func() { Render(s, 64, 64) })
	}
	assert.Panics(t, func() { Render(ok, 0, 64) })
	assert.Panics(t, func() { Render(ok, 64, -1) })
}

// TestBackgroundsDistinct checks the textures differ from one another in mean
// colour or in detail, at 64×64.
func TestBackgroundsDistinct(t *testing.T) {
	type stat struct{ mean, grad [3]float64 }
	stats := make([]stat, NumBackgrounds)
	for b := range NumBackgrounds {
		img := Render(Scene{Background: Background(b), TextureSeed: 5}, 64, 64).Image
		var st stat
		for y := range 64 {
			for x := range 64 {
				c := img.RGBAAt(x, y)
				d := img.RGBAAt((x+1)%64, (y+1)%64)
				for ch, v := range [3]uint8{c.R, c.G, c.B} {
					st.mean[ch] += float64(v) / 4096
					st.grad[ch] += math.Abs(float64(v)-float64([3]uint8{d.R, d.G, d.B}[ch])) / 4096
				}
			}
		}
		stats[b] = st
	}
	for a := range NumBackgrounds {
		for b := a + 1; b < NumBackgrounds; b++ {
			dist := 0.0
			for ch := range 3 {
				dist += math.Abs(stats[a].mean[ch]-stats[b].mean[ch]) + math.Abs(stats[a].grad[ch]-stats[b].grad[ch])
			}
			assert.Greater(t, dist, 15.0, "%v vs %v", Background(a), Background(b))
		}
	}
}

func TestMaskImage(t *testing.T) {
	g := MaskImage([]bool{true, false, false, true}, 2, 2)
	assert.Equal(t, color.Gray{255}, g.GrayAt(0, 0))
	assert.Equal(t, color.Gray{0}, g.GrayAt(1, 0))
	assert.Panics(t, func() { MaskImage(make([]bool, 3), 2, 2) })
}
