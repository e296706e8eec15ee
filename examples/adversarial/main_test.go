package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunSmall runs the whole example on a tiny budget: pairs chosen, the
// four methods, the table, the explanations and the files.
func TestRunSmall(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	err := run(params{npairs: 2, pairImages: 4, seeds: 2, images: 4, analyze: 60, k: 5, probe: 1,
		words: 10, threshold: 2, explain: 3, show: 2, out: dir, norm: "unit", maxWords: 2}, &out)
	require.NoError(t, err)
	s := out.String()
	assert.Contains(t, s, "| pair (A ← B) | ours | random | indirect | similar | ours best |")
	assert.Contains(t, s, "mean ± std over 2 seeds, 4 images per pair")
	assert.Contains(t, s, ", ours: ")
	for _, f := range []string{"index.csv", "sheet.png", "sheet.txt", "table.md"} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err, f)
	}
	assert.Contains(t, s, "unit dictionary")
	err = run(params{npairs: 1, pairImages: 4, seeds: 1, images: 4, analyze: 60, k: 5, words: 10, out: dir, norm: "columns"}, &out)
	assert.ErrorContains(t, err, `"columns"`)
}
