// Package imagefile reads image files (PNG, JPEG, GIF, sniffed from their
// bytes) for neuronlens's loaders. It reads the header first and refuses an
// image whose stated size is empty or above [MaxPixels], so that a few bytes
// claiming a huge image cannot make a decoder allocate gigabytes. Errors
// name the file.
package imagefile

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif" // the formats Read sniffs
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
)

// MaxPixels is the largest width × height Read decodes: 2^27, about 134
// million pixels (a 100-megapixel photograph fits; its RGBA form is 512 MiB).
const MaxPixels = 1 << 27

// ErrSize is returned, wrapped, for an image whose header states no pixels
// or more than MaxPixels.
var ErrSize = errors.New("imagefile: image size out of range")

// Read decodes the image file at path. Errors name the file: it cannot be
// opened, its format is not PNG, JPEG or GIF, its size is out of range
// ([ErrSize]), or its data is corrupt or truncated.
func Read(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Decode decodes an image from r after checking the size its header
// states. It reads the header, seeks back to where r was, and decodes.
func Decode(r io.ReadSeeker) (image.Image, error) {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	c, _, err := image.DecodeConfig(r)
	if err != nil {
		return nil, err
	}
	if err := check(c); err != nil {
		return nil, err
	}
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// Size returns the width and height that the header of the image file at
// path states, after the same checks as Read, without decoding the pixels.
func Size(path string) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	c, _, err := image.DecodeConfig(f)
	if err == nil {
		err = check(c)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return c.Width, c.Height, nil
}

func check(c image.Config) error {
	if c.Width < 1 || c.Height < 1 || int64(c.Width)*int64(c.Height) > MaxPixels {
		return fmt.Errorf("%w: %d×%d (at most %d pixels)", ErrSize, c.Width, c.Height, MaxPixels)
	}
	return nil
}
