package imagefile

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sample() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for y := range 3 {
		for x := range 5 {
			img.Set(x, y, color.NRGBA{uint8(40 * x), uint8(80 * y), 7, 255})
		}
	}
	return img
}

func encoded(t testing.TB, format string) []byte {
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, sample())
	case "jpeg":
		err = jpeg.Encode(&b, sample(), nil)
	case "gif":
		err = gif.Encode(&b, sample(), nil)
	}
	require.NoError(t, err)
	return b.Bytes()
}

// hugePNG is a valid PNG signature and IHDR chunk that states w×h pixels,
// followed by nothing.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func write(t testing.TB, dir, name string, b []byte) string {
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func TestReadFormats(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"png", "jpeg", "gif"} {
		// The extension does not matter: the format is sniffed.
		p := write(t, dir, "img_"+f+".bin", encoded(t, f))
		img, err := Read(p)
		require.NoError(t, err, f)
		assert.Equal(t, image.Rect(0, 0, 5, 3), img.Bounds(), f)
		w, h, err := Size(p)
		require.NoError(t, err, f)
		assert.Equal(t, [2]int{5, 3}, [2]int{w, h}, f)
	}
	// The exact pixels of a lossless format.
	img, err := Read(write(t, dir, "x.png", encoded(t, "png")))
	require.NoError(t, err)
	assert.Equal(t, color.NRGBA{160, 160, 7, 255}, color.NRGBAModel.Convert(img.At(4, 2)))
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(filepath.Join(dir, "missing.png"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	huge := write(t, dir, "huge.png", hugePNG(100000, 100000))
	_, err = Read(huge)
	assert.ErrorIs(t, err, ErrSize)
	assert.ErrorContains(t, err, "huge.png")
	_, _, err = Size(huge)
	assert.ErrorIs(t, err, ErrSize)

	png := encoded(t, "png")
	for name, b := range map[string][]byte{
		"empty.png":     nil,
		"text.png":      []byte("not an image at all"),
		"truncated.png": png[:len(png)/2],
		"header.png":    hugePNG(4, 4), // a header, no pixel data
	} {
		_, err := Read(write(t, dir, name, b))
		assert.ErrorContains(t, err, name)
	}
}

func TestDecodeSeeksBack(t *testing.T) {
	r := bytes.NewReader(append([]byte("junk"), encoded(t, "png")...))
	_, err := r.Seek(4, 0)
	require.NoError(t, err)
	img, err := Decode(r)
	require.NoError(t, err)
	assert.Equal(t, 5, img.Bounds().Dx())
}

// FuzzRead feeds Read arbitrary bytes: it returns an image within
// MaxPixels or an error, never panics nor allocates for a size it refuses.
func FuzzRead(f *testing.F) {
	for _, fm := range []string{"png", "jpeg", "gif"} {
		f.Add(encoded(f, fm))
	}
	f.Add(hugePNG(100000, 100000))
	f.Add(hugePNG(3, 2))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := Read(p)
		if err != nil {
			return
		}
		r := img.Bounds()
		if r.Dx() < 1 || r.Dy() < 1 || r.Dx()*r.Dy() > MaxPixels {
			t.Fatalf("decoded %v", r)
		}
	})
}
