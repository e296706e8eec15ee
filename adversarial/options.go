package adversarial

import "runtime"

// Option configures [Mine] and [Pipeline]. Every default is set in
// newConfig; an option that a call does not use is ignored.
type Option func(*config)

type config struct {
	method    Method
	layers    []int    // nil: every layer of the lens results
	neurons   int      // neurons kept (100)
	terms     int      // terms per neuron (128)
	words     int      // words kept (50)
	threshold float64  // similarity to A at or above which a word is dropped (0.6)
	blocklist []string // A's synonyms
	templates []string // class prompt templates (nil: raw names)
	seed      uint64   // random neurons
	indirect  *IndirectEffects
	entryCut  bool // reference: cut the top entries, then deduplicate
	workers   int
}

func newConfig(opts []Option) *config {
	c := &config{neurons: 100, terms: 128, words: 50, threshold: 0.6, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(c)
	}
	c.workers = max(c.workers, 1)
	return c
}

// WithMethod chooses how neurons or words are picked (default [SecondOrder]).
func WithMethod(m Method) Option { return func(c *config) { c.method = m } }

// WithLayers restricts the neurons to these MLP blocks (default: every layer
// of the lens results, as METHOD.md §5 takes layers 8, 9 and 10 together).
func WithLayers(layers ...int) Option {
	return func(c *config) { c.layers = append([]int(nil), layers...) }
}

// WithNeurons sets how many neurons are kept (default 100).
func WithNeurons(n int) Option { return func(c *config) { c.neurons = n } }

// WithTerms sets the terms of each neuron's decomposition (default 128).
// Keep it well below the embedding dimension d (d/4 is the reference's
// ratio): beyond d atoms the fit is exact and the coefficients arbitrary.
func WithTerms(k int) Option { return func(c *config) { c.terms = k } }

// WithWords sets how many words are kept after filtering (default 50).
func WithWords(n int) Option { return func(c *config) { c.words = n } }

// WithThreshold sets the cosine similarity to A, under the CLIP text tower,
// at or above which a word is dropped (default 0.6, the reference's value
// for real CLIP). A threshold above 1 turns the test off: the blocklist
// route for small models whose text tower has learned the very
// co-occurrences the attack looks for (see the package doc, "Settings for a
// small model").
func WithThreshold(t float64) Option { return func(c *config) { c.threshold = t } }

// WithBlocklist adds synonyms of A: a word equal to one of them, or holding
// one as a whole word, is dropped, and descriptions must not contain them.
func WithBlocklist(words ...string) Option {
	return func(c *config) { c.blocklist = append(c.blocklist, words...) }
}

// WithTemplates embeds the two class names through prompt templates ("{}"
// stands for the name), averaged as [clip.Model.NewClassifier] does, for the
// class direction e(A) − e(B) and for the binary test. The default is the
// raw class names, as METHOD.md §5 says.
func WithTemplates(t ...string) Option {
	return func(c *config) { c.templates = append([]string(nil), t...) }
}

// WithSeed seeds the choice of [RandomNeurons] (default 0).
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithIndirect gives the indirect effects that [IndirectNeurons] selects by.
func WithIndirect(ie *IndirectEffects) Option { return func(c *config) { c.indirect = ie } }

// ReferenceCut keeps words as the reference code does: the best W (neuron,
// term) entries, then their distinct texts, so fewer than W words may remain.
// By default the best W distinct words are kept, as METHOD.md §5 says.
func ReferenceCut() Option { return func(c *config) { c.entryCut = true } }

// WithWorkers sets the goroutines of the image and indirect-effect loops
// (default runtime.GOMAXPROCS(0)).
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }
