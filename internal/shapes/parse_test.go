package shapes

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCaptionsMentionExactlyTheObjects reads captions with a small reader of
// its own (count word, size, colour, shape noun) and compares the objects it
// finds with the scene's.
func TestCaptionsMentionExactlyTheObjects(t *testing.T) {
	src := Dataset(21, 1000)
	for i := range src.Len() {
		sc := src.SceneAt(i)
		cap := sc.Caption()
		require.True(t, strings.HasSuffix(cap, " "+sc.Background.Phrase()), "%q", cap)
		body := strings.TrimSuffix(cap, " "+sc.Background.Phrase())
		type key struct {
			s Shape
			c Colour
			z Size
		}
		want := map[key]int{}
		for _, o := range sc.Objects {
			want[key{o.Shape, o.Colour, o.Size}]++
		}
		got := map[key]int{}
		for _, part := range strings.Split(strings.ReplaceAll(body, " and ", ", "), ", ") {
			f := strings.Fields(part)
			require.Len(t, f, 4, "%q: %q", cap, part)
			n := slices.Index(countWords[:], f[0])
			if f[0] == "a" {
				n = 1
			}
			z := slices.Index(sizeNames[:], f[1])
			c := slices.Index(colourNames[:], f[2])
			s := slices.Index(shapeNames[:], f[3])
			if n > 1 {
				s = slices.Index(shapePlurals[:], f[3])
			}
			require.True(t, n > 0 && z >= 0 && c >= 0 && s >= 0, "%q: %q", cap, part)
			k := key{Shape(s), Colour(c), Size(z)}
			require.Zero(t, got[k], "%q names %v twice", cap, k)
			got[k] = n
		}
		require.Equal(t, want, got, "%q", cap)
		cls, _ := sc.Class()
		first := strings.TrimSuffix(strings.Fields(cap)[3], ",")
		assert.True(t, first == cls.String() || first == cls.Plural(), "%q starts with the class", cap)
	}
}

func TestCaptionGrammar(t *testing.T) {
	sc := Scene{Background: Water, Objects: []Object{
		{Shape: Triangle, Colour: Red, Size: Large},
		{Shape: Star, Colour: Blue, Size: Small},
		{Shape: Triangle, Colour: Red, Size: Large},
		{Shape: Cross, Colour: White, Size: Small},
	}}
	assert.Equal(t, "two large red triangles, a small blue star and a small white cross on water", sc.Caption())
	assert.Equal(t, "nothing in the sky", Scene{Background: Sky}.Caption())
	assert.Equal(t, []string{"blue", "blue star", "cross", "large", "one", "red", "red triangle",
		"small", "star", "triangle", "two", "water", "white", "white cross"}, sc.Concepts())
}

