package shapes

import (
	"fmt"
	"slices"
	"strings"
)

// Object is one drawn object. X and Y place its centre as fractions of the
// image width and height: (0, 0) is the top-left corner of the image, (1, 1)
// the bottom-right one, and (0.5, 0.5) its centre. The renderer rounds the
// centre to 1/8 pixel.
type Object struct {
	Shape  Shape
	Colour Colour
	Size   Size
	X, Y   float64
}

// Scene is a structured description of one image: a background and objects
// drawn in order, later ones over earlier ones. TextureSeed picks the
// background's free parameters (stripe direction, noise, phase), so a Scene
// fixes its image completely.
//
// By convention the first object is a main object: the scene's class is its
// shape (see [Scene.Class]).
type Scene struct {
	Background  Background
	Objects     []Object
	TextureSeed uint64
}

// Class returns the shape of the first object, the scene's class, and false
// when the scene has no objects.
func (s Scene) Class() (Shape, bool) {
	if len(s.Objects) == 0 {
		return 0, false
	}
	return s.Objects[0].Shape, true
}

// Group is a run of identical objects as a caption names them: Count objects
// of the same shape, colour and size.
type Group struct {
	Shape  Shape
	Colour Colour
	Size   Size
	Count  int
}

// Phrase returns the group's words, "a small red star" or "two large blue
// circles".
func (g Group) Phrase() string {
	var b strings.Builder
	if g.Count == 1 {
		b.WriteString("a")
	} else {
		b.WriteString(CountWord(g.Count))
	}
	b.WriteString(" ")
	b.WriteString(g.Size.String())
	b.WriteString(" ")
	b.WriteString(g.Colour.String())
	b.WriteString(" ")
	if g.Count == 1 {
		b.WriteString(g.Shape.String())
	} else {
		b.WriteString(g.Shape.Plural())
	}
	return b.String()
}

// Groups returns the scene's objects merged into groups of identical shape,
// colour and size, in the order of each group's first object.
func (s Scene) Groups() []Group {
	var gs []Group
	for _, o := range s.Objects {
		i := slices.IndexFunc(gs, func(g Group) bool {
			return g.Shape == o.Shape && g.Colour == o.Colour && g.Size == o.Size
		})
		if i < 0 {
			gs = append(gs, Group{Shape: o.Shape, Colour: o.Colour, Size: o.Size})
			i = len(gs) - 1
		}
		gs[i].Count++
	}
	return gs
}

// Caption describes the scene in words: the groups of [Scene.Groups], joined
// by commas and a final "and", then the background's phrase:
//
//	two large red triangles and a small yellow circle on water
//
// A scene without objects is captioned "nothing on water". Captions never
// mention positions. [Parse] reads every caption back to the same groups and
// background.
func (s Scene) Caption() string {
	gs := s.Groups()
	var b strings.Builder
	if len(gs) == 0 {
		b.WriteString("nothing")
	}
	for i, g := range gs {
		switch {
		case i == 0:
		case i == len(gs)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(g.Phrase())
	}
	b.WriteString(" ")
	b.WriteString(s.Background.Phrase())
	return b.String()
}

// Concepts returns the concepts present in the scene, sorted and without
// duplicates: the background word, and for each group its shape, colour, size
// and count words ("one" for a single object) and its "colour shape" pair
// ("yellow circle"). All are entries of [Phrases] for counts up to three.
func (s Scene) Concepts() []string {
	c := []string{s.Background.String()}
	for _, g := range s.Groups() {
		c = append(c, g.Shape.String(), g.Colour.String(), g.Size.String(), CountWord(g.Count),
			g.Colour.String()+" "+g.Shape.String())
	}
	slices.Sort(c)
	return slices.Compact(c)
}

// Has reports whether concept is among the scene's [Scene.Concepts].
func (s Scene) Has(concept string) bool {
	return slices.Contains(s.Concepts(), concept)
}

// Validate returns an error naming the first object with an invalid shape,
// colour or size, or an invalid background. Positions are not checked: objects
// outside the image are clipped.
func (s Scene) Validate() error {
	if !s.Background.Valid() {
		return fmt.Errorf("shapes: invalid background %d", uint8(s.Background))
	}
	for k, o := range s.Objects {
		switch {
		case !o.Shape.Valid():
			return fmt.Errorf("shapes: object %d: invalid shape %d", k, uint8(o.Shape))
		case !o.Colour.Valid():
			return fmt.Errorf("shapes: object %d: invalid colour %d", k, uint8(o.Colour))
		case !o.Size.Valid():
			return fmt.Errorf("shapes: object %d: invalid size %d", k, uint8(o.Size))
		}
	}
	return nil
}
