package shapes

import "math/rand/v2"

// Layout works in a nominal 64×64 frame, at whole-pixel centres, and stores
// positions as fractions. Radii scale with min(w, h) and positions with w and
// h separately, so a layout free of overlaps at 64×64 is free of overlaps at
// every size.

const (
	layoutTries    = 200 // random positions tried per object
	layoutRestarts = 8   // fresh attempts at the whole layout before the grid
	layoutGap      = 2   // pixels kept between two objects' bounding circles
)

// Layout returns a copy of s whose objects have new positions, drawn from seed:
// each object lies wholly inside the image and, when they fit, the objects'
// bounding circles are at least 2 pixels apart (at 64×64). When random
// placement fails, objects go on a regular grid and may overlap.
func (s Scene) Layout(seed uint64) Scene {
	out := s
	out.Objects = append([]Object(nil), s.Objects...)
	layout(out.Objects, newRand(seed, streamLayout, 0))
	return out
}

// layout sets the positions of objs, drawing from r.
func layout(objs []Object, r *rand.Rand) {
	const n = 64
	xs := make([]int, len(objs))
	ys := make([]int, len(objs))
	ok := false
	for range layoutRestarts {
		if ok = place(objs, xs, ys, n, r); ok {
			break
		}
	}
	if !ok {
		grid(objs, xs, ys, n)
	}
	for k := range objs {
		objs[k].X = float64(xs[k]) / n
		objs[k].Y = float64(ys[k]) / n
	}
}

// place tries random, non-overlapping centres in an n×n frame.
func place(objs []Object, xs, ys []int, n int, r *rand.Rand) bool {
	for k, o := range objs {
		rk := radius64[o.Size]
		lo, span := rk+1, n-2*rk-1 // centre in [rk+1, n-rk-1]
		if span <= 0 {
			return false
		}
		found := false
		for range layoutTries {
			x, y := lo+intn(r, span), lo+intn(r, span)
			free := true
			for j := range k {
				d := rk + radius64[objs[j].Size] + layoutGap
				dx, dy := x-xs[j], y-ys[j]
				if dx*dx+dy*dy < d*d {
					free = false
					break
				}
			}
			if free {
				xs[k], ys[k], found = x, y, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// grid puts objects at the centres of a near-square grid of cells.
func grid(objs []Object, xs, ys []int, n int) {
	cols := 1
	for cols*cols < len(objs) {
		cols++
	}
	rows := (len(objs) + cols - 1) / cols
	for k := range objs {
		xs[k] = (2*(k%cols) + 1) * n / (2 * cols)
		ys[k] = (2*(k/cols) + 1) * n / (2 * rows)
	}
}
