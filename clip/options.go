package clip

// Option configures [Load] and [FromStateDict].
type Option func(*options)

type options struct {
	vocabPath   string
	activation  Activation
	visionHeads int
	textHeads   int
}

func newOptions(opts []Option) *options {
	o := &options{}
	for _, f := range opts {
		f(o)
	}
	return o
}

// WithVocab sets the tokenizer vocabulary: CLIP's bpe_simple_vocab_16e6.txt.gz,
// or a Hugging Face vocab.json (merges.txt is read from the same directory), or
// a directory holding vocab.json and merges.txt. Without it, a model has no
// tokenizer unless its checkpoint directory provides one, and Tokenize and
// EncodeText return an error.
func WithVocab(path string) Option { return func(o *options) { o.vocabPath = path } }

// WithActivation sets the MLP activation when the checkpoint does not say which
// one it uses. A checkpoint that names its activation (Hugging Face
// config.json hidden_act, open_clip config quick_gelu) must agree with it, or
// Load fails.
func WithActivation(a Activation) Option { return func(o *options) { o.activation = a } }

// WithHeads sets the number of attention heads of the image and text towers
// when the checkpoint does not say. Zero keeps the default, width/64, which is
// what open_clip assumes for OpenAI state dicts.
func WithHeads(vision, text int) Option {
	return func(o *options) { o.visionHeads, o.textHeads = vision, text }
}
