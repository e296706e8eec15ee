package lens

import (
	"runtime"
	"sync"
	"time"

	"github.com/neuronlens/neuronlens/clip/cuda"
)

// Option configures the calls of this package. Every default is set in
// newConfig; an option that a call does not use is ignored.
type Option func(*config)

type config struct {
	raw      bool     // raw embedding units instead of paper scale
	noShared bool     // leave out the shared term C(I)
	workers  int      // goroutines for images or neuron blocks
	neurons  []int    // Indirect: neuron subset (nil: all)
	k        int      // Analyze: top-k size
	layers   []int    // Analyze: layers (nil: the layer argument or 9)
	progress Progress // Analyze, Ablate: nil is silent
	cacheDir string   // Analyze, Ablate: "" is a temporary directory

	device string        // Analyze, batch SecondOrder: "cpu", "cuda", "" for NEURONLENS_DEVICE
	enc    *cuda.Encoder // Analyze, batch SecondOrder: a caller's GPU encoder (implies cuda)
	accel  accel         // tests: a stand-in for the device
}

func newConfig(opts []Option) *config {
	c := &config{workers: runtime.GOMAXPROCS(0), k: 100}
	for _, o := range opts {
		o(c)
	}
	if c.workers < 1 {
		c.workers = 1
	}
	return c
}

// RawScale gives effects in raw embedding units, the units of f(I), instead
// of the paper scale (×100/‖f(I)‖) that makes effects of different images
// comparable.
func RawScale() Option { return func(c *config) { c.raw = true } }

// WithoutSharedTerm leaves out C(I), the bias and LayerNorm-mean terms that
// the reference shares equally among the neurons of a layer (METHOD.md §1,
// steps 1–4). What remains is exactly linear in the neuron's activations.
func WithoutSharedTerm() Option { return func(c *config) { c.noShared = true } }

// WithWorkers sets how many goroutines work in parallel (default
// runtime.GOMAXPROCS(0)).
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithNeurons restricts [Indirect] to the given neurons, in that order.
func WithNeurons(idx ...int) Option {
	return func(c *config) { c.neurons = append([]int(nil), idx...) }
}

// WithK sets the number of top images kept per neuron by [Analyze]
// (default 100, as in the reference).
func WithK(k int) Option { return func(c *config) { c.k = k } }

// WithLayers sets the MLP blocks that [Analyze] studies (default 9).
func WithLayers(layers ...int) Option {
	return func(c *config) { c.layers = append([]int(nil), layers...) }
}

// WithProgress makes long calls report progress to f; f must return quickly.
func WithProgress(f Progress) Option { return func(c *config) { c.progress = f } }

// WithCache keeps the per-image alpha-space records of [Analyze] and [Ablate]
// in dir, so that an interrupted run resumes without recomputing finished
// images. Without it a temporary directory is used and removed at the end.
func WithCache(dir string) Option { return func(c *config) { c.cacheDir = dir } }

// Progress receives reports from long calls; nil means silent.
type Progress func(ProgressReport)

// ProgressReport says how far a long call has come.
type ProgressReport struct {
	Phase     string        // "effects" (forward passes), "norms", "directions", "ablate"
	Done      int           // units finished in this phase (images, or neurons for "directions")
	Total     int           // units in this phase
	PerSecond float64       // throughput of this phase so far, units/s
	Left      time.Duration // estimated time left in this phase
}

// meter turns counts into ProgressReports.
type meter struct {
	mu    sync.Mutex
	f     Progress
	phase string
	total int
	start time.Time
	skip  int // units that were done before the phase started (resumed)
	last  time.Time
}

func newMeter(f Progress, phase string, total int) *meter {
	return &meter{f: f, phase: phase, total: total, start: time.Now()}
}

// report is called with the number of units done so far; it throttles to
// about ten reports a second and always reports the last unit.
func (m *meter) report(done int) {
	if m == nil || m.f == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if done < m.total && now.Sub(m.last) < 100*time.Millisecond {
		return
	}
	m.last = now
	el := now.Sub(m.start).Seconds()
	r := ProgressReport{Phase: m.phase, Done: done, Total: m.total}
	if el > 0 && done > m.skip {
		r.PerSecond = float64(done-m.skip) / el
		r.Left = time.Duration(float64(m.total-done) / r.PerSecond * float64(time.Second))
	}
	m.f(r)
}
