package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	sharedVocab = "../../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz"
	sharedPool  = "../../../shared/data/textpools/google_10000_english.txt"
)

func writeImages(t *testing.T, n int) string {
	dir := t.TempDir()
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 48, 40))
		for y := range 40 {
			for x := range 48 {
				img.Set(x, y, color.RGBA{uint8(x*5 + i*31), uint8(y * 6), uint8((x * y * (i + 1)) % 256), 255})
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%02d.png", i)))
		require.NoError(t, err)
		require.NoError(t, png.Encode(f, img))
		require.NoError(t, f.Close())
	}
	return dir
}

// TestDescribeRandom runs the whole command on a random model and a real
// third-party pool from ../shared/data.
func TestDescribeRandom(t *testing.T) {
	for _, p := range []string{sharedVocab, sharedPool} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("shared data absent (%s): this test needs ../shared/data beside the checkout", p)
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	o := options{random: true, vocab: sharedVocab, images: writeImages(t, 8), pool: sharedPool,
		layers: "8,9", k: 3, terms: 16, norm: "unit", out: out, cache: t.TempDir(), show: 0}
	require.NoError(t, run(t.Context(), o))
	for _, l := range []int{8, 9} {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("layer%d.json", l)))
		require.NoError(t, err)
		var js map[string][][3]any
		require.NoError(t, json.Unmarshal(b, &js))
		assert.Len(t, js, 256, "one entry per neuron of the random model")
		assert.Len(t, js["0"], 16)
		assert.IsType(t, "", js["0"][0][2])
	}
}

func TestDescribeErrors(t *testing.T) {
	imgs := writeImages(t, 1)
	pool := filepath.Join(t.TempDir(), "pool.txt")
	require.NoError(t, os.WriteFile(pool, []byte("dog\ncat\n"), 0o644))
	for _, tc := range []struct {
		name string
		o    options
		want string
	}{
		{name: "no images", o: options{pool: pool, random: true}, want: "-images"},
		{name: "missing pool", o: options{images: imgs, pool: "/nonexistent/pool.txt", random: true, layers: "9", norm: "reference"}, want: "/nonexistent/pool.txt"},
		{name: "missing images", o: options{images: "/nonexistent/imgs", pool: pool, random: true, layers: "9", norm: "reference"}, want: "/nonexistent/imgs"},
		{name: "bad layers", o: options{images: imgs, pool: pool, random: true, layers: "nine", norm: "reference"}, want: "-layers"},
		{name: "bad norm", o: options{images: imgs, pool: pool, random: true, layers: "9", norm: "column"}, want: "normalization"},
		{name: "random without vocab", o: options{images: imgs, pool: pool, random: true, layers: "9", norm: "unit"}, want: "-vocab"},
		{name: "no model", o: options{images: imgs, pool: pool, layers: "9", norm: "unit"}, want: "-model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), tc.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
