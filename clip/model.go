package clip

import "errors"

// Model is a CLIP model. (Placeholder: replaced by the model work.)
type Model struct {
	Config    Config
	tokenizer *Tokenizer
}

// FromStateDict builds a model from tensors in OpenAI/open_clip naming.
func FromStateDict(sd StateDict, opts ...Option) (*Model, error) {
	return fromStateDict(sd, source{path: "state dict"}, newOptions(opts))
}

// fromStateDict infers the configuration from tensor shapes, checks every
// tensor and builds the model. src says what the file told about itself.
func fromStateDict(sd StateDict, src source, o *options) (*Model, error) {
	return nil, errors.New("clip: not implemented")
}
