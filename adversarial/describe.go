package adversarial

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/neuronlens/neuronlens/internal/shapes"
)

// Request asks a [Describer] for image descriptions.
type Request struct {
	Depict string   // B: every description must contain it
	Avoid  []string // A and its synonyms: no description may contain them
	Words  []string // the mined words, best first: use as many as fit
	N      int      // how many descriptions
	Seed   uint64   // for determinism
}

// Describer turns a request into image descriptions. It may return fewer
// than r.N; the pipeline drops those that lack r.Depict or mention an
// r.Avoid word ([Valid]).
type Describer interface {
	Describe(ctx context.Context, r Request) ([]string, error)
}

// Valid reports whether description d contains depict and none of avoid,
// case-insensitively and as substrings (so "stars" mentions "star"), the
// reference's test.
func Valid(d, depict string, avoid []string) bool {
	return mentions(d, depict) && firstMention(d, avoid) == ""
}

// TemplateDescriber composes descriptions from the mined words in the
// grammar of the shapes world, which [ShapesGenerator] parses:
//
//	[count|a] [size] [colour] B[s] [and <companion> ...] [<setting>] [with <other> ...]
//
// Each description draws between 1 and MaxWords words (default 3), all
// words alike, as the reference's language model gets them: as a set, in
// alphabetical order, with no rank (with Ranked, beyond the reference, the
// i-th best word has weight 1/(i+1)). It sorts each word into its slot: a
// colour, size or count word ("red", "small", "three") modifies B; a phrase
// with a shape ("yellow circle", "two hearts") adds a companion group, or
// modifies B if the shape is B; a background word or phrase ("sky", "on
// water", "striped background") sets the scene; anything else is appended
// as "with <word>". Later words that conflict with a filled slot are
// skipped. Descriptions are deterministic for a request.
type TemplateDescriber struct {
	MaxWords int  // words per description; 0 means 3
	Ranked   bool // weigh the i-th word by 1/(i+1) instead of drawing all alike
}

// Describe returns r.N descriptions.
func (t TemplateDescriber) Describe(ctx context.Context, r Request) ([]string, error) {
	if r.N < 0 {
		return nil, fmt.Errorf("adversarial: %d descriptions requested", r.N)
	}
	k := t.MaxWords
	if k <= 0 {
		k = 3
	}
	out := make([]string, 0, r.N)
	for i := range r.N {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(r.Seed, uint64(i)+0x64657363))
		words := drawWords(rng, r.Words, 1+rng.IntN(k), t.Ranked)
		out = append(out, compose(r.Depict, words))
	}
	return out, nil
}

// drawWords draws n distinct words, all alike or, ranked, the i-th with
// weight 1/(i+1).
func drawWords(rng *rand.Rand, words []string, n int, ranked bool) []string {
	idx := make([]int, len(words))
	for i := range idx {
		idx[i] = i
	}
	weight := func(i int) float64 {
		if ranked {
			return 1 / float64(i+1)
		}
		return 1
	}
	var out []string
	for len(out) < n && len(idx) > 0 {
		var total float64
		for _, i := range idx {
			total += weight(i)
		}
		u := rng.Float64() * total
		pick := len(idx) - 1
		for j, i := range idx {
			u -= weight(i)
			if u < 0 {
				pick = j
				break
			}
		}
		out = append(out, words[idx[pick]])
		idx = slices.Delete(idx, pick, pick+1)
	}
	return out
}

// phrase is a parsed description in the world's grammar.
type phrase struct {
	count              int // 0: unset
	size, colour       string
	companions, others []string
	setting            string
}

// compose sorts words into slots around the depicted class b.
func compose(b string, words []string) string {
	var p phrase
	for _, w := range words {
		p.add(b, w)
	}
	var s strings.Builder
	switch {
	case p.count > 1:
		s.WriteString(shapes.CountWord(p.count))
	default:
		s.WriteString("a")
	}
	for _, x := range []string{p.size, p.colour} {
		if x != "" {
			s.WriteString(" " + x)
		}
	}
	s.WriteString(" " + b)
	if p.count > 1 {
		s.WriteString(pluralSuffix(b))
	}
	for _, c := range p.companions {
		s.WriteString(" and " + c)
	}
	if p.setting != "" {
		s.WriteString(" " + p.setting)
	}
	for _, o := range p.others {
		s.WriteString(" with " + o)
	}
	return s.String()
}

// pluralSuffix returns "es" after s, x, z, ch and sh, else "s".
func pluralSuffix(w string) string {
	for _, e := range []string{"s", "x", "z", "ch", "sh"} {
		if strings.HasSuffix(w, e) {
			return "es"
		}
	}
	return "s"
}

// token kinds of the world's vocabulary
func wordColour(w string) bool {
	for c := range shapes.NumColours {
		if shapes.Colour(c).String() == w {
			return true
		}
	}
	return false
}

func wordSize(w string) bool {
	for z := range shapes.NumSizes {
		if shapes.Size(z).String() == w {
			return true
		}
	}
	return false
}

func wordCount(w string) int {
	for n := 1; n <= shapes.MaxCount; n++ {
		if shapes.CountWord(n) == w {
			return n
		}
	}
	return 0
}

// wordShape returns the shape named by w, singular or plural.
func wordShape(w string) (string, bool) {
	for s := range shapes.NumShapes {
		sh := shapes.Shape(s)
		if sh.String() == w || sh.Plural() == w {
			return sh.String(), true
		}
	}
	return "", false
}

// wordSetting returns the background phrase for w, if w names a background.
func wordSetting(w string) (string, bool) {
	sc, ignored := shapes.Parse(w, 0)
	if len(ignored) > 0 || len(sc.Objects) > 0 {
		return "", false
	}
	if sc.Background == shapes.Plain && !strings.Contains(w, "plain") {
		return "", false
	}
	return sc.Background.Phrase(), true
}

// add puts word w into its slot.
func (p *phrase) add(b, w string) {
	w = strings.ToLower(strings.TrimSpace(w))
	if w == "" {
		return
	}
	if s, ok := wordSetting(w); ok {
		if p.setting == "" {
			p.setting = s
		}
		return
	}
	toks := strings.Fields(w)
	var count int
	var size, colour, shape string
	known := true
	for _, t := range toks {
		switch {
		case wordColour(t):
			colour = t
		case wordSize(t):
			size = t
		case wordCount(t) > 0:
			count = wordCount(t)
		default:
			if sh, ok := wordShape(t); ok && shape == "" {
				shape = sh
			} else {
				known = false
			}
		}
	}
	if !known {
		p.others = append(p.others, w)
		return
	}
	if shape == "" || shape == b {
		// modifiers of B: fill empty slots only
		if count > 0 && p.count == 0 {
			p.count = count
		}
		if size != "" && p.size == "" {
			p.size = size
		}
		if colour != "" && p.colour == "" {
			p.colour = colour
		}
		return
	}
	if len(p.companions) == 2 {
		return
	}
	var c strings.Builder
	if count > 1 {
		c.WriteString(shapes.CountWord(count))
	} else {
		c.WriteString("a")
	}
	if size == "" {
		size = "small"
	}
	c.WriteString(" " + size)
	if colour != "" {
		c.WriteString(" " + colour)
	}
	c.WriteString(" " + shape)
	if count > 1 {
		c.WriteString(pluralSuffix(shape))
	}
	p.companions = append(p.companions, c.String())
}
