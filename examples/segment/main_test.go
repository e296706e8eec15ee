package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/neuronlens/neuronlens/internal/shapesmodel"
	"github.com/stretchr/testify/require"
)

// TestShapesWorld runs the default mode (the embedded model on the shapes
// world) at a tiny scale and checks that it writes its overlays.
func TestShapesWorld(t *testing.T) {
	out := t.TempDir()
	o := options{out: out, overlays: 2, protocol: "reference", weighting: "mean", class: "predicted",
		analyze: 60, n: 6, worldSeed: 1, draws: 1}
	require.NoError(t, run(t.Context(), o))
	files, err := filepath.Glob(filepath.Join(out, "*.png"))
	require.NoError(t, err)
	require.Len(t, files, 2)
	st, err := os.Stat(files[0])
	require.NoError(t, err)
	require.Positive(t, st.Size())

	o.class = "given"
	o.out = ""
	require.NoError(t, run(t.Context(), o))
	o.class = "nope"
	require.Error(t, run(t.Context(), o))
	o.class, o.images = "given", "somewhere"
	require.Error(t, run(t.Context(), o), "-images without -model")
}

// TestDraws runs several random draws and checks the per-class table.
func TestDraws(t *testing.T) {
	o := options{protocol: "reference", weighting: "mean", class: "given", analyze: 60, n: 9, worldSeed: 1, draws: 2}
	require.NoError(t, run(t.Context(), o))
	o.draws = 0
	require.ErrorContains(t, run(t.Context(), o), "-draws")
}

func TestMeanStd(t *testing.T) {
	require.Equal(t, "2.0 ± 1.0", meanStd([]float64{1, 2, 3}))
	require.Equal(t, "5.0 ± 0.0", meanStd([]float64{5}))
	require.Equal(t, "–", meanStd(nil))
}

// TestShapesModelFolder runs the shapes world on a model folder as
// examples/train writes it (here, copies of the embedded files), and
// refuses a folder without a model and a clash with -model.
func TestShapesModelFolder(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{shapesmodel.CheckpointFile, shapesmodel.VocabFile} {
		b, err := os.ReadFile(filepath.Join("..", "..", "internal", "shapesmodel", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	o := options{protocol: "reference", weighting: "mean", class: "given", analyze: 60, n: 6, worldSeed: 1, draws: 1, shapesModel: dir}
	require.NoError(t, run(t.Context(), o))
	o.shapesModel = t.TempDir()
	require.ErrorContains(t, run(t.Context(), o), shapesmodel.CheckpointFile)
	o.shapesModel, o.model = dir, "model.pt"
	require.ErrorContains(t, run(t.Context(), o), "-shapes-model")
}
