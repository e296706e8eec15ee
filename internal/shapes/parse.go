package shapes

import (
	"strconv"
	"strings"
	"unicode"
)

// MaxObjects is the most objects [Parse] puts in a scene.
const MaxObjects = 16

// Words Parse knows beyond the canonical ones, and words it skips silently.
var (
	shapeWords = map[string]Shape{
		"disc": Circle, "disk": Circle, "dot": Circle, "box": Square, "rhombus": Diamond,
		"lozenge": Diamond, "plus": Cross, "donut": Ring, "doughnut": Ring, "crescent": Moon,
	}
	colourWords = map[string]Colour{"violet": Purple}
	sizeWords   = map[string]Size{
		"large": Large, "big": Large, "huge": Large, "small": Small, "little": Small, "tiny": Small,
	}
	backgroundSynonyms = map[string]Background{
		"plain": Plain, "stripes": Stripes, "striped": Stripes, "stripy": Stripes,
		"dots": Dots, "dotted": Dots, "spotted": Dots, "spots": Dots,
		"grass": Grass, "grassy": Grass, "lawn": Grass, "water": Water, "sea": Water, "waves": Water,
		"lake": Water, "sky": Sky, "checkerboard": Checkerboard, "checkered": Checkerboard,
		"chequered": Checkerboard, "sand": Sand, "sandy": Sand, "beach": Sand, "desert": Sand,
	}
	stopWords = map[string]bool{
		"a": true, "an": true, "the": true, "and": true, "on": true, "in": true, "of": true,
		"with": true, "next": true, "to": true, "background": true, "picture": true, "photo": true,
		"image": true, "drawing": true, "rendering": true, "shape": true, "shapes": true, "is": true,
		"are": true, "there": true, "at": true, "near": true, "beside": true, "by": true, "above": true,
		"below": true, "some": true, "nothing": true,
	}
)

// lookupShape reads a singular or plural shape word.
func lookupShape(w string) (s Shape, plural, ok bool) {
	for i := range NumShapes {
		switch w {
		case shapeNames[i]:
			return Shape(i), false, true
		case shapePlurals[i]:
			return Shape(i), true, true
		}
	}
	if s, ok := shapeWords[w]; ok {
		return s, false, true
	}
	if t, found := strings.CutSuffix(w, "s"); found {
		if s, ok := shapeWords[t]; ok {
			return s, true, true
		}
	}
	if t, found := strings.CutSuffix(w, "es"); found {
		if s, ok := shapeWords[t]; ok {
			return s, true, true
		}
	}
	return 0, false, false
}

func lookupColour(w string) (Colour, bool) {
	for i := range NumColours {
		if colourNames[i] == w {
			return Colour(i), true
		}
	}
	c, ok := colourWords[w]
	return c, ok
}

// lookupCount reads "one" to "nine" or the digits 1 to 9.
func lookupCount(w string) (int, bool) {
	for n := 1; n <= MaxCount; n++ {
		if countWords[n] == w {
			return n, true
		}
	}
	n, err := strconv.Atoi(w)
	if err == nil && n >= 1 && n <= MaxCount && len(w) == 1 {
		return n, true
	}
	return 0, false
}

// Parse reads a simple description, such as a caption, into a scene:
//
//	a blue square and a small yellow circle on sky
//
// Words are case-insensitive and split at anything but letters and digits.
// Count, size and colour words apply to the next shape word ("star",
// "stars"), which ends an object group. A group without a count has one
// object, or two for a plural; without a size, the first group is large and
// the others small; without a colour, the colour is drawn from seed. The first
// background word ("water", "sky", "striped", ...) sets the background, plain
// by default. Positions and the texture are drawn from seed ([Scene.Layout]).
//
// Parse never fails: it returns, in order, the words it ignored, which are
// unknown words, counts beyond [MaxCount], size, count or colour words that no
// shape word follows, background words after the first, and the shape words
// of groups beyond [MaxObjects] objects. Filler words ("a", "the", "on",
// "and", "background", ...) are skipped without report. [Scene.Caption] of
// the result parses back to the same groups and background.
func Parse(text string, seed uint64) (Scene, []string) {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	r := newRand(seed, streamScene, 0)
	var (
		s       Scene
		ignored []string
		hasBg   bool
		groups  int
		pending []string // modifier words waiting for a shape
		count   int
		size    Size
		hasSize bool
		colour  Colour
		hasCol  bool
	)
	reset := func() {
		pending, count, hasSize, hasCol = pending[:0], 0, false, false
	}
	for _, w := range words {
		if sh, plural, ok := lookupShape(w); ok {
			n := count
			if n == 0 {
				n = 1
				if plural {
					n = 2
				}
			}
			if !hasSize {
				size = Small
				if groups == 0 {
					size = Large
				}
			}
			if !hasCol {
				colour = Colour(intn(r, NumColours))
			}
			if len(s.Objects)+n > MaxObjects {
				ignored = append(ignored, pending...)
				ignored = append(ignored, w)
				reset()
				continue
			}
			for range n {
				s.Objects = append(s.Objects, Object{Shape: sh, Colour: colour, Size: size})
			}
			groups++
			reset()
			continue
		}
		if n, ok := lookupCount(w); ok {
			count = n
			pending = append(pending, w)
			continue
		}
		if z, ok := sizeWords[w]; ok {
			size, hasSize = z, true
			pending = append(pending, w)
			continue
		}
		if c, ok := lookupColour(w); ok {
			colour, hasCol = c, true
			pending = append(pending, w)
			continue
		}
		if b, ok := backgroundSynonyms[w]; ok {
			if hasBg {
				ignored = append(ignored, w)
			} else {
				s.Background, hasBg = b, true
			}
			continue
		}
		if stopWords[w] {
			continue
		}
		ignored = append(ignored, w)
	}
	ignored = append(ignored, pending...)
	s.TextureSeed = mix(seed ^ streamTexture)
	return s.Layout(seed), ignored
}
