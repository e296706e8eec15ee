package shapes

import (
	"fmt"
	"image"
)

// Random streams: each part of a sample draws from its own PCG stream, keyed
// by (seed, stream, index), so that changing one part leaves the others alone.
const (
	streamScene uint64 = iota + 1
	streamClass
	streamCoin
	streamLayout
	streamTexture
)

// DefaultSize is the default image width and height in pixels.
const DefaultSize = 64

// HeldOutStart is the first sample index of [HeldOut] sets. Training sets
// ([Dataset]) start at index 0, so the two never share a sample while fewer
// than HeldOutStart samples are drawn. It is a multiple of [NumShapes], so
// held-out sets are class-balanced like training sets.
const HeldOutStart = uint64(NumShapes) << 32

// Sample is one image of the world with its ground truth.
type Sample struct {
	// Index is the sample's index in its seed's sequence (Start + i for
	// Source.At(i)); with the seed and the size it fixes the sample.
	Index uint64
	// Class is the shape of the main objects: either they are large and
	// every other object is small, or they are small, two or three of them,
	// and there is at most one other object.
	Class Shape
	Scene Scene
	// Caption is Scene.Caption(), "two large red triangles and a small
	// yellow circle on water".
	Caption string
	// Concepts is Scene.Concepts().
	Concepts []string
	Image    *image.RGBA
	// Masks[k] is the visible part of Scene.Objects[k], [H*W] indexed y*W+x
	// (see [Rendering]).
	Masks [][]bool
	// Foreground is the union of the masks of the objects of shape Class,
	// [H*W] indexed y*W+x.
	Foreground []bool
}

// Source is a stream of samples: At(i), for i in [0, N), is the sample of
// index Start+i of the sequence of Seed, rendered at Width×Height. It holds no
// images; each At call renders one, so a large set never needs to be in memory
// at once. A Source is a value and safe for concurrent use.
//
// The sequence is class-balanced: each run of [NumShapes] indices starting at
// a multiple of NumShapes holds every class once, in a random order.
type Source struct {
	Seed          uint64
	Start         uint64
	N             int
	Width, Height int
}

// Option sets a knob of [Dataset] and [HeldOut].
type Option func(*Source)

// WithSize sets the image width and height in pixels (default 64×64). Scenes
// do not depend on the size; only their rendering does.
func WithSize(w, h int) Option {
	return func(s *Source) { s.Width, s.Height = w, h }
}

// Dataset returns the training source of seed: samples 0 to n-1. It panics if
// n < 0 or the size is not positive.
func Dataset(seed uint64, n int, opts ...Option) Source {
	return newSource(seed, 0, n, opts)
}

// HeldOut returns the held-out source of seed: n samples from index
// [HeldOutStart] on, disjoint from every [Dataset] of the same seed. It panics
// as Dataset does.
func HeldOut(seed uint64, n int, opts ...Option) Source {
	return newSource(seed, HeldOutStart, n, opts)
}

func newSource(seed, start uint64, n int, opts []Option) Source {
	s := Source{Seed: seed, Start: start, N: n, Width: DefaultSize, Height: DefaultSize}
	for _, o := range opts {
		o(&s)
	}
	if n < 0 || s.Width <= 0 || s.Height <= 0 {
		panic(fmt.Sprintf("shapes: bad source: %d samples of %d×%d", n, s.Width, s.Height))
	}
	return s
}

// Len returns N.
func (s Source) Len() int { return s.N }

// At renders sample i. s.At is the stream as a func(i int) Sample. It panics
// if i is outside [0, N).
func (s Source) At(i int) Sample {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("shapes: sample %d of %d", i, s.N))
	}
	idx := s.Start + uint64(i)
	sc := s.SceneAt(i)
	rend := Render(sc, s.Width, s.Height)
	cls, _ := sc.Class()
	return Sample{
		Index:      idx,
		Class:      cls,
		Scene:      sc,
		Caption:    sc.Caption(),
		Concepts:   sc.Concepts(),
		Image:      rend.Image,
		Masks:      rend.Masks,
		Foreground: rend.Union(sc.Objects, func(o Object) bool { return o.Shape == cls }),
	}
}

// SceneAt returns the scene of sample i without rendering it. It panics if i
// is outside [0, N).
func (s Source) SceneAt(i int) Scene {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("shapes: sample %d of %d", i, s.N))
	}
	return drawScene(s.Seed, s.Start+uint64(i))
}

