package segment

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFolderMask gives a folder a valid 6×4 image and a mask file of
// arbitrary bytes: OpenFolder, Sample and ResizeMask (both protocols) must
// return a mask of the input size or an error, never panic.
func FuzzFolderMask(f *testing.F) {
	encode := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			f.Fatal(err)
		}
		return b.Bytes()
	}
	mask := image.NewGray(image.Rect(0, 0, 6, 4))
	mask.SetGray(2, 1, color.Gray{255})
	pal := image.NewPaletted(image.Rect(0, 0, 6, 4), color.Palette{color.Black, color.White})
	pal.SetColorIndex(1, 1, 1)
	f.Add(encode(mask))
	f.Add(encode(pal))
	f.Add(encode(image.NewRGBA64(image.Rect(0, 0, 6, 4))))
	f.Add(encode(image.NewGray(image.Rect(0, 0, 5, 4))))
	f.Add([]byte("not a png"))
	img := encode(image.NewRGBA(image.Rect(0, 0, 6, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.png"), img, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "x"+MaskSuffix), b, 0o644); err != nil {
			t.Fatal(err)
		}
		fo, err := OpenFolder(dir)
		if err != nil {
			return
		}
		s, err := fo.Sample(0)
		if err != nil {
			return
		}
		for _, p := range []MaskProtocol{ReferenceMask, AlignedMask} {
			m, err := ResizeMask(s.Mask, 8, p)
			if err == nil && len(m) != 64 {
				t.Fatalf("%v: %d mask pixels, want 64", p, len(m))
			}
		}
	})
}
