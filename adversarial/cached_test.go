package adversarial

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/internal/shapes"
)

// fickleDescriber answers every call differently, as a sampling language
// model may.
type fickleDescriber struct{ calls int }

func (f *fickleDescriber) Describe(_ context.Context, r Request) ([]string, error) {
	f.calls++
	out := make([]string, r.N)
	for i := range out {
		out[i] = fmt.Sprintf("a %s, take %d, line %d", r.Depict, f.calls, i)
	}
	return out, nil
}

func TestCachedDescriber(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "descriptions.json")
	f := &fickleDescriber{}
	c := &CachedDescriber{Describer: f, Path: path}
	r := Request{Depict: "moon", Avoid: []string{"star"}, Words: []string{"sky"}, N: 2, Seed: 1}
	first, err := c.Describe(t.Context(), r)
	require.NoError(t, err)
	again, err := c.Describe(t.Context(), r)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Equal(t, 1, f.calls)

	// Any other field is another request.
	for _, other := range []Request{
		{Depict: "moon", Avoid: []string{"star"}, Words: []string{"sky"}, N: 2, Seed: 2},
		{Depict: "moon", Avoid: []string{"star"}, Words: []string{"sky", "red"}, N: 2, Seed: 1},
		{Depict: "ring", Avoid: []string{"star"}, Words: []string{"sky"}, N: 2, Seed: 1},
	} {
		ds, err := c.Describe(t.Context(), other)
		require.NoError(t, err)
		assert.NotEqual(t, first, ds)
	}
	assert.Equal(t, 4, f.calls)

	// A later run replays the file without asking.
	f2 := &fickleDescriber{calls: 100}
	replay, err := (&CachedDescriber{Describer: f2, Path: path}).Describe(t.Context(), r)
	require.NoError(t, err)
	assert.Equal(t, first, replay)
	assert.Equal(t, 100, f2.calls, "not asked")

	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o644))
	_, err = (&CachedDescriber{Describer: f2, Path: path}).Describe(t.Context(), r)
	assert.ErrorContains(t, err, path)
	_, err = (&CachedDescriber{Path: path}).Describe(t.Context(), r)
	assert.Error(t, err)
}

// TestDescribeThenRunFromFolder is the workflow with an outside
// text-to-image model: Describe, render the prompts (here with the shapes
// renderer, into files), list them in index.csv, then Run over the folder
// with the same cached describer.
func TestDescribeThenRunFromFolder(t *testing.T) {
	m := randomModel(t, 1)
	res, _ := analyzed(t)
	dec, err := NewTextDecomposer(t.Context(), m, shapes.Phrases(), decompose.Reference)
	require.NoError(t, err)
	work := t.TempDir()
	desc := &CachedDescriber{Describer: &fickleDescriber{}, Path: filepath.Join(work, "descriptions.json")}
	p := &Pipeline{Model: m, Results: res, Decomposer: dec, Describer: desc, Images: 6, PerDescription: 2,
		Options: []Option{WithNeurons(20), WithTerms(16), WithWords(10), WithThreshold(2)}}
	pairs := []Pair{{A: "star", B: "moon"}}
	methods := []Method{SecondOrder, SimilarWords}
	seeds := []uint64{0, 1}
	plan, err := p.Describe(t.Context(), pairs, methods, seeds)
	require.NoError(t, err)
	require.Len(t, plan.Outcomes, 4)
	prompts := plan.Prompts()
	require.Len(t, prompts, 4*3, "three descriptions of two images per outcome, none shared")
	for _, o := range plan.Outcomes {
		assert.Empty(t, o.Attempts)
	}

	// The outside model's job: two images per prompt.
	var todo strings.Builder
	require.NoError(t, WritePrompts(&todo, prompts, 2, 0))
	rows, err := csv.NewReader(strings.NewReader(todo.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(prompts))
	imgDir := filepath.Join(work, "images")
	require.NoError(t, WriteFolder(t.Context(), imgDir, ShapesGenerator{}, prompts, 2))

	gen, err := OpenFolder(imgDir)
	require.NoError(t, err)
	p.Generator = gen
	rep, err := p.Run(t.Context(), pairs, methods, seeds)
	require.NoError(t, err)
	require.Len(t, rep.Outcomes, 4)
	for i, o := range rep.Outcomes {
		assert.Equal(t, plan.Outcomes[i].Descriptions, o.Descriptions, "the same descriptions in both runs")
		require.Len(t, o.Attempts, 6)
		for _, a := range o.Attempts {
			assert.Contains(t, prompts, a.Description)
		}
	}
}
