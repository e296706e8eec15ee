package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShapesWorld runs the default mode (the embedded model on the shapes
// world) at a tiny scale and checks that it writes its overlays.
func TestShapesWorld(t *testing.T) {
	out := t.TempDir()
	o := options{out: out, overlays: 2, protocol: "reference", weighting: "mean", class: "predicted",
		analyze: 60, n: 6, worldSeed: 1}
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
