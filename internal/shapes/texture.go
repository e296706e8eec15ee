package shapes

// Textures are drawn on a 64×64 lattice: pixel (x, y) of a w×h image reads
// the pattern at (x·64/s, y·64/s), s = min(w, h), so a texture looks the same
// at every size. Integer arithmetic only.

type rgb struct{ r, g, b int }

// wave is a sine-like integer wave of period 64 with amplitude 128: two
// parabolic arcs.
func wave(t int) int {
	t &= 63
	if t < 32 {
		return t * (32 - t) / 2
	}
	t -= 32
	return -t * (32 - t) / 2
}

// jitter adds d to each channel.
func (c rgb) add(d int) rgb { return rgb{c.r + d, c.g + d, c.b + d} }

// mixRGB returns a + (b-a)·num/den.
func mixRGB(a, b rgb, num, den int) rgb {
	return rgb{a.r + (b.r-a.r)*num/den, a.g + (b.g-a.g)*num/den, a.b + (b.b-a.b)*num/den}
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// paintBackground fills pix (RGBA, stride 4w) with background b.
func paintBackground(pix []uint8, w, h int, b Background, seed uint64) {
	r := newRand(seed, streamTexture, uint64(b))
	s := min(w, h)
	bright := intn(r, 21) - 10 // per-image brightness jitter, -10..10
	var f func(u, v int) rgb
	switch b {
	case Plain:
		c := rgb{170, 170, 170}.add(bright)
		f = func(u, v int) rgb { return c }
	case Stripes:
		dir := intn(r, 4)
		phase := intn(r, 8)
		a, c := rgb{205, 195, 175}.add(bright), rgb{120, 115, 135}.add(bright)
		f = func(u, v int) rgb {
			var t int
			switch dir {
			case 0:
				t = v
			case 1:
				t = u
			case 2:
				t = u + v
			default:
				t = u - v + 64
			}
			if (t+phase)&7 < 4 {
				return a
			}
			return c
		}
	case Dots:
		ox, oy := intn(r, 8), intn(r, 8)
		base, dot := rgb{230, 220, 200}.add(bright), rgb{150, 110, 150}.add(bright)
		f = func(u, v int) rgb {
			// Dots of radius ~1.6 at the centres of an 8×8 grid, odd rows shifted.
			row := (v + oy) >> 3
			du := (u+ox+(row&1)*4)&7 - 4
			dv := (v+oy)&7 - 4
			if du*du+dv*dv <= 3 {
				return dot
			}
			return base
		}
	case Grass:
		base := rgb{55, 125, 45}.add(bright)
		f = func(u, v int) rgb {
			// Blades: noise stretched vertically, plus fine per-pixel noise.
			blade := int(hash2(seed, u, (v+u*3)>>2)>>24) - 128
			fine := int(hash2(seed^1, u, v)>>27) - 16
			d := blade*40/128 + fine
			return rgb{base.r + d/2, base.g + d, base.b + d/3}
		}
	case Water:
		deep, light := rgb{25, 80, 150}.add(bright), rgb{90, 160, 210}.add(bright)
		phase := intn(r, 64)
		f = func(u, v int) rgb {
			// Horizontal crests, bent by a slower wave along x.
			t := v*4 + wave(u*2+phase)/8
			k := wave(t) + 128 // 0..256
			return mixRGB(deep, light, k, 256)
		}
	case Sky:
		top, bottom := rgb{60, 120, 215}.add(bright), rgb{185, 215, 250}.add(bright)
		f = func(u, v int) rgb { return mixRGB(top, bottom, v, 63) }
	case Checkerboard:
		ox, oy := intn(r, 16), intn(r, 16)
		a, c := rgb{200, 200, 200}.add(bright), rgb{85, 85, 85}.add(bright)
		f = func(u, v int) rgb {
			if ((u+ox)>>3+(v+oy)>>3)&1 == 0 {
				return a
			}
			return c
		}
	case Sand:
		base := rgb{215, 190, 135}.add(bright)
		f = func(u, v int) rgb {
			n := hash2(seed, u, v)
			d := int(n>>28) - 8
			if n&0xff < 20 { // dark grains
				d -= 45
			}
			// Gentle diagonal ripples.
			d += wave((u+2*v)*3) / 16
			return base.add(d)
		}
	default:
		f = func(u, v int) rgb { return rgb{} }
	}
	for y := range h {
		v := y * 64 / s
		row := pix[y*4*w : (y+1)*4*w]
		for x := range w {
			c := f(x*64/s, v)
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = clamp8(c.r), clamp8(c.g), clamp8(c.b), 255
		}
	}
}
