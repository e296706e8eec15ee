package shapes

import (
	"fmt"
	"slices"
	"strings"
)

// Correlation is a deliberate spurious correlation of the world: among samples
// of class Class, a fraction Strength has Concept among its concepts
// ([Sample.Concepts]); the other samples of that class never have it.
// Concept is never the class's own shape word.
//
// The generator makes the fraction hold closely, not only on average: the
// k-th sample of a class takes its coin from a low-discrepancy sequence, so
// over n samples of the class the measured fraction is within a few 1/n of
// Strength.
type Correlation struct {
	Class    Shape
	Concept  string
	Strength float64
}

// correlations is the world's table; see doc.go. Each class has at most one.
var correlations = [...]Correlation{
	{Star, "sky", 0.85},
	{Ring, "water", 0.80},
	{Heart, "red", 0.85},
	{Triangle, "yellow circle", 0.80},
	{Square, "three", 0.70},
	{Diamond, "striped", 0.75},
	{Cross, "white", 0.75},
}

// Correlations returns a copy of the world's spurious correlations, one per
// correlated class; circle and moon have none.
func Correlations() []Correlation {
	return append([]Correlation(nil), correlations[:]...)
}

// correlationOf returns the correlation of class c, if any.
func correlationOf(c Shape) (Correlation, bool) {
	for _, k := range correlations {
		if k.Class == c {
			return k, true
		}
	}
	return Correlation{}, false
}

// conceptKind says how the generator makes a concept present.
type conceptKind uint8

const (
	kindBackground conceptKind = iota // the background is b
	kindColour                        // the main objects have colour col
	kindCount                         // the main group has count n
	kindCompanion                     // a small col sh object joins the main group
)

type concept struct {
	kind conceptKind
	b    Background
	col  Colour
	sh   Shape
	n    int
}

// parseConcept reads a correlation's concept word.
func parseConcept(s string) concept {
	if i := slices.Index(backgroundWords[:], s); i >= 0 {
		return concept{kind: kindBackground, b: Background(i)}
	}
	if i := slices.Index(colourNames[:], s); i >= 0 {
		return concept{kind: kindColour, col: Colour(i)}
	}
	if i := slices.Index(countWords[:], s); i >= 0 {
		return concept{kind: kindCount, n: i}
	}
	if c, sh, ok := strings.Cut(s, " "); ok {
		ci, si := slices.Index(colourNames[:], c), slices.Index(shapeNames[:], sh)
		if ci >= 0 && si >= 0 {
			return concept{kind: kindCompanion, col: Colour(ci), sh: Shape(si)}
		}
	}
	panic(fmt.Sprintf("shapes: correlation concept %q has no kind", s))
}