func TestParseRoundTrip(t *testing.T) {
	src := Dataset(8, 1000)
	for i := range src.Len() {
		sc := src.SceneAt(i)
		got, ignored := Parse(sc.Caption(), uint64(i))
		require.Empty(t, ignored, "%q", sc.Caption())
		require.Equal(t, sc.Groups(), got.Groups(), "%q", sc.Caption())
		require.Equal(t, sc.Background, got.Background)
		require.Equal(t, sc.Concepts(), got.Concepts())
		require.Equal(t, sc.Caption(), got.Caption())
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		bg      Background
		groups  []Group // Colour is checked only where set in the text
		colours []bool
		ignored []string
	}{
		{
			name: "brief example", text: "a blue square and a small yellow circle on sky", bg: Sky,
			groups:  []Group{{Square, Blue, Large, 1}, {Circle, Yellow, Small, 1}},
			colours: []bool{true, true},
		},
		{
			name: "synonyms, digits and plurals", text: "Two HUGE violet hearts beside 3 tiny rings, in the desert!", bg: Sand,
			groups:  []Group{{Heart, Purple, Large, 2}, {Ring, 0, Small, 3}},
			colours: []bool{true, false},
		},
		{
			name: "unknown words", text: "a shiny red star on mars", bg: Plain,
			groups: []Group{{Star, Red, Large, 1}}, colours: []bool{true},
			ignored: []string{"shiny", "mars"},
		},
		{
			name: "bare plural, default sizes", text: "stars and a moon on stripes", bg: Stripes,
			groups: []Group{{Star, 0, Large, 2}, {Moon, 0, Small, 1}}, colours: []bool{false, false},
		},
		{
			name: "dangling modifiers and second background", text: "green crosses on grass over water red", bg: Grass,
			groups: []Group{{Cross, Green, Large, 2}}, colours: []bool{true},
			ignored: []string{"over", "water", "red"},
		},
		{
			name: "count out of range", text: "12 large squares", bg: Plain,
			groups: []Group{{Square, 0, Large, 2}}, colours: []bool{false},
			ignored: []string{"12"},
		},
		{
			name: "too many objects", text: "nine stars, nine rings and a heart", bg: Plain,
			groups: []Group{{Star, 0, Large, 9}, {Heart, 0, Small, 1}}, colours: []bool{false, false},
			ignored: []string{"nine", "rings"},
		},
		{name: "empty", text: "", bg: Plain},
		{name: "nothing known", text: "¿qué? 🙂", bg: Plain, ignored: []string{"qué"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, ignored := Parse(tt.text, 1)
			assert.Equal(t, tt.ignored, ignored)
			assert.Equal(t, tt.bg, sc.Background)
			gs := sc.Groups()
			require.Len(t, gs, len(tt.groups))
			for k, g := range gs {
				if !tt.colours[k] {
					g.Colour = 0
				}
				assert.Equal(t, tt.groups[k], g)
			}
			again, _ := Parse(tt.text, 1)
			assert.Equal(t, sc, again, "same seed, same scene")
		})
	}
}

// TestParseLayout checks that parsed scenes that fit are laid out inside the
// image without overlaps, and that the seed moves them.
func TestParseLayout(t *testing.T) {
	text := "three large red stars and two small blue circles on water"
	a, _ := Parse(text, 1)
	b, _ := Parse(text, 2)
	assert.NotEqual(t, a.Objects, b.Objects)
	r := Render(a, 64, 64)
	for k, o := range a.Objects {
		rad := Radius(o.Size, 64, 64)
		assert.True(t, o.X*64-rad >= 0 && o.X*64+rad <= 64 && o.Y*64-rad >= 0 && o.Y*64+rad <= 64, "object %d inside", k)
		for j := range k {
			p := a.Objects[j]
			d := Radius(p.Size, 64, 64) + rad
			dx, dy := (o.X-p.X)*64, (o.Y-p.Y)*64
			assert.GreaterOrEqual(t, dx*dx+dy*dy, d*d, "objects %d and %d apart", j, k)
		}
		assert.Contains(t, r.Masks[k], true)
	}
}

func FuzzParse(f *testing.F) {
	for i := range 20 {
		f.Add(Dataset(2, 20).SceneAt(i).Caption(), uint64(i))
	}
	f.Add("a blue square and a small yellow circle on sky", uint64(0))
	f.Add("99999999999999999999 stars", uint64(1))
	f.Add("nine nine nine stars stars stars rings rings hearts", uint64(2))
	f.Add("\xff\xfe red\x00star", uint64(3))
	f.Fuzz(func(t *testing.T, text string, seed uint64) {
		sc, _ := Parse(text, seed)
		require.NoError(t, sc.Validate())
		require.LessOrEqual(t, len(sc.Objects), MaxObjects)
		r := Render(sc, 32, 24)
		require.Len(t, r.Masks, len(sc.Objects))
		again, ignored := Parse(sc.Caption(), seed)
		require.Empty(t, ignored, "%q", sc.Caption())
		require.Equal(t, sc.Groups(), again.Groups())
		require.Equal(t, sc.Background, again.Background)
	})
}
