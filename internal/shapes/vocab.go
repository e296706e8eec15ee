package shapes

import (
	"fmt"
	"image/color"
	"strings"
)

// Shape is an object's shape. The shapes are also the world's classes: a
// sample's class is the shape of its main objects (see [Sample.Class]).
type Shape uint8

// The shapes, in class order: Shape(i) is class i of the zero-shot classifier.
const (
	Circle Shape = iota
	Square
	Triangle
	Diamond
	Star
	Cross
	Heart
	Ring
	Moon
	NumShapes int = iota // number of shapes, and of classes
)

var shapeNames = [...]string{"circle", "square", "triangle", "diamond", "star", "cross", "heart", "ring", "moon"}
var shapePlurals = [...]string{"circles", "squares", "triangles", "diamonds", "stars", "crosses", "hearts", "rings", "moons"}

// String returns the shape's word, "star", or "shape(12)" for an invalid value.
func (s Shape) String() string {
	if int(s) < NumShapes {
		return shapeNames[s]
	}
	return fmt.Sprintf("shape(%d)", uint8(s))
}

// Plural returns the shape's plural word, "stars".
func (s Shape) Plural() string {
	if int(s) < NumShapes {
		return shapePlurals[s]
	}
	return s.String()
}

// Valid reports whether s is one of the NumShapes shapes.
func (s Shape) Valid() bool { return int(s) < NumShapes }

// Colour is an object's flat fill colour.
type Colour uint8

// The colours.
const (
	Red Colour = iota
	Green
	Blue
	Yellow
	Purple
	Orange
	White
	Black
	NumColours int = iota // number of colours
)

var colourNames = [...]string{"red", "green", "blue", "yellow", "purple", "orange", "white", "black"}

// The palette is saturated on purpose: no background texture uses these values,
// so an object pixel is easy to tell from a background pixel by eye.
var colourRGB = [...]color.RGBA{
	{220, 30, 30, 255},   // red
	{30, 170, 50, 255},   // green
	{35, 70, 225, 255},   // blue
	{245, 215, 30, 255},  // yellow
	{145, 45, 185, 255},  // purple
	{250, 135, 20, 255},  // orange
	{250, 250, 250, 255}, // white
	{15, 15, 15, 255},    // black
}

// String returns the colour's word, "red".
func (c Colour) String() string {
	if int(c) < NumColours {
		return colourNames[c]
	}
	return fmt.Sprintf("colour(%d)", uint8(c))
}

// RGBA returns the exact, opaque colour that fills the colour's objects; every
// pixel of an object's mask has it. It panics for an invalid colour.
func (c Colour) RGBA() color.RGBA {
	if int(c) >= NumColours {
		panic(fmt.Sprintf("shapes: invalid colour %d", uint8(c)))
	}
	return colourRGB[c]
}

// Valid reports whether c is one of the NumColours colours.
func (c Colour) Valid() bool { return int(c) < NumColours }

// Size is an object's size class.
type Size uint8

// The sizes. At 64×64 a large object fits a circle of radius 11 pixels and a
// small one a circle of radius 6; both scale with min(width, height)/64.
const (
	Large Size = iota
	Small
	NumSizes int = iota // number of sizes
)

var sizeNames = [...]string{"large", "small"}

// radius64 is the bounding radius in pixels at 64×64.
var radius64 = [...]int{11, 6}

// String returns the size's word, "small".
func (s Size) String() string {
	if int(s) < NumSizes {
		return sizeNames[s]
	}
	return fmt.Sprintf("size(%d)", uint8(s))
}

// Valid reports whether s is one of the NumSizes sizes.
func (s Size) Valid() bool { return int(s) < NumSizes }

// Background is the texture behind the objects.
type Background uint8

// The backgrounds.
const (
	Plain Background = iota
	Stripes
	Dots
	Grass
	Water
	Sky
	Checkerboard
	Sand
	NumBackgrounds int = iota // number of backgrounds
)