// Slice returns the samples [from, to) of s as a Source, for sharding. It
// panics unless 0 ≤ from ≤ to ≤ N.
func (s Source) Slice(from, to int) Source {
	if from < 0 || from > to || to > s.N {
		panic(fmt.Sprintf("shapes: slice [%d, %d) of %d samples", from, to, s.N))
	}
	s.Start += uint64(from)
	s.N = to - from
	return s
}

// classAt returns the class of sample index of seed: a random permutation of
// the classes for each block of NumShapes indices.
func classAt(seed, index uint64) Shape {
	block, pos := index/uint64(NumShapes), index%uint64(NumShapes)
	r := newRand(seed, streamClass, block)
	var perm [NumShapes]Shape
	for i := range perm {
		perm[i] = Shape(i)
	}
	for i := NumShapes - 1; i > 0; i-- {
		j := intn(r, i+1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm[pos]
}

// coin decides whether sample index of seed, of class c, shows c's correlated
// concept. Class c occurs once in each block of NumShapes indices, so the k-th
// occurrence takes the k-th point of a golden-ratio (Weyl) sequence with a
// random offset: over any run of blocks the share of heads is within a few
// 1/blocks of strength.
func coin(seed, index uint64, c Shape, strength float64) bool {
	block := index / uint64(NumShapes)
	u := mix(seed^mix(streamCoin^uint64(c)<<8)) + block*0x9e3779b97f4a7c15
	return u>>11 < uint64(strength*(1<<53))
}

// drawScene draws the scene of sample index of seed; see doc.go for the
// distribution.
func drawScene(seed, index uint64) Scene {
	cls := classAt(seed, index)
	r := newRand(seed, streamScene, index)
	corr, hasCorr := correlationOf(cls)
	var want concept
	heads := false
	if hasCorr {
		want = parseConcept(corr.Concept)
		heads = coin(seed, index, cls, corr.Strength)
	}
	on := func(k conceptKind) bool { return hasCorr && want.kind == k }

	// The main group.
	size := Large
	if chance(r, 1, 4) {
		size = Small
	}
	var count int
	switch {
	case on(kindCount) && heads:
		count = want.n
	case size == Large:
		count = 1 + pick(r, 60, 25, 15)
	default:
		count = 2 + pick(r, 60, 40)
	}
	if on(kindCount) && !heads {
		for count == want.n {
			if size == Large {
				count = 1 + pick(r, 60, 25, 15)
			} else {
				count = 2 + pick(r, 60, 40)
			}
		}
	}
	colour := Colour(intn(r, NumColours))
	if on(kindColour) {
		if heads {
			colour = want.col
		} else {
			for colour == want.col {
				colour = Colour(intn(r, NumColours))
			}
		}
	}
	bg := Background(intn(r, NumBackgrounds))
	if on(kindBackground) {
		if heads {
			bg = want.b
		} else {
			for bg == want.b {
				bg = Background(intn(r, NumBackgrounds))
			}
		}
	}

	// Distractors: small objects of other shapes.
	var nd int
	if size == Large {
		nd = pick(r, 40, 40, 20)
	} else {
		nd = pick(r, 50, 50)
	}
	objs := make([]Object, 0, count+2)
	for range count {
		objs = append(objs, Object{Shape: cls, Colour: colour, Size: size})
	}
	if on(kindCompanion) && heads {
		objs = append(objs, Object{Shape: want.sh, Colour: want.col, Size: Small})
		nd = max(nd-1, 0)
	}
	for range nd {
		for {
			o := Object{Shape: Shape(intn(r, NumShapes-1)), Colour: Colour(intn(r, NumColours)), Size: Small}
			if o.Shape >= cls {
				o.Shape++ // any shape but the class
			}
			if hasCorr && !heads && shows(o, want) {
				continue // the concept must be absent
			}
			objs = append(objs, o)
			break
		}
	}
	s := Scene{Background: bg, Objects: objs, TextureSeed: r.Uint64()}
	layout(s.Objects, newRand(seed, streamLayout, index))
	return s
}

// shows reports whether a distractor o would make concept c present.
func shows(o Object, c concept) bool {
	switch c.kind {
	case kindColour:
		return o.Colour == c.col
	case kindCompanion:
		return o.Colour == c.col && o.Shape == c.sh
	}
	return false
}

// Classes returns the classes of the samples of s, without rendering.
func (s Source) Classes() []Shape {
	out := make([]Shape, s.N)
	for i := range out {
		out[i] = classAt(s.Seed, s.Start+uint64(i))
	}
	return out
}
