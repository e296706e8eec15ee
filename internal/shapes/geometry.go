package shapes

// The geometry is integer arithmetic only, so that masks and images are the
// same bytes on every machine: no float rounding, no fused multiply-add.
// Coordinates are in sub-pixel units of 1/8 pixel; pixel (x, y) covers
// [8x, 8x+8) × [8y, 8y+8) and its centre is (8x+4, 8y+4).

// subUnits is the number of sub-pixel units per pixel.
const subUnits = 8

// unit is the fixed-point scale of the shape outlines below: a vertex
// (vx, vy) of a shape of bounding radius r sits at (vx·r/unit, vy·r/unit).
const unit = 1024

// Outlines of the polygonal shapes, y pointing down, within radius unit.
var (
	squarePoly   = [][2]int64{{-800, -800}, {800, -800}, {800, 800}, {-800, 800}}
	trianglePoly = [][2]int64{{0, -1000}, {970, 830}, {-970, 830}}
	diamondPoly  = [][2]int64{{0, -1024}, {740, 0}, {0, 1024}, {-740, 0}}
	// A regular five-pointed star, inner radius 0.42, shifted down by 98 so
	// its top and bottom are equally far from the centre.
	starPoly = [][2]int64{
		{0, -926}, {253, -250}, {974, -218}, {409, 231}, {602, 926},
		{0, 528}, {-602, 926}, {-409, 231}, {-974, -218}, {-253, -250},
	}
)

// outline is one object's shape at one radius, with its constants scaled
// once, so that testing a point costs no division.
type outline struct {
	shape Shape
	r     int64
	a, b  int64        // per-shape constants (see newOutline)
	poly  [10][2]int64 // scaled vertices of a polygonal shape
	n     int          // number of vertices in poly
}

// newOutline scales shape s to bounding radius r (sub-pixel units).
func newOutline(s Shape, r int64) *outline {
	o := &outline{shape: s, r: r}
	var p [][2]int64
	switch s {
	case Ring:
		o.a = r * 55 / 100 // inner radius
	case Cross:
		o.a = r * 34 / 100 // half the arm width
	case Heart:
		o.a = r / 2 // lobe radius
		o.b = r / 4 // lobe centre height above the centre
	case Moon:
		o.a, o.b = r*45/100, -r*20/100 // the cut disc's centre; its radius is 0.8r
	case Square:
		p = squarePoly
	case Triangle:
		p = trianglePoly
	case Diamond:
		p = diamondPoly
	case Star:
		p = starPoly
	}
	for i, v := range p {
		o.poly[i] = [2]int64{v[0] * r / unit, v[1] * r / unit}
	}
	o.n = len(p)
	return o
}

// contains reports whether the point (dx, dy), relative to the object's
// centre in sub-pixel units, lies in the shape.
func (o *outline) contains(dx, dy int64) bool {
	r := o.r
	switch o.shape {
	case Circle:
		return dx*dx+dy*dy <= r*r
	case Ring:
		d2 := dx*dx + dy*dy
		return d2 <= r*r && d2 > o.a*o.a
	case Square, Triangle, Diamond, Star:
		return inPoly(o.poly[:o.n], dx, dy)
	case Cross:
		w := o.a
		ax, ay := abs(dx), abs(dy)
		return (ax <= w && ay <= r) || (ay <= w && ax <= r)
	case Heart:
		// Two lobes of radius h centred at (±h, -q), and the triangle
		// (-r, -q), (r, -q), (0, r) below them.
		h, q := o.a, o.b
		lx, ly := abs(dx)-h, dy+q
		if lx*lx+ly*ly <= h*h {
			return true
		}
		// Below the top edge and inside both slanted sides:
		// |dx|/r <= (r - dy)/(r + q).
		return dy >= -q && dy <= r && abs(dx)*(r+q) <= (r-dy)*r
	case Moon:
		// A disc minus a disc of radius 0.8r shifted up and to the right.
		if dx*dx+dy*dy > r*r {
			return false
		}
		ex, ey, rc := dx-o.a, dy-o.b, r*80/100
		return ex*ex+ey*ey > rc*rc
	}
	return false
}

// inPoly is the even-odd crossing test for the polygon poly.
func inPoly(poly [][2]int64, px, py int64) bool {
	in := false
	n := len(poly)
	for i := range n {
		x1, y1 := poly[i][0], poly[i][1]
		j := i + 1
		if j == n {
			j = 0
		}
		x2, y2 := poly[j][0], poly[j][1]
		if (y1 > py) == (y2 > py) {
			continue
		}
		// Does the edge cross the horizontal ray to the right of px?
		// px < x1 + (py-y1)(x2-x1)/(y2-y1), cross-multiplied.
		lhs := (px - x1) * (y2 - y1)
		rhs := (py - y1) * (x2 - x1)
		if (y2 > y1 && lhs < rhs) || (y2 < y1 && lhs > rhs) {
			in = !in
		}
	}
	return in
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
