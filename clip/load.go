package clip

import "errors"

// Load reads a CLIP checkpoint. (Placeholder: replaced by the loading work.)
func Load(path string, opts ...Option) (*Model, error) {
	return nil, errors.New("clip: load not implemented")
}