// backgroundWords are the concept words; backgroundPhrases end captions.
var backgroundWords = [...]string{"plain", "striped", "dotted", "grass", "water", "sky", "checkerboard", "sand"}
var backgroundPhrases = [...]string{
	"on a plain background", "on a striped background", "on a dotted background", "on grass",
	"on water", "in the sky", "on a checkerboard", "on sand",
}

// String returns the background's concept word, "striped".
func (b Background) String() string {
	if int(b) < NumBackgrounds {
		return backgroundWords[b]
	}
	return fmt.Sprintf("background(%d)", uint8(b))
}

// Phrase returns the words that end a caption, "on a striped background".
func (b Background) Phrase() string {
	if int(b) < NumBackgrounds {
		return backgroundPhrases[b]
	}
	return "on " + b.String()
}

// Valid reports whether b is one of the NumBackgrounds backgrounds.
func (b Background) Valid() bool { return int(b) < NumBackgrounds }

// countWords[n] is the concept word for a group of n objects; captions say "a"
// instead of "one".
var countWords = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// MaxCount is the largest group a caption can name with a word, and the
// largest count [Parse] accepts.
const MaxCount = len(countWords) - 1

// CountWord returns the word for n objects, "two", or the decimal digits for n
// beyond [MaxCount].
func CountWord(n int) string {
	if n >= 0 && n <= MaxCount {
		return countWords[n]
	}
	return fmt.Sprint(n)
}

// ClassNames returns the NumShapes class names in class order: ClassNames()[i]
// names Shape(i).
func ClassNames() []string {
	return append([]string(nil), shapeNames[:]...)
}

// templates are the zero-shot prompt templates; "{}" stands for the class name.
var templates = [...]string{
	"a picture of a {}.",
	"a drawing of a {}.",
	"a {} shape.",
	"a picture of a small {}.",
	"a picture of a large {}.",
	"a rendering of a {}.",
	"a {} on a background.",
}

// Templates returns the zero-shot prompt templates; "{}" stands for the class
// name, as in open_clip's template lists.
func Templates() []string {
	return append([]string(nil), templates[:]...)
}

// Prompts returns every template filled with the class name of s.
func Prompts(s Shape) []string {
	out := make([]string, len(templates))
	for i, t := range templates {
		out[i] = strings.ReplaceAll(t, "{}", s.String())
	}
	return out
}

// Words returns every concept word of the world, in a fixed order: the shapes,
// colours, sizes, counts one to three (the counts the generator draws) and the
// background words. [Sample.Concepts] draws from these words and from the
// "colour shape" pairs of [Phrases].
func Words() []string {
	var w []string
	w = append(w, shapeNames[:]...)
	w = append(w, colourNames[:]...)
	w = append(w, sizeNames[:]...)
	w = append(w, countWords[1:4]...)
	w = append(w, backgroundWords[:]...)
	return w
}

// Phrases returns the world's text pool for decomposing neurons, in a fixed
// order and without duplicates: every word of [Words], the plural shapes, the
// background phrases ("on water", "in the sky") and noun phrases ("striped
// background", "water background"), "colour shape" pairs ("red star"), "size
// shape" pairs ("small star") and "count shapes" phrases ("two stars").
func Phrases() []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, w := range Words() {
		add(w)
	}
	for _, p := range shapePlurals {
		add(p)
	}
	for b := range NumBackgrounds {
		add(strings.TrimPrefix(strings.TrimPrefix(backgroundPhrases[b], "on "), "a "))
		add(backgroundPhrases[b])
		add(backgroundWords[b] + " background")
	}
	for s := range NumShapes {
		for c := range NumColours {
			add(colourNames[c] + " " + shapeNames[s])
		}
	}
	for s := range NumShapes {
		for z := range NumSizes {
			add(sizeNames[z] + " " + shapeNames[s])
		}
	}
	for s := range NumShapes {
		for n := 2; n <= 3; n++ {
			add(countWords[n] + " " + shapePlurals[s])
		}
	}
	return out
}
