package shapes

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCorrelationTable(t *testing.T) {
	cs := Correlations()
	require.GreaterOrEqual(t, len(cs), 5)
	words := Phrases()
	seen := map[Shape]bool{}
	for _, c := range cs {
		assert.False(t, seen[c.Class], "%v has one correlation", c.Class)
		seen[c.Class] = true
		assert.NotEqual(t, c.Class.String(), c.Concept)
		assert.NotContains(t, c.Concept, c.Class.String(), "the concept is not the class")
		assert.Contains(t, words, c.Concept, "concepts are in the text pool")
		assert.Greater(t, c.Strength, 0.5)
		assert.Less(t, c.Strength, 1.0)
	}
	cs[0].Strength = 0 // a copy
	assert.NotEqual(t, 0.0, Correlations()[0].Strength)
}

// TestCorrelationStrengths measures P(concept | class) over 2,000 samples
// from the concepts of the rendered samples' scenes, for several seeds and
// the held-out range, and checks the concept is rarer in the other classes.
func TestCorrelationStrengths(t *testing.T) {
	srcs := map[string]Source{
		"seed 1":          Dataset(1, 2000),
		"seed 99":         Dataset(99, 2000),
		"held-out seed 1": HeldOut(1, 2000),
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			type tally struct{ in, n, inOther, nOther int }
			got := make([]tally, len(correlations))
			for i := range src.Len() {
				sc := src.SceneAt(i)
				cls, _ := sc.Class()
				concepts := sc.Concepts()
				for k, c := range correlations {
					has := slices.Contains(concepts, c.Concept)
					if cls == c.Class {
						got[k].n++
						if has {
							got[k].in++
						}
					} else {
						got[k].nOther++
						if has {
							got[k].inOther++
						}
					}
				}
			}
			for k, c := range correlations {
				g := got[k]
				p := float64(g.in) / float64(g.n)
				q := float64(g.inOther) / float64(g.nOther)
				t.Logf("%-8v %-14q want %.2f got %.3f (n=%d); other classes %.3f", c.Class, c.Concept, c.Strength, p, g.n, q)
				assert.InDelta(t, c.Strength, p, 0.05, "%v / %q", c.Class, c.Concept)
				assert.Less(t, q, c.Strength/2, "%q is rarer without %v", c.Concept, c.Class)
			}
		})
	}
}

// TestCorrelationsRendered checks on rendered samples that the sample's
// Concepts field agrees with its scene, so the measured strengths hold for
// what users read.
func TestCorrelationsRendered(t *testing.T) {
	src := Dataset(1, 200)
	for i := range src.Len() {
		s := src.At(i)
		require.Equal(t, s.Scene.Concepts(), s.Concepts)
		require.Equal(t, src.SceneAt(i), s.Scene)
	}
}
