package shapes

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Rendering is a rendered [Scene]: the image and one mask per object.
//
// Masks[k] holds the visible pixels of Scene.Objects[k], row-major: pixel
// (x, y) is Masks[k][y*W+x], with W and H the image's width and height. A
// pixel belongs to object k when its centre lies inside the shape and no later
// object covers that centre, so masks are disjoint. Every pixel of Masks[k]
// has exactly the colour Objects[k].Colour.RGBA(): anti-aliasing only blends
// pixels whose centre is outside every shape.
type Rendering struct {
	Image *image.RGBA
	Masks [][]bool
}

// Union returns the union of the masks of the objects for which keep returns
// true, as a new [H*W] slice indexed y*W+x.
func (r *Rendering) Union(objs []Object, keep func(Object) bool) []bool {
	if len(objs) != len(r.Masks) {
		panic(fmt.Sprintf("shapes: %d objects for %d masks", len(objs), len(r.Masks)))
	}
	b := r.Image.Bounds()
	u := make([]bool, b.Dx()*b.Dy())
	for k, m := range r.Masks {
		if !keep(objs[k]) {
			continue
		}
		for i, in := range m {
			u[i] = u[i] || in
		}
	}
	return u
}

// MaskImage returns mask, [h*w] indexed y*w+x, as a Gray image: 255 inside,
// 0 outside. It panics if len(mask) != w*h.
func MaskImage(mask []bool, w, h int) *image.Gray {
	if len(mask) != w*h {
		panic(fmt.Sprintf("shapes: mask of %d pixels for %d×%d", len(mask), w, h))
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, in := range mask {
		if in {
			g.Pix[i] = 255
		}
	}
	return g
}

// Radius returns the bounding radius, in pixels, of an object of size z in a
// w×h image: 11 (large) or 6 (small) at 64×64, scaled by min(w, h)/64 and
// rounded down to 1/8 pixel.
func Radius(z Size, w, h int) float64 {
	return float64(radiusSub(z, w, h)) / subUnits
}

// radiusSub is Radius in sub-pixel units.
func radiusSub(z Size, w, h int) int64 {
	return int64(radius64[z]) * subUnits * int64(min(w, h)) / 64
}

// toSub converts a fraction of a length of n pixels to sub-pixel units,
// rounding to nearest. NaN and infinities go far outside the image.
func toSub(f float64, n int) int64 {
	v := math.Round(f * float64(n*subUnits))
	if !(v > -1e9 && v < 1e9) {
		return -1 << 40
	}
	return int64(v)
}

// Render draws s into a new w×h image.
//
// It panics if w or h is not positive, if w·h exceeds 1<<26 pixels, or if an
// object's shape, colour or size or the background is invalid (check input
// from users with [Scene.Validate] first). Objects outside the image are
// clipped; an object entirely outside has an empty mask.
func Render(s Scene, w, h int) *Rendering {
	if w <= 0 || h <= 0 || w*h > 1<<26 {
		panic(fmt.Sprintf("shapes: bad image size %d×%d", w, h))
	}
	if err := s.Validate(); err != nil {
		panic(err.Error())
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	paintBackground(img.Pix, w, h, s.Background, s.TextureSeed)
	n := len(s.Objects)
	if n >= 1<<16-1 {
		panic(fmt.Sprintf("shapes: %d objects", n))
	}
	// owner[p] is 1 + the index of the last object whose shape holds pixel
	// p's centre, or 0.
	owner := make([]uint16, w*h)
	objs := make([]placed, n)
	grids := 0
	for k, o := range s.Objects {
		objs[k] = place1(o, w, h, img.Rect.Inset(-1))
		grids += objs[k].box.Dx() * objs[k].box.Dy()
	}
	buf := make([]bool, grids)
	for k := range objs {
		p := &objs[k]
		p.in, buf = buf[:p.box.Dx()*p.box.Dy()], buf[p.box.Dx()*p.box.Dy():]
		bw := p.box.Dx()
		for y := p.box.Min.Y; y < p.box.Max.Y; y++ {
			dy := int64(y)*subUnits + subUnits/2 - p.cy
			for x := p.box.Min.X; x < p.box.Max.X; x++ {
				if p.ol.contains(int64(x)*subUnits+subUnits/2-p.cx, dy) {
					p.in[(y-p.box.Min.Y)*bw+x-p.box.Min.X] = true
					if x >= 0 && y >= 0 && x < w && y < h {
						owner[y*w+x] = uint16(k + 1)
					}
				}
			}
		}
	}
	// Halos first: blend the outside pixels next to each shape by their 4×4
	// sub-sample coverage. Interiors are painted after, so they stay exact.
	for k, o := range s.Objects {
		paintHalo(img, owner, &objs[k], o.Colour.RGBA())
	}
	for k, o := range s.Objects {
		c := o.Colour.RGBA()
		box := objs[k].box.Intersect(img.Rect)
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				if int(owner[y*w+x]) == k+1 {
					p := img.Pix[4*(y*w+x) : 4*(y*w+x)+3 : 4*(y*w+x)+3]
					p[0], p[1], p[2] = c.R, c.G, c.B
				}
			}
		}
	}
	masks := make([][]bool, n)
	mbuf := make([]bool, n*w*h)
	for k := range masks {
		masks[k] = mbuf[k*w*h : (k+1)*w*h : (k+1)*w*h]
	}
	for i, o := range owner {
		if o != 0 {
			masks[o-1][i] = true
		}
	}
	return &Rendering{Image: img, Masks: masks}
}

