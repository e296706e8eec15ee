package shapes

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVocabulary(t *testing.T) {
	names := ClassNames()
	require.Len(t, names, NumShapes)
	for i, n := range names {
		assert.Equal(t, Shape(i).String(), n)
		s, plural, ok := lookupShape(n)
		assert.True(t, ok && !plural && s == Shape(i), n)
		s, plural, ok = lookupShape(Shape(i).Plural())
		assert.True(t, ok && plural && s == Shape(i), n)
	}
	phrases := Phrases()
	c := slices.Clone(phrases)
	slices.Sort(c)
	assert.Len(t, slices.Compact(c), len(phrases), "no duplicates")
	for _, w := range Words() {
		assert.Contains(t, phrases, w)
	}
	for _, p := range []string{"red", "star", "on water", "two", "striped background", "in the sky", "small star", "two stars", "yellow circle"} {
		assert.Contains(t, phrases, p)
	}
	// Every concept a sample can have is in the pool.
	src := Dataset(4, 500)
	for i := range src.Len() {
		for _, k := range src.SceneAt(i).Concepts() {
			require.Contains(t, phrases, k)
		}
	}
	for _, tpl := range Templates() {
		assert.Contains(t, tpl, "{}")
	}
	for _, p := range Prompts(Heart) {
		assert.Contains(t, p, "heart")
		assert.NotContains(t, p, "{}")
	}
	assert.Equal(t, "shape(200)", Shape(200).String())
	assert.Equal(t, "two", CountWord(2))
	assert.Equal(t, "12", CountWord(12))
	// Every word the parser knows as a background, colour or size names one.
	for w, b := range backgroundSynonyms {
		assert.True(t, b.Valid(), w)
		assert.False(t, stopWords[w], w)
	}
	for _, b := range backgroundWords {
		_, ok := backgroundSynonyms[b]
		assert.True(t, ok || strings.Contains(b, " "), b)
	}
}
