package clip

// Tensor is a dense float32 array read from a checkpoint or built in memory.
// Data is row-major: element (i, j, k) of a [A, B, C] tensor is Data[(i*B+j)*C+k].
// A scalar has an empty Shape and one element.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Len returns the number of elements that Shape describes.
func (t Tensor) Len() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// StateDict maps checkpoint keys, in OpenAI/open_clip naming
// ("visual.transformer.resblocks.0.attn.in_proj_weight"), to tensors.
type StateDict map[string]Tensor

// source describes what a checkpoint says about itself beyond its tensors.
// Zero fields mean "the source does not say".
type source struct {
	path        string     // file or directory, for error messages
	activation  Activation // ActivationUnset when unknown
	visionHeads int
	textHeads   int
	tokenizer   *Tokenizer // a Hugging Face directory brings its own
}
