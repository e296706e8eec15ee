package decompose

import (
	"runtime"

	"github.com/neuronlens/neuronlens/lens"
)

// Option configures the calls of this package. Every default is set in
// newConfig; an option that a call does not use is ignored.
type Option func(*config)

type config struct {
	cacheDir string        // Embed: "" means no cache
	batch    int           // Embed: texts per batch (and per cache file)
	workers  int           // Embed, DecomposeNeurons: goroutines
	progress Progress      // Embed, DecomposeNeurons: nil is silent
	nonNeg   bool          // OMP variant
	lensOpts []lens.Option // ReconstructionCurve: passed to lens.AblateReplaced
}

func newConfig(opts []Option) *config {
	c := &config{batch: 256, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(c)
	}
	c.batch = max(c.batch, 1)
	c.workers = max(c.workers, 1)
	return c
}

// Progress receives (done, total) after each unit of a long call: texts for
// [Embed], neurons for [DecomposeNeurons]. It must return quickly.
type Progress func(done, total int)

// WithCache keeps the embeddings of [Embed] in dir, one atomic .npy file per
// batch plus a manifest, so that an interrupted run resumes and a rerun
// encodes nothing. The cache is keyed by a fingerprint of the text tower's
// weights, of the tokens of the pool and of the pool's texts: when any of
// them (or the batch size) changes, the old files are removed and the pool
// is encoded again.
func WithCache(dir string) Option { return func(c *config) { c.cacheDir = dir } }

// WithBatch sets how many texts [Embed] encodes between context checks and
// cache writes (default 256).
func WithBatch(n int) Option { return func(c *config) { c.batch = n } }

// WithWorkers sets the number of goroutines (default runtime.GOMAXPROCS(0)).
// Results do not depend on it.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithProgress makes long calls report progress to f.
func WithProgress(f Progress) Option { return func(c *config) { c.progress = f } }

// NonNegative codes with non-negative OMP ([sparse.NonNegative]) instead of
// the reference's signed OMP: every coefficient is ≥ 0.
func NonNegative() Option { return func(c *config) { c.nonNeg = true } }

// WithLensOptions passes options (the alpha cache, workers, layers of that
// cache, progress) to [lens.AblateReplaced] in [ReconstructionCurve].
func WithLensOptions(opts ...lens.Option) Option {
	return func(c *config) { c.lensOpts = append(c.lensOpts, opts...) }
}
