package segment

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func segWritePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	img.SetGray(0, 0, color.Gray{255})
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, img))
	require.NoError(t, f.Close())
}

func TestOpenFolder(t *testing.T) {
	dir := t.TempDir()
	segWritePNG(t, filepath.Join(dir, "b.png"), 6, 4)
	segWritePNG(t, filepath.Join(dir, "b_mask.png"), 6, 4)
	segWritePNG(t, filepath.Join(dir, "a.PNG"), 3, 5)
	segWritePNG(t, filepath.Join(dir, "a_mask.png"), 3, 5)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644))
	f, err := OpenFolder(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"a.PNG", "b.png"}, f.Images)
	require.Equal(t, 2, f.Len())
	s, err := f.Sample(1)
	require.NoError(t, err)
	assert.Equal(t, "b", s.Name)
	assert.Equal(t, -1, s.Class)
	assert.Equal(t, image.Pt(6, 4), s.Image.Bounds().Size())
	assert.Equal(t, image.Pt(6, 4), s.Mask.Bounds().Size())
}

func TestOpenFolderErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string][2]int // file → size; size {0, 0} writes garbage
		want  string            // in the message: the offending file
	}{
		{"missing mask", map[string][2]int{"cat.png": {4, 4}}, "cat_mask.png"},
		{"orphan mask", map[string][2]int{"cat.png": {4, 4}, "cat_mask.png": {4, 4}, "dog_mask.png": {4, 4}}, "dog_mask.png"},
		{"size mismatch", map[string][2]int{"cat.png": {4, 4}, "cat_mask.png": {4, 5}}, "cat_mask.png"},
		{"shared stem", map[string][2]int{"cat.png": {4, 4}, "cat.gif": {4, 4}, "cat_mask.png": {4, 4}}, "cat_mask.png"},
		{"empty", map[string][2]int{"readme.md": {0, 0}}, "no images"},
		{"bad mask file", map[string][2]int{"cat.png": {4, 4}, "cat_mask.png": {0, 0}}, "cat_mask.png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, sz := range c.files {
				p := filepath.Join(dir, name)
				if sz == [2]int{} {
					require.NoError(t, os.WriteFile(p, []byte("not an image"), 0o644))
				} else if filepath.Ext(name) == ".gif" {
					require.NoError(t, os.WriteFile(p, []byte("GIF89a"), 0o644))
				} else {
					segWritePNG(t, p, sz[0], sz[1])
				}
			}
			_, err := OpenFolder(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := OpenFolder(filepath.Join(t.TempDir(), "absent"))
	assert.Error(t, err)
}

func TestPanels(t *testing.T) {
	crop := image.NewRGBA(image.Rect(0, 0, 2, 2))
	h := &Heatmap{Size: 2, Scores: []float32{0, 0.2, 0.8, 1}, Threshold: 0.5}
	out := Panels(crop, h, []uint8{1, 0, 0, 1})
	assert.Equal(t, image.Rect(0, 0, 8, 2), out.Bounds())
	assert.Equal(t, color.RGBA{0, 0, 0, 255}, out.RGBAAt(4, 0), "mask panel: background")
	assert.Equal(t, color.RGBA{255, 255, 255, 255}, out.RGBAAt(5, 1), "mask panel: foreground")
	assert.Equal(t, color.RGBA{255, 255, 255, 255}, out.RGBAAt(6, 0), "truth panel")
	assert.Panics(t, func() { Panels(image.NewRGBA(image.Rect(0, 0, 3, 3)), h, nil) })
}
