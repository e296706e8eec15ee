package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/adversarial"
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
	assert.Contains(t, s, "Model: the embedded shapes CLIP.")
	err = run(params{npairs: 1, pairImages: 4, seeds: 1, images: 4, analyze: 60, k: 5, words: 10, out: dir, shapesModel: filepath.Join(dir, "absent")}, &out)
	assert.ErrorContains(t, err, "-shapes-model")
	err = run(params{npairs: 1, pairImages: 4, seeds: 1, images: 4, analyze: 60, k: 5, words: 10, out: dir, norm: "columns"}, &out)
	assert.ErrorContains(t, err, `"columns"`)
}

// TestOutsideImages runs the two-run workflow of an outside text-to-image
// model: -describe-only writes prompts.csv, the prompts are rendered (here
// by the shapes renderer) into a folder with index.csv, and -generated
// judges that folder.
func TestOutsideImages(t *testing.T) {
	out := t.TempDir()
	base := params{pairs: "star:moon", seeds: 1, images: 8, analyze: 60, k: 5,
		words: 10, threshold: 2, explain: 1, show: 2, out: out, norm: "reference"}
	var w strings.Builder
	p := base
	p.describeOnly = true
	require.NoError(t, run(p, &w))
	assert.Contains(t, w.String(), "prompts.csv")
	f, err := os.Open(filepath.Join(out, "prompts.csv"))
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Greater(t, len(rows), 1)
	assert.Equal(t, []string{"description", "images", "seed"}, rows[0])

	gen := filepath.Join(t.TempDir(), "generated")
	var prompts []string
	for _, row := range rows[1:] {
		prompts = append(prompts, row[0])
	}
	require.NoError(t, adversarial.WriteFolder(t.Context(), gen, adversarial.ShapesGenerator{}, prompts, 4))

	p = base
	p.generated = gen
	w.Reset()
	require.NoError(t, run(p, &w))
	assert.Contains(t, w.String(), "| star ← moon |")
	p.generated = filepath.Join(t.TempDir(), "missing")
	assert.Error(t, run(p, &w))
}

// TestChat describes with a fake chat server and keeps its answers.
func TestChat(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		answer := "Here you go:\n1. a moon in the sky\n2. two red moons\n3. a moon on grass"
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": answer}}}})
	}))
	defer srv.Close()
	out := t.TempDir()
	p := params{pairs: "star:moon", seeds: 1, images: 6, analyze: 60, k: 5, words: 10, threshold: 2,
		explain: 1, show: 2, out: out, norm: "reference", chat: srv.URL + "/v1/chat/completions"}
	var w strings.Builder
	require.NoError(t, run(p, &w))
	assert.Contains(t, w.String(), "| star ← moon |")
	assert.FileExists(t, filepath.Join(out, "descriptions.json"))
	n := calls
	require.Positive(t, n)
	require.NoError(t, run(p, &w))
	assert.Equal(t, n, calls, "the second run replays the kept answers")
}