// placed is one object prepared for drawing: its outline, its centre in
// sub-pixel units, and whether each pixel centre of box is inside, row-major
// in[(y-box.Min.Y)*box.Dx() + x-box.Min.X].
type placed struct {
	ol     *outline
	cx, cy int64
	box    image.Rectangle
	in     []bool
}

// place1 prepares o for a w×h image. box covers the pixels whose square meets
// the bounding circle plus a one-pixel ring, within clip.
func place1(o Object, w, h int, clip image.Rectangle) placed {
	r := radiusSub(o.Size, w, h)
	cx, cy := toSub(o.X, w), toSub(o.Y, h)
	box := image.Rect(
		int(floorDiv(cx-r, subUnits))-1, int(floorDiv(cy-r, subUnits))-1,
		int(floorDiv(cx+r, subUnits))+2, int(floorDiv(cy+r, subUnits))+2,
	).Intersect(clip)
	return placed{ol: newOutline(o.Shape, r), cx: cx, cy: cy, box: box}
}

// paintHalo blends colour c into the image pixels of p's box whose centre no
// shape holds but which touch a pixel whose centre p's shape holds, in
// proportion to the share of the pixel's 4×4 sub-samples inside the shape.
func paintHalo(img *image.RGBA, owner []uint16, p *placed, c color.RGBA) {
	w := img.Rect.Dx()
	bw := p.box.Dx()
	box := p.box.Intersect(img.Rect)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if owner[y*w+x] != 0 {
				continue
			}
			near := false
			for ny := max(y-1, p.box.Min.Y); ny <= min(y+1, p.box.Max.Y-1) && !near; ny++ {
				row := p.in[(ny-p.box.Min.Y)*bw:]
				for nx := max(x-1, p.box.Min.X); nx <= min(x+1, p.box.Max.X-1); nx++ {
					if row[nx-p.box.Min.X] {
						near = true
						break
					}
				}
			}
			if !near {
				continue
			}
			cov := 0
			for sy := int64(1); sy < subUnits; sy += 2 {
				dy := int64(y)*subUnits + sy - p.cy
				for sx := int64(1); sx < subUnits; sx += 2 {
					if p.ol.contains(int64(x)*subUnits+sx-p.cx, dy) {
						cov++
					}
				}
			}
			if cov == 0 {
				continue
			}
			q := img.Pix[4*(y*w+x) : 4*(y*w+x)+3 : 4*(y*w+x)+3]
			q[0] = uint8((int(c.R)*cov + int(q[0])*(16-cov) + 8) / 16)
			q[1] = uint8((int(c.G)*cov + int(q[1])*(16-cov) + 8) / 16)
			q[2] = uint8((int(c.B)*cov + int(q[2])*(16-cov) + 8) / 16)
		}
	}
}

// floorDiv is a/b rounded towards minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
