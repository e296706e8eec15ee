package train

import (
	"bytes"
	"strings"
	"testing"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLearnBPE(t *testing.T) {
	texts := []string{"a red star on sky.", "two red stars", "a star."}
	merges := LearnBPE(texts, 1000)
	// Counts: "s t" occurs in star (×2) and stars: 3 times, as does "t a",
	// "a r"; "s t" sorts first among the pairs of count 3.
	require.NotEmpty(t, merges)
	assert.Equal(t, Merge{"s", "t"}, merges[0])
	var buf bytes.Buffer
	require.NoError(t, WriteBPE(&buf, merges))
	tok, err := clip.ReadBPEMerges(&buf, -1)
	require.NoError(t, err)
	assert.Equal(t, 512+len(merges)+2, tok.VocabSize())
	assert.Equal(t, tok.VocabSize()-1, tok.EOT())
	assert.Equal(t, tok.VocabSize()-2, tok.SOT())
	// Every learned word is one token, and the tokens decode back.
	for _, w := range []string{"red", "stars", "sky", ".", "two"} {
		ids := tok.Tokens(w)
		assert.Len(t, ids, 1, w)
		assert.Equal(t, w, strings.TrimSpace(tok.Decode(ids)), w)
	}
	// Unknown words fall back to bytes.
	assert.Equal(t, "zebra", strings.TrimSpace(tok.Decode(tok.Tokens("zebra"))))
	// The order of texts does not matter.
	assert.Equal(t, merges, LearnBPE([]string{texts[2], texts[0], texts[1]}, 1000))
	assert.Len(t, LearnBPE(texts, 3), 3)
}

func TestByteRune(t *testing.T) {
	assert.Equal(t, 'a', byteRune('a'))
	assert.Equal(t, rune(256), byteRune(0))
	assert.Equal(t, rune(256+32), byteRune(' ')) // Ġ, CLIP's space symbol
	assert.Equal(t, rune(0xAE), byteRune(0xAE))
	assert.Equal(t, rune(256+67), byteRune(0xAD))
}
