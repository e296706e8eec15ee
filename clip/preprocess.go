package clip

import (
	"errors"
	"image"
)

// Preprocess converts img into normalized pixels. (Placeholder: replaced by the preprocessing work.)
func Preprocess(img image.Image, size int) ([]float32, error) {
	return nil, errors.New("clip: preprocess not implemented")
}
